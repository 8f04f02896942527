"""Where the L1 in the body comes from, and at most how much of it no model can remove.

``evaluation.budget.error_budget`` splits each model's L1 in the target body into shares that add up: the pixels
the input saw and those it never saw (the body proxy's visibility), the silhouette band, and the body regions.
G1 and G1+G2 are scored as the networks give them and, rows "+ fill", with the background filled as the
synthesizer does it (``geometry.warp.fill_uncovered`` with ``OUTLINE_RING``).

One more row, **hidden detail**, is an oracle: the target itself, except on the pixels the input never saw,
where it is the per-pixel median of 16 renders of the target with the shirt's print and back redrawn
(``data.synthetic.hidden_detail``) — under L1 the best guess of a print or back pattern the data draws
independently of everything the input shows. Its error is an upper bound on what no model can remove (the
guess ignores a print or back the input saw part of; 16 renders only estimate the median).
Each table also gives the IoU of the body proxy's silhouette with the true body.

Run: ``python benchmarks/bench_error_budget.py [--checkpoint posegen_lite/assets/demo_128x64.pt] [--quick]``;
prints one table per split, writes ``benchmarks/results/error_budget/`` (``error_budget.md``,
``bench_error_budget.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation import IdentityBaseline, WarpBaseline, checkpoint_predictors
from posegen_lite.evaluation.budget import budget_markdown, split_budget
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.checkpoints import resolve_checkpoint
from posegen_lite.models.texture_completion import TEXTURE_SHARE, load_completion
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS

RESULTS = Path(__file__).resolve().parent / "results" / "error_budget"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEMO_WEIGHTS, help="checkpoint file or run dir")
    parser.add_argument("--splits", nargs="+", default=["test", "test_hard"])
    parser.add_argument("--people", type=int, default=400, help="training people of the synthetic dataset")
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="samples per split (default: all)")
    parser.add_argument("--quick", action="store_true", help="32 samples per split")
    parser.add_argument("--samples", type=int, default=16, help="renders per hidden-detail guess")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    limit = 32 if args.quick and args.limit is None else args.limit

    ckpt_path, _ = resolve_checkpoint(args.checkpoint)
    networks = checkpoint_predictors(ckpt_path)
    g1 = networks["G1"].g1
    size = (g1.config.height, g1.config.width)
    spec = DataSpec(data="synthetic", size=size, people=args.people, views=args.views, extras=True)
    # the networks as they are, with the background filled as the synthesizer does it ("+ fill"), and with the
    # unseen side painted from the input's re-lit texture, completed by the shipped network ("+ blend": what the
    # demo shows)
    filled = checkpoint_predictors(ckpt_path, suffix=" + fill", fill_ring=OUTLINE_RING)
    net = load_completion(COMPLETION_WEIGHTS)
    blended = checkpoint_predictors(ckpt_path, "cpu", " + blend", OUTLINE_RING, TEXTURE_SHARE, net)
    predictors = {"identity": IdentityBaseline(), "warp paste": WarpBaseline(), **networks, **filled, **blended}

    results, text = {}, []
    for split in args.splits:
        budget = split_budget(predictors, build_dataset(spec, split), limit, args.batch_size, args.samples)
        table = budget_markdown(split, budget)
        print(table + "\n")
        results[split], text = budget, [*text, table]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "error_budget.md").write_text(
        f"Checkpoint: `{args.checkpoint}`; {limit or 'all'} pairs per split; hidden-detail guess from "
        f"{args.samples} renders.\n\n" + "\n\n".join(text) + "\n"
    )
    rows = [{"split": split, "model": model, **b} for split, models in results.items() for model, b in models.items()]
    write_json(
        args.out / "bench_error_budget.json", rows, checkpoint=str(args.checkpoint), limit=limit, samples=args.samples
    )
    return results


if __name__ == "__main__":
    main()
