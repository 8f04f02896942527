"""The warp a network applies: carry a source image or feature map to the target view with a backward flow.

Stage I (``geometry/warp.py``) makes the tensors; the networks only sample with them, so they need nothing of
Stage I but this module. Conventions (``geometry/warp.py`` states them):

* ``flow (B, 2, H, W)`` float32, backward flow target → source in pixels (x right, y down, pixel centres at
  integers; 0 = identity);
* ``visibility (B, 1, H, W)`` float32 in {0, 1}: 1 where the source saw the target pixel's surface point.

``warp_image`` samples the source at ``x + flow`` with ``grid_sample`` (bilinear) and multiplies by the
visibility, so a pixel the source never saw is 0 (mid-grey for images in [-1, 1]) rather than a guess.
``relight_seen`` gives the pixels the source saw squarely its colour re-lit for a light fixed to the camera.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from posegen_lite.images import max_filter


def flow_to_grid(flow: torch.Tensor, source_size: tuple[int, int] | None = None) -> torch.Tensor:
    """Backward flow ``(B, 2, H, W)`` px → ``grid_sample`` grid ``(B, H, W, 2)`` for ``align_corners=False``
    (−1 and +1 are the outer edges of the source image, ``source_size = (h, w)``, default the flow's size)."""
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"flow must be (B, 2, H, W), got {tuple(flow.shape)}")
    _, _, H, W = flow.shape
    h, w = source_size or (H, W)
    ys, xs = torch.meshgrid(
        torch.arange(H, dtype=flow.dtype, device=flow.device),
        torch.arange(W, dtype=flow.dtype, device=flow.device),
        indexing="ij",
    )
    gx = (2.0 * (xs + flow[:, 0]) + 1.0) / w - 1.0
    gy = (2.0 * (ys + flow[:, 1]) + 1.0) / h - 1.0
    return torch.stack([gx, gy], dim=-1)


def warp_image(image: torch.Tensor, flow: torch.Tensor, visibility: torch.Tensor) -> torch.Tensor:
    """Carry the source ``image (B, C, h, w)`` to the target view: bilinear samples at ``x + flow``, times
    ``visibility (B, 1, H, W)`` → ``(B, C, H, W)`` (0 where the source did not see the point)."""
    if image.dim() != 4 or visibility.dim() != 4 or visibility.shape[1] != 1:
        raise ValueError(
            f"warp_image: image (B, C, h, w) and visibility (B, 1, H, W) expected, got "
            f"{tuple(image.shape)}, {tuple(visibility.shape)}"
        )
    if image.shape[0] != flow.shape[0] or flow.shape[0] != visibility.shape[0]:
        raise ValueError("warp_image: batch sizes differ")
    grid = flow_to_grid(flow.to(image.dtype), (image.shape[2], image.shape[3]))
    warped = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped * visibility.to(warped.dtype)


def warp_features(features: torch.Tensor, flow: torch.Tensor, visibility: torch.Tensor) -> torch.Tensor:
    """``warp_image`` for a feature map at a lower resolution ``(B, C, H/k, W/k)``: the full-size flow is
    average-pooled and divided by ``k`` (pixels shrink), the visibility average-pooled (a soft gate)."""
    k_h, k_w = flow.shape[2] // features.shape[2], flow.shape[3] // features.shape[3]
    if k_h < 1 or k_w < 1 or k_h * features.shape[2] != flow.shape[2] or k_w * features.shape[3] != flow.shape[3]:
        raise ValueError(f"features {tuple(features.shape)} are not a whole fraction of flow {tuple(flow.shape)}")
    if (k_h, k_w) == (1, 1):
        return warp_image(features, flow, visibility)
    vis = F.avg_pool2d(visibility, (k_h, k_w))
    # Average the flow over the visible pixels of each cell (background pixels carry flow 0, not a motion).
    weight = F.avg_pool2d(visibility, (k_h, k_w)).clamp_min(1e-6)
    small = F.avg_pool2d(flow * visibility, (k_h, k_w)) / weight
    small = torch.stack([small[:, 0] / k_w, small[:, 1] / k_h], dim=1)
    return warp_image(features, small, vis)


def grow_by_one_pixel(mask: torch.Tensor) -> torch.Tensor:
    """``mask (B, 1, H, W)`` in {0, 1} dilated by a 3×3 square: what G2's regions allow (the same values as
    ``geometry.warp.grow_mask(mask, 1)``, which Stage I uses for wider rings)."""
    return max_filter(mask, 1)


# A target pixel the input saw within 60° of straight on, away from the seen region's edge (a 3×3 erosion: there
# the proxy and the person part ways), takes the input's colour re-lit (benchmarks/notes/2026-12-relit-texture.md).
SEEN_FACING = 0.5


def relight_seen(
    views: torch.Tensor,
    image: torch.Tensor,
    flow: torch.Tensor,
    visibility: torch.Tensor,
    shade_a: torch.Tensor,
    facing_a: torch.Tensor,
    shade_b: torch.Tensor,
    min_facing: float = SEEN_FACING,
) -> torch.Tensor:
    """``views (B, C, H, W)`` with each pixel the input saw squarely made the input's colour there times the ratio
    of the two views' shades under a light fixed to the camera (``geometry/shading.py``):
    ``warp(image) · shade_b / warp(shade_a)``. Squarely: inside ``visibility`` eroded by 3×3, where ``facing_a``
    (the cosine of the input's view of the point) carried to the target exceeds ``min_facing``. ``image (B, C, h,
    w)`` on the scale of ``views`` with 0 black (0–255 or 0–1, not [-1, 1]); ``shade_a``, ``facing_a`` ``(B, 1, h,
    w)``; ``shade_b (B, 1, H, W)``."""
    vis = visibility.to(views.dtype)
    core = -F.max_pool2d(-vis, 3, 1, 1) > 0.5
    warped = warp_image(torch.cat([image, shade_a, facing_a], 1).to(views.dtype), flow, vis)
    colour, shade, facing = warped[:, :-2], warped[:, -2:-1], warped[:, -1:]
    relit = colour * shade_b.to(views.dtype) / shade.clamp_min(1e-3)
    return torch.where(core & (facing > min_facing), relit, views)
