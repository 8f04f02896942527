"""``posegen check-data``: validate a real dataset's folder layout."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("check-data", help="validate a real dataset's folder layout")
    p.add_argument("kind", choices=["market", "fashion", "panoptic"])
    p.add_argument("root")
    p.add_argument("--split", nargs="+", default=["train", "test"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.data.real.check import check_dataset

    report = check_dataset(args.kind, args.root, splits=tuple(args.split))
    print(report)
    return 0 if report.ok else 1
