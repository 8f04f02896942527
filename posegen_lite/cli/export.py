"""``posegen export``: inference-only weights of a checkpoint (what ships in assets/)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write inference-only weights (G1, G2) of a checkpoint or run dir")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.models.weights import export_weights

    print(export_weights(args.checkpoint, args.out))
    return 0
