"""Tests of the skeleton conventions, the left/right swap, the converters and the reference pose."""

import json
from pathlib import Path

import numpy as np
import pytest

from posegen_lite.geometry import skeleton as sk
from posegen_lite.geometry.lifting import BONE_LENGTHS, bone_lengths

PANOPTIC = Path(__file__).parent / "fixtures" / "panoptic" / "171204_pose1_sample"


def test_joint_tables_are_consistent():
    assert len(sk.JOINT_NAMES) == sk.NUM_JOINTS == 18
    assert len(set(sk.JOINT_NAMES)) == 18
    assert all(sk.JOINT_NAMES[i] == name for name, i in sk.JOINT_INDEX.items())
    # The limbs form a tree rooted at the neck: every joint except the neck has exactly one parent.
    children = [c for _, c in sk.LIMBS]
    assert sorted(children) == sorted(set(range(18)) - {sk.JOINT_INDEX["neck"]})


def test_flip_permutation_is_an_involution_that_swaps_left_and_right():
    perm = np.array(sk.FLIP_PERMUTATION)
    assert (perm[perm] == np.arange(18)).all()
    for i, j in enumerate(perm):
        a, b = sk.JOINT_NAMES[i], sk.JOINT_NAMES[j]
        if a.startswith("l_"):
            assert b == "r_" + a[2:]
        elif a.startswith("r_"):
            assert b == "l_" + a[2:]
        else:
            assert a == b


def test_flip_joints_moves_values_and_rejects_wrong_shapes():
    values = np.arange(18 * 2).reshape(18, 2)
    flipped = sk.flip_joints(values)
    assert (flipped[sk.JOINT_INDEX["l_wrist"]] == values[sk.JOINT_INDEX["r_wrist"]]).all()
    assert (sk.flip_joints(flipped) == values).all()
    with pytest.raises(ValueError):
        sk.flip_joints(np.zeros((17, 2)))


def test_check_keypoints_validates_and_blanks_invisible_joints():
    xy = np.arange(36, dtype=np.float32).reshape(18, 2)
    vis = np.ones(18, bool)
    vis[3] = False
    coords, v = sk.check_keypoints(xy, vis)
    assert np.isnan(coords[3]).all() and not v[3] and np.isfinite(coords[np.arange(18) != 3]).all()
    xy_nan = xy.copy()
    xy_nan[5] = np.nan
    _, v = sk.check_keypoints(xy_nan)  # default visibility = finite coordinates
    assert not v[5] and v.sum() == 17
    with pytest.raises(ValueError, match="non-finite"):
        sk.check_keypoints(xy_nan, np.ones(18, bool))
    with pytest.raises(ValueError, match="shape"):
        sk.check_keypoints(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="shape"):
        sk.check_keypoints(xy, np.ones(17, bool))


def test_hip_centre_and_its_fallbacks():
    pose = sk.reference_pose()
    assert np.allclose(sk.hip_centre(pose), [0.0, 0.93, 0.0], atol=1e-6)
    no_hip = pose.copy()
    no_hip[sk.JOINT_INDEX["r_hip"]] = np.nan
    assert np.allclose(sk.hip_centre(no_hip), np.nanmean(no_hip, axis=0))
    with pytest.raises(ValueError, match="missing"):
        sk.hip_centre(np.full((18, 3), np.nan))
    with pytest.raises(ValueError, match="shape"):
        sk.hip_centre(np.zeros((18, 2)))


def test_reference_pose_is_a_standing_adult_facing_plus_z():
    pose = sk.reference_pose()
    j = sk.JOINT_INDEX
    assert pose.shape == (18, 3) and pose.dtype == np.float32 and np.isfinite(pose).all()
    assert 1.55 < pose[:, 1].max() < 1.75  # eyes; the head top is ~10 cm higher: ~1.7 m tall
    assert 0.0 < pose[j["r_ankle"], 1] < 0.15 and 0.0 < pose[j["l_ankle"], 1] < 0.15  # feet on the floor
    assert np.allclose(sk.hip_centre(pose)[[0, 2]], 0.0)  # the body axis is the world y axis
    assert pose[j["nose"], 2] > pose[j["neck"], 2]  # faces +z
    assert pose[j["r_shoulder"], 0] < 0 < pose[j["l_shoulder"], 0]  # the person's right is -x
    # arms slightly out: wrists further from the axis than shoulders
    assert abs(pose[j["r_wrist"], 0]) > abs(pose[j["r_shoulder"], 0])
    # proportions agree with the lifting priors
    assert np.allclose(bone_lengths(pose), BONE_LENGTHS, rtol=0.1)


def test_from_panoptic19_reorders_the_fixture_body():
    body = json.loads((PANOPTIC / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json").read_text())
    flat = body["bodies"][0]["joints19"]
    raw = np.array(flat).reshape(19, 4)
    joints, valid = sk.from_panoptic19(flat)
    assert joints.shape == (18, 3) and valid.all()
    j = sk.JOINT_INDEX
    # Panoptic: 0 Neck, 1 Nose, 3 lShoulder, 9 rShoulder, 8 lAnkle, 14 rAnkle, 15 lEye, 17 rEye, 16 lEar, 18 rEar
    for ours, theirs in (
        ("neck", 0),
        ("nose", 1),
        ("l_shoulder", 3),
        ("r_shoulder", 9),
        ("l_ankle", 8),
        ("r_ankle", 14),
        ("l_eye", 15),
        ("r_eye", 17),
        ("l_ear", 16),
        ("r_ear", 18),
    ):
        assert np.allclose(joints[j[ours]], raw[theirs, :3], atol=1e-4), ours
    low = raw.copy()
    low[5, 3] = -1.0  # Panoptic marks an unseen joint with confidence -1
    joints, valid = sk.from_panoptic19(low)
    assert not valid[j["l_wrist"]] and np.isnan(joints[j["l_wrist"]]).all() and valid.sum() == 17
    joints, valid = sk.from_panoptic19(raw[:, :3])  # without confidences
    assert valid.all()
    with pytest.raises(ValueError):
        sk.from_panoptic19([1.0, 2.0, 3.0])  # the truncated body of tests/fixtures/bad
    with pytest.raises(ValueError):
        sk.from_panoptic19(np.zeros((18, 4)))


def test_from_mediapipe33_maps_landmarks_and_builds_the_neck():
    lm = np.stack([np.arange(33), 100 + np.arange(33), np.zeros(33)], axis=1).astype(float)
    joints, valid = sk.from_mediapipe33(lm)
    j = sk.JOINT_INDEX
    assert joints.shape == (18, 3) and valid.all()
    expected = {
        "nose": 0,
        "l_eye": 2,
        "r_eye": 5,
        "l_ear": 7,
        "r_ear": 8,
        "l_shoulder": 11,
        "r_shoulder": 12,
        "l_elbow": 13,
        "r_elbow": 14,
        "l_wrist": 15,
        "r_wrist": 16,
        "l_hip": 23,
        "r_hip": 24,
        "l_knee": 25,
        "r_knee": 26,
        "l_ankle": 27,
        "r_ankle": 28,
    }
    for name, mp in expected.items():
        assert joints[j[name], 0] == mp, name
    assert joints[j["neck"], 0] == pytest.approx(11.5)  # shoulder mid-point
    vis = np.ones(33)
    vis[12] = 0.1  # right shoulder unsure: it and the neck go missing
    joints, valid = sk.from_mediapipe33(lm[:, :2], vis)
    assert joints.shape == (18, 2)
    assert not valid[j["r_shoulder"]] and not valid[j["neck"]] and np.isnan(joints[j["neck"]]).all()
    assert valid.sum() == 16
    with pytest.raises(ValueError):
        sk.from_mediapipe33(np.zeros((32, 3)))
    with pytest.raises(ValueError):
        sk.from_mediapipe33(lm, np.ones(30))
