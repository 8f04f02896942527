"""``posegen synth``: render a split of the embedded dataset to disk (PNG + manifest)."""

from __future__ import annotations

import argparse

from posegen_lite.cli.common import parse_size, positive_int

SPLITS = {"train": "train_people", "val": "val_people", "test": "test_people", "test_hard": "hard_people"}


def add_parser(sub) -> None:
    p = sub.add_parser("synth", help="render a split of the embedded dataset to disk")
    p.add_argument("--out", required=True)
    p.add_argument("--split", default="train", choices=list(SPLITS))
    p.add_argument("--size", type=parse_size, default=(128, 64))
    p.add_argument("--people", type=positive_int, default=100)
    p.add_argument("--views", type=positive_int, default=8)
    p.add_argument("--data-seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render ``--people`` people × ``--views`` pairs of ``--split`` into ``OUT/<split>/`` (PNG + manifest)."""
    from posegen_lite.data.synthetic.cache import render_to_disk, split_dir
    from posegen_lite.data.synthetic.pairs import SyntheticConfig, check_split

    counts = dict.fromkeys(SPLITS.values(), 0)
    counts[SPLITS[check_split(args.split)]] = args.people
    config = SyntheticConfig(size=tuple(args.size), views_per_person=args.views, seed=args.data_seed, **counts)
    render_to_disk(config, args.split, args.out, progress=True)
    print(split_dir(args.out, args.split))
    return 0
