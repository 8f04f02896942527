"""``posegen app``: the viewpoint widget as a web page (Voilà), for a demo without code cells."""

from __future__ import annotations

import argparse

from posegen_lite.cli.common import finite_float, int_at_least, positive_int

# The app's serving defaults (``app.viewpoint_app``: DEFAULT_MAX_VISITORS, DEFAULT_IDLE_MINUTES), repeated here so
# that `posegen app --help` needs neither torch nor Voilà; tests/test_app_serving.py checks that they agree.
MAX_VISITORS, IDLE_MINUTES = 8, 10.0


def add_parser(sub) -> None:
    p = sub.add_parser("app", help="the viewpoint widget as a web page (Voilà): sliders, no code cells")
    p.add_argument("--port", type=int_at_least(0), default=8866, help="port (0: any free port; a busy one is refused)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (0.0.0.0: the whole network)")
    p.add_argument("--token", help="require this token in the address (default: none on 127.0.0.1, generated for an "
                   "open --ip)")  # fmt: skip
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--weights", help="checkpoint or run dir (default: the demo weights)")
    p.add_argument("--people", type=positive_int, default=4, help="held-out people in the selector")
    p.add_argument("--no-precompute", action="store_true", help="compute each view only when asked")
    p.add_argument("--no-photos", action="store_true", help="no photo upload (it needs MediaPipe)")
    p.add_argument("--max-visitors", type=positive_int, default=MAX_VISITORS,
                   help=f"visitors (one kernel each) at once; the next is asked to come back later (default "
                   f"{MAX_VISITORS})")  # fmt: skip
    p.add_argument("--idle-minutes", type=finite_float, default=IDLE_MINUTES,
                   help=f"end a visitor's kernel after this many idle minutes, tab open or not (default "
                   f"{IDLE_MINUTES:g})")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.app.viewpoint_app import AppConfig, app_main

    if args.idle_minutes <= 0:
        raise ValueError(f"--idle-minutes must be > 0, got {args.idle_minutes:g}")
    config = AppConfig(weights=args.weights, people=args.people, precompute=not args.no_precompute,
                       photos=not args.no_photos)  # fmt: skip
    return app_main(config, port=args.port, token=args.token, open_browser=not args.no_browser, ip=args.ip,
                    max_visitors=args.max_visitors, idle_minutes=args.idle_minutes, debug=args.debug)  # fmt: skip
