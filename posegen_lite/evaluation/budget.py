"""An error budget: where a prediction's L1 in the target body comes from, in shares that add up.

The quality table gives one number, the L1 inside the target body mask. To know what would lower it, split it:
by body region (``geometry.proxy.REGION_NAMES``: head, torso, arms, hands, legs, feet, and the background that
the mask holds — PG2's body mask is drawn round the keypoints and is wider than the body), by whether the input
saw the pixel's surface point (the body proxy's visibility), and by the silhouette band (the pixels within
``band`` pixels of the edge between body and background, on either side). Each share is the sum of the absolute
error over its pixels divided by the number of mask pixels, so the shares of one partition add up to the L1 in
the body exactly.

Images are compared as the protocol does (``metrics``): 8-bit RGB, the error of a pixel is the mean over its
three channels of ``|pred − target| / 255``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from posegen_lite.geometry.proxy import REGION_NAMES, part_regions
from posegen_lite.images import to_uint8

BODY_REGIONS: tuple[str, ...] = (*REGION_NAMES[1:], "background")
"""The regions of a budget: ``REGION_NAMES`` without the background, then ``background``: the mask's pixels
whose part map says background."""


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, parts: torch.Tensor, seen: torch.Tensor):
    if pred.dim() != 4 or pred.shape[1] != 3 or pred.shape != target.shape:
        raise ValueError(f"pred and target must both be (B, 3, H, W), got {tuple(pred.shape)}, {tuple(target.shape)}")
    b, _, h, w = pred.shape
    for name, t in (("mask", mask), ("seen", seen)):
        if tuple(t.shape) != (b, 1, h, w):
            raise ValueError(f"{name} must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(t.shape)}")
    if tuple(parts.shape) != (b, h, w):
        raise ValueError(f"parts must be (B, H, W) = {(b, h, w)}, got {tuple(parts.shape)}")


def pixel_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` float64 in [0, 1]: the protocol's per-pixel error of two ``(B, 3, H, W)`` images in
    [-1, 1] (both made 8-bit first, then the mean over RGB of ``|pred − target| / 255``)."""
    p, t = to_uint8(pred).astype(np.float64), to_uint8(target).astype(np.float64)
    return torch.from_numpy(np.abs(p - t).mean(-1) / 255.0)


def silhouette_band(parts: torch.Tensor, band: int) -> torch.Tensor:
    """``(B, H, W)`` bool: the pixels within ``band`` pixels (a square neighbourhood) of the edge between body
    and background in the part map ``parts (B, H, W)`` (−1 = background), on both sides of it: where the
    silhouette's error lies. ``band`` 0 gives no pixel."""
    if band <= 0:
        return torch.zeros(parts.shape, dtype=torch.bool)
    on = (parts >= 0).float()[:, None]
    grown = F.max_pool2d(on, 2 * band + 1, stride=1, padding=band)
    shrunk = -F.max_pool2d(-on, 2 * band + 1, stride=1, padding=band)
    return ((grown > 0.5) & (shrunk < 0.5))[:, 0]


def error_budget(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    parts: torch.Tensor,
    seen: torch.Tensor,
    band: int = 1,
) -> dict[str, np.ndarray]:
    """Split each sample's L1 in the target body into additive shares.

    Args:
        pred, target: ``(B, 3, H, W)`` float in [-1, 1].
        mask: ``(B, 1, H, W)`` target body mask in {0, 1}.
        parts: ``(B, H, W)`` int part ids, renderer's or proxy's (−1 = background), for the regions.
        seen: ``(B, 1, H, W)`` in {0, 1}: 1 where the input saw the pixel's surface point.
        band: the silhouette band's reach, in pixels, on each side of the edge (``silhouette_band``).
    Returns:
        ``{key: (B,) float64}`` with ``masked_l1``; ``seen`` and ``unseen``; ``band`` and ``interior``;
        ``"<region> seen"`` and ``"<region> unseen"`` for every region of ``BODY_REGIONS``; and for every one
        of those keys but ``masked_l1`` also ``"px <key>"``, the fraction of the mask's pixels it covers.
        Each partition (seen/unseen, band/interior, the regions × seen/unseen) adds up to ``masked_l1``.
        A sample with an empty mask gives NaN everywhere.
    """
    _check(pred, target, mask, parts, seen)
    err = pixel_error(pred, target)  # (B, H, W)
    body = mask[:, 0].detach().cpu() > 0.5
    saw = seen[:, 0].detach().cpu() > 0.5
    count = body.sum((1, 2)).double()
    count = torch.where(count > 0, count, torch.full_like(count, float("nan")))
    region = part_regions(parts.detach().cpu())  # 0 = background
    region = torch.where(region == 0, torch.full_like(region, len(REGION_NAMES)), region)  # "other"
    edge = silhouette_band(parts.detach().cpu(), band)

    out: dict[str, np.ndarray] = {"masked_l1": ((err * body).sum((1, 2)) / count).numpy()}

    def share(key: str, where: torch.Tensor) -> None:
        where = where & body
        out[key] = ((err * where).sum((1, 2)) / count).numpy()
        out[f"px {key}"] = (where.sum((1, 2)) / count).numpy()

    share("seen", saw)
    share("unseen", ~saw)
    share("band", edge)
    share("interior", ~edge)
    for r, name in enumerate(BODY_REGIONS, start=1):
        share(f"{name} seen", (region == r) & saw)
        share(f"{name} unseen", (region == r) & ~saw)
    return out
