"""Scores of a synthesized crowd view against its ground-truth render.

* ``person_l1_in_body``: each person's error the way the single-person benchmark measures it — the target
  window of the prediction and of the ground truth, at the model's size, L1 inside the PG2 body mask of the
  person's true target keypoints. Occlusion is part of it: where someone else stands in front, both images
  show that someone.
* ``scene_bbox_ssim``: SSIM over the bounding box of all people's true silhouettes.
* ``occlusion_order_accuracy``: where two or more people's true silhouettes overlap, is the person in front
  the same in prediction and truth (per pixel)?
"""

from __future__ import annotations

import numpy as np

from posegen_lite.evaluation.metrics import bbox_ssim, l1_in_mask
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.posemaps import body_mask
from posegen_lite.geometry.scene import Window, crop


def person_l1_in_body(
    pred: np.ndarray,
    truth: np.ndarray,
    window: Window,
    camera: Camera,
    joints3d: np.ndarray,
    model_size: tuple[int, int],
) -> float:
    """L1 (images ``(H, W, 3)`` uint8, error in [0, 1]) inside the body mask of ``joints3d`` ``(18, 3)`` (true
    target pose) in ``window`` of both images resized to ``model_size``. NaN when no joint is in the window."""
    h, w = model_size
    p, t = crop(pred, window, pred, model_size), crop(truth, window, truth, model_size)
    xy, vis = window.crop_camera(camera, h, w).project(joints3d)
    mask = body_mask(xy, vis, h, w)[0] > 0.5
    return l1_in_mask(p, t, mask) if mask.any() else float("nan")


def scene_bbox_ssim(pred: np.ndarray, truth: np.ndarray, full_masks: np.ndarray) -> float:
    """``metrics.bbox_ssim`` over the union of the people's true silhouettes ``(N, H, W)`` bool."""
    return bbox_ssim(pred, truth, np.asarray(full_masks).any(axis=0))


def occlusion_order_accuracy(
    pred_front: np.ndarray, true_front: np.ndarray, full_masks: np.ndarray
) -> tuple[float, int]:
    """``(accuracy, pixels)``: over the pixels where ≥ 2 true silhouettes ``(N, H, W)`` overlap and both the
    prediction and the truth show a person (``pred_front``/``true_front`` ``(H, W)`` int, −1 = nobody), the
    fraction where they show the same person. NaN accuracy when there is no such pixel."""
    overlap = np.asarray(full_masks).sum(axis=0) >= 2
    scored = overlap & (pred_front >= 0) & (true_front >= 0)
    n = int(scored.sum())
    return (float((pred_front[scored] == true_front[scored]).mean()) if n else float("nan")), n
