"""The arguments a user gives the synthesizers, checked once per call, each refusal naming the argument.

``NovelViewSynthesizer`` and ``CrowdSynthesizer`` share these, so both refuse the same bad input with the same
``ValueError``: a yaw or pitch that is not a finite number of degrees (NaN, inf, the string ``"90"``), a pitch
beyond ±90°, an empty list of yaws, 3D joints that are not metres, 2D keypoints outside the image, a silhouette
that is not a mask of the image, and a target pose with too few joints in the image (``TooFewJointsError``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

MAX_PITCH = 90.0  # degrees: beyond it the body would be seen upside down, which nothing was trained on
MIN_JOINTS = 4  # fewer target joints in the image than this give a pose map with next to no person in it
BODY_SPAN_M = (0.05, 3.0)  # the extent of a person's 3D joints, metres: outside it they are not metres


class TooFewJointsError(ValueError):
    """The target pose has too few joints inside the image to draw a person (it would give a ghost image)."""


def check_angle(value: object, name: str) -> float:
    """A finite angle in degrees; strings, bools, NaN and inf are refused with a message naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number of degrees, got {value!r} ({type(value).__name__})")
    angle = float(value)
    if not math.isfinite(angle):
        raise ValueError(f"{name} must be a finite number of degrees, got {angle}")
    return angle


def check_pitch(value: object) -> float:
    """A finite pitch in degrees within ±``MAX_PITCH`` (positive shows the body from above)."""
    pitch = check_angle(value, "pitch")
    if abs(pitch) > MAX_PITCH:
        raise ValueError(f"pitch must be within ±{MAX_PITCH:g}° (positive shows the body from above), got {pitch:g}")
    return pitch


def check_yaws(yaws: Sequence[float]) -> list[float]:
    """A non-empty list of finite yaws in degrees (a string is refused: ``"90"`` is not ``["9", "0"]``)."""
    if isinstance(yaws, (str, bytes)) or np.ndim(yaws) != 1:
        raise ValueError(f"yaws must be a list of angles in degrees (synthesize(yaw=...) for one), got {yaws!r}")
    if len(yaws) == 0:
        raise ValueError("yaws is empty: give at least one angle in degrees")
    return [check_angle(y, "yaw") for y in yaws]


def check_metres(joints3d: np.ndarray) -> None:
    """Refuse 3D joints ``(18, 3)`` whose span cannot be a person's in metres (millimetres or centimetres,
    typically)."""
    finite = joints3d[np.isfinite(joints3d).all(axis=1)]
    if len(finite) < 2:
        raise ValueError(f"need at least two finite 3D joints, got {len(finite)}")
    span = float((finite.max(axis=0) - finite.min(axis=0)).max())
    low, high = BODY_SPAN_M
    if not low <= span <= high:
        raise ValueError(
            f"the 3D joints span {span:g} units, a person spans about 0.3–2 m: 3D joints must be metres "
            f"(within {low:g}–{high:g} m; millimetres or centimetres must be converted)"
        )


def check_inside(keypoints: np.ndarray, visible: np.ndarray, height: int, width: int) -> None:
    """Refuse visible 2D keypoints ``(18, 2)`` outside the image (pixel centres at integers: ``[-0.5, W - 0.5)``)."""
    x, y = keypoints[:, 0], keypoints[:, 1]
    outside = visible & ~((x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5))
    if outside.any():
        j = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{int(outside.sum())} of {int(visible.sum())} visible 2D keypoints lie outside the {width}×{height} "
            f"image (joint {j} at x={x[j]:g}, y={y[j]:g}); keypoints must be pixels of the image given "
            "(resize them with it, or use synthesize_photo, which crops and scales both)"
        )


MIN_SPAN_PX = 8.0  # below this a pose is a dot: no lifter can tell its limbs apart


def check_span(keypoints: np.ndarray, visible: np.ndarray, who: str = "the") -> None:
    """Refuse visible 2D keypoints ``(18, 2)`` px squeezed into fewer than ``MIN_SPAN_PX`` pixels (the larger side
    of their bounding box): most often normalised coordinates in [0, 1] passed as pixels."""
    pts = keypoints[visible]
    span = float(np.ptp(pts, axis=0).max()) if len(pts) > 1 else 0.0
    if span < MIN_SPAN_PX:
        raise ValueError(
            f"{who} visible 2D keypoints span only {span:.3g} px (at least {MIN_SPAN_PX:g} needed to lift a pose): "
            "keypoints must be pixels of the image, not coordinates normalised to [0, 1]"
        )


def check_joint_count(visible: Sequence[np.ndarray], yaws: Sequence[float], pitch: float, need: int, size) -> None:
    """Raise ``TooFewJointsError`` when a target pose (``visible`` ``(18,)`` bool per yaw) has fewer than
    ``need`` joints inside the ``size`` ``(height, width)`` image."""
    height, width = size
    for yaw, vis in zip(yaws, visible, strict=True):
        if vis.sum() < need:
            raise TooFewJointsError(
                f"only {int(vis.sum())} of {len(vis)} target joints land inside the {width}×{height} "
                f"image at yaw {yaw:g}°, pitch {pitch:g}° (at least {need} needed): the novel view would show no "
                "person. Are the 3D joints metres in the camera's world frame, in front of it? "
                "(min_joints=0 allows it)"
            )


def check_silhouette(silhouette: object, height: int, width: int) -> np.ndarray:
    """A person's silhouette as ``(height, width)`` bool: a bool array, or numbers in [0, 1] (a soft
    segmentation, cut at 0.5); anything else — another size, NaN, values outside [0, 1] — is refused."""
    mask = np.asarray(silhouette)
    if mask.shape != (height, width):
        raise ValueError(f"silhouette must be a {height}×{width} mask of the image, got shape {mask.shape}")
    if mask.dtype == bool:
        return mask
    if not np.issubdtype(mask.dtype, np.number) or not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
        raise ValueError("silhouette must hold bools or numbers in [0, 1] (1: the person)")
    return mask > 0.5


def check_samples(samples: object, temperature: object) -> None:
    """A conditional-VAE G1's draws: ``samples`` an integer ≥ 1, ``temperature`` a finite number ≥ 0."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer ≥ 1, got {samples!r}")
    real = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    if not real or not 0 <= temperature < math.inf:  # type: ignore[operator]  # a Real compares with numbers
        raise ValueError(f"temperature must be a finite number ≥ 0, got {temperature!r}")
