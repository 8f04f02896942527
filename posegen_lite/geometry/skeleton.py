"""The 18-joint skeleton every part of posegen_lite speaks, and converters into it.

Conventions (stated here once, used everywhere):

* Joint order is OpenPose/COCO-18, the order of PG2's annotation CSVs::

      0 nose  1 neck  2 r_shoulder  3 r_elbow  4 r_wrist  5 l_shoulder  6 l_elbow  7 l_wrist
      8 r_hip 9 r_knee 10 r_ankle  11 l_hip  12 l_knee  13 l_ankle  14 l_eye  15 r_eye  16 l_ear  17 r_ear

  "right"/"left" are the *person's* right and left, not the image's (docs/architecture.md, "Conventions").
* 2D keypoints: ``(18, 2)`` float32 as **(x, y) in pixels** (x right, y down, pixel (i, j) centred at x = j,
  y = i), plus a ``(18,)`` bool visibility. A missing joint is invisible **and NaN**: never a coordinate.
* 3D keypoints: ``(18, 3)`` float32 in **metres**, right-handed world frame with **y up**; the body's
  vertical axis passes through the hip centre (the mid-point of the two hips). Missing joints are NaN.
* Converters from CMU Panoptic coco19 and MediaPipe's 33 landmarks live here too: all joint bookkeeping.
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 18

JOINT_NAMES: tuple[str, ...] = (
    "nose",
    "neck",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "l_eye",
    "r_eye",
    "l_ear",
    "r_ear",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# Limbs as (parent, child) pairs, the 17 connections OpenPose draws (and PG2's mask uses) — the neck is
# the root: neck→shoulders→elbows→wrists, neck→hips→knees→ankles, neck→nose→eyes→ears.
LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 3), (3, 4),          # right arm
    (1, 5), (5, 6), (6, 7),          # left arm
    (1, 8), (8, 9), (9, 10),         # right leg
    (1, 11), (11, 12), (12, 13),     # left leg
    (1, 0), (0, 14), (14, 16),       # head, left side
    (0, 15), (15, 17),               # head, right side
)  # fmt: skip

# Extra segments that close the torso so the body mask fills it (PG2 draws the torso as a polygon;
# the two diagonals plus the shoulder and hip lines cover the same area once thickened and closed).
TORSO_SEGMENTS: tuple[tuple[int, int], ...] = (
    (2, 11), (5, 8),                  # diagonals
    (2, 5), (8, 11),                  # shoulder line, hip line
    (2, 8), (5, 11),                  # flanks
)  # fmt: skip

# Left/right swap: FLIP_PERMUTATION[i] is the joint that i becomes in a mirror image.
FLIP_PERMUTATION: tuple[int, ...] = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)


def flip_joints(values: np.ndarray) -> np.ndarray:
    """Swap left and right joints of any per-joint array ``(18, ...)`` (keypoints, visibility, maps)."""
    values = np.asarray(values)
    if values.shape[0] != NUM_JOINTS:
        raise ValueError(f"expected {NUM_JOINTS} joints on axis 0, got shape {values.shape}")
    return values[list(FLIP_PERMUTATION)]


def check_keypoints(xy: np.ndarray, visible: np.ndarray | None = None, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate keypoints and return ``(coords float32 (18, dims), visible bool (18,))``.

    ``visible`` defaults to "every joint with finite coordinates". Coordinates of invisible joints are set
    to NaN on the way out. Raises ``ValueError`` on a wrong shape or on a joint marked visible whose
    coordinates are not finite (NaN/inf): that would otherwise become silent garbage downstream.
    """
    coords = np.asarray(xy, dtype=np.float32)
    if coords.shape != (NUM_JOINTS, dims):
        raise ValueError(f"keypoints must have shape ({NUM_JOINTS}, {dims}), got {coords.shape}")
    finite = np.asarray(np.isfinite(coords).all(axis=1))
    if visible is None:
        vis = finite
    else:
        vis = np.asarray(visible).astype(bool)
        if vis.shape != (NUM_JOINTS,):
            raise ValueError(f"visibility must have shape ({NUM_JOINTS},), got {vis.shape}")
        bad = vis & ~finite
        if bad.any():
            names = [JOINT_NAMES[i] for i in np.flatnonzero(bad)]
            raise ValueError(f"joints marked visible have non-finite coordinates: {names}")
    coords = coords.copy()
    coords[~vis] = np.nan
    return coords, vis


def hip_centre(joints3d: np.ndarray) -> np.ndarray:
    """Mid-point of the two hips ``(3,)`` — the point the body's vertical axis passes through.

    Falls back to the mean of the visible joints if a hip is missing (still on the body, roughly on its
    axis), and raises ``ValueError`` for a wrong shape or when every joint is missing.
    """
    j = np.asarray(joints3d, dtype=np.float64)
    if j.ndim != 2 or j.shape[1] != 3:
        raise ValueError(f"3D joints must have shape (N, 3), got {j.shape}")
    hips = j[[JOINT_INDEX["r_hip"], JOINT_INDEX["l_hip"]]]
    if np.isfinite(hips).all():
        return hips.mean(axis=0)
    finite = np.asarray(np.isfinite(j).all(axis=1))
    if not finite.any():
        raise ValueError("all joints are missing: the pose has no body axis")
    # Without both hips, use the mean of the visible joints: still on the body, roughly on its axis.
    return j[finite].mean(axis=0)


def reference_pose() -> np.ndarray:
    """A standing adult, ``(18, 3)`` float32 in metres: y up, facing **+z**, ~1.7 m tall, arms slightly out.

    The hip centre is on the vertical axis x = z = 0 and the soles are on the floor y = 0 (the ankle joints
    sit 8 cm above it); the person's right is −x (a camera on +z sees the right shoulder on the image's
    left). Proportions are those of ``lifting.BONE_LENGTHS``. Used by the Stage I figure and the tests.
    """
    s, e, w = 0.18, 0.29, 0.25  # half shoulder width, upper arm, forearm
    arm_out, forearm_out = np.deg2rad(12.0), np.deg2rad(18.0)  # arms hang slightly away from the body
    joints: dict[str, tuple[float, float, float] | np.ndarray] = {
        "nose": (0.0, 1.58, 0.10),
        "neck": (0.0, 1.45, 0.0),
        "l_eye": (0.035, 1.62, 0.08),
        "r_eye": (-0.035, 1.62, 0.08),
        "l_ear": (0.075, 1.60, -0.01),
        "r_ear": (-0.075, 1.60, -0.01),
        "l_hip": (0.10, 0.93, 0.0),
        "r_hip": (-0.10, 0.93, 0.0),
        "l_knee": (0.10, 0.50, 0.0),
        "r_knee": (-0.10, 0.50, 0.0),
        "l_ankle": (0.10, 0.08, 0.0),
        "r_ankle": (-0.10, 0.08, 0.0),
    }
    for side, sign in (("l", 1.0), ("r", -1.0)):  # the person's left is +x
        shoulder = np.array([sign * s, 1.42, 0.0])
        elbow = shoulder + e * np.array([sign * np.sin(arm_out), -np.cos(arm_out), 0.0])
        wrist = elbow + w * np.array([sign * np.sin(forearm_out), -np.cos(forearm_out), 0.0])
        joints[f"{side}_shoulder"], joints[f"{side}_elbow"], joints[f"{side}_wrist"] = shoulder, elbow, wrist
    return np.array([joints[name] for name in JOINT_NAMES], dtype=np.float32)


# --- CMU Panoptic coco19 --------------------------------------------------------------------------------
# Panoptic's order: 0 Neck, 1 Nose, 2 BodyCenter, 3 lShoulder, 4 lElbow, 5 lWrist, 6 lHip, 7 lKnee,
# 8 lAnkle, 9 rShoulder, 10 rElbow, 11 rWrist, 12 rHip, 13 rKnee, 14 rAnkle, 15 lEye, 16 lEar, 17 rEye,
# 18 rEar. PANOPTIC_TO_COCO18[i] is the coco19 index of our joint i (BodyCenter has no counterpart).
PANOPTIC_TO_COCO18: tuple[int, ...] = (1, 0, 9, 10, 11, 3, 4, 5, 12, 13, 14, 6, 7, 8, 15, 17, 16, 18)


def from_panoptic19(joints19: np.ndarray, min_confidence: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Reorder Panoptic ``joints19`` into our 18 joints (units and axes untouched — see ``data.formats``).

    Args:
        joints19: ``(19, 4)`` rows of (x, y, z, confidence) or ``(19, 3)`` without confidence, or the flat
            list of 76 numbers the JSON stores.
        min_confidence: joints whose confidence is below this (Panoptic writes −1 for unseen joints) are
            reported missing.
    Returns:
        ``(joints (18, 3) float32 with NaN for missing, valid (18,) bool)``.
    """
    arr = np.asarray(joints19, dtype=np.float64)
    if arr.ndim == 1:
        if arr.size != 19 * 4:
            raise ValueError(f"flat joints19 must hold 76 numbers (19 × x,y,z,c), got {arr.size}")
        arr = arr.reshape(19, 4)
    if arr.shape not in ((19, 3), (19, 4)):
        raise ValueError(f"joints19 must have shape (19, 4) or (19, 3), got {arr.shape}")
    out = arr[list(PANOPTIC_TO_COCO18), :3].astype(np.float32)
    valid = np.asarray(np.isfinite(out).all(axis=1))
    if arr.shape[1] == 4:
        valid &= arr[list(PANOPTIC_TO_COCO18), 3] >= min_confidence
    out[~valid] = np.nan
    return out, valid


# --- MediaPipe Pose (33 landmarks) -----------------------------------------------------------------------
# MediaPipe indices used: 0 nose, 2 left_eye, 5 right_eye, 7 left_ear, 8 right_ear, 11/12 shoulders,
# 13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles (odd = person's left).
# The neck has no landmark: it is the shoulders' mid-point, as OpenPose's neck roughly is.
_MEDIAPIPE_DIRECT: dict[int, int] = {
    0: 0, 2: 12, 3: 14, 4: 16, 5: 11, 6: 13, 7: 15, 8: 24, 9: 26, 10: 28, 11: 23, 12: 25, 13: 27,
    14: 2, 15: 5, 16: 7, 17: 8,
}  # fmt: skip


def from_mediapipe33(
    landmarks: np.ndarray, visibility: np.ndarray | None = None, min_visibility: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Convert MediaPipe's 33 landmarks ``(33, D)`` (D = 2 or 3) into our 18 joints.

    The neck is the shoulder mid-point, visible only if both shoulders are. Landmarks whose MediaPipe
    visibility is below ``min_visibility`` are missing (NaN). Returns ``(joints (18, D), valid (18,))``.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != 33 or lm.shape[1] not in (2, 3):
        raise ValueError(f"MediaPipe landmarks must have shape (33, 2) or (33, 3), got {lm.shape}")
    vis_in = np.ones(33, bool) if visibility is None else np.asarray(visibility) >= min_visibility
    if vis_in.shape != (33,):
        raise ValueError(f"MediaPipe visibility must have shape (33,), got {vis_in.shape}")
    vis_in = vis_in & np.isfinite(lm).all(axis=1)
    out = np.full((NUM_JOINTS, lm.shape[1]), np.nan, np.float32)
    valid = np.zeros(NUM_JOINTS, bool)
    for ours, theirs in _MEDIAPIPE_DIRECT.items():
        if vis_in[theirs]:
            out[ours] = lm[theirs]
            valid[ours] = True
    if vis_in[11] and vis_in[12]:
        out[1] = (lm[11] + lm[12]) / 2
        valid[1] = True
    return out, valid
