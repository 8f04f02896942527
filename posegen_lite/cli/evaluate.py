"""``posegen evaluate``: the evaluation table of checkpoints and baselines (``evaluation/table.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posegen_lite.cli.common import (
    add_data_options,
    data_spec,
    data_values,
    non_negative_int,
    positive_int,
    unit_float,
)


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluation table of checkpoints and baselines")
    p.add_argument("checkpoints", nargs="*", help="checkpoints or run dirs (default: the demo weights)")
    p.add_argument("--splits", nargs="+", default=["test", "test_hard"])
    p.add_argument("--out", default="outputs/eval", help="per-sample CSV and summary JSON go here")
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate at most this many samples per split")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument(
        "--fill-ring",
        type=non_negative_int,
        default=None,
        help="also score each checkpoint with the background filled as the demo does it (rows '… + fill'): the "
        "background the input covered and this many pixels round the target's body proxy (the demo uses 6)",
    )
    p.add_argument(
        "--texture-share",
        type=unit_float,
        default=None,
        help="with --fill-ring, also score each checkpoint as the demo shows it (rows '… + blend'): the unseen side "
        "mixed with this share of the input's re-lit texture, the seen side re-lit (the demo's share: "
        "texture_completion.TEXTURE_SHARE; synthetic data)",
    )
    p.add_argument(
        "--completion",
        default=None,
        metavar="PATH",
        help="with --texture-share, the texture completion network that completes the input's texture (default: the "
        "shipped one, as the demo; 'none': the hand-made fill alone)",
    )
    add_data_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prints the markdown table; with no checkpoint the demo weights are used if present."""
    from posegen_lite.evaluation.table import evaluation_table
    from posegen_lite.resources import completion_weights, demo_weights

    # extras: the proxy flow for warping G1s; synthetic data: exact parts for the detail metrics
    spec = data_spec(data_values(args), extras=True)
    checkpoints = [Path(c) for c in args.checkpoints]
    if not checkpoints:
        if demo_weights().exists():
            checkpoints = [demo_weights()]
        else:
            print(
                f"no checkpoint given and no demo weights at {demo_weights()}: evaluating the baselines only",
                file=sys.stderr,
            )
    completion = None if args.completion == "none" else Path(args.completion or completion_weights())
    blend = (args.texture_share, completion)
    table = evaluation_table(
        spec, checkpoints, args.splits, args.out, args.batch_size, args.limit, args.fill_ring, print, *blend
    )
    print(table)
    return 0
