"""Cameras on an orbit around a posed person, framed so the whole body fits the image from *every* azimuth.

The body is bounded by a vertical cylinder around its axis (x = z = 0); a cylinder looks the same from every
azimuth, so one camera distance frames all views of a pose, and two views of it differ by a pure yaw.
"""

from __future__ import annotations

import math

import numpy as np

from posegen_lite.data.synthetic.body import PosedBody
from posegen_lite.geometry.camera import Camera, intrinsics
from posegen_lite.geometry.scene import cylinder_distance

ELEVATION_RANGE = (-10.0, 30.0)  # degrees; cameras look at people from roughly eye height
FOV_Y = 30.0  # vertical field of view, degrees
MARGIN = 0.06  # fraction of the half-image kept free around the body


def body_cylinder(body: PosedBody) -> tuple[float, float, float]:
    """``(radius, y_min, y_max)`` of a vertical cylinder around the axis x = z = 0 that holds every primitive."""
    axis_y = body.rot[:, :, 1]  # (P, 3) bone directions
    reach = body.half[:, None] * np.abs(axis_y)  # how far the segment ends stick out per axis
    r_max = body.radii.max(axis=1)
    on = body.enabled
    horiz = np.hypot(np.abs(body.centre[:, 0]) + reach[:, 0], np.abs(body.centre[:, 2]) + reach[:, 2]) + r_max
    y_lo = body.centre[:, 1] - reach[:, 1] - r_max
    y_hi = body.centre[:, 1] + reach[:, 1] + r_max
    return float(horiz[on].max()), float(y_lo[on].min()), float(y_hi[on].max())


def check_elevation(elevation_deg: float) -> float:
    """Return ``elevation_deg`` as float or raise ``ValueError`` outside ``ELEVATION_RANGE``."""
    lo, hi = ELEVATION_RANGE
    if not np.isfinite(elevation_deg) or not lo <= elevation_deg <= hi:
        raise ValueError(f"elevation must be within [{lo}, {hi}] degrees, got {elevation_deg}")
    return float(elevation_deg)


def check_size(height: int, width: int) -> tuple[int, int]:
    """Return ``(height, width)`` as ints or raise ``ValueError`` unless both are positive integers."""
    if int(height) != height or int(width) != width or height < 1 or width < 1:
        raise ValueError(f"image size must be positive integers (height, width), got ({height}, {width})")
    return int(height), int(width)


def frame_distance(body: PosedBody, elevation_deg: float, height: int, width: int) -> tuple[float, np.ndarray]:
    """The camera distance and look-at target that fit ``body`` into a ``height × width`` image at any azimuth."""
    radius, y_lo, y_hi = body_cylinder(body)
    target = np.array([0.0, (y_lo + y_hi) / 2, 0.0])
    dist = cylinder_distance(radius, y_lo, y_hi, check_elevation(elevation_deg), height, width, FOV_Y, MARGIN)
    return dist, target


def person_cameras(
    body: PosedBody, azimuths_deg: list[float], elevation_deg: float, height: int, width: int
) -> list[Camera]:
    """Orbit cameras (``camera.orbit_camera``) at each of ``azimuths_deg`` (any value; 0 = in front) and one
    ``elevation_deg`` (within ``ELEVATION_RANGE``), all at the distance that shows the whole of ``body`` in a
    ``height × width`` image — so any two of them differ by a pure yaw about the body's axis."""
    height, width = check_size(height, width)
    for az in azimuths_deg:
        if not np.isfinite(az):
            raise ValueError(f"azimuth must be finite, got {az}")
    dist, target = frame_distance(body, elevation_deg, height, width)
    K = intrinsics(width, height, FOV_Y)
    return [_orbit_camera(float(az) % 360.0, elevation_deg, dist, target, K, width, height) for az in azimuths_deg]


def _orbit_camera(
    azimuth_deg: float,
    elevation_deg: float,
    distance: float,
    target: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
) -> Camera:
    """``camera.orbit_camera`` in closed form (its ``look_at`` with ``np.cross`` costs more than rendering a
    small image); ``tests/test_render.py`` checks that both give the same camera."""
    sa, ca = math.sin(math.radians(azimuth_deg)), math.cos(math.radians(azimuth_deg))
    se, ce = math.sin(math.radians(elevation_deg)), math.cos(math.radians(elevation_deg))
    # rows: right, down, forward (OpenCV camera axes), for a camera looking from the orbit at the target
    R = np.array([[ca, 0.0, -sa], [sa * se, -ce, ca * se], [-sa * ce, -se, -ca * ce]])
    eye = np.asarray(target, np.float64) - distance * R[2]
    return Camera(K, R, -R @ eye, width, height)


def person_camera(body: PosedBody, azimuth_deg: float, elevation_deg: float, height: int, width: int) -> Camera:
    """One camera of ``person_cameras``."""
    return person_cameras(body, [azimuth_deg], elevation_deg, height, width)[0]
