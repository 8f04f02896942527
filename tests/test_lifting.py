"""Tests of the Taylor 2000 lift: recovers a projected pose's 3D shape up to the documented ambiguity."""

import json
from pathlib import Path

import numpy as np
import pytest

from posegen_lite.geometry import lifting as lf
from posegen_lite.geometry.camera import Camera, orbit_camera, project_pose, rotate_about_body_axis, rotation_axis_angle
from posegen_lite.geometry.skeleton import JOINT_INDEX, from_panoptic19, hip_centre, reference_pose

J = JOINT_INDEX
SEQ = Path(__file__).parent / "fixtures" / "panoptic" / "171204_pose1_sample"


def _bent_pose() -> np.ndarray:
    """The reference pose with a right elbow flexed 70°, left arm raised forward 40°, right hip flexed 30°
    and right knee flexed 60° — limbs out of the image plane, bent the natural way."""
    p = reference_pose().astype(np.float64)

    def turn(pivot, moved, degrees):
        rot = rotation_axis_angle([1.0, 0.0, 0.0], degrees)
        p[moved] = (p[moved] - p[pivot]) @ rot.T + p[pivot]

    turn(J["r_elbow"], [J["r_wrist"]], -70.0)
    turn(J["l_shoulder"], [J["l_elbow"], J["l_wrist"]], -40.0)
    turn(J["r_hip"], [J["r_knee"], J["r_ankle"]], -30.0)
    turn(J["r_knee"], [J["r_ankle"]], 60.0)
    return p.astype(np.float32)


def _view(pose: np.ndarray, yaw: float) -> np.ndarray:
    """The pose turned by ``yaw``, hip centre at the origin: the frame the lift answers in (the camera looks
    along -z, so the camera-aligned frame is the world frame)."""
    g = rotate_about_body_axis(pose, yaw)
    return g - hip_centre(g)


@pytest.mark.parametrize("yaw", [0.0, 90.0, 180.0, 270.0])
def test_lift_recovers_the_reference_pose_with_its_own_bone_lengths(yaw):
    gt = _view(reference_pose(), yaw)
    xy, vis = lf.orthographic_projection(gt, 200.0, (100.0, 300.0))
    lifted = lf.lift_pose(xy, vis, lf.bone_lengths(gt))
    assert lifted.shape == (18, 3) and lifted.dtype == np.float32
    assert np.allclose(hip_centre(lifted), 0.0, atol=1e-6)
    assert lf.mpjpe(lifted, gt, align=None) < 0.002  # exact: same frame, same scale, no alignment needed


@pytest.mark.parametrize("yaw", [0.0, 30.0, 90.0, 180.0, 225.0, 270.0])
def test_lift_recovers_a_bent_pose_and_its_depth_signs(yaw):
    gt = _view(_bent_pose(), yaw)
    xy, vis = lf.orthographic_projection(gt, 150.0, (80.0, 200.0))
    lifted = lf.lift_pose(xy, vis, lf.bone_lengths(gt))
    assert lf.mpjpe(lifted, gt, align=None) < 0.005
    with_priors = lf.lift_pose(xy, vis)  # typical lengths, not the person's own
    assert lf.mpjpe(with_priors, gt) < 0.01


def test_lift_error_over_all_yaws_with_priors_and_far_perspective():
    """The numbers reported for Stage I: PA-MPJPE over 12 yaws, bent pose, default bone-length priors."""
    pose = _bent_pose()
    ortho, persp = [], []
    cam = orbit_camera(0.0, 0.0, 30.0, [0.0, 0.0, 0.0], 512, 512, fov_y_deg=5.0)  # far away, narrow: ~orthographic
    for yaw in range(0, 360, 30):
        gt = _view(pose, yaw)
        xy, vis = lf.orthographic_projection(gt, 200.0, (100.0, 300.0))
        ortho.append(lf.mpjpe(lf.lift_pose(xy, vis), gt))
        xy, vis = project_pose(gt, cam)
        persp.append(lf.mpjpe(lf.lift_pose(xy, vis), gt))
    # Sign errors from the documented ambiguity (a sideways limb seen obliquely) stay a few centimetres.
    assert np.mean(ortho) < 0.02 and np.max(ortho) < 0.05
    assert np.mean(persp) < 0.025 and np.max(persp) < 0.05


def test_depth_sign_rules():
    gt = _view(_bent_pose(), 0.0)
    lifted = lf.lift_pose(*lf.orthographic_projection(gt, 200.0))
    assert lifted[J["r_wrist"], 2] > lifted[J["r_elbow"], 2] + 0.1  # the flexed forearm comes forward
    assert lifted[J["l_elbow"], 2] > lifted[J["l_shoulder"], 2] + 0.1  # the raised arm is in front
    assert lifted[J["r_knee"], 2] > lifted[J["r_hip"], 2] + 0.1  # the thigh swings forward
    assert lifted[J["r_ankle"], 2] < lifted[J["r_knee"], 2] - 0.1  # the knee bends backward
    assert lifted[J["nose"], 1] > lifted[J["r_ankle"], 1] + 1.0  # y up
    # The face says which way the person turns: at yaw +60 the right shoulder is nearer the camera.
    for yaw, sign in ((60.0, 1.0), (-60.0, -1.0)):
        lifted = lf.lift_pose(*lf.orthographic_projection(_view(reference_pose(), yaw), 200.0))
        assert sign * (lifted[J["r_shoulder"], 2] - lifted[J["l_shoulder"], 2]) > 0.1


def test_lift_panoptic_body_from_its_real_cameras():
    calib = json.loads((SEQ / "calibration_171204_pose1_sample.json").read_text())
    body = json.loads((SEQ / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json").read_text())
    joints, _ = from_panoptic19(body["bodies"][0]["joints19"])
    for c in calib["cameras"]:
        cam = Camera(c["K"], c["R"], np.array(c["t"]).reshape(3), *c["resolution"], dist=c["distCoef"])
        xy, vis = cam.project(joints)
        in_cam = cam.to_camera(joints) / 100.0  # cm → m; OpenCV camera axes → x right, y up, z to camera
        gt = in_cam * [1.0, -1.0, -1.0]
        # A real person ~3 m from a wide-angle camera: perspective breaks the orthographic model a little.
        assert lf.mpjpe(lf.lift_pose(xy, vis), gt) < 0.12, c["name"]


def test_scale_estimate_and_missing_joints():
    gt = _view(reference_pose(), 0.0)
    xy, vis = lf.orthographic_projection(gt, 200.0)
    assert lf.estimate_scale(xy, vis) == pytest.approx(200.0, rel=1e-3)
    vis = vis.copy()
    vis[J["l_elbow"]] = False
    vis[J["r_ankle"]] = False
    lifted = lf.lift_pose(xy, vis)
    assert np.isnan(lifted[J["l_elbow"]]).all() and np.isnan(lifted[J["r_ankle"]]).all()
    assert np.isnan(lifted[J["l_wrist"]]).all()  # its chain to the neck is broken: documented as missing
    assert np.isfinite(lifted[J["r_wrist"]]).all()
    no_neck = np.ones(18, bool)
    no_neck[J["neck"]] = False
    lifted = lf.lift_pose(xy, no_neck)  # both shoulders stand in for the neck
    assert np.isnan(lifted[J["neck"]]).all() and np.isfinite(lifted[J["r_wrist"]]).all()


def test_lift_rejects_bad_input():
    gt = _view(reference_pose(), 0.0)
    xy, vis = lf.orthographic_projection(gt, 200.0)
    with pytest.raises(ValueError, match="all-missing"):
        lf.lift_pose(np.full((18, 2), np.nan), np.zeros(18, bool))
    face_only = np.zeros(18, bool)
    face_only[[J["nose"], J["neck"], J["l_eye"], J["r_eye"]]] = True
    with pytest.raises(ValueError, match="too few"):
        lf.lift_pose(xy, face_only)
    no_root = np.ones(18, bool)
    no_root[[J["neck"], J["l_shoulder"]]] = False
    with pytest.raises(ValueError, match="neck"):
        lf.lift_pose(xy, no_root)
    with pytest.raises(ValueError):
        lf.lift_pose(xy[:, :1], vis)
    bad = xy.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError):
        lf.lift_pose(bad, np.ones(18, bool))
    with pytest.raises(ValueError):
        lf.lift_pose(xy, vis, bone_lengths_m=np.ones(5))
    with pytest.raises(ValueError):
        lf.lift_pose(xy, vis, bone_lengths_m=-np.ones(17))
    with pytest.raises(ValueError):
        lf.lift_pose(xy, vis, scale=0.0)


def test_mpjpe_alignments():
    gt = _view(_bent_pose(), 30.0).astype(np.float64)
    assert lf.mpjpe(gt, gt, align=None) == 0.0
    moved = gt + [0.3, -0.2, 1.0]
    assert lf.mpjpe(moved, gt, align=None) == pytest.approx(np.linalg.norm([0.3, -0.2, 1.0]))
    assert lf.mpjpe(moved, gt, align="root") == pytest.approx(0.0, abs=1e-9)
    similar = 1.7 * gt @ rotation_axis_angle([1.0, 2.0, 0.5], 40.0).T + 3.0
    assert lf.mpjpe(similar, gt, align="procrustes") == pytest.approx(0.0, abs=1e-6)
    assert lf.mpjpe(similar, gt, align="root") > 0.05
    mirrored = gt * [1.0, 1.0, -1.0]  # the depth-flip ambiguity is not hidden by the alignment
    assert lf.mpjpe(mirrored, gt, align="procrustes") > 0.01
    partly = gt.copy()
    partly[3] = np.nan
    assert lf.mpjpe(partly, gt, align=None) == 0.0  # only joints present in both count
    with pytest.raises(ValueError):
        lf.mpjpe(gt, gt, align="icp")
    with pytest.raises(ValueError):
        lf.mpjpe(gt[:17], gt)
    with pytest.raises(ValueError):
        lf.mpjpe(np.full((18, 3), np.nan), gt)
