"""Tests of projection, the viewpoint change (body rotation ≡ camera orbit) and the Panoptic fixture."""

import json
from pathlib import Path

import numpy as np
import pytest

from posegen_lite.geometry import camera as cm
from posegen_lite.geometry.skeleton import JOINT_INDEX, from_panoptic19, hip_centre, reference_pose

FIXTURES = Path(__file__).parent / "fixtures" / "panoptic"
SEQ = FIXTURES / "171204_pose1_sample"
J = JOINT_INDEX


def _front_camera(width=64, height=128, elevation=0.0):
    return cm.framing_camera(reference_pose(), width, height, elevation_deg=elevation)


@pytest.mark.parametrize("yaw", [0.0, 17.0, 90.0, 180.0, -135.0, 400.0])
def test_rotate_then_unrotate_is_identity(yaw):
    pose = reference_pose()
    back = cm.rotate_about_body_axis(cm.rotate_about_body_axis(pose, yaw), -yaw)
    assert np.allclose(back, pose, atol=1e-5)


def test_rotate_with_pitch_is_undone_in_reverse_order():
    pose, cam = reference_pose(), _front_camera()
    turned = cm.rotate_about_body_axis(pose, 40.0, 25.0, camera=cam)
    assert np.allclose(
        cm.rotate_about_body_axis(turned, 0.0, -25.0, camera=cam), cm.rotate_about_body_axis(pose, 40.0), atol=1e-5
    )
    back = cm.rotate_about_body_axis(cm.rotate_about_body_axis(turned, 0.0, -25.0, camera=cam), -40.0)
    assert np.allclose(back, pose, atol=1e-5)


def test_rotation_keeps_shape_hip_centre_and_missing_joints():
    pose = reference_pose()
    pose[J["l_wrist"]] = np.nan
    turned = cm.rotate_about_body_axis(pose, 63.0, 12.0)
    assert np.isnan(turned[J["l_wrist"]]).all()
    assert np.allclose(hip_centre(turned), hip_centre(pose), atol=1e-6)
    d = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)  # noqa: E731
    assert np.allclose(d(turned), d(pose), atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("yaw,pitch", [(30.0, 0.0), (90.0, 0.0), (-150.0, 0.0), (45.0, 20.0), (200.0, -15.0)])
@pytest.mark.parametrize("elevation", [0.0, 10.0])
def test_rotating_the_pose_equals_orbiting_the_camera_the_other_way(yaw, pitch, elevation):
    pose, cam = reference_pose(), _front_camera(elevation=elevation)
    xy_body, vis_body = cam.project(cm.rotate_about_body_axis(pose, yaw, pitch, camera=cam))
    orbit = cam.orbited(-yaw, -pitch, pivot=hip_centre(pose))
    xy_cam, vis_cam = orbit.project(pose)
    assert vis_body.all() and (vis_body == vis_cam).all()
    assert np.allclose(xy_body, xy_cam, atol=1e-3)


def test_orbited_matches_orbit_camera_azimuth_and_elevation():
    target = np.array([0.0, 0.9, 0.0])
    base = cm.orbit_camera(0.0, 0.0, 4.0, target, 64, 128)
    for az, el in [(30.0, 0.0), (-70.0, 15.0), (180.0, -10.0)]:
        want = cm.orbit_camera(az, el, 4.0, target, 64, 128)
        got = base.orbited(az, -el, pivot=target)  # a positive orbit pitch lowers the camera (right-hand rule)
        assert np.allclose(got.R, want.R, atol=1e-9) and np.allclose(got.t, want.t, atol=1e-9)


def test_positive_pitch_shows_the_body_from_above():
    pose, cam = reference_pose(), _front_camera()
    tilted = cm.rotate_about_body_axis(pose, 0.0, 20.0, camera=cam)
    depth = lambda p, name: cam.to_camera(p)[J[name], 2]  # noqa: E731
    assert depth(tilted, "nose") < depth(pose, "nose")  # the head comes towards the camera
    assert depth(tilted, "r_ankle") > depth(pose, "r_ankle")  # the feet go away
    assert cam.orbited(0.0, -20.0, pivot=hip_centre(pose)).center[1] > cam.center[1]  # ≡ a raised camera


def test_yaw_180_swaps_the_shoulders_left_right_order_and_yaw_90_faces_image_right():
    pose, cam = reference_pose(), _front_camera()
    xy0, _ = cm.project_pose(pose, cam)
    assert xy0[J["r_shoulder"], 0] < xy0[J["l_shoulder"], 0]  # frontal: the person's right on the image left
    xy180, _ = cm.project_pose(cm.rotate_about_body_axis(pose, 180.0), cam)
    assert xy180[J["r_shoulder"], 0] > xy180[J["l_shoulder"], 0]
    xy90, _ = cm.project_pose(cm.rotate_about_body_axis(pose, 90.0), cam)
    assert xy90[J["nose"], 0] > xy90[J["neck"], 0] + 1.0  # counter-clockwise from above: faces image-right


def _panoptic():
    calib = json.loads((SEQ / "calibration_171204_pose1_sample.json").read_text())
    body = json.loads((SEQ / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json").read_text())
    expected = json.loads((FIXTURES / "expected_projections_00000000.json").read_text())["projections"]
    return calib["cameras"], np.array(body["bodies"][0]["joints19"]).reshape(19, 4), expected


def test_panoptic_fixture_projects_to_the_expected_pixels():
    cameras, joints19, expected = _panoptic()
    assert {c["name"] for c in cameras} == set(expected)
    for c in cameras:
        cam = cm.Camera(c["K"], c["R"], np.array(c["t"]).reshape(3), *c["resolution"], dist=c["distCoef"])
        xy, vis = cam.project(joints19[:, :3])  # raw centimetres with the raw calibration: t is in cm too
        assert vis.all()
        assert np.abs(xy - np.array(expected[c["name"]])).max() < 0.01, c["name"]
        # the same through the 18-joint converter
        ours, _ = from_panoptic19(joints19)
        xy18, _ = cam.project(ours)
        assert np.allclose(xy18[J["neck"]], expected[c["name"]][0], atol=0.01)


def test_points_behind_or_outside_are_not_visible_and_nan():
    cam = cm.orbit_camera(0.0, 0.0, 3.0, [0.0, 0.0, 0.0], 64, 64)  # at z = +3 looking at the origin
    pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0], [np.nan, 0.0, 0.0]])
    xy, vis = cam.project(pts)
    assert vis.tolist() == [True, False, False, False, False]
    assert np.isfinite(xy[0]).all() and np.isnan(xy[1:]).all()
    assert np.allclose(xy[0], [31.5, 31.5])  # the optical axis lands on the principal point
    xy, vis = cam.project(pts[3:4], within_image=False)  # off-image but in front: a coordinate when asked
    assert vis[0] and xy[0, 0] > 64


def test_strong_distortion_beyond_its_fold_is_not_visible():
    cam = cm.Camera(cm.intrinsics(64, 64), np.eye(3), np.zeros(3), 64, 64, dist=[-0.5, 0.0, 0.0, 0.0, 0.0])
    _, vis = cam.project(np.array([[0.1, 0.0, 1.0], [3.0, 0.0, 1.0]]), within_image=False)
    assert vis.tolist() == [True, False]


def test_camera_behind_the_person_raises():
    pose = reference_pose()
    R, t = cm.look_at([0.0, 1.0, 3.0], [0.0, 1.0, 6.0])  # stands in front of the person, looks away
    cam = cm.Camera(cm.intrinsics(64, 128), R, t, 64, 128)
    with pytest.raises(ValueError, match="behind"):
        cm.project_pose(pose, cam)


def test_cropped_camera_matches_cropping_the_pixels():
    pose, cam = reference_pose(), _front_camera(128, 256)
    xy, _ = cam.project(pose)
    x0, y0, cw, ch = 10.0, 20.0, 100, 200
    crop = cam.cropped(x0, y0, cw, ch, 50, 100)
    xy_c, vis_c = crop.project(pose)
    inside = (xy[:, 0] >= x0 - 0.5) & (xy[:, 0] < x0 + cw - 0.5) & (xy[:, 1] >= y0 - 0.5) & (xy[:, 1] < y0 + ch - 0.5)
    assert 0 < inside.sum() < 18 and (vis_c == inside).all()  # joints cut off by the crop are not visible
    assert np.allclose(xy_c[inside], (xy[inside] - [x0, y0] + 0.5) * 0.5 - 0.5, atol=1e-3)


def test_framing_camera_keeps_the_person_in_frame_at_every_yaw():
    pose = reference_pose()
    for h, w in [(128, 64), (64, 64), (256, 256)]:
        cam = cm.framing_camera(pose, w, h)
        for yaw in range(0, 360, 30):
            _, vis = cam.project(cm.rotate_about_body_axis(pose, yaw))
            assert vis.all(), (h, w, yaw)
        xy, _ = cam.project(pose)
        assert np.ptp(xy[:, 1]) > 0.6 * h  # and the person fills the frame, not a dot in it
    with pytest.raises(ValueError):
        cm.framing_camera(np.full((18, 3), np.nan), 64, 128)


def test_bad_cameras_and_poses_raise():
    K, R, t = cm.intrinsics(64, 64), np.eye(3), np.zeros(3)
    with pytest.raises(ValueError):
        cm.Camera(K[:2], R, t, 64, 64)
    with pytest.raises(ValueError):
        cm.Camera(K, 2 * R, t, 64, 64)  # not a rotation
    with pytest.raises(ValueError):
        cm.Camera(K, np.diag([1.0, 1.0, -1.0]), t, 64, 64)  # a reflection
    with pytest.raises(ValueError):
        cm.Camera(K, R, [np.nan, 0.0, 0.0], 64, 64)
    with pytest.raises(ValueError):
        cm.Camera(K, R, t, 0, 64)
    with pytest.raises(ValueError):
        cm.Camera(K, R, t, 64, 64, dist=[0.1, 0.2])
    with pytest.raises(ValueError):
        cm.look_at([0, 0, 0], [0, 0, 0])
    with pytest.raises(ValueError):
        cm.look_at([0, 0, 0], [0, 5, 0])  # straight up: parallel to the up vector
    with pytest.raises(ValueError):
        cm.intrinsics(64, 64, fov_y_deg=180.0)
    with pytest.raises(ValueError):
        cm.orbit_camera(0, 0, -1.0, [0, 0, 0], 64, 64)
    with pytest.raises(ValueError):
        cm.orbit_camera(0, 90.0, 3.0, [0, 0, 0], 64, 64)
    with pytest.raises(ValueError):
        cm.rotate_about_body_axis(np.full((18, 3), np.nan), 30.0)
    with pytest.raises(ValueError):
        cm.rotate_about_body_axis(np.zeros((18, 2)), 30.0)
    with pytest.raises(ValueError):
        cm.Camera(K, R, t, 64, 64).to_camera(np.zeros((3,)))


@pytest.mark.parametrize("angles", [(float("nan"), 0.0), (0.0, float("inf"))])
def test_non_finite_viewpoint_angles_are_refused(angles):
    joints = np.zeros((18, 3))
    joints[:, 1] = np.linspace(0, 1.7, 18)
    with pytest.raises(ValueError, match="finite number of degrees"):
        cm.rotate_about_body_axis(joints, *angles)
