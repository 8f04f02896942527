"""geometry.scene: the group turn, per-person targets and the model-framed windows."""

from __future__ import annotations

import numpy as np
import pytest

from posegen_lite.data.synthetic.body import pose_body, sample_person
from posegen_lite.data.synthetic.framing import FOV_Y, MARGIN, frame_distance
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.geometry.camera import Camera, orbit_camera, rotate_about_body_axis
from posegen_lite.geometry.scene import (
    back_to_front,
    cylinder_distance,
    group_pivot,
    joint_cylinder,
    person_window,
    rotate_scene,
    scene_targets,
)


def _body(seed: int):
    rng = np.random.default_rng(seed)
    return pose_body(sample_person(rng), sample_pose(rng))


def test_one_person_scene_turn_is_the_body_turn():
    j = _body(0).joints3d + np.float32([1.0, 0.0, -2.0])
    cam = orbit_camera(30, 10, 5.0, [1.0, 0.9, -2.0], 64, 64)
    np.testing.assert_array_equal(rotate_scene([j], 70, 5, camera=cam)[0], rotate_about_body_axis(j, 70, 5, cam))


def test_group_turns_about_the_pivot_not_each_body_axis():
    a, b = _body(1).joints3d, _body(2).joints3d + np.float32([2.0, 0.0, 0.0])
    pivot = group_pivot([a, b])
    ra, rb = rotate_scene([a, b], 180)
    # Half a turn about the group centre swaps the sides of the two people (and keeps their distance).
    assert np.sign(ra[8, 0] - pivot[0]) != np.sign(a[8, 0] - pivot[0])
    np.testing.assert_allclose(np.linalg.norm(rb[8] - ra[8]), np.linalg.norm(b[8] - a[8]), rtol=1e-5)
    with pytest.raises(ValueError, match="no people"):
        rotate_scene([], 10)


def test_joint_cylinder_frames_like_the_primitives():
    for seed in range(5):
        body = _body(seed)
        _, r, lo, hi = joint_cylinder(body.joints3d)
        ratio = cylinder_distance(r, lo, hi, 5.0, 64, 64, FOV_Y, MARGIN) / frame_distance(body, 5.0, 64, 64)[0]
        assert abs(ratio - 1) < 0.05


def test_window_of_the_single_person_framing_is_the_whole_image():
    j = _body(3).joints3d
    axis, r, lo, hi = joint_cylinder(j)
    dist = cylinder_distance(r, lo, hi, 8.0, 64, 64, FOV_Y, MARGIN)
    cam = orbit_camera(40, 8.0, dist, axis + [0, (lo + hi) / 2, 0], 64, 64, FOV_Y)
    win = person_window(j, cam, (64, 64), FOV_Y, MARGIN)
    assert (win.x0, win.y0, win.width, win.height) == (0, 0, 64, 64)
    # Twice as far away in a camera twice as big: the same window size; behind the camera: no window.
    far = orbit_camera(40, 8.0, 2 * dist, axis + [0, (lo + hi) / 2, 0], 128, 128, FOV_Y)
    assert person_window(j, far, (64, 64), FOV_Y, MARGIN).width == 64
    turned = np.diag([-1.0, 1.0, -1.0]) @ cam.R  # the same camera turned round: the person is behind it
    behind = Camera(cam.K, turned, -turned @ cam.center, 64, 64)
    assert person_window(j, behind, (64, 64), FOV_Y, MARGIN) is None


def test_targets_and_depth_order():
    a, b = _body(4).joints3d, _body(5).joints3d + np.float32([0.3, 0.0, -1.5])  # b behind a, seen from +z
    cam = orbit_camera(0, 5, 8.0, group_pivot([a, b]) + [0, 0.1, 0], 96, 128)
    t0 = scene_targets([a, b], cam, (64, 64), FOV_Y, MARGIN, yaw_deg=0)
    assert t0[0].depth < t0[1].depth and back_to_front([t.depth for t in t0]) == [1, 0]
    t180 = scene_targets([a, b], cam, (64, 64), FOV_Y, MARGIN, yaw_deg=180)
    assert back_to_front([t.depth for t in t180]) == [0, 1]
    assert all(t.in_view and t.window is not None for t in t0 + t180)
