"""What one novel view returns: ``SynthesisResult`` (the synthesizer's and its photo methods' one type)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SynthesisResult:
    """One novel view. Images are ``(H, W, 3)`` uint8; ``refined`` is None without G2."""

    image: np.ndarray  # the final answer: refined if G2 exists, else coarse
    coarse: np.ndarray  # G1's output Î_B1
    refined: np.ndarray | None  # G1 + G2's output Î_B2
    keypoints: np.ndarray  # (18, 2) target keypoints (x, y) px, NaN where not visible
    visible: np.ndarray  # (18,) bool
    joints3d: np.ndarray  # (18, 3) the rotated 3D pose (metres, y up; camera-aligned for 2D input)
    pose_maps: np.ndarray  # (18, H, W) float32 in [-1, 1]
    mask: np.ndarray  # (1, H, W) float32 in {0, 1}
    yaw: float
    pitch: float
    input_image: np.ndarray | None = None  # synthesize_photo: the crop of the photo the networks saw
    people_found: int | None = None  # synthesize_photo: how many people the photo holds
    person: int | None = None  # synthesize_photo: which of them this view is of
    body: np.ndarray | None = None  # (H, W) bool: where the body proxy puts the person (a G1 that uses it)
    seen: np.ndarray | None = None  # (H, W) bool: the body pixels whose surface point the input saw
