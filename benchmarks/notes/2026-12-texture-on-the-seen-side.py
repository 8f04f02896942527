"""Experiment: paint from the re-lit texture also the body pixels the input saw obliquely, chosen on `val`.

The blend (``unseen.blend_views``) once painted from the input's re-lit texture only the target pixels the input did
not see, and gave those it saw squarely (``warping.relight_seen``: within 60° of straight on, away from the seen
region's edge) its own colour re-lit; the other seen pixels kept the networks'. Here every target pixel whose input
pixel faced the camera by less than ``t`` (carried by the warp) is painted from the texture too, before the squarely
seen ones are re-lit: ``t = 0`` is the old rule, ``t > 1`` paints the whole body. L1 in the body of the shipped
G1+G2 as the demo shows them, on `val`. Run: ``python benchmarks/notes/2026-12-texture-on-the-seen-side.py
[PAIRS] [T,T,…] [--fill]`` (``--fill``: the hand-made fill's texture at its share instead of the network's).
"""

from __future__ import annotations

import sys

import torch
from torch.utils.data import DataLoader, Subset

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation.budget import pixel_error
from posegen_lite.evaluation.predictors import G1G2Predictor
from posegen_lite.evaluation.protocol import sample_indices
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.texture_completion import FILL_SHARE, TEXTURE_SHARE, load_completion
from posegen_lite.models.warping import warp_image
from posegen_lite.models.weights import load_models
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS


class Oblique(G1G2Predictor):
    """``G1G2Predictor`` whose texture paints the unseen pixels and the seen ones faced by less than ``t``."""

    t = 0.0

    def _painted(self, batch: dict, facing_a: torch.Tensor) -> torch.Tensor:
        vis = batch["visibility"].float()
        return (vis[:, 0] < 0.5) | (warp_image(facing_a, batch["flow"].float(), vis)[:, 0] < self.t)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--fill"]
    pairs = int(args[0]) if args else 128
    ts = [float(t) for t in args[1].split(",")] if len(args) > 1 else [0.0, 0.2, 0.35, 0.5, 0.7, 0.9, 1.01]
    fill = "--fill" in sys.argv
    net, share = (None, FILL_SHARE) if fill else (load_completion(COMPLETION_WEIGHTS), TEXTURE_SHARE)
    models = load_models(DEMO_WEIGHTS)
    ds = build_dataset(DataSpec(data="synthetic", size=(128, 64), extras=True), "val")
    idx = sample_indices(len(ds), pairs)
    predictors = {}
    for t in ts:
        predictors[t] = Oblique(models["g1"], models["g2"], None, OUTLINE_RING, share, net)
        predictors[t].t = t
    sums, identity, count = dict.fromkeys(ts, 0.0), 0.0, 0.0
    for start in range(0, len(idx), 32):
        b = next(iter(DataLoader(Subset(ds, idx[start : start + 32]), batch_size=len(idx[start : start + 32]))))
        body = b["mask_b"][:, 0] > 0.5
        identity += float((pixel_error(b["image_a"], b["image_b"]) * body).sum())
        for t, predict in predictors.items():
            sums[t] += float((pixel_error(predict(b), b["image_b"]) * body).sum())
        count += float(body.sum())
    print(f"val, {len(idx)} pairs, {'the fill' if fill else 'the network'}'s texture: L1 in the body (× identity)")
    for t, total in sums.items():
        print(f"t = {t:4.2f}  {total / count:.5f} ({total / identity:.4f}×)")


if __name__ == "__main__":
    if not hasattr(G1G2Predictor, "_painted"):  # the blend's rule this experiment patches
        sys.exit("this experiment patches the blend as it was before 2026-12-08: run it on a checkout of 6cba50b")
    main()
