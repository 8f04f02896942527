"""Experiment: the synthesized person's outline antialiased with the body proxy's sub-pixel coverage, s × s sub-pixels.

The fill (``warp.fill_uncovered``) makes every pixel outside the target's proxy silhouette background and keeps the
networks' pixels inside: a hard edge, where the true image mixes body and background by how much of each pixel the
body covers. Here the target proxy is cast at s×s sub-pixels (a camera s times finer, pixel centres kept), its
coverage ``c`` averaged per pixel, and each pixel with 0 < c < 1 becomes ``c · body + (1 − c) · background``, the
body colour from the pixel (inside) or its proxy-covered neighbours (outside), the background likewise. Scored on
the validation split (the shipped weights, G1+G2 with the fill, as the demo shows them): L1 in the body, and over
the identity baseline's. Run: ``python benchmarks/notes/2026-12-outline-coverage.py [--pairs 256]``. Shipped at 2×2 as
``geometry/outline.py`` (the shipped pipeline then scores its own row: read this on a tree before that commit).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic.pairs import plan_pair
from posegen_lite.evaluation import checkpoint_predictors
from posegen_lite.evaluation.budget import pixel_error
from posegen_lite.evaluation.protocol import sample_indices
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.fit import proxy_part_map
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS


def coverage(ds, indices: list[int], joints: torch.Tensor, s: int) -> torch.Tensor:
    """``(B, 1, H, W)`` share of each pixel's s×s sub-pixels on the target's proxy."""
    out = []
    for k, i in enumerate(indices):
        cam = plan_pair(ds.config, ds.split, i).cameras[1]
        K = cam.K.copy()
        K[:2, :2] *= s
        K[:2, 2] = s * K[:2, 2] + (s - 1) / 2  # sub-pixel centres at (j + 1/2)/s − 1/2 of a pixel
        fine = Camera(K, cam.R, cam.t, cam.width * s, cam.height * s, cam.dist)
        parts = proxy_part_map(joints[k].numpy().astype(np.float64), fine)
        out.append(F.avg_pool2d(torch.from_numpy(parts >= 0).float()[None, None], s)[0])
    return torch.stack(out)


def soften(images: torch.Tensor, on: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    def spread(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        num = F.avg_pool2d(images * w, 3, 1, 1, count_include_pad=False)
        den = F.avg_pool2d(w, 3, 1, 1, count_include_pad=False)
        return num / den.clamp_min(1e-6), den

    body, nb = spread(on)
    back, nf = spread(1 - on)
    body = torch.where(on > 0.5, images, body)
    back = torch.where(on < 0.5, images, back)
    edge = (c > 0) & (c < 1) & (nb > 0) & (nf > 0)
    return torch.where(edge, c * body + (1 - c) * back, images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    predict = checkpoint_predictors(DEMO_WEIGHTS, fill_ring=OUTLINE_RING)["G1+G2"]
    ds = build_dataset(DataSpec(data="synthetic", size=(128, 64), extras=True), "val")
    indices = sample_indices(len(ds), args.pairs)
    sums: dict[str, float] = {}
    count = 0.0
    for start in range(0, len(indices), 64):
        chunk = indices[start : start + 64]
        b = next(iter(DataLoader(Subset(ds, chunk), batch_size=len(chunk))))
        body = b["mask_b"][:, 0] > 0.5
        out = predict(b)
        on = (b["proxy_parts_b"] >= 0).float()[:, None]
        same = (torch.remainder(b["yaw"].double(), 360.0) == 0).view(-1, 1, 1, 1)  # the input itself: untouched
        rows = {"identity": b["image_a"], "G1+G2 + fill (shipped)": out}
        for s in (2, 3, 4):
            rows[f"+ outline coverage {s}×{s}"] = torch.where(
                same, out, soften(out, on, coverage(ds, chunk, b["joints3d_b"], s))
            )
        for name, pred in rows.items():
            sums[name] = sums.get(name, 0.0) + float((pixel_error(pred, b["image_b"]) * body).sum())
        count += float(body.sum())
    ident = sums["identity"] / count
    print(f"validation, {len(indices)} pairs: L1 in the body (× identity)")
    for name, total in sums.items():
        print(f"{name:28s} {total / count:.5f} ({total / count / ident:.3f}×)")


if __name__ == "__main__":
    main()
