"""Image-quality metrics: the one evaluation protocol of posegen_lite (docs/evaluation.md states it in full).

* Metrics compare **8-bit RGB images** ``(H, W, 3)`` uint8, what would be saved as PNG; ``batch_metrics``
  converts tensors with ``images.to_uint8`` (clamp to [-1, 1], ``round((x + 1) · 127.5)``).
* **SSIM** (Wang et al. 2004) through scikit-image: 11×11 Gaussian window, σ = 1.5, population statistics,
  ``data_range=255`` (fixed, never the particular image's range), per RGB channel and averaged; the 5-px
  border where the window does not fit is left out, and images under 11 px on a side are rejected.
* **mask-SSIM** (PG2's: both images times the *target* body mask, then SSIM) is reported for comparability but
  saturates; judge by **masked L1**, **bbox-SSIM**, **region L1** (face, hands, feet, torso) and the
  **sharpness ratio**.
* L1 is ``mean |a − b| / 255`` in [0, 1] (half the training loss's L1 on [-1, 1] tensors); PSNR in dB, peak
  255, ``inf`` for identical images.
* Undefined values (an empty mask, no visible joint in a region, a flat target) are NaN with a
  ``RuntimeWarning``; wrong shapes, dtypes and value ranges raise ``ValueError``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from skimage.metrics import structural_similarity

from posegen_lite.geometry.skeleton import JOINT_INDEX, NUM_JOINTS, check_keypoints
from posegen_lite.images import to_uint8

SSIM_SIGMA = 1.5
SSIM_WINDOW = 2 * int(3.5 * SSIM_SIGMA + 0.5) + 1  # scikit-image's Gaussian window (truncate = 3.5): 11 px

# Joints whose neighbourhood holds the detail of each region, and the half-size of the square box around
# each joint as a fraction of the image height (a head is ~1/8 of a standing person's height; the boxes
# are a bit smaller so that they stay on the part rather than the background around it).
REGION_JOINTS: dict[str, tuple[int, ...]] = {
    "face": tuple(JOINT_INDEX[j] for j in ("nose", "l_eye", "r_eye", "l_ear", "r_ear")),
    "hands": tuple(JOINT_INDEX[j] for j in ("r_wrist", "l_wrist")),
    "feet": tuple(JOINT_INDEX[j] for j in ("r_ankle", "l_ankle")),
    "torso": tuple(JOINT_INDEX[j] for j in ("neck", "r_shoulder", "l_shoulder", "r_hip", "l_hip")),
}
REGION_HALF_SIZE: dict[str, float] = {"face": 0.05, "hands": 0.05, "feet": 0.05, "torso": 0.02}


# --- input checks --------------------------------------------------------------------------------------


def _check_image(name: str, image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name}: expected uint8 pixels (use posegen_lite.images.to_uint8), got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name}: expected an (H, W, 3) RGB image, got shape {image.shape}")
    return image


def _check_pair(pred: np.ndarray, target: np.ndarray, min_side: int = 1) -> None:
    _check_image("pred", pred)
    _check_image("target", target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} differ in shape")
    if min(pred.shape[:2]) < min_side:
        raise ValueError(
            f"images of {pred.shape[0]}×{pred.shape[1]} are too small for SSIM's {SSIM_WINDOW}×{SSIM_WINDOW} window"
        )


def _check_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Validate a body mask ``(H, W)`` or ``(H, W, 1)`` with values in {0, 1} → ``(H, W)`` bool."""
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.shape != tuple(shape[:2]):
        raise ValueError(f"mask must be (H, W) = {tuple(shape[:2])} (or (H, W, 1)), got {np.shape(mask)}")
    if m.dtype != bool:
        if not (np.issubdtype(m.dtype, np.number) and np.isin(m, (0, 1)).all()):
            raise ValueError("mask values must be 0 or 1 (a binary body mask)")
        m = m.astype(bool)
    return m


def _undefined(what: str) -> float:
    warnings.warn(f"{what}: returning NaN", RuntimeWarning, stacklevel=3)
    return math.nan


def _abs_diff(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``|pred − target| / 255`` as float64 ``(H, W, 3)`` in [0, 1]."""
    return np.abs(pred.astype(np.float64) - target.astype(np.float64)) / 255.0


# --- whole-image metrics -------------------------------------------------------------------------------


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM of two ``(H, W, 3)`` uint8 images with the protocol's parameters (module docstring); ≤ 1."""
    _check_pair(pred, target, min_side=SSIM_WINDOW)
    return float(
        structural_similarity(
            pred,
            target,
            channel_axis=2,
            data_range=255,
            gaussian_weights=True,
            sigma=SSIM_SIGMA,
            use_sample_covariance=False,
        )
    )


def mask_ssim(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """PG2's mask-SSIM: ``ssim(pred ⊙ M, target ⊙ M)`` with ``M`` the target body mask ``(H, W)`` in {0, 1}.

    Whatever lies outside the mask is zeroed in both images, so it cannot change the score."""
    _check_pair(pred, target, min_side=SSIM_WINDOW)
    m = _check_mask(mask, pred.shape)[:, :, None].astype(np.uint8)
    return ssim(pred * m, target * m)


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``10·log10(255² / MSE)``; ``inf`` for identical images."""
    _check_pair(pred, target)
    mse = float(np.mean((pred.astype(np.float64) - target.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)


def l1(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute difference over pixels and channels, in [0, 1] (``/ 255``)."""
    _check_pair(pred, target)
    return float(_abs_diff(pred, target).mean())


# --- measures that do not saturate ---------------------------------------------------------------------


def l1_in_mask(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """L1 (in [0, 1]) over the pixels inside the target body mask only; NaN (with a warning) if it is empty."""
    _check_pair(pred, target)
    m = _check_mask(mask, pred.shape)
    if not m.any():
        return _undefined("l1_in_mask with an empty mask")
    return float(_abs_diff(pred, target)[m].mean())


def mask_bbox(mask: np.ndarray, min_size: int = 1) -> tuple[int, int, int, int] | None:
    """Bounding box ``(top, bottom, left, right)`` (bottom/right exclusive) of a ``(H, W)`` mask's pixels,
    grown symmetrically to at least ``min_size`` per side (clipped to the image); ``None`` if empty."""
    m = _check_mask(mask, np.shape(mask)[:2])
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    top, bottom = grow_span(int(rows[0]), int(rows[-1]) + 1, m.shape[0], min_size)
    left, right = grow_span(int(cols[0]), int(cols[-1]) + 1, m.shape[1], min_size)
    return top, bottom, left, right


def grow_span(lo: int, hi: int, size: int, min_size: int) -> tuple[int, int]:
    """Grow ``[lo, hi)`` around its centre to at least ``min(min_size, size)`` long, staying in ``[0, size)``."""
    need = min(min_size, size)
    if hi - lo >= need:
        return lo, hi
    lo = max(0, min(lo - (need - (hi - lo)) // 2, size - need))
    return lo, lo + need


def bbox_ssim(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """SSIM over the bounding box of the target body mask (grown to ≥ 11 px per side so SSIM's window
    fits): the person and the background around it, without the large empty margins that inflate
    full-image SSIM. NaN (with a warning) for an empty mask."""
    _check_pair(pred, target, min_side=SSIM_WINDOW)
    box = mask_bbox(_check_mask(mask, pred.shape), min_size=SSIM_WINDOW)
    if box is None:
        return _undefined("bbox_ssim with an empty mask")
    top, bottom, left, right = box
    return ssim(pred[top:bottom, left:right], target[top:bottom, left:right])


def region_mask(keypoints: np.ndarray, visible: np.ndarray, height: int, width: int, region: str) -> np.ndarray:
    """``(H, W)`` bool mask of a detail region from the target's 2D keypoints ``(18, 2)`` (x, y) pixels.

    ``face``/``hands``/``feet``: the union of squares of half-size ``REGION_HALF_SIZE[region] · height``
    (at least 2 px) centred on each visible joint of the region (nose/eyes/ears, wrists, ankles).
    ``torso``: the bounding box of the visible neck, shoulders and hips, grown by that half-size — it holds
    the shirt print. Empty if no joint of the region is visible.
    """
    if region not in REGION_JOINTS:
        raise ValueError(f"region must be one of {tuple(REGION_JOINTS)}, got {region!r}")
    xy, vis = check_keypoints(keypoints, visible)
    half = max(2, round(REGION_HALF_SIZE[region] * height))
    out = np.zeros((height, width), bool)
    pts = xy[[j for j in REGION_JOINTS[region] if vis[j]]]
    if len(pts) == 0:
        return out
    if region == "torso":
        boxes = [(pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())]
    else:
        boxes = [(x, x, y, y) for x, y in pts]
    for x0, x1, y0, y1 in boxes:
        top, bottom = max(0, round(y0) - half), min(height, round(y1) + half + 1)
        left, right = max(0, round(x0) - half), min(width, round(x1) + half + 1)
        if top < bottom and left < right:
            out[top:bottom, left:right] = True
    return out


def region_l1(
    pred: np.ndarray, target: np.ndarray, keypoints: np.ndarray, visible: np.ndarray, region: str = "face"
) -> float:
    """L1 (in [0, 1]) inside ``region_mask(keypoints, visible, H, W, region)`` — the target's keypoints.
    NaN (with a warning) when the region is empty (no visible joint of it, or all off the image)."""
    _check_pair(pred, target)
    m = region_mask(keypoints, visible, pred.shape[0], pred.shape[1], region)
    if not m.any():
        return _undefined(f"region_l1: no visible {region} joint in the image")
    return float(_abs_diff(pred, target)[m].mean())


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` mean over RGB of ``sqrt(∂x² + ∂y²)`` (central differences, ``np.gradient``) on [0, 1]
    intensities. Per channel, so an edge between two colours of equal brightness still counts."""
    img = _check_image("image", image).astype(np.float64) / 255.0
    gy, gx = np.gradient(img, axis=(0, 1))
    return np.sqrt(gx**2 + gy**2).mean(axis=2)


def sharpness_ratio(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """Mean gradient magnitude of ``pred`` inside the target mask divided by that of ``target``.

    1 = as much edge energy as the real image, < 1 = blurrier (G1's typical failure), > 1 = more edges
    than the target (noise or GAN artefacts). NaN (with a warning) for an empty mask or a flat target."""
    _check_pair(pred, target)
    m = _check_mask(mask, pred.shape)
    if not m.any():
        return _undefined("sharpness_ratio with an empty mask")
    target_sharpness = float(gradient_magnitude(target)[m].mean())
    if target_sharpness == 0.0:
        return _undefined("sharpness_ratio: the target is flat inside the mask")
    return float(gradient_magnitude(pred)[m].mean()) / target_sharpness


# --- batches of tensors --------------------------------------------------------------------------------


def _check_image_tensor(name: str, t: torch.Tensor) -> None:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor, got {getattr(t, 'dtype', type(t).__name__)}")
    if t.dim() != 4 or t.shape[1] != 3:
        raise ValueError(f"{name}: expected (B, 3, H, W), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name}: holds NaN or inf values")
    lo, hi = float(t.min()), float(t.max())
    if lo < -1.0 or hi > 1.0:
        raise ValueError(f"{name}: values must be in [-1, 1], got [{lo:.3g}, {hi:.3g}]")


def batch_metrics(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    keypoints: torch.Tensor | np.ndarray | None = None,
    visible: torch.Tensor | np.ndarray | None = None,
    details: dict | None = None,
) -> dict[str, np.ndarray]:
    """All metrics for a batch, per sample.

    Args:
        pred, target: ``(B, 3, H, W)`` float in [-1, 1] (converted to uint8 with ``to_uint8``).
        mask: ``(B, 1, H, W)`` target body masks, values in {0, 1}.
        keypoints, visible: optional target keypoints ``(B, 18, 2)`` (x, y) pixels and ``(B, 18)`` bool;
            when given, ``region_l1_<region>`` is added for every region.
        details: optional synthetic ground truth, the batch's ``parts_b``, ``print_b``, ``facing_a``,
            ``facing_b``, ``print_colours`` (``data/sample.py``); when given, ``DETAIL_METRICS`` are added,
            and ``VISIBILITY_METRICS`` when it also holds the body proxy's ``visibility`` ``(B, 1, H, W)``.
    Returns:
        ``{name: (B,) float64 array}`` for ``ssim, mask_ssim, bbox_ssim, psnr, l1, masked_l1,
        sharpness_ratio`` (+ ``region_l1_face, region_l1_hands, region_l1_feet, region_l1_torso``).
    """
    _check_image_tensor("pred", pred)
    _check_image_tensor("target", target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    b, _, h, w = pred.shape
    if tuple(mask.shape) != (b, 1, h, w):
        raise ValueError(f"mask must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(mask.shape)}")
    if (keypoints is None) != (visible is None):
        raise ValueError("give both keypoints and visible, or neither")
    kps: np.ndarray | None = None  # numpy copies under their own names, so each name keeps one type
    vis = np.zeros((b, NUM_JOINTS), bool)
    if keypoints is not None:
        kps, vis = np.asarray(keypoints, np.float32), np.asarray(visible, bool)
        if kps.shape != (b, NUM_JOINTS, 2) or vis.shape != (b, NUM_JOINTS):
            raise ValueError(
                f"keypoints must be (B, 18, 2) and visible (B, 18) with B = {b}, got {kps.shape} and {vis.shape}"
            )
    preds, targets = to_uint8(pred), to_uint8(target)
    masks = mask.detach().cpu().numpy()[:, 0]

    names = ["ssim", "mask_ssim", "bbox_ssim", "psnr", "l1", "masked_l1", "sharpness_ratio"]
    if keypoints is not None:
        names += [f"region_l1_{region}" for region in REGION_JOINTS]
    if details is not None:
        names += list(DETAIL_METRICS)
        d_parts = np.asarray(details["parts_b"])
        d_print = np.asarray(details["print_b"]).reshape(b, h, w) > 0.5
        d_fa, d_fb = np.asarray(details["facing_a"], np.float64), np.asarray(details["facing_b"], np.float64)
        d_cols = np.asarray(details["print_colours"], np.float64)
    d_vis = None
    if details is not None and "visibility" in details:
        names += list(VISIBILITY_METRICS)
        d_vis = np.asarray(details["visibility"]).reshape(b, h, w) > 0.5
    out = {name: np.empty(b, np.float64) for name in names}
    for i in range(b):
        p, t, m = preds[i], targets[i], masks[i]
        out["ssim"][i] = ssim(p, t)
        out["mask_ssim"][i] = mask_ssim(p, t, m)
        out["bbox_ssim"][i] = bbox_ssim(p, t, m)
        out["psnr"][i] = psnr(p, t)
        out["l1"][i] = l1(p, t)
        out["masked_l1"][i] = l1_in_mask(p, t, m)
        out["sharpness_ratio"][i] = sharpness_ratio(p, t, m)
        if kps is not None:
            for region in REGION_JOINTS:
                out[f"region_l1_{region}"][i] = region_l1(p, t, kps[i], vis[i], region)
        if details is not None:
            scores = detail_metrics(p, t, d_parts[i], d_print[i], d_fa[i], d_fb[i], d_cols[i])
            for name, value in scores.items():
                out[name][i] = value
        if d_vis is not None:
            body = m > 0.5
            out["masked_l1_seen"][i] = _l1_on(p, t, body & d_vis[i], "the seen part of the body")
            out["masked_l1_unseen"][i] = _l1_on(p, t, body & ~d_vis[i], "the unseen part of the body")
    return out


# --- detail metrics (synthetic ground truth: exact parts, print mask, chest facing; data/synthetic/detail.py) --

FRONT_COS = 0.5  # a view "shows the front" when the chest faces within 60° of the camera, "the back" beyond 120°
HEAD_PART, CHEST_PART, FOOT_PARTS = 3, 0, (14, 15)  # ids of data/synthetic/body.PART_NAMES
LEAK_MARGIN = 0.25  # RGB distance in [0, 1] units: a back pixel this far from every print colour can show a leak
DETAIL_METRICS = ("gt_l1_face", "gt_l1_print", "gt_l1_shoes", "print_ssim", "print_leak")
# The target body split by the body proxy's visibility: pixels whose surface point the input saw, and the rest
# (what only a guess can fill: the other side, and where the proxy misses the body).
VISIBILITY_METRICS = ("masked_l1_seen", "masked_l1_unseen")


def _l1_on(pred: np.ndarray, target: np.ndarray, where: np.ndarray, what: str) -> float:
    if not where.any():
        return _undefined(what)
    return float(_abs_diff(pred, target)[where].mean())


def print_leak(pred: np.ndarray, target: np.ndarray, chest: np.ndarray, colours: np.ndarray) -> float:
    """How much of the front print shows on a back view: the fraction of the target's chest pixels — those
    whose true colour is at least ``LEAK_MARGIN`` from every print colour — where the prediction is nearer
    to a print colour than to the true colour. ``colours``: ``(K, 3)`` in [0, 1] (NaN rows ignored)."""
    cols = np.asarray(colours, np.float64)
    cols = cols[np.isfinite(cols).all(axis=1)]
    if not chest.any() or len(cols) == 0:
        return _undefined("print leak: no chest pixel or no print colour")
    p = pred[chest].astype(np.float64) / 255.0
    t = target[chest].astype(np.float64) / 255.0
    d_pc = np.linalg.norm(p[:, None] - cols[None], axis=2).min(1)
    d_tc = np.linalg.norm(t[:, None] - cols[None], axis=2).min(1)
    eligible = d_tc >= LEAK_MARGIN
    if not eligible.any():
        return _undefined("print leak: the back has the print's colours")
    d_pt = np.linalg.norm(p - t, axis=1)
    return float((d_pc < d_pt)[eligible].mean())


def detail_metrics(
    pred: np.ndarray,
    target: np.ndarray,
    parts: np.ndarray,
    print_mask: np.ndarray,
    facing_a: float,
    facing_b: float,
    colours: np.ndarray,
) -> dict[str, float]:
    """Metrics of detail from the synthetic ground truth (``DETAIL_METRICS``), uint8 images ``(H, W, 3)``:

    * ``gt_l1_face`` / ``gt_l1_print``: L1 over the target's head pixels / shirt-print patch, defined when
      **both** views show the front (``facing ≥ FRONT_COS``); ``gt_l1_shoes``: L1 over the feet, any view;
    * ``print_ssim``: SSIM over the print patch's box (grown to 11 px) when both views show the front — is
      the print still legible;
    * ``print_leak``: on views whose target shows the back (``facing_b ≤ −FRONT_COS``), ``print_leak``.
    ``parts`` ``(H, W)`` int (``body.PART_NAMES``, −1 = background), ``print_mask`` ``(H, W)`` bool.
    """
    _check_pair(pred, target)
    both_front = facing_a >= FRONT_COS and facing_b >= FRONT_COS
    out = {name: math.nan for name in DETAIL_METRICS}
    out["gt_l1_shoes"] = _l1_on(pred, target, np.isin(parts, FOOT_PARTS), "no shoe visible")
    if both_front:
        out["gt_l1_face"] = _l1_on(pred, target, parts == HEAD_PART, "no head visible")
        out["gt_l1_print"] = _l1_on(pred, target, print_mask, "no print visible")
        box = mask_bbox(print_mask, min_size=SSIM_WINDOW) if min(pred.shape[:2]) >= SSIM_WINDOW else None
        if box is None:
            out["print_ssim"] = _undefined("no print visible (or an image below SSIM's window)")
        else:
            top, bottom, left, right = box
            out["print_ssim"] = ssim(pred[top:bottom, left:right], target[top:bottom, left:right])
    if facing_b <= -FRONT_COS:
        out["print_leak"] = print_leak(pred, target, parts == CHEST_PART, colours)
    return out


def summarize(per_sample: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``{name: {"mean", "std", "count", "nan"}}`` over samples; NaNs (undefined values) are left out of
    mean/std and counted. PSNR's ``inf`` (identical images) is kept, so a perfect copy shows as inf."""
    summary = {}
    for name, values in per_sample.items():
        v = np.asarray(values, np.float64)
        finite_or_inf = v[~np.isnan(v)]
        summary[name] = {
            "mean": float(finite_or_inf.mean()) if finite_or_inf.size else math.nan,
            "std": float(finite_or_inf.std()) if finite_or_inf.size else math.nan,
            "count": int(finite_or_inf.size),
            "nan": int(v.size - finite_or_inf.size),
        }
    return summary
