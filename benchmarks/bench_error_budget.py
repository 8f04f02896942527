"""Where the L1 in the body comes from, and how much of it no model can remove.

``evaluation.budget.error_budget`` splits each model's L1 in the target body into shares that add up: the pixels
the input saw and those it never saw (the body proxy's visibility), the silhouette band, and the body regions.
G1 and G1+G2 are scored as the networks give them and, rows "+ fill", with the background filled as the
synthesizer does it (``geometry.warp.fill_uncovered`` with ``OUTLINE_RING``).

One more row, **hidden detail**, is an oracle: the target itself, except on the pixels the input never saw,
where it is the per-pixel median of 16 renders of the target with the shirt's print and back redrawn
(``data.synthetic.hidden_detail``) — under L1 the best guess of a print or back pattern the data draws
independently of everything the input shows. Its error is what even a model perfect at everything else keeps.
Each table also gives the IoU of the body proxy's silhouette with the true body.

Run: ``python benchmarks/bench_error_budget.py [--checkpoint posegen_lite/assets/demo_128x64.pt] [--quick]``;
prints one table per split, writes ``benchmarks/results/error_budget/`` (``error_budget.md``,
``bench_error_budget.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.app.synthesizer import DEMO_WEIGHTS
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic.hidden_detail import hidden_detail_guess
from posegen_lite.data.synthetic.pairs import plan_pair
from posegen_lite.evaluation import IdentityBaseline, WarpBaseline, checkpoint_predictors, sample_indices
from posegen_lite.evaluation.budget import BODY_REGIONS, error_budget
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.checkpoints import resolve_checkpoint

RESULTS = Path(__file__).resolve().parent / "results" / "error_budget"
ORACLE = "hidden detail (oracle)"
# The table's columns: (budget key, header). Region shares follow, the largest first.
HEAD = [("masked_l1", "L1 in body"), ("seen", "seen"), ("unseen", "unseen"), ("band", "silhouette ± 1 px")]


def oracle_images(dataset, indices: list[int], batch: dict, samples: int) -> torch.Tensor:
    """The target where the input saw the point, the hidden-detail guess elsewhere: ``(B, 3, H, W)`` in [-1, 1]."""
    plans = [plan_pair(dataset.config, dataset.split, i) for i in indices]
    guess = hidden_detail_guess(plans, samples=samples, supersample=dataset.config.supersample)
    guess = torch.from_numpy(guess).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    seen = batch["visibility"] > 0.5
    return torch.where(seen, batch["image_b"], guess)


def budget_split(predictors: dict, dataset, limit: int | None, batch_size: int, samples: int) -> dict:
    """``{model: {key: mean over samples}}`` on one split (NaN samples left out)."""
    indices = sample_indices(len(dataset), limit)
    chunks: dict[str, list[dict]] = {name: [] for name in [*predictors, ORACLE]}
    iou = []  # how well the body proxy's silhouette covers the true body: what the outline fill relies on
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, shuffle=False)
    with tqdm(total=len(indices), desc=f"budget {dataset.split}", unit="pair") as bar:
        for start, batch in zip(range(0, len(indices), batch_size), loader, strict=True):
            preds = {name: predict(batch) for name, predict in predictors.items()}
            preds[ORACLE] = oracle_images(dataset, indices[start : start + batch_size], batch, samples)
            for name, pred in preds.items():
                chunks[name].append(
                    error_budget(pred, batch["image_b"], batch["mask_b"], batch["parts_b"], batch["visibility"])
                )
            true, proxy = batch["parts_b"] >= 0, batch["proxy_parts_b"] >= 0
            iou.append(((true & proxy).sum((1, 2)) / (true | proxy).sum((1, 2)).clamp_min(1)).numpy())
            bar.update(len(batch["image_b"]))
    out = {
        name: {k: float(np.nanmean(np.concatenate([c[k] for c in cs]))) for k in cs[0]} for name, cs in chunks.items()
    }
    out["proxy silhouette"] = {"iou": float(np.concatenate(iou).mean())}
    return out


def region_columns(budget: dict, model: str, k: int = 8) -> list[str]:
    """The ``k`` largest region shares of ``model``'s budget (``"<region> seen|unseen"``)."""
    keys = [f"{r} {s}" for r in BODY_REGIONS for s in ("seen", "unseen")]
    return sorted(keys, key=lambda key: -budget[model][key])[:k]


def markdown(split: str, budget: dict, regions: list[str]) -> str:
    cols = HEAD + [(r, r) for r in regions]
    lines = [
        f"`{split}`: shares of the L1 in the body (each: Σ |error| over its pixels / the mask's pixels); in "
        "brackets, the fraction of the mask's pixels",
        f"(the body proxy's silhouette against the true body: IoU {budget['proxy silhouette']['iou']:.3f})",
        "",
        "| model | " + " | ".join(h for _, h in cols) + " |",
        "|---|" + "--:|" * len(cols),
    ]
    for model, b in budget.items():
        if model == "proxy silhouette":
            continue
        cells = [f"{b[k]:.4f}" if k == "masked_l1" else f"{b[k]:.4f} ({b['px ' + k]:.2f})" for k, _ in cols]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    # the networks as they are, and with the background filled as the synthesizer does it ("+ fill")
    filled = checkpoint_predictors(ckpt_path, suffix=" + fill", fill_ring=OUTLINE_RING)
    predictors = {"identity": IdentityBaseline(), "warp paste": WarpBaseline(), **networks, **filled}

    results, text = {}, []
    for split in args.splits:
        budget = budget_split(predictors, build_dataset(spec, split), limit, args.batch_size, args.samples)
        table = markdown(split, budget, region_columns(budget, "G1+G2" if "G1+G2" in budget else "G1"))
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
