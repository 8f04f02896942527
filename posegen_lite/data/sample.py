"""The pair sample: the one dict every dataset — synthetic or real — yields.

Keys, shapes and ranges (``H × W`` is the dataset's image size):

================== ===================== =========================================================
key                shape / type          meaning
================== ===================== =========================================================
image_a            (3, H, W) float32     condition image I_A, in [-1, 1]
image_b            (3, H, W) float32     target image I_B, in [-1, 1]
pose_b             (18, H, W) float32    target pose maps P_B, in [-1, 1] (empty channel = -1)
mask_b             (1, H, W) float32     target body mask M_B, values in {0, 1}
keypoints_a/b      (18, 2) float32       2D joints (x, y) in pixels, NaN where missing
visible_a/b        (18,) bool            joint visibility
joints3d_a/b       (18, 3) float32       3D joints (metres, y up) in the dataset's world frame; all NaN
                                         for 2D-only datasets (DeepFashion, Market-1501)
yaw                float                 viewpoint change A→B in degrees (body rotation, see camera.py);
                                         NaN when the dataset does not know it
person_id          str                   identity (splits are disjoint by it)
name_a/b           str                   image names
================== ===================== =========================================================

Optional keys (``extras=True`` in ``SyntheticPairs``, ``PanopticConfig``, ``PG2Config``; the last four rows are
synthetic-only; see ``data/synthetic/detail.py`` and ``geometry/warp.py``):

================== ===================== =========================================================
flow               (2, H, W) float32     backward flow target→source in pixels from the body proxy (0 = none)
visibility         (1, H, W) float32     {0, 1}: the target pixel's proxy surface point was seen in I_A
proxy_parts_b      (H, W) int64          proxy part per target pixel (proxy.PROXY_PARTS), −1 = background
proxy_surface_b    (5, H, W) float32     (on, chest, across, along, outward): where on its part it lies
                                         (warp.surface_map; texture coordinates, 0 on the background)
proxy_silhouette_a (1, H, W) float32     {0, 1}: where the body proxy covers the *source* view (for the fill
                                         of the background the input's body covered, warp.fill_uncovered)
parts_b            (H, W) int64          exact part per target pixel (synthetic body.PART_NAMES), −1 = bg
print_b            (1, H, W) float32     {0, 1}: the shirt print's patch, visible in the target
facing_a/b         float                 cosine between the chest's front and the direction to the camera
print_colours      (2, 3) float32        print ink and patch colours in [0, 1] (NaN row: patch = shirt)
================== ===================== =========================================================
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
