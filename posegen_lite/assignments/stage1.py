"""Checks of assignment 1 (Stage I): turn the 3D joints about the body axis, project them, draw pose maps.

The student writes

* ``rotate_yaw(joints3d, yaw_deg) -> (18, 3)`` — turn the pose (metres, y up) by ``yaw_deg`` about the
  vertical axis through its hip centre, counter-clockwise seen from above (right-hand rule about +y);
* ``project(points, K, R, t) -> (N, 2)`` — pinhole projection ``x = K · (R·X + t) / z`` to (x, y) pixels;
* ``draw_pose_maps(xy, visible, height, width, radius) -> (18, H, W)`` — PG2's disc maps: +1 within
  ``radius`` pixels of a visible joint, −1 elsewhere.

Conventions are the package's (see ``posegen_lite.camera``): a person in the canonical pose faces +z, the
camera in front of them sits on +z, a positive yaw turns +z towards +x.
"""

from __future__ import annotations

import numpy as np

from ..geometry.camera import framing_camera, rotate_about_body_axis
from ..geometry.skeleton import JOINT_INDEX, hip_centre, reference_pose
from .checks import assert_close, attempt, check_shape, stored_answers
from .reference import reference_values

_R_SHOULDER, _L_SHOULDER = JOINT_INDEX["r_shoulder"], JOINT_INDEX["l_shoulder"]


def random_pose(seed: int, missing: int = 0) -> np.ndarray:
    """A jittered, shifted and turned copy of the reference pose ``(18, 3)`` float32, with ``missing``
    joints set to NaN (never a hip: the hip centre must stay defined). Used by the hidden cases, made at
    build time with the instructor's package (it turns the pose with the reference rotation)."""
    rng = np.random.default_rng(seed)
    j = reference_pose().astype(np.float64) + rng.normal(0.0, 0.04, (18, 3))
    j = rotate_about_body_axis(j, rng.uniform(-180, 180)).astype(np.float64)
    j += np.array([rng.uniform(-1, 1), 0.0, rng.uniform(-1, 1)])  # off the world origin: tests the pivot
    hips = {JOINT_INDEX["r_hip"], JOINT_INDEX["l_hip"]}
    for i in rng.choice([i for i in range(18) if i not in hips], size=missing, replace=False):
        j[i] = np.nan
    return j.astype(np.float32)


# --- rotate_yaw ---------------------------------------------------------------------------------------------


def check_rotate_yaw(rotate_yaw) -> None:
    """Public check: pivot, heights, direction of turn, and the body/camera duality."""
    pose = public_pose()
    before = pose.copy()
    out = check_shape(attempt(rotate_yaw, pose, 90.0), (18, 3), "rotate_yaw(joints3d, 90)")
    if not np.array_equal(pose, before):
        raise AssertionError("rotate_yaw modified its input array in place: return a new array")
    assert_close(
        hip_centre(out),
        hip_centre(pose),
        1e-4,
        "the hip centre moved: turn about the vertical axis *through the hip centre* (subtract it, "
        "rotate, add it back), not about the world origin",
    )
    assert_close(
        out[:, 1],
        pose[:, 1],
        1e-4,
        "the heights (y) changed: a yaw turns about the vertical y axis, so every y stays the same",
    )
    # The person faces +z, towards a camera in front of them on +z; +90° turns them to face +x.
    if not out[_R_SHOULDER, 2] > out[_L_SHOULDER, 2]:
        raise AssertionError(
            "your yaw turns the body the wrong way: a positive yaw is counter-clockwise seen from above "
            "(+z turns towards +x), so at +90° the right shoulder should move toward the camera in front of "
            "the person (larger z) and the left shoulder away from it — check the sign of sin in your matrix"
        )
    assert_close(
        out,
        stored_answers()["stage1"]["rotated_90"],
        1e-4,
        "heights and pivot are right but the turned joints are not where a 90° turn puts them "
        "(is the angle in degrees converted to radians?)",
    )
    _check_duality(rotate_yaw, pose, (30.0, -75.0, 160.0))


def public_pose() -> np.ndarray:
    """The public check's pose ``(18, 3)``: the reference pose, off the world origin on purpose."""
    return reference_pose() + np.array([0.5, 0.0, -0.3], np.float32)


def _check_duality(rotate_yaw, pose: np.ndarray, yaws) -> None:
    """Turning the body by θ must look exactly like orbiting the camera by −θ about the same axis: the
    turned joints in this camera's coordinates equal the still joints in the orbited camera's."""
    cam = framing_camera(pose, 64, 64)
    for yaw in yaws:
        turned = attempt(rotate_yaw, pose.copy(), yaw)
        seen_turned = cam.to_camera(np.asarray(turned, np.float64))
        seen_orbit = cam.orbited(-yaw, pivot=hip_centre(pose)).to_camera(pose)
        assert_close(
            seen_turned,
            seen_orbit,
            1e-4,
            f"turning the body by {yaw:+g}° should look exactly like moving the camera by {-yaw:+g}° "
            "around it, but the joints in camera coordinates differ",
        )


# --- project ------------------------------------------------------------------------------------------------


def _test_camera():
    pose = reference_pose()
    return framing_camera(pose, 64, 48, azimuth_deg=35.0, elevation_deg=12.0)


def check_project(project) -> None:
    """Public check: a hand-computed point, the principal point, and a real camera's stored reference."""
    K = np.array([[100.0, 0.0, 32.0], [0.0, 100.0, 24.0], [0.0, 0.0, 1.0]])
    R, t = np.eye(3), np.zeros(3)
    pts = np.array([[0.0, 0.0, 3.0], [0.1, -0.2, 2.0]])
    out = check_shape(attempt(project, pts, K, R, t), (2, 2), "project(2 points, K, R, t)")
    if np.allclose(out[1], [14.0, 37.0], atol=1e-3) or np.allclose(out[0], [24.0, 32.0], atol=1e-3):
        raise AssertionError("x and y are swapped: return (x, y) = (column, row), x first")
    assert_close(
        out[0],
        [32.0, 24.0],
        1e-3,
        "a point on the optical axis must land on the principal point (K[0, 2], K[1, 2]) = (32, 24)",
    )
    if np.allclose(out[1], [32.0 + 100 * 0.1, 24.0 - 100 * 0.2], atol=1e-3):
        raise AssertionError(
            "you forgot the perspective division: divide x and y by the depth z before "
            "applying K (a point twice as far away looks half as far from the centre)"
        )
    assert_close(
        out[1],
        [37.0, 14.0],
        1e-3,
        "(0.1, −0.2, 2) m should land at x = 100·0.1/2 + 32 = 37, y = 100·(−0.2)/2 + 24 = 14",
    )
    cam = _test_camera()
    want = np.asarray(reference_values()["stage1"]["projected_reference_pose"], np.float64)
    got = check_shape(
        attempt(project, reference_pose().astype(np.float64), cam.K, cam.R, cam.t),
        (18, 2),
        "project(reference pose, camera)",
    )
    if np.allclose(got, stored_answers()["stage1"]["projected_with_R_T"], atol=1e-2):
        raise AssertionError(
            "you used R.T: R maps world to camera coordinates, X_cam = R @ X + t (for rows of points: X @ R.T + t)"
        )
    assert_close(
        got,
        want,
        1e-2,
        "the reference pose seen by a camera at azimuth 35°, elevation 12° does not "
        "land on the stored reference pixels (X_cam = R·X + t, then divide by z, then K)",
    )


# --- draw_pose_maps -----------------------------------------------------------------------------------------


def check_draw_pose_maps(draw_pose_maps) -> None:
    """Public check: a disc counted by hand, x/y order, background, and missing joints."""
    h, w = 12, 16
    xy = np.full((18, 2), np.nan, np.float32)
    visible = np.zeros(18, bool)
    xy[0], visible[0] = (5.0, 7.0), True  # nose at column 5, row 7
    xy[3], visible[3] = (2.0, 2.0), False  # a joint the detector did not see: its channel stays empty
    maps = check_shape(attempt(draw_pose_maps, xy, visible, h, w, 2.0), (18, h, w), "draw_pose_maps")
    if not np.isin(maps, (-1.0, 1.0)).all():
        if np.isin(maps, (0.0, 1.0)).all():
            raise AssertionError("the background must be −1, not 0: pose maps live in [−1, 1] like the images")
        raise AssertionError("disc maps hold only two values: +1 inside a disc, −1 elsewhere")
    if maps[0, 5, 7] == 1.0 and maps[0, 7, 5] != 1.0:
        raise AssertionError("x and y are swapped: the joint at (x=5, y=7) is row 7, column 5 — maps[j, y, x]")
    if maps[0, 7, 5] != 1.0:
        raise AssertionError("the pixel under the joint (row 7, column 5) should be lit (+1)")
    lit = int((maps[0] == 1.0).sum())
    if lit != 13:
        raise AssertionError(
            f"a disc of radius 2 covers 13 pixels (those with dx² + dy² ≤ 4: 1 + 4 + 4 + 4), "
            f"yours lit {lit} — use the squared distance ≤ radius²"
        )
    if (maps[3] != -1.0).any():
        raise AssertionError(
            "joint 3 is not visible: its channel must stay all −1 (nothing drawn), whatever its coordinates say"
        )
    if (maps[1:3] != -1.0).any() or (maps[4:] != -1.0).any():
        raise AssertionError("only the nose is given: every other channel must be all −1")
