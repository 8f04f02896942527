"""Measures of the side of the person the input never saw (docs/evaluation.md, "Measures of the unseen side").

* ``unseen_l1`` — L1 over the target body pixels whose proxy surface point the input did not see: the
  protocol's ``masked_l1_unseen`` (``metrics.VISIBILITY_METRICS``), exposed on its own.
* ``mottle_ratio`` — high-frequency energy (mean squared Laplacian) of the prediction in the unseen body
  region (within parts) ÷ the truth's: 1 = as much fine texture as the real image, > 1 mottled, < 1 too flat.
* ``turntable_ratio`` — how much two renders of nearby views disagree on the surface points both show,
  ÷ how much the two true images disagree: 1 = as consistent as the truth, > 1 flickers, < 1 too static.

Images are compared as the protocol does: 8-bit RGB ``(H, W, 3)`` uint8 (``images.to_uint8`` for tensors),
intensities ``/ 255`` in [0, 1]. Undefined values are NaN with a ``RuntimeWarning``, as in ``metrics.py``.
``UnseenRecorder`` scores a predictor's outputs as ``evaluate`` runs it (no second forward pass).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from posegen_lite.evaluation import metrics
from posegen_lite.evaluation.predictors import Predictor
from posegen_lite.images import to_uint8

UNSEEN_METRICS = ("masked_l1_unseen", "mottle_ratio")


def unseen_region(mask: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: inside the body ``mask`` (``(H, W)`` in {0, 1}) and not seen by the input
    (``visibility`` ``(H, W)`` ≤ 0.5)."""
    return (np.asarray(mask) > 0.5) & ~(np.asarray(visibility) > 0.5)


def unseen_l1(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, visibility: np.ndarray) -> float:
    """``mean |pred − target| / 255`` (in [0, 1]) over ``unseen_region(mask, visibility)`` — the protocol's
    ``masked_l1_unseen`` with PG2's target body mask; NaN (with a warning) where the input saw everything."""
    return metrics.l1_in_mask(pred, target, unseen_region(mask, visibility))


# --- mottle ---------------------------------------------------------------------------------------------


def laplacian_energy(image: np.ndarray, region: np.ndarray) -> float:
    """High-frequency energy of ``image`` ``(H, W, 3)`` uint8 inside ``region`` ``(H, W)`` bool.

    ``E = mean over p ∈ R° of mean over c ∈ RGB of (ΔI_c(p))²`` with ``I = image / 255`` and the 5-point
    Laplacian ``ΔI(x, y) = I(x+1, y) + I(x−1, y) + I(x, y+1) + I(x, y−1) − 4·I(x, y)``; ``R°`` holds the
    pixels of ``R`` whose four neighbours are in ``R`` too, so the region's outline (the body's silhouette
    against the background) never counts. Units: (intensity / px²)², intensity in [0, 1]; a flat region
    gives 0, a one-pixel checkerboard of amplitude ±a gives 64·a². NaN (with a warning) if ``R°`` is empty.
    """
    terms, inner = laplacian_terms(image, region)
    if not inner.any():
        return metrics._undefined("laplacian_energy: no pixel of the region has all four neighbours in it")
    return float(terms[inner].mean())


def laplacian_terms(image: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``laplacian_energy``'s terms: ``(E (H, W) float64, R° (H, W) bool)``, ``E`` the mean over RGB of the squared
    5-point Laplacian of ``image / 255`` on ``R°`` (the pixels of ``region`` whose four neighbours are in it), 0 off it.
    Summed over a part of ``R°`` they say how much of the energy lies there."""
    img = metrics._check_image("image", image).astype(np.float64) / 255.0
    r = metrics._check_mask(region, img.shape)
    inner = np.zeros_like(r)
    inner[1:-1, 1:-1] = r[1:-1, 1:-1] & r[:-2, 1:-1] & r[2:, 1:-1] & r[1:-1, :-2] & r[1:-1, 2:]
    lap = np.zeros_like(img)
    lap[1:-1, 1:-1] = img[:-2, 1:-1] + img[2:, 1:-1] + img[1:-1, :-2] + img[1:-1, 2:] - 4.0 * img[1:-1, 1:-1]
    return np.where(inner, (lap**2).mean(-1), 0.0), inner


def mottle_ratio(pred: np.ndarray, target: np.ndarray, region: np.ndarray) -> float:
    """``laplacian_energy(pred, R) / laplacian_energy(target, R)``: 1 = as much fine texture as the truth,
    > 1 mottled (speckle, blotches), < 1 too flat. NaN (with a warning) for a flat target or an empty ``R°``."""
    metrics._check_pair(pred, target)
    truth = laplacian_energy(target, region)
    if not np.isfinite(truth):
        return truth
    if truth == 0.0:
        return metrics._undefined("mottle_ratio: the target is flat inside the region")
    return laplacian_energy(pred, region) / truth


def part_interior(parts: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: body pixels (``parts ≥ 0``) whose four neighbours show the same part — so a Laplacian
    there never straddles an edge between parts (sleeve and skin, shirt and trousers), only texture within one."""
    p = np.asarray(parts)
    inner = np.zeros(p.shape, bool)
    c = p[1:-1, 1:-1]
    inner[1:-1, 1:-1] = (c >= 0) & (p[:-2, 1:-1] == c) & (p[2:, 1:-1] == c) & (p[1:-1, :-2] == c) & (p[1:-1, 2:] == c)
    return inner


def unseen_body(batch: dict, i: int) -> np.ndarray:
    """Sample ``i``'s body pixels the input never saw, ``(H, W)`` bool, for the mottle ratio: the renderer's
    exact parts' interiors (``part_interior(parts_b)``) where the batch has them, else PG2's ``mask_b``; minus
    the pixels whose surface point the input saw (``visibility``)."""
    if "parts_b" in batch:
        body = part_interior(np.asarray(batch["parts_b"][i]))
    else:
        body = np.asarray(batch["mask_b"][i, 0]) > 0.5
    return unseen_region(body, np.asarray(batch["visibility"][i, 0]))


def unseen_scores(pred: torch.Tensor, batch: dict) -> dict[str, np.ndarray]:
    """``UNSEEN_METRICS`` per sample: ``{"masked_l1_unseen", "mottle_ratio"}`` → ``(B,)`` float64.
    ``pred`` ``(B, 3, H, W)`` in [-1, 1]; ``batch`` needs ``image_b``, ``mask_b`` and ``visibility``."""
    if "visibility" not in batch:
        raise ValueError("the unseen-side measures need the body proxy's visibility in the batch (dataset extras)")
    preds, targets = to_uint8(pred), to_uint8(batch["image_b"])
    out = {name: np.empty(len(preds), np.float64) for name in UNSEEN_METRICS}
    for i, (p, t) in enumerate(zip(preds, targets, strict=True)):
        mask, vis = np.asarray(batch["mask_b"][i, 0]), np.asarray(batch["visibility"][i, 0])
        out["masked_l1_unseen"][i] = unseen_l1(p, t, mask, vis)
        out["mottle_ratio"][i] = mottle_ratio(p, t, unseen_body(batch, i))
    return out


class UnseenRecorder:
    """A predictor that forwards to ``predictor`` and keeps ``unseen_scores`` of every batch it answers, in
    order; ``scores()`` concatenates them (aligned with ``EvalResult.meta`` when ``evaluate`` ran it).
    Undefined values are NaN, counted in ``undefined`` without a warning each (as ``evaluate`` does)."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self._chunks: list[dict[str, np.ndarray]] = []
        self.undefined = 0  # NaN values among the scores (an input that saw the whole target, a flat target)

    def __call__(self, batch: dict) -> torch.Tensor:
        pred = self.predictor(batch)
        # As ``evaluate``: undefined values are NaN and counted, not one warning per sample.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            self._chunks.append(unseen_scores(pred.detach().float().cpu().clamp(-1.0, 1.0), batch))
        self.undefined += sum(issubclass(w.category, RuntimeWarning) for w in caught)
        return pred

    def scores(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate([c[name] for c in self._chunks]) for name in UNSEEN_METRICS}


# --- turntable consistency --------------------------------------------------------------------------------


def turntable_difference(view_1: np.ndarray, view_2: np.ndarray, flow: np.ndarray, where: np.ndarray) -> float:
    """How much two views disagree on the surface points both show.

    ``D = mean over p ∈ S of mean over c of |I₁_c(p) − I₂_c(p + f(p))| / 255`` in [0, 1], with ``I₂`` sampled
    bilinearly (``models.warping.warp_image``) at the pixel the backward ``flow`` ``f`` ``(2, H, W)`` (x, y px:
    view 1 → view 2, ``proxy_maps``' convention) gives, and ``S = where`` ``(H, W)`` bool: view-1 pixels whose surface
    point view 2 also shows. ``view_1``, ``view_2``: ``(H, W, 3)`` uint8. NaN (with a warning) if ``S`` is empty.
    """
    from posegen_lite.models.warping import warp_image

    metrics._check_pair(view_1, view_2)
    s = metrics._check_mask(where, view_1.shape)
    if not s.any():
        return metrics._undefined("turntable_difference: no surface point is seen in both views")
    v2 = torch.from_numpy(view_2.astype(np.float64) / 255.0).permute(2, 0, 1)[None]  # float64: exact on shifts
    f = torch.as_tensor(np.asarray(flow, np.float64))[None]
    carried = warp_image(v2, f, torch.ones(1, 1, *view_1.shape[:2], dtype=torch.float64))[0].permute(1, 2, 0)
    carried = carried.numpy()
    return float(np.abs(view_1.astype(np.float64) / 255.0 - carried)[s].mean())


def turntable_ratio(
    pred_1: np.ndarray,
    pred_2: np.ndarray,
    truth_1: np.ndarray,
    truth_2: np.ndarray,
    flow: np.ndarray,
    where: np.ndarray,
) -> float:
    """``turntable_difference`` of the two predictions ÷ that of the two true images, on the same pixels
    ``where`` and the same ``flow``: 1 = as consistent as the truth, > 1 flickers between nearby views,
    < 1 more static than the truth (a flat or view-independent texture). NaN if the truth's value is 0."""
    truth = turntable_difference(truth_1, truth_2, flow, where)
    if not np.isfinite(truth):
        return truth
    if truth == 0.0:
        return metrics._undefined("turntable_ratio: the true views agree exactly")
    return turntable_difference(pred_1, pred_2, flow, where) / truth
