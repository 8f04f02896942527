"""Experiment: the learned texture completion trained in albedo, inside the blend, chosen on the validation split.

The synthesizer's ``unseen="blend"`` mixes, in each target pixel the body proxy says the input did not see,
``share · texture + (1 − share) · networks``, the texture the input's pixels completed in albedo by the hand-made
fill (``complete_texture``). This scores the shipped weights (G1+G2, the fill and the outline as the demo shows
them) on `val` with that fill and with the fill corrected by a completion network (``learned_completion``; trained
by ``configs/texture_completion.toml``), for several shares: L1 in the body and on the target
pixels the input did not see, by |yaw| band.
Run: ``python benchmarks/notes/2026-12-texture-completion-albedo.py WEIGHTS.pt [--pairs 256] [--shares 0.7,0.8]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation import checkpoint_predictors
from posegen_lite.evaluation.budget import pixel_error
from posegen_lite.evaluation.protocol import sample_indices
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.texture_completion import load_completion
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS

BANDS = ((0, 2), (2, 30), (30, 60), (60, 100), (100, 150), (150, 181))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--shares", default="0.7")
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    net = load_completion(args.weights)
    ds = build_dataset(DataSpec(data="synthetic", size=(128, 64), extras=True), args.split)
    indices = sample_indices(len(ds), args.pairs)
    predictors: dict = {"identity": None}
    for share in map(float, args.shares.split(",")):
        predictors[f"fill, share {share}"] = checkpoint_predictors(DEMO_WEIGHTS, "cpu", "", OUTLINE_RING, share)
        learned = checkpoint_predictors(DEMO_WEIGHTS, "cpu", "", OUTLINE_RING, share, net)
        predictors[f"learned, share {share}"] = learned
    rows: dict[str, list[np.ndarray]] = {name: [] for name in predictors}  # per pair: body sum, unseen sum
    counts, yaws = [], []
    for start in range(0, len(indices), 32):
        chunk = indices[start : start + 32]
        b = next(iter(DataLoader(Subset(ds, chunk), batch_size=len(chunk))))
        body = b["mask_b"][:, 0] > 0.5
        unseen = body & (b["visibility"][:, 0] < 0.5)
        counts.append(torch.stack([body.sum((1, 2)), unseen.sum((1, 2))], 1).double().numpy())
        yaws.append(np.abs((np.asarray(b["yaw"], np.float64) + 180.0) % 360.0 - 180.0))
        for name, pred in predictors.items():
            err = pixel_error(b["image_a"] if pred is None else pred["G1+G2"](b), b["image_b"])
            rows[name].append(torch.stack([(err * body).sum((1, 2)), (err * unseen).sum((1, 2))], 1).numpy())
    n, yaw = np.concatenate(counts), np.concatenate(yaws)
    sums = {name: np.concatenate(r) for name, r in rows.items()}
    ident = sums["identity"][:, 0].sum() / n[:, 0].sum()
    print(
        f"{args.split}, {len(indices)} pairs: L1 in the body (× identity), then L1 on the unseen pixels by |yaw| band"
    )
    header = "".join(f"{lo:>4d}–{hi:<4d}" for lo, hi in BANDS)
    print(f"{'':22s} {'body':>16s}  unseen {header}")
    for name, s in sums.items():
        body = s[:, 0].sum() / n[:, 0].sum()
        bands = []
        for lo, hi in BANDS:
            on = (yaw >= lo) & (yaw < hi)
            bands.append(s[on, 1].sum() / max(n[on, 1].sum(), 1))
        print(f"{name:22s} {body:.5f} ({body / ident:.4f}×)  " + "".join(f"{v:9.4f}" for v in bands))


if __name__ == "__main__":
    main()
