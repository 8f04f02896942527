"""``posegen stage1-figure``: Stage I figure — skeleton, pose maps and mask at several yaws."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("stage1-figure", help="Stage I figure (skeleton, pose maps, mask at 0/90/180/270°)")
    p.add_argument("--out", default="outputs/stage1.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.figures.poses import render_stage1_figure

    print(render_stage1_figure(args.out))
    return 0
