"""3D pose from a photo (MediaPipe, optional extra) on scikit-image's astronaut photo."""

import sys
from pathlib import Path

import numpy as np
import pytest

from posegen_lite.data.real.pg2 import scale_keypoints
from posegen_lite.data.real.pg2_format import read_pg2_annotations
from posegen_lite.geometry.photo import MediaPipeEstimator, NoPersonFoundError, PhotoPose, estimate_pose
from posegen_lite.geometry.skeleton import JOINT_INDEX

FIX = Path(__file__).parent / "fixtures"
ASTRONAUT_ROW = "fashionWOMENJackets_Coatsid0000001201_1front.jpg"  # astronaut() resized 512 → 256, hand-annotated


def test_missing_mediapipe_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'posegen-lite\[photo\]'"):
        MediaPipeEstimator()


def test_estimate_pose_uses_any_estimator_with_the_protocol():
    pose = PhotoPose(np.zeros((18, 3), np.float32), np.zeros((18, 2), np.float32), np.ones(18, bool))

    class Fixed:
        def estimate(self, image):
            return pose

    assert estimate_pose(np.zeros((8, 8, 3), np.uint8), Fixed()) is pose


@pytest.fixture(scope="module")
def estimator():
    pytest.importorskip("mediapipe")
    with MediaPipeEstimator() as est:
        yield est


@pytest.fixture(scope="module")
def astronaut_pose(estimator):
    skdata = pytest.importorskip("skimage.data")
    image = skdata.astronaut()
    assert image.shape == (512, 512, 3)
    return estimator.estimate(image)


def test_astronaut_face_and_shoulders_match_the_hand_annotation(astronaut_pose):
    pose = astronaut_pose
    ann = read_pg2_annotations(FIX / "pg2" / "fasion-annotation-test.csv")[ASTRONAUT_ROW]
    # The annotation was made on astronaut() resized to 256×256: compare in that frame.
    found = scale_keypoints(pose.keypoints, (512, 512), (256, 256))
    for names, tolerance_px in ((("nose", "l_eye", "r_eye"), 8.0), (("r_shoulder", "l_shoulder"), 16.0)):
        for name in names:
            j = JOINT_INDEX[name]
            assert pose.visible[j], name
            # Shoulders get a wider tolerance: the hand annotation sits on the bulky suit's outer contour,
            # MediaPipe on the joint; both are ~5% of the image apart at most.
            assert np.linalg.norm(found[j] - ann.keypoints[j]) < tolerance_px, name
    # Missing joints are NaN, never a number (the astronaut's legs are out of the frame).
    assert np.isnan(pose.keypoints[~pose.visible]).all() and np.isnan(pose.joints3d[~pose.visible]).all()
    assert not pose.visible[JOINT_INDEX["r_ankle"]]


def test_astronaut_3d_is_metres_y_up_and_facing_the_camera(astronaut_pose):
    j = astronaut_pose.joints3d
    r_sho, l_sho, nose = j[JOINT_INDEX["r_shoulder"]], j[JOINT_INDEX["l_shoulder"]], j[JOINT_INDEX["nose"]]
    assert 0.25 < np.linalg.norm(l_sho - r_sho) < 0.5
    assert nose[1] > r_sho[1] and nose[1] > l_sho[1]  # y up: the head is above the shoulders
    # Facing +z (towards the camera) with y up puts the person's right on −x, as the image shows it.
    assert r_sho[0] < l_sho[0]
    assert nose[2] > (r_sho[2] + l_sho[2]) / 2  # the nose is in front of the shoulders


def test_no_person_is_a_clear_error(estimator):
    with pytest.raises(NoPersonFoundError, match="no person found"):
        estimator.estimate(np.zeros((128, 96, 3), np.uint8))


def test_grayscale_photo_is_converted(estimator):
    skdata = pytest.importorskip("skimage.data")
    gray = skdata.astronaut().mean(axis=2).astype(np.uint8)
    pose = estimator.estimate(gray)
    assert pose.visible[JOINT_INDEX["nose"]]


def test_the_segmentation_covers_the_astronaut_and_not_the_flag(estimator, astronaut_pose):
    skdata = pytest.importorskip("skimage.data")
    mask = estimator.segment(skdata.astronaut())
    assert mask.shape == (512, 512) and mask.dtype == np.float32 and 0 <= mask.min() and mask.max() <= 1
    for joint in ("nose", "neck", "r_shoulder", "l_shoulder"):
        x, y = np.round(astronaut_pose.keypoints[JOINT_INDEX[joint]]).astype(int)
        assert mask[y, x] > 0.5, joint
    assert mask[:100, :60].max() < 0.5  # the flag in the top-left corner is background
    assert estimator.segment(np.zeros((128, 96, 3), np.uint8)) is None  # nobody: no segmentation
