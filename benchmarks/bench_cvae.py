"""The unseen side: a conditional-VAE G1 against the deterministic G1 of the same recipe and budget.

For every held-out pair of ``--splits`` (``--limit`` per split) it draws ``--k`` samples from the cVAE's
learned prior and reports (``evaluation/samples.py``):

* the per-pixel standard deviation across the samples on the target body's pixels the input saw and on
  those it never saw (proxy visibility), and their ratio;
* L1 in the target body of the deterministic G1, of the cVAE's prior mean, and of the best of the k samples.

Run (both checkpoints are Stage II runs or files at the same size)::

    python benchmarks/bench_cvae.py --cvae runs/cvae128_g1 --deterministic runs/demo128_g1

Writes ``<out>/cvae.md`` (table + provenance), ``<out>/bench_cvae.json`` and ``<out>/cvae_samples.png``
(per row: input, target, deterministic G1, prior mean, k samples — back views of test_hard).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info

from posegen_lite.data.datasets import DataSpec, synthetic_config
from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.evaluation.samples import best_of_k_l1, body_l1, draw_samples, sample_spread
from posegen_lite.images import save_image, to_uint8
from posegen_lite.models.inputs import g1_extras
from posegen_lite.models.weights import load_models

RESULTS = Path(__file__).resolve().parent / "results" / "cvae"


def evaluate_split(g1_det, g1_cvae, ds, k: int, limit: int, batch_size: int, seed: int) -> dict:
    loader = DataLoader(Subset(ds, range(min(limit, len(ds)))), batch_size=batch_size)
    det_l1, mean_l1, best_l1, seen, unseen, weights = [], [], [], [], [], []
    for i, batch in enumerate(loader):
        target, mask, vis = batch["image_b"], batch["mask_b"], batch["visibility"]
        with torch.no_grad():
            det = draw_deterministic(g1_det, batch)
            mean = draw_deterministic(g1_cvae, batch)
        samples = draw_samples(g1_cvae, batch, k, seed=seed + i)
        det_l1.append(body_l1(det, target, mask))
        mean_l1.append(body_l1(mean, target, mask))
        best_l1.append(best_of_k_l1(samples, target, mask))
        spread = sample_spread(samples, mask, vis)
        body = mask > 0.5
        n_seen = float((body & (vis > 0.5)).sum())
        seen.append((spread["std_seen"], n_seen))
        unseen.append((spread["std_unseen"], float(body.sum()) - n_seen))
        weights.append(len(target))
    pixel_mean = lambda rows: sum(v * n for v, n in rows if n) / max(sum(n for _, n in rows), 1)  # noqa: E731
    cat = lambda xs: torch.cat(xs).nanmean().item()  # noqa: E731
    out = {
        "pairs": sum(weights),
        "l1_deterministic": cat(det_l1),
        "l1_prior_mean": cat(mean_l1),
        f"l1_best_of_{k}": cat(best_l1),
        "std_seen": pixel_mean(seen),
        "std_unseen": pixel_mean(unseen),
    }
    # None: the samples agree exactly on every seen pixel (a G1 whose z has no say there by construction)
    out["std_ratio"] = out["std_unseen"] / out["std_seen"] if out["std_seen"] > 0 else None
    return out


def _ratio(ratio: float | None) -> str:
    return "∞ (seen: exactly 0)" if ratio is None else f"{ratio:.1f}×"


def draw_deterministic(g1, batch) -> torch.Tensor:
    return g1(batch["image_a"], batch["pose_b"], **g1_extras(g1, batch)).float()


def picture(g1_det, g1_cvae, ds, k: int, rows: int, seed: int) -> np.ndarray:
    picks = np.linspace(0, len(ds) - 1, rows).round().astype(int).tolist()
    batch = next(iter(DataLoader(Subset(ds, picks), batch_size=len(picks))))
    with torch.no_grad():
        det, mean = draw_deterministic(g1_det, batch), draw_deterministic(g1_cvae, batch)
    samples = draw_samples(g1_cvae, batch, k, seed=seed)
    columns = [batch["image_a"], batch["image_b"], det, mean, *samples]
    grid = [np.concatenate([to_uint8(c[r]) for c in columns], axis=1) for r in range(len(picks))]
    return np.concatenate(grid, axis=0)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cvae", required=True, help="Stage II run dir or checkpoint of the cVAE G1")
    parser.add_argument("--deterministic", required=True, help="the deterministic G1 of the same recipe and budget")
    parser.add_argument("--splits", nargs="+", default=["test", "test_hard"])
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--k", type=int, default=8, help="samples per pair")
    parser.add_argument("--limit", type=int, default=320, help="pairs per split")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    g1_cvae = load_models(args.cvae, device="cpu")["g1"].eval()
    g1_det = load_models(args.deterministic, device="cpu")["g1"].eval()
    if not g1_cvae.config.latent_channels:
        parser.error(f"{args.cvae} holds a deterministic G1 (train it with posegen train --g1.latent-channels K)")
    h, w = g1_cvae.config.height, g1_cvae.config.width
    config = synthetic_config(DataSpec(size=(h, w), people=args.people, views=args.views, extras=True))
    results = {}
    for split in args.splits:
        ds = SyntheticPairs(config, split, extras=True)
        results[split] = evaluate_split(g1_det, g1_cvae, ds, args.k, args.limit, args.batch_size, args.seed)
        print(split, json.dumps(results[split]), flush=True)
    k = args.k
    header = (
        f"| split | pairs | L1 body, deterministic G1 | L1 body, cVAE prior mean | L1 body, best of {k} "
        f"| std seen | std unseen | unseen / seen |\n|---|--:|--:|--:|--:|--:|--:|--:|"
    )
    lines = [
        f"| {s} | {r['pairs']} | {r['l1_deterministic']:.4f} | {r['l1_prior_mean']:.4f} | {r[f'l1_best_of_{k}']:.4f} "
        f"| {r['std_seen']:.4f} | {r['std_unseen']:.4f} | {_ratio(r['std_ratio'])} |"
        for s, r in results.items()
    ]
    table = "\n".join([header, *lines])
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    provenance = f"cVAE: {args.cvae}; deterministic: {args.deterministic}; {k} samples per pair."
    (args.out / "cvae.md").write_text(table + "\n\n" + provenance + "\n")
    hard = SyntheticPairs(config, "test_hard" if "test_hard" in args.splits else args.splits[0], extras=True)
    image = picture(g1_det, g1_cvae, hard, k, rows=4, seed=args.seed)
    zoom = max(1, 256 // h)
    save_image(args.out / "cvae_samples.png", image.repeat(zoom, axis=0).repeat(zoom, axis=1))
    summary = {
        "machine": machine_info(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "args": {k_: str(v) for k_, v in vars(args).items()},
        "results": results,
        "picture_columns": ["input", "target", "deterministic G1", "prior mean", *[f"sample {i}" for i in range(k)]],
    }
    (args.out / "bench_cvae.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{args.out / 'cvae.md'}\n{args.out / 'cvae_samples.png'}")
    return results


if __name__ == "__main__":
    main()
