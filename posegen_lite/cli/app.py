"""``posegen app``: the viewpoint widget as a web page (Voilà), for a demo without code cells."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("app", help="the viewpoint widget as a web page (Voilà): sliders, no code cells")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (0.0.0.0: the whole network)")
    p.add_argument("--token", help="require this token in the address (default: none, local use)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--weights", help="checkpoint or run dir (default: the demo weights)")
    p.add_argument("--people", type=int, default=4, help="held-out people in the selector")
    p.add_argument("--no-precompute", action="store_true", help="compute each view only when asked")
    p.add_argument("--no-photos", action="store_true", help="no photo upload (it needs MediaPipe)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.app.viewpoint_app import AppConfig, app_main

    config = AppConfig(weights=args.weights, people=args.people, precompute=not args.no_precompute,
                       photos=not args.no_photos)  # fmt: skip
    return app_main(config, port=args.port, token=args.token, open_browser=not args.no_browser, ip=args.ip)
