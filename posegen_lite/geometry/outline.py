"""The body's outline in a target view, antialiased: the body proxy's sub-pixel coverage and the mix it gives.

A camera integrates each pixel's area, so a pixel the body half covers shows half body, half background. The
networks paint the pixels whose centre the proxy covers and the fill (``warp.fill_uncovered``) makes the rest
background: a hard edge, where 44 % of the L1 in the body lay (benchmarks/README.md, the error budget).
``outline_coverage`` casts the proxy through ``n × n`` sub-pixels of every pixel (``RayCameras.finer``) and averages
them; ``soften_outline`` gives each pixel the outline crosses ``c · body + (1 − c) · background``, its colours
taken from itself and its 3×3 neighbours on either side of the pixel-centre silhouette
(benchmarks/notes/2026-12-outline-coverage.md). Shapes: images ``(B, C, H, W)``, masks ``(B, 1, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.proxy import build_proxy
from posegen_lite.geometry.ray_cameras import OrthoCamera, ray_cameras
from posegen_lite.geometry.raycast import Primitives, _cast

# 2 × 2 sub-pixels: the cheapest, and on `val` the best (L1 in the body 0.375× → 0.327× identity; 3 × 3: 0.344×).
OUTLINE_SUBPIXELS = 2


def outline_coverage(
    joints3d: np.ndarray,
    cameras: Sequence[Camera | OrthoCamera],
    subpixels: int = OUTLINE_SUBPIXELS,
    radius_scale: np.ndarray | None = None,
    proxy: Primitives | None = None,
) -> torch.Tensor:
    """``(B, 1, H, W)`` float32 in [0, 1]: the share of each pixel's ``subpixels × subpixels`` sub-pixels on the
    body proxy of the poses ``joints3d`` ``(B, 18, 3)`` (or one ``(18, 3)``) seen by ``cameras`` (``B``, one image
    size), its parts widened by ``radius_scale`` ``(P,)``; ``proxy``: that proxy when already built."""
    joints = np.asarray(joints3d, np.float64)
    joints = joints[None] if joints.ndim == 2 else joints
    if len(joints) != len(cameras):
        raise ValueError(f"{len(joints)} poses for {len(cameras)} cameras")
    cams = ray_cameras(cameras).finer(subpixels)
    with torch.no_grad():
        hits = _cast(build_proxy(joints, radius_scale) if proxy is None else proxy, cams, surface=False)
    on = torch.isfinite(hits.depth).view(len(joints), 1, cams.height, cams.width).float()  # a hit: finite depth
    return F.avg_pool2d(on, subpixels)


def soften_outline(images: torch.Tensor, silhouette: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    """``images`` ``(B, C, H, W)`` float with every pixel of partial ``coverage`` (0 < c < 1) made ``c · body + (1 −
    c) · background``: the body colour is the pixel's own where ``silhouette`` (the proxy at pixel centres, {0, 1})
    covers it, else the mean of its covered 3×3 neighbours; the background colour likewise from the uncovered ones.
    A pixel with no neighbour on one side, and every pixel of coverage 0 or 1, is returned unchanged."""
    if silhouette.shape != coverage.shape or coverage.shape[0] != images.shape[0] or coverage.shape[1] != 1:
        raise ValueError(f"silhouette {tuple(silhouette.shape)} and coverage {tuple(coverage.shape)} must be "
                         f"(B, 1, H, W) for images {tuple(images.shape)}")  # fmt: skip
    on = silhouette.to(images.dtype)
    c = coverage.to(images.dtype)
    # 3×3 sums of the colours and the counts on either side (the background's: all of it less the body's)
    body_sum, all_sum = _box_sum(images * on), _box_sum(images)
    body_count, all_count = _box_sum(on), _box_sum(torch.ones_like(on))
    back_count = all_count - body_count
    body = torch.where(on > 0.5, images, body_sum / body_count.clamp_min(1e-6))
    back = torch.where(on < 0.5, images, (all_sum - body_sum) / back_count.clamp_min(1e-6))
    edge = (c > 0) & (c < 1) & (body_count > 0.5) & (back_count > 0.5)
    return torch.where(edge, c * body + (1 - c) * back, images)


def _box_sum(x: torch.Tensor) -> torch.Tensor:
    """The sum over each pixel's 3×3 neighbourhood (zeros beyond the image) of ``x (B, C, H, W)``: shifted views
    added up, about twice as fast on a CPU as ``avg_pool2d`` here."""
    H, W = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    rows = padded[..., :, 0:W] + padded[..., :, 1 : W + 1] + padded[..., :, 2 : W + 2]
    return rows[..., 0:H, :] + rows[..., 1 : H + 1, :] + rows[..., 2 : H + 2, :]
