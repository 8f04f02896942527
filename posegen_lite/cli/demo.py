"""``posegen demo``: novel views of held-out people (grid PNG + turntable GIF); ``--crowd``: scenes of 2–6."""

from __future__ import annotations

import argparse

from posegen_lite.cli.common import positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="novel views of held-out people: grid PNG + turntable GIF")
    p.add_argument("--out", default="outputs/demo", help="output folder (default outputs/demo)")
    p.add_argument("--weights", help="checkpoint or run dir (default: the demo weights in assets/)")
    p.add_argument(
        "--train-minutes",
        type=float,
        default=None,
        help="train from scratch for this many minutes instead of loading the demo weights",
    )
    p.add_argument("--people", type=positive_int, default=4, help="held-out people in the grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crowd", action="store_true", help="scenes of 2–6 people: group grid PNG + group turntable GIF")
    p.add_argument("--scenes", type=int, default=2, help="held-out crowd scenes in the group grid (with --crowd)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.app.demo import run_demo

    if args.crowd:
        from posegen_lite.app.crowd_demo import run_crowd_demo

        if args.train_minutes is not None:
            raise SystemExit("--crowd uses given weights; train first, then pass --weights")
        print(run_crowd_demo(out_dir=args.out, weights=args.weights, scenes=args.scenes, seed=args.seed))
        return 0
    print(
        run_demo(
            out_dir=args.out, weights=args.weights, train_minutes=args.train_minutes, people=args.people, seed=args.seed
        )
    )
    return 0
