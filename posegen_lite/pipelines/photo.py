"""The photo path behind ``NovelViewSynthesizer.synthesize_photo``: a photo of any size → the networks' input.

Estimate the pose (MediaPipe by default, ``geometry.photo``), crop a box of the model's aspect ratio around the
person (padded by repeating the border where it leaves the photo) and scale crop and keypoints to the model's
size. The synthesizer then runs Stage I–III with the observed keypoints and the estimator's depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegen_lite.geometry.photo import NoPersonFoundError, PoseEstimator
from posegen_lite.images import ensure_rgb, resize_image

PERSON_MARGIN = 0.2  # of the keypoints' extent, added on each side: joints are not the silhouette (head, feet)


@dataclass
class PhotoInput:
    """A photo made ready for the networks: ``image`` ``(H, W, 3)`` uint8 at the model's size, ``keypoints``
    ``(18, 2)`` pixels of it (NaN where missing), ``visible`` ``(18,)``, ``joints3d`` ``(18, 3)`` metres."""

    image: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    joints3d: np.ndarray


def person_box(keypoints: np.ndarray, height: int, width: int, margin: float = PERSON_MARGIN) -> tuple[int, ...]:
    """``(top, left, box_height, box_width)`` pixels: a box of aspect ``height : width`` around ``(N, 2)``
    keypoints with ``margin`` of their extent on each side (it may reach past the photo's border)."""
    lo, hi = keypoints.min(axis=0), keypoints.max(axis=0)
    centre = (lo + hi) / 2
    extent = np.maximum(hi - lo, 1.0) * (1 + 2 * margin)
    box_h = max(extent[1], extent[0] * height / width)
    box_w = box_h * width / height
    top, left = round(centre[1] - box_h / 2), round(centre[0] - box_w / 2)
    return top, left, max(1, round(box_h)), max(1, round(box_w))


def crop_padded(image: np.ndarray, top: int, left: int, box_h: int, box_w: int) -> np.ndarray:
    """``image[top:top+box_h, left:left+box_w]``, padded by repeating the border where the box leaves it."""
    h, w = image.shape[:2]
    pad = ((max(0, -top), max(0, top + box_h - h)), (max(0, -left), max(0, left + box_w - w)), (0, 0))
    padded = np.pad(image, pad, mode="edge")
    t, lft = top + pad[0][0], left + pad[1][0]
    return padded[t : t + box_h, lft : lft + box_w]


def prepare_photo(photo: np.ndarray, height: int, width: int, estimator: PoseEstimator | None = None) -> PhotoInput:
    """Estimate the pose in ``photo`` (any size; MediaPipe by default), crop a box of aspect ``height : width``
    around the person and scale it to ``height × width``. Raises ``NoPersonFoundError`` when there is no person."""
    from posegen_lite.geometry.photo import estimate_pose

    rgb = ensure_rgb(photo, convert=True)
    pose = estimate_pose(rgb, estimator)
    vis = pose.visible & np.isfinite(pose.keypoints).all(axis=1)
    if vis.sum() < 2:
        raise NoPersonFoundError(f"only {int(vis.sum())} joint(s) of a person found in the photo; need 2")
    top, left, box_h, box_w = person_box(pose.keypoints[vis], height, width)
    crop = crop_padded(rgb, top, left, box_h, box_w)
    image = resize_image(crop, height, width).copy()
    scale = np.array([width / box_w, height / box_h])
    kp = ((pose.keypoints - [left, top] + 0.5) * scale - 0.5).astype(np.float32)
    kp[~vis] = np.nan
    joints3d = np.where(vis[:, None], pose.joints3d, np.nan).astype(np.float32)
    return PhotoInput(image=image, keypoints=kp, visible=vis, joints3d=joints3d)
