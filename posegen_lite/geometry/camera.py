"""Pinhole cameras, projection, and the viewpoint change of Stage I.

Conventions (stated here once; the longer story: docs/architecture.md, "Conventions"):

* World frame: right-handed, metres, **y up** (see ``skeleton``). A person in canonical pose faces **+z**.
* Camera frame: OpenCV's (x right, y down, z forward); a world point ``X`` maps to ``R @ X + t`` (``R``
  world→camera, ``t`` in metres). Pixels: (x, y), x right, y down; a point on the optical axis lands on
  ``(K[0, 2], K[1, 2])``. Distortion: OpenCV's 5 terms ``(k1, k2, p1, p2, k3)``, CMU Panoptic's ``distCoef``.
* Viewpoint change: a **yaw of θ** turns the body by θ about its vertical axis (world y through the hip
  centre), counter-clockwise seen from above (right-hand rule about +y). A fixed camera sees exactly the
  camera moving by **−θ** around the person (``orbit_camera`` / ``Camera.orbited``; ``tests/test_camera.py``).
  A positive **pitch** turns the top of the body *towards* the camera; ``orbited(-θ, -φ)`` sees the body
  turned by (θ, φ).
* Azimuth: the renderer's cameras sit at an azimuth φ around the person (φ = 0 in front, on the +z axis); a
  camera at azimuth φ sees the person as the φ = 0 camera sees the body turned by −φ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posegen_lite.geometry.skeleton import hip_centre

_EPS_DEPTH = 1e-6  # points closer than this to the camera plane (or behind it) are not visible


def rotation_y(angle_deg: float) -> np.ndarray:
    """Rotation matrix ``(3, 3)`` about +y by ``angle_deg`` (right-hand rule: +z turns towards +x)."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotation_axis_angle(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotation matrix ``(3, 3)`` about a unit ``axis`` by ``angle_deg`` (Rodrigues' formula)."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    a = np.deg2rad(angle_deg)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(a) * kx + (1.0 - np.cos(a)) * (kx @ kx)


def distort(xy_norm: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Apply OpenCV's 5-term distortion ``(k1, k2, p1, p2, k3)`` to normalized coordinates ``(N, 2)``."""
    k1, k2, p1, p2, k3 = (float(v) for v in dist)
    x, y = xy_norm[:, 0], xy_norm[:, 1]
    r2 = x * x + y * y
    radial = 1.0 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([xd, yd], axis=1)


def _distortion_is_monotonic(xy_norm: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """True where the radial polynomial still grows with radius; beyond that it folds back and would put a
    far-off point at a plausible-looking but wrong pixel."""
    k1, k2, _, _, k3 = (float(v) for v in dist)
    r2 = (xy_norm**2).sum(axis=1)
    return 1.0 + 3.0 * k1 * r2 + 5.0 * k2 * r2**2 + 7.0 * k3 * r2**3 > 0.0


@dataclass(frozen=True)
class Camera:
    """A pinhole camera ``x = K · distort((R·X + t) / z)`` seeing a ``width × height`` image.

    Attributes:
        K: ``(3, 3)`` intrinsics (pixels).
        R: ``(3, 3)`` world→camera rotation.
        t: ``(3,)`` world→camera translation (metres).
        width, height: image size in pixels.
        dist: ``(5,)`` OpenCV distortion ``(k1, k2, p1, p2, k3)``; zeros for an ideal pinhole.
    """

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        R = np.asarray(self.R, dtype=np.float64)
        t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        dist = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,):
            raise ValueError(f"Camera needs K (3,3), R (3,3), t (3,); got {K.shape}, {R.shape}, {t.shape}")
        if dist.shape != (5,):
            raise ValueError(f"distortion must have 5 terms (k1, k2, p1, p2, k3), got {dist.shape}")
        if not (np.isfinite(K).all() and np.isfinite(R).all() and np.isfinite(t).all() and np.isfinite(dist).all()):
            raise ValueError("camera parameters must be finite")
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) <= 0:
            raise ValueError("R must be a proper rotation matrix (orthonormal, det +1)")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"image size must be positive, got {self.width}×{self.height}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates ``(3,)``."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``(N, 3)`` → camera coordinates ``(N, 3)``."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"points must have shape (N, 3), got {pts.shape}")
        return pts @ self.R.T + self.t

    def project(self, points: np.ndarray, within_image: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Project world points ``(N, 3)`` to pixels.

        Returns ``(xy (N, 2) float32, visible (N,) bool)``. A point is *not visible* — and its coordinates
        are NaN, never a wrong number — when it is missing (NaN), behind or on the camera plane, where the
        lens model folds back, or (with ``within_image``) outside ``[0, width) × [0, height)``.
        """
        cam = self.to_camera(points)
        finite = np.isfinite(cam).all(axis=1)
        z = np.where(finite, cam[:, 2], np.nan)
        in_front = finite & (z > _EPS_DEPTH)
        safe_z = np.where(in_front, z, 1.0)
        norm = cam[:, :2] / safe_z[:, None]
        norm = np.where(in_front[:, None], norm, 0.0)
        if np.any(self.dist != 0):
            ok = _distortion_is_monotonic(norm, self.dist)
            norm = distort(norm, self.dist)
        else:
            ok = np.ones(len(norm), bool)
        xy = norm @ self.K[:2, :2].T + self.K[:2, 2]
        visible = in_front & ok
        if within_image:
            # Pixel centres are at integers, so the image spans [-0.5, size - 0.5).
            visible &= (xy[:, 0] >= -0.5) & (xy[:, 0] < self.width - 0.5)
            visible &= (xy[:, 1] >= -0.5) & (xy[:, 1] < self.height - 0.5)
        xy = xy.astype(np.float32)
        xy[~visible] = np.nan
        return xy, visible

    def orbited(self, yaw_deg: float, pitch_deg: float = 0.0, pivot: np.ndarray | None = None) -> Camera:
        """This camera moved around ``pivot``: by ``yaw_deg`` about the vertical axis (positive =
        counter-clockwise seen from above) after ``pitch_deg`` about its own horizontal right axis (right-hand
        rule: positive *lowers* the camera, so ``orbited(0, -φ)`` looks down on the person from φ higher).

        Moving the camera by (−θ, −φ) sees exactly what this camera sees of the body turned by (θ, φ)
        (see ``rotate_about_body_axis``). ``pivot`` defaults to the world origin; pass the hip centre to
        match ``rotate_about_body_axis``.
        """
        p = np.zeros(3) if pivot is None else np.asarray(pivot, dtype=np.float64)
        # Moving the camera by a rotation Q about the pivot is seeing the body turned by Q^T; build the camera
        # from that body rotation so that orbited(-θ) and rotate_about_body_axis(θ) agree by construction.
        body_rot = viewpoint_rotation(-yaw_deg, -pitch_deg, self)
        R_new = self.R @ body_rot
        center_new = p + body_rot.T @ (self.center - p)
        return Camera(self.K, R_new, -R_new @ center_new, self.width, self.height, self.dist)

    def cropped(self, x0: float, y0: float, crop_w: int, crop_h: int, out_w: int, out_h: int) -> Camera:
        """The camera of this image cropped to ``[x0, x0 + crop_w) × [y0, y0 + crop_h)`` (pixels) and resized
        to ``out_w × out_h`` — what a dataset does when it crops around the person."""
        sx, sy = out_w / crop_w, out_h / crop_h
        K = self.K.copy()
        K[0, :2] *= sx
        K[1, :2] *= sy
        # Pixel centres sit at integers, so a coordinate u maps to (u - x0 + 0.5) * s - 0.5.
        K[0, 2] = (self.K[0, 2] - x0 + 0.5) * sx - 0.5
        K[1, 2] = (self.K[1, 2] - y0 + 0.5) * sy - 0.5
        return Camera(K, self.R, self.t, out_w, out_h, self.dist)


CAMERA_VECTOR = 26  # K (9), R (9), t (3), dist (5): one camera as a row of numbers (a batch's tensor)


def camera_vector(camera: Camera) -> np.ndarray:
    """``camera`` as ``(CAMERA_VECTOR,)`` float64: ``K``, ``R`` (row-major), ``t``, ``dist``; the image size apart."""
    return np.concatenate([camera.K.ravel(), camera.R.ravel(), camera.t, camera.dist])


def camera_from_vector(vector: np.ndarray, width: int, height: int) -> Camera:
    """The ``Camera`` of ``camera_vector`` for a ``width × height`` image (checked as any camera)."""
    v = np.asarray(vector, np.float64).reshape(-1)
    if v.shape != (CAMERA_VECTOR,):
        raise ValueError(f"a camera vector has {CAMERA_VECTOR} numbers, got {v.shape}")
    return Camera(v[:9].reshape(3, 3), v[9:18].reshape(3, 3), v[18:21], width, height, v[21:])


def look_at(
    eye: np.ndarray, target: np.ndarray, up: np.ndarray | tuple[float, float, float] = (0.0, 1.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """World→camera ``(R, t)`` of a camera at ``eye`` looking at ``target`` with world ``up`` (y by default).

    Raises ``ValueError`` if ``eye == target`` or the viewing direction is parallel to ``up``.
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    up_axis = np.asarray(up, dtype=np.float64)
    forward = target - eye
    if np.linalg.norm(forward) < 1e-9:
        raise ValueError("look_at: eye and target coincide")
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up_axis)
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("look_at: viewing direction is parallel to the up vector")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    return R, -R @ eye


def intrinsics(width: int, height: int, fov_y_deg: float = 30.0) -> np.ndarray:
    """Intrinsics ``K`` with square pixels, the principal point at the image centre, and a vertical field
    of view of ``fov_y_deg``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}×{height}")
    if not 0.0 < fov_y_deg < 180.0:
        raise ValueError(f"field of view must be in (0, 180) degrees, got {fov_y_deg}")
    f = (height / 2.0) / np.tan(np.deg2rad(fov_y_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def orbit_camera(
    azimuth_deg: float,
    elevation_deg: float,
    distance: float,
    target: np.ndarray,
    width: int,
    height: int,
    fov_y_deg: float = 30.0,
) -> Camera:
    """A camera on an orbit around ``target``: azimuth 0 is in front of a person facing +z, positive
    azimuth moves it towards +x (counter-clockwise seen from above), positive elevation raises it."""
    if distance <= 0:
        raise ValueError(f"camera distance must be positive, got {distance}")
    if not -89.0 <= elevation_deg <= 89.0:
        raise ValueError(f"elevation must be within ±89°, got {elevation_deg}")
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    target = np.asarray(target, dtype=np.float64)
    eye = target + distance * np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    R, t = look_at(eye, target)
    return Camera(intrinsics(width, height, fov_y_deg), R, t, width, height)


def viewpoint_rotation(yaw_deg: float, pitch_deg: float = 0.0, camera: Camera | None = None) -> np.ndarray:
    """The ``(3, 3)`` rotation that turns the body by ``yaw_deg`` about world y, then tilts it by
    ``pitch_deg`` about the horizontal axis (the camera's right axis made horizontal, else world x).
    Raises ``ValueError`` for a NaN/inf angle (it would turn every joint into NaN: an empty pose)."""
    for name, angle in (("yaw", yaw_deg), ("pitch", pitch_deg)):
        if not np.isfinite(float(angle)):
            raise ValueError(f"{name} must be a finite number of degrees, got {angle}")
    rot = rotation_y(yaw_deg)
    if pitch_deg:
        axis = np.array([1.0, 0.0, 0.0])
        if camera is not None:
            right = camera.R[0].copy()
            right[1] = 0.0
            if np.linalg.norm(right) > 1e-6:
                axis = right / np.linalg.norm(right)
        # Positive pitch shows the body from above, i.e. its top turns towards the camera. With the camera
        # looking along +z_cam, a right-hand rotation about its right axis (x_cam) turns up (−y_cam) into
        # −z_cam, towards the camera — so it is +pitch about the right axis.
        rot = rotation_axis_angle(axis, pitch_deg) @ rot
    return rot


def rotate_about_body_axis(
    joints3d: np.ndarray, yaw_deg: float, pitch_deg: float = 0.0, camera: Camera | None = None
) -> np.ndarray:
    """Turn a 3D pose ``(18, 3)`` (metres, y up) by ``yaw_deg`` about the vertical axis through its hip
    centre, then tilt it by ``pitch_deg`` (see ``viewpoint_rotation``). Missing joints stay NaN.

    Raises ``ValueError`` for a wrong shape or an all-missing pose.
    """
    j = np.asarray(joints3d, dtype=np.float64)
    if j.ndim != 2 or j.shape[1] != 3:
        raise ValueError(f"3D joints must have shape (N, 3), got {j.shape}")
    if not np.isfinite(j).all(axis=1).any():
        raise ValueError("cannot rotate an all-missing pose")
    pivot = hip_centre(j)
    rot = viewpoint_rotation(yaw_deg, pitch_deg, camera)
    return ((j - pivot) @ rot.T + pivot).astype(np.float32)


def project_pose(joints3d: np.ndarray, camera: Camera, min_visible: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Project a 3D pose ``(18, 3)`` with ``camera``: ``(xy (18, 2) float32, visible (18,) bool)``.

    Raises ``ValueError`` when fewer than ``min_visible`` joints are visible — e.g. the camera is behind
    or inside the person, or looks away — instead of returning an empty pose silently.
    """
    xy, vis = camera.project(joints3d)
    if vis.sum() < min_visible:
        raise ValueError(
            f"only {int(vis.sum())} of {len(vis)} joints are in front of the camera and inside the image; "
            "is the camera behind the person or pointing away?"
        )
    return xy, vis


def framing_camera(
    joints3d: np.ndarray,
    width: int,
    height: int,
    azimuth_deg: float = 0.0,
    elevation_deg: float = 0.0,
    fov_y_deg: float = 30.0,
    margin: float = 0.1,
) -> Camera:
    """An ``orbit_camera`` aimed at the body's vertical axis that keeps the pose ``(18, 3)`` in frame at
    **any** yaw: it frames the cylinder around the axis through the hip centre that holds every joint.

    ``margin`` is the fraction of free space added around the body. Raises ``ValueError`` for an
    all-missing pose.
    """
    j = np.asarray(joints3d, dtype=np.float64)
    if j.ndim != 2 or j.shape[1] != 3:
        raise ValueError(f"3D joints must have shape (N, 3), got {j.shape}")
    pts = j[np.isfinite(j).all(axis=1)]
    if len(pts) == 0:
        raise ValueError("cannot frame an all-missing pose")
    axis = hip_centre(j)
    radius = float(np.max(np.hypot(pts[:, 0] - axis[0], pts[:, 2] - axis[2])))
    y_lo, y_hi = float(pts[:, 1].min()), float(pts[:, 1].max())
    target = np.array([axis[0], (y_lo + y_hi) / 2.0, axis[2]])
    tan_y = np.tan(np.deg2rad(fov_y_deg) / 2.0)
    tan_x = tan_y * width / height  # square pixels: the horizontal half-angle follows the aspect ratio
    half_h = max((y_hi - y_lo) / 2.0, 1e-3) * (1.0 + margin)
    half_w = max(radius, 1e-3) * (1.0 + margin)
    # The nearest joints are up to `radius` closer to the camera than the axis, and look that much bigger.
    distance = max(half_h / tan_y, half_w / tan_x) + radius
    return orbit_camera(azimuth_deg, elevation_deg, distance, target, width, height, fov_y_deg)
