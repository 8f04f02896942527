"""Tests of the figures: the Stage I panels, the README figure file, and the 3D plotly skeleton."""

import numpy as np
import pytest

from posegen_lite.figures import poses
from posegen_lite.geometry.camera import framing_camera
from posegen_lite.geometry.posemaps import OPENPOSE_COLOURS
from posegen_lite.geometry.skeleton import reference_pose
from posegen_lite.images import load_image


def test_pose_maps_rgb_colours_each_joint():
    maps = -np.ones((18, 8, 8), np.float32)
    maps[3, 2, 2] = 1.0
    rgb = poses.pose_maps_rgb(maps)
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[2, 2]) == OPENPOSE_COLOURS[3] and rgb.sum() == sum(OPENPOSE_COLOURS[3])
    with pytest.raises(ValueError):
        poses.pose_maps_rgb(np.zeros((17, 8, 8)))


def test_stage1_panels_of_opposite_views_mirror_each_other():
    pose = reference_pose()
    cam = framing_camera(pose, 64, 128)
    front, back = poses.stage1_panels(pose, 0.0, cam), poses.stage1_panels(pose, 180.0, cam)
    assert front["skeleton"].shape == (128, 64, 3) and front["mask"].shape == (128, 64)
    assert front["pose_maps"].dtype == np.uint8 and front["visible"].all()
    a, b = front["mask"] > 0, back["mask"][:, ::-1] > 0
    assert (a & b).sum() / (a | b).sum() > 0.9  # the symmetric body turned round looks mirrored


def test_stage1_figure_layout():
    fig = poses.stage1_figure(reference_pose(), yaws=(0, 120), height=64, width=32)
    axes = fig.get_axes()
    assert len(axes) == 3 * 2
    assert [ax.get_title() for ax in axes[:2]] == ["yaw 0°", "yaw 120°"]
    assert axes[0].images[0].get_array().shape == (64, 32, 3)


def test_render_stage1_figure_writes_a_png(tmp_path):
    path = poses.render_stage1_figure(tmp_path / "sub" / "stage1.png", height=64, width=32, dpi=60)
    assert path.is_file()
    image = load_image(path)
    assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 10  # a real picture, not blank


def test_skeleton_3d_plotly():
    pose = reference_pose()
    fig = poses.skeleton_3d_plotly(pose, title="reference")
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 17 and len(fig.data) == 18
    assert fig.layout.scene.camera.up.y == 1
    pose[0] = np.nan  # without the nose its three limbs disappear
    assert len([t for t in poses.skeleton_3d_plotly(pose).data if t.mode == "lines"]) == 14
    with pytest.raises(ValueError):
        poses.skeleton_3d_plotly(np.full((18, 3), np.nan))
    with pytest.raises(ValueError):
        poses.skeleton_3d_plotly(np.zeros((18, 2)))


@pytest.mark.parametrize("height", [1.0, 1.8, 2.4])
def test_skeleton_3d_plotly_frames_the_whole_body(height):
    """Head and feet in view: equal ranges (a cube, equal scales) that hold every joint, camera far enough."""
    pose = reference_pose()
    pose = (pose - pose.mean(axis=0)) * height / np.ptp(pose[:, 1]) + np.array([0.3, 0.9, -0.2])
    scene = poses.skeleton_3d_plotly(pose).layout.scene
    assert scene.aspectmode == "cube"
    ranges = [scene.xaxis.range, scene.yaxis.range, scene.zaxis.range]
    lengths = [hi - lo for lo, hi in ranges]
    np.testing.assert_allclose(lengths, lengths[0])  # one metre is as long on every axis
    for axis, (lo, hi) in enumerate(ranges):
        assert lo < pose[:, axis].min() and pose[:, axis].max() < hi, "a joint falls outside the plotted box"
    assert lengths[0] <= np.ptp(pose, axis=0).max() + 0.2  # … and the body fills it (no tiny figure)
    eye = scene.camera.eye
    assert np.linalg.norm([eye.x, eye.y, eye.z]) >= poses.PLOTLY_MIN_EYE_DISTANCE
    assert eye.z > abs(eye.x) and eye.z > abs(eye.y)  # from the front of the body
    assert (scene.camera.center.x, scene.camera.center.y, scene.camera.center.z) == (0, 0, 0)


def test_skeleton_3d_ranges_are_equal_and_centred():
    pts = np.array([[0.0, 0.0, 0.0], [0.2, 1.7, 0.1]])
    ranges = poses.skeleton_3d_ranges(pts, margin=0.1)
    np.testing.assert_allclose(ranges[1], (-0.1, 1.8))
    np.testing.assert_allclose(ranges[0], (0.1 - 0.95, 0.1 + 0.95))
