"""The pair sample: the one dict every dataset — synthetic or real — yields.

Required keys: ``image_a``, ``image_b`` (3, H, W) float32 in [-1, 1]; ``pose_b`` (18, H, W) float32 pose maps
in [-1, 1] (empty channel = -1); ``mask_b`` (1, H, W) float32 in {0, 1}; ``keypoints_a/b`` (18, 2) float32
(x, y) pixels, NaN where missing; ``visible_a/b`` (18,) bool; ``joints3d_a/b`` (18, 3) float32 metres, y up
(all NaN for 2D-only datasets); ``yaw`` float degrees (body rotation A→B, ``camera.py``; NaN when unknown);
``person_id``, ``name_a/b`` str.

Optional keys (``extras=True``): the body proxy's ``flow``, ``visibility``, ``proxy_parts_b``,
``proxy_surface_b``, ``proxy_silhouette_a``, and on synthetic data ``proxy_coverage_b``, ``parts_b``, ``print_b``,
``facing_a/b``, ``print_colours``, ``cameras``. The table with every shape, range and meaning:
docs/architecture.md ("The pair sample").
"""

from __future__ import annotations

import math

import numpy as np
import torch

from posegen_lite.geometry.posemaps import body_mask, pose_maps
from posegen_lite.geometry.skeleton import NUM_JOINTS, check_keypoints
from posegen_lite.images import to_tensor

SAMPLE_KEYS = (
    "image_a", "image_b", "pose_b", "mask_b", "keypoints_a", "keypoints_b", "visible_a", "visible_b",
    "joints3d_a", "joints3d_b", "yaw", "person_id", "name_a", "name_b",
)  # fmt: skip


def make_sample(
    image_a: np.ndarray,
    image_b: np.ndarray,
    keypoints_a: np.ndarray,
    visible_a: np.ndarray,
    keypoints_b: np.ndarray,
    visible_b: np.ndarray,
    *,
    person_id: str,
    name_a: str,
    name_b: str,
    joints3d_a: np.ndarray | None = None,
    joints3d_b: np.ndarray | None = None,
    yaw: float = math.nan,
    pose_kind: str = "disc",
) -> dict:
    """Build the pair-sample dict from uint8 images ``(H, W, 3)`` and keypoints (see module docstring).

    Raises ``ValueError`` if the two images differ in size or keypoints are malformed.
    """
    if image_a.shape != image_b.shape:
        raise ValueError(f"{name_a} / {name_b}: images differ in size, {image_a.shape} vs {image_b.shape}")
    height, width = image_a.shape[:2]
    kp_a, vis_a = check_keypoints(keypoints_a, visible_a)
    kp_b, vis_b = check_keypoints(keypoints_b, visible_b)
    nan3 = np.full((NUM_JOINTS, 3), np.nan, np.float32)
    j3a = nan3 if joints3d_a is None else np.asarray(joints3d_a, np.float32)
    j3b = nan3 if joints3d_b is None else np.asarray(joints3d_b, np.float32)
    return {
        "image_a": to_tensor(image_a),
        "image_b": to_tensor(image_b),
        "pose_b": torch.from_numpy(pose_maps(kp_b, vis_b, height, width, kind=pose_kind)),
        "mask_b": torch.from_numpy(body_mask(kp_b, vis_b, height, width)),
        "keypoints_a": torch.from_numpy(kp_a),
        "keypoints_b": torch.from_numpy(kp_b),
        "visible_a": torch.from_numpy(vis_a),
        "visible_b": torch.from_numpy(vis_b),
        "joints3d_a": torch.from_numpy(j3a.copy()),
        "joints3d_b": torch.from_numpy(j3b.copy()),
        "yaw": float(yaw),
        "person_id": str(person_id),
        "name_a": str(name_a),
        "name_b": str(name_b),
    }
