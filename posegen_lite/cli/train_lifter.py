"""``posegen train-lifter``: retrain the learned 2D→3D lifter shipped in assets/lifter.pt."""

from __future__ import annotations

import argparse

from posegen_lite.resources import lifter_weights


def add_parser(sub) -> None:
    p = sub.add_parser("train-lifter", help="retrain the learned 2D→3D lifter")
    p.add_argument("--out", default=str(lifter_weights()))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.training.lifter import LifterTrainConfig, train_lifter

    _, stats = train_lifter(LifterTrainConfig(), out=args.out)
    print(stats)
    return 0
