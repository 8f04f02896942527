"""Experiment: the share of the input's re-lit texture in the pixels it did not see, chosen on the validation split.

The synthesizer's ``unseen="blend"`` mixes, in each target pixel the body proxy says the input did not see,
``share · texture + (1 − share) · networks``: the input's texture completed in albedo (its pixels divided by the
renderer's light on the proxy) and re-lit in the target view. This scores the shipped weights (G1+G2, the fill and
the outline as the demo shows them) on `val` for several shares: L1 in the body, and over the identity baseline's.
Run: ``python benchmarks/notes/2026-12-relit-texture.py [--pairs 256] [--shares 0.5,0.6,0.7,0.8,0.9,1.0]``.
"""

from __future__ import annotations

import argparse

from torch.utils.data import DataLoader, Subset

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation import checkpoint_predictors
from posegen_lite.evaluation.budget import pixel_error
from posegen_lite.evaluation.protocol import sample_indices
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--shares", default="0.5,0.6,0.7,0.8,0.9,1.0")
    args = parser.parse_args()
    ds = build_dataset(DataSpec(data="synthetic", size=(128, 64), extras=True), "val")
    indices = sample_indices(len(ds), args.pairs)
    predictors = {"identity": None, "networks (+ fill)": checkpoint_predictors(DEMO_WEIGHTS, fill_ring=OUTLINE_RING)}
    for share in map(float, args.shares.split(",")):
        predictors[f"share {share}"] = checkpoint_predictors(DEMO_WEIGHTS, "cpu", "", OUTLINE_RING, share)
    sums = dict.fromkeys(predictors, 0.0)
    count = 0.0
    for start in range(0, len(indices), 64):
        chunk = indices[start : start + 64]
        b = next(iter(DataLoader(Subset(ds, chunk), batch_size=len(chunk))))
        body = b["mask_b"][:, 0] > 0.5
        for name, pred in predictors.items():
            out = b["image_a"] if pred is None else pred["G1+G2"](b)
            sums[name] += float((pixel_error(out, b["image_b"]) * body).sum())
        count += float(body.sum())
    ident = sums["identity"] / count
    print(f"validation, {len(indices)} pairs: L1 in the body (× identity)")
    for name, total in sums.items():
        print(f"{name:20s} {total / count:.5f} ({total / count / ident:.4f}×)")


if __name__ == "__main__":
    main()
