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
from posegen_lite.geometry.camera import camera_from_vector
from posegen_lite.geometry.shading import RENDER_LIGHT, shading_maps
from posegen_lite.geometry.texture import mix_texture, view_surface
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.texture_completion import FILL_SHARE, TEXTURE_SHARE, albedo_texture, load_completion
from posegen_lite.models.warping import relight_seen, warp_image
from posegen_lite.models.weights import load_models
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS


class Oblique(G1G2Predictor):
    """``G1G2Predictor`` whose texture paints the unseen pixels and the seen ones faced by less than ``t``."""

    t = 0.0

    def _unseen(self, images: torch.Tensor, batch: dict) -> torch.Tensor:
        H, W = images.shape[-2:]
        cams = [[camera_from_vector(c.numpy(), W, H) for c in pair] for pair in batch["cameras"]]
        ja, jb = batch["joints3d_a"].double().numpy(), batch["joints3d_b"].double().numpy()
        inputs = ((batch["image_a"].float() + 1) * 127.5).permute(0, 2, 3, 1)
        shade_a = shading_maps(ja, [c[0] for c in cams], RENDER_LIGHT)[:, None]
        shade_b = shading_maps(jb, [c[1] for c in cams], RENDER_LIGHT)
        facing = [torch.from_numpy(view_surface(j, c[0]).facing) for j, c in zip(ja, cams, strict=True)]
        facing_a = torch.stack(facing)[:, None]
        views = ((images.float().cpu() + 1) * 127.5).permute(0, 2, 3, 1)
        surface = batch["proxy_surface_b"][:, 2:].float().permute(0, 2, 3, 1)
        vis, flow = batch["visibility"].float(), batch["flow"].float()
        paint = (vis[:, 0] < 0.5) | (warp_image(facing_a, flow, vis)[:, 0] < self.t)
        mixed = torch.stack([
            mix_texture(views[k : k + 1], albedo_texture(inputs[k].numpy(), ja[k], cams[k][0], RENDER_LIGHT,
                                                            completion=self.completion),
                        batch["proxy_parts_b"][k : k + 1], surface[k : k + 1], paint[k : k + 1],
                        self.texture_share, shade_b[k : k + 1])[0]
            for k in range(len(views))
        ]).permute(0, 3, 1, 2)  # fmt: skip
        seen = relight_seen(mixed, inputs.permute(0, 3, 1, 2), flow, vis, shade_a, facing_a, shade_b[:, None])
        out = (seen.clamp(0, 255) / 127.5 - 1).to(images.device, images.dtype)
        touched = (paint & (batch["proxy_parts_b"] >= 0))[:, None] | (seen != mixed).any(1, keepdim=True)
        return torch.where(touched & ~self._same_view(batch), out, images)


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
    main()
