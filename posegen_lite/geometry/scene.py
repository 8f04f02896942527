"""Stage I for a scene with several people: one viewpoint change for the whole group.

A viewpoint change turns the **whole scene** about one vertical axis — through the group centre (the mean of
the people's hip centres) or a pivot the user picks — not each body about its own axis. Seen from the fixed
camera, every person then has a new pose, position and depth; person ``k``'s novel view is synthesized in a
*window* of the scene image framed the way the single-person data frames a person (``person_window``), so
the single-person model sees what it was trained on.

Conventions are camera.py's (world metres, y up; yaw = right-hand rule about +y, i.e. counter-clockwise seen
from above; a yaw of θ of the scene is the camera moved by −θ around the pivot). Windows are in pixels of
the scene image: integer top-left pixel ``(x0, y0)`` and integer size, so cropping never resamples when the
window already has the model's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegen_lite.geometry.camera import Camera, viewpoint_rotation
from posegen_lite.geometry.skeleton import JOINT_INDEX, NUM_JOINTS, hip_centre
from posegen_lite.images import resize_image

_ANGLES = np.linspace(0, 2 * np.pi, 24, endpoint=False)
_RING = np.stack([np.sin(_ANGLES), np.zeros_like(_ANGLES), np.cos(_ANGLES)], 1)  # unit circle, y = 0

# How far the body's surface reaches beyond its joints (metres), so that a cylinder around the joints holds
# the body like ``framing.body_cylinder`` does around the primitives: hands beyond the wrists, the sole
# below the ankles, the skull above the eyes. Fitted on sampled synthetic people (tests/test_scene.py
# checks the resulting frame distance against the primitive-based one).
REACH_SIDE = 0.09
REACH_BELOW = 0.09
REACH_ABOVE = 0.10


def cylinder_distance(
    radius: float,
    y_lo: float,
    y_hi: float,
    elevation_deg: float,
    height: int,
    width: int,
    fov_y_deg: float,
    margin: float,
) -> float:
    """The distance from a camera at ``elevation_deg`` to the centre of a vertical cylinder (``radius``,
    heights ``y_lo``..``y_hi``, metres) at which the cylinder fits a ``height × width`` image with a vertical
    field of view ``fov_y_deg`` and ``margin`` (fraction of the half-image kept free) — at every azimuth."""
    target_y = (y_lo + y_hi) / 2
    el = np.deg2rad(elevation_deg)
    ce, se = np.cos(el), np.sin(el)
    # Rows of the azimuth-0 camera's rotation (what look_at gives): right, down, forward.
    R = np.array([[1.0, 0.0, 0.0], [0.0, -ce, se], [0.0, -se, -ce]])
    pts = np.concatenate([_RING * radius + [0, y_lo, 0], _RING * radius + [0, y_hi, 0]]) - [0.0, target_y, 0.0]
    q = pts @ R.T  # camera-frame coordinates with the camera at the target; distance D adds to z
    f = (height / 2.0) / np.tan(np.deg2rad(fov_y_deg) / 2.0)
    lim_x, lim_y = (width / 2.0) * (1 - margin) / f, (height / 2.0) * (1 - margin) / f
    # A point fits when |q_x| / (q_z + D) <= lim_x, i.e. D >= |q_x| / lim_x - q_z (and likewise for y).
    return float(max((np.abs(q[:, 0]) / lim_x - q[:, 2]).max(), (np.abs(q[:, 1]) / lim_y - q[:, 2]).max()))


def check_joints(joints3d: np.ndarray, who: str = "person") -> np.ndarray:
    """``(18, 3)`` float64 joints, or ``ValueError`` for a wrong shape or a pose without any joint."""
    j = np.asarray(joints3d, dtype=np.float64)
    if j.shape != (NUM_JOINTS, 3):
        raise ValueError(f"{who}: 3D joints must have shape ({NUM_JOINTS}, 3), got {j.shape}")
    if not np.isfinite(j).all(axis=1).any():
        raise ValueError(f"{who}: every joint is missing, so the person cannot be placed")
    return j


def joint_cylinder(joints3d: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """A vertical cylinder that holds the body of a pose ``(18, 3)``: ``(axis (3,) = (x, 0, z) through the hip
    centre, radius, y_lo, y_hi)`` in metres — the joints' cylinder grown by the ``REACH_*`` margins."""
    j = check_joints(joints3d)
    pts = j[np.isfinite(j).all(axis=1)]
    hc = hip_centre(j)
    axis = np.array([hc[0], 0.0, hc[2]])
    radius = float(np.hypot(pts[:, 0] - hc[0], pts[:, 2] - hc[2]).max()) + REACH_SIDE
    feet = j[[JOINT_INDEX["r_ankle"], JOINT_INDEX["l_ankle"]], 1]
    y_lo = float(np.nanmin(feet) if np.isfinite(feet).any() else pts[:, 1].min()) - REACH_BELOW
    y_hi = float(pts[:, 1].max()) + REACH_ABOVE
    return axis, radius, y_lo, y_hi


@dataclass(frozen=True)
class Window:
    """A rectangle of a scene image in pixels: columns ``x0 .. x0 + width − 1``, rows ``y0 .. y0 + height − 1``
    (may reach outside the image: the part outside is padded when cropping)."""

    x0: int
    y0: int
    width: int
    height: int

    def crop_camera(self, camera: Camera, out_height: int, out_width: int) -> Camera:
        """The camera of this window resized to ``out_height × out_width`` (``Camera.cropped``)."""
        return camera.cropped(self.x0, self.y0, self.width, self.height, out_width, out_height)

    def inside(self, height: int, width: int) -> bool:
        """True when the window overlaps a ``height × width`` image at all."""
        return self.x0 < width and self.y0 < height and self.x0 + self.width > 0 and self.y0 + self.height > 0


def crop(image: np.ndarray, window: Window, fill: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """The ``window`` of ``image`` ``(H, W, 3)`` uint8, resized to ``out_size`` ``(h, w)``. Where the window
    reaches beyond the image it is padded from ``fill`` (same shape, e.g. the background; its nearest edge
    pixel). No resampling when the window already has that size, so a model-size window is an exact copy."""
    H, W, _ = image.shape
    y0, x0, h, w = window.y0, window.x0, window.height, window.width
    rows = np.clip(np.arange(y0, y0 + h), 0, H - 1)
    cols = np.clip(np.arange(x0, x0 + w), 0, W - 1)
    out = fill[rows][:, cols].copy()
    inside_r = (np.arange(y0, y0 + h) >= 0) & (np.arange(y0, y0 + h) < H)
    inside_c = (np.arange(x0, x0 + w) >= 0) & (np.arange(x0, x0 + w) < W)
    out[np.ix_(inside_r, inside_c)] = image[rows[inside_r]][:, cols[inside_c]]
    if (h, w) != tuple(out_size):
        out = np.array(resize_image(out, *out_size))  # a writable copy
    return out


def person_window(
    joints3d: np.ndarray, camera: Camera, model_size: tuple[int, int], fov_y_deg: float, margin: float
) -> Window | None:
    """The window of ``camera``'s image that shows the person ``(18, 3)`` as a ``model_size`` camera framed
    like the single-person data would (``fov_y_deg``, ``margin``; the body cylinder centred, at the distance
    that fits it at any azimuth). None when the person's centre is behind the camera.

    The window is the model's framing seen at the person's depth: a model pixel spans ``D / f_model`` metres
    at distance ``D``, a scene pixel ``z / f_scene`` at depth ``z``; so the window is ``H_model · f_scene · D /
    (f_model · z)`` scene pixels high, centred on the projection of the cylinder's centre.
    """
    mh, mw = model_size
    axis, radius, y_lo, y_hi = joint_cylinder(joints3d)
    centre = axis + [0.0, (y_lo + y_hi) / 2, 0.0]
    z = float(camera.to_camera(centre[None])[0, 2])
    if z <= 1e-3:
        return None
    # The elevation the person is seen from: the camera's height above the centre over its horizontal distance.
    eye = camera.center - centre
    elevation = float(np.degrees(np.arctan2(eye[1], max(np.hypot(eye[0], eye[2]), 1e-9))))
    D = cylinder_distance(radius, y_lo, y_hi, float(np.clip(elevation, -60.0, 60.0)), mh, mw, fov_y_deg, margin)
    f_model = (mh / 2.0) / np.tan(np.deg2rad(fov_y_deg) / 2.0)
    h = mh * float(camera.K[1, 1]) * D / (f_model * z)
    win_h = max(int(round(h)), 1)
    win_w = max(int(round(h * mw / mh)), 1)
    xy, _ = camera.project(centre[None], within_image=False)
    u, v = (float(c) for c in xy[0])
    # A window of n pixels starting at x0 has its centre at x0 + (n − 1) / 2.
    return Window(int(round(u - (win_w - 1) / 2)), int(round(v - (win_h - 1) / 2)), win_w, win_h)


def group_pivot(people: Sequence[np.ndarray]) -> np.ndarray:
    """The group centre ``(3,)``: the mean of the people's hip centres (metres)."""
    if len(people) == 0:
        raise ValueError("the scene has no people")
    return np.mean([hip_centre(check_joints(j, f"person {k}")) for k, j in enumerate(people)], axis=0)


def rotate_scene(
    people: Sequence[np.ndarray],
    yaw_deg: float,
    pitch_deg: float = 0.0,
    pivot: np.ndarray | None = None,
    camera: Camera | None = None,
) -> list[np.ndarray]:
    """Turn every pose ``(18, 3)`` of a scene by ``yaw_deg`` about the vertical axis through ``pivot`` (default
    ``group_pivot``), then tilt by ``pitch_deg`` (``camera.viewpoint_rotation``). Missing joints stay NaN.

    With one person and the default pivot this is ``camera.rotate_about_body_axis`` exactly."""
    if len(people) == 0:
        raise ValueError("the scene has no people")
    p = group_pivot(people) if pivot is None else np.asarray(pivot, dtype=np.float64).reshape(3)
    rot = viewpoint_rotation(yaw_deg, pitch_deg, camera)
    return [((check_joints(j, f"person {k}") - p) @ rot.T + p).astype(np.float32) for k, j in enumerate(people)]


@dataclass(frozen=True)
class PersonTarget:
    """Where one person of a turned scene lands in the scene camera.

    Attributes:
        joints3d: ``(18, 3)`` float32 turned joints (world, metres).
        keypoints: ``(18, 2)`` float32 pixels in the scene image, NaN where not visible; visible: ``(18,)`` bool.
        depth: camera z of the hip centre (metres; sorts the people back to front).
        window: the model-framed ``Window`` around the person, None when they are behind the camera.
    """

    joints3d: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    depth: float
    window: Window | None

    @property
    def in_view(self) -> bool:
        """At least one joint inside the scene image."""
        return bool(self.visible.any())


def scene_targets(
    people: Sequence[np.ndarray],
    camera: Camera,
    model_size: tuple[int, int],
    fov_y_deg: float,
    margin: float,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    pivot: np.ndarray | None = None,
) -> list[PersonTarget]:
    """Stage I of a scene: turn the group (``rotate_scene``) and, for each person, project the turned pose
    with ``camera`` and frame the person's model window (``person_window``)."""
    out = []
    for j in rotate_scene(people, yaw_deg, pitch_deg, pivot, camera):
        xy, vis = camera.project(j)
        depth = float(camera.to_camera(hip_centre(j)[None])[0, 2])
        out.append(PersonTarget(j, xy, vis, depth, person_window(j, camera, model_size, fov_y_deg, margin)))
    return out


def back_to_front(depths: Sequence[float]) -> list[int]:
    """Indices of people sorted farthest first (the order to paste them in); ties keep the input order."""
    return [int(i) for i in np.argsort(-np.asarray(depths, dtype=np.float64), kind="stable")]
