"""Baselines for the side of the person the input never saw: no learning, the bar a model must clear.

* ``MirrorBaseline`` — the input flipped left–right: at 180° a body's back is roughly its front mirrored.
* ``PartMedianBaseline`` — every body-proxy part of the target view painted the median colour of the input's
  pixels on that part, the input's pixels elsewhere (as ``IdentityBaseline``): flat, clean, and hard to beat
  on the unseen side (docs/evaluation.md, "Baselines for the unseen side").

Both follow the predictor protocol of ``predictors.py``: ``predict(batch) -> (B, 3, H, W)`` float in [-1, 1].
The median baseline needs the proxy's part ids of *both* views in the batch: ``proxy_parts_b`` (dataset
extras) and ``proxy_parts_a``, which ``SourceParts`` adds to a synthetic dataset (``source_view_parts``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from posegen_lite.geometry.camera import Camera


class MirrorBaseline:
    """Predicts the condition image flipped left–right: ``Î_B(x, y) = I_A(W − 1 − x, y)`` (``(B, 3, H, W)``)."""

    def __call__(self, batch: dict) -> torch.Tensor:
        return torch.flip(batch["image_a"], dims=(-1,))


def part_median_image(image_a: torch.Tensor, parts_a: torch.Tensor, parts_b: torch.Tensor) -> torch.Tensor:
    """Paint the target view's proxy parts with the input's per-part median colours.

    Args:
        image_a: ``(B, 3, H, W)`` float in [-1, 1], the input view.
        parts_a, parts_b: ``(B, H, W)`` int proxy part ids (``PROXY_PARTS``, −1 = background) of the input and
            the target view.
    Returns:
        ``(B, 3, H, W)`` float32: where ``parts_b == k``, the per-channel median (``np.median``: the mean of the
        two middle values for an even count) of ``image_a`` over the pixels where ``parts_a == k``; a part the
        input does not show gets the median over all of the input's proxy pixels; ``image_a`` on the target's
        background (and everywhere, if the input shows no proxy pixel at all).
    """
    if image_a.dim() != 4 or image_a.shape[1] != 3:
        raise ValueError(f"image_a must be (B, 3, H, W), got {tuple(image_a.shape)}")
    b, _, h, w = image_a.shape
    for name, parts in (("parts_a", parts_a), ("parts_b", parts_b)):
        if tuple(parts.shape) != (b, h, w):
            raise ValueError(f"{name} must be (B, H, W) = {(b, h, w)}, got {tuple(parts.shape)}")
    out = image_a.detach().float().cpu().numpy().copy()
    pa, pb = parts_a.cpu().numpy(), parts_b.cpu().numpy()
    for i in range(b):
        pixels = out[i].reshape(3, -1).copy()  # the input's colours, before any part is painted
        on_body = pa[i].reshape(-1) >= 0
        if not on_body.any():
            continue
        fallback = np.median(pixels[:, on_body], axis=1)
        for k in np.unique(pb[i][pb[i] >= 0]):
            seen = pa[i].reshape(-1) == k
            colour = np.median(pixels[:, seen], axis=1) if seen.any() else fallback
            out[i][:, pb[i] == k] = colour[:, None]
    return torch.from_numpy(out)


class PartMedianBaseline:
    """Texture completion by per-part median colour (``part_median_image``), no learning. Needs a batch with
    ``proxy_parts_a`` and ``proxy_parts_b`` (``SourceParts`` over a dataset built with extras)."""

    def __call__(self, batch: dict) -> torch.Tensor:
        if "proxy_parts_a" not in batch or "proxy_parts_b" not in batch:
            raise ValueError(
                "PartMedianBaseline needs proxy_parts_a and proxy_parts_b in the batch "
                "(SourceParts over a dataset built with extras)"
            )
        return part_median_image(batch["image_a"], batch["proxy_parts_a"], batch["proxy_parts_b"])


# --- the input view's proxy parts --------------------------------------------------------------------------


def source_view_parts(joints3d: np.ndarray, cameras: Sequence[Camera]) -> torch.Tensor:
    """The body proxy's part id at every pixel of each camera's view: ``joints3d (B, 18, 3)`` world joints,
    ``B`` cameras of one size ``H × W`` → ``(B, H, W)`` int64 (``PROXY_PARTS``, −1 = background).

    The only place this module touches the proxy's ray caster (``geometry/proxy.py``)."""
    from posegen_lite.geometry.proxy import build_proxy, cast_view, ray_cameras

    cams = ray_cameras(cameras)
    with torch.no_grad():
        hits = cast_view(build_proxy(np.asarray(joints3d, np.float64)), cams)
    return hits.part.view(len(cams), cams.height, cams.width)


class SourceParts(Dataset):
    """A synthetic pair dataset (``SyntheticPairs``) whose samples also hold ``proxy_parts_a`` ``(H, W)``
    int64: the proxy's parts in the *input* view, from the pair's joints and camera A (``plan_pair``)."""

    def __init__(self, dataset: Dataset) -> None:
        if not hasattr(dataset, "config") or not hasattr(dataset, "split"):
            raise ValueError("SourceParts needs a synthetic dataset (its pairs' cameras come from plan_pair)")
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        from posegen_lite.data.synthetic.pairs import plan_pair

        samples = self.dataset.__getitems__(list(indices))
        plans = [plan_pair(self.dataset.config, self.dataset.split, int(i)) for i in indices]
        parts = source_view_parts(np.stack([p.body.joints3d for p in plans]), [p.cameras[0] for p in plans])
        for sample, part in zip(samples, parts, strict=True):
            sample["proxy_parts_a"] = part
        return samples
