"""The learned 2D → 3D lifter: normalization, a tiny training run, and the shipped weights."""

from pathlib import Path

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic.lifting import synthetic_lifting_data
from posegen_lite.geometry.lifter import (
    DEFAULT_WEIGHTS,
    LifterConfig,
    MLPLifter,
    lift_pose_mlp,
    load_lifter,
    normalize_2d,
    save_lifter,
)
from posegen_lite.training.lifter import LifterTrainConfig, mean_joint_error, train_lifter


def test_normalization_is_invariant_to_image_translation_and_scale():
    rng = np.random.default_rng(0)
    kp = rng.uniform(10, 100, (3, 18, 2))
    vis = np.ones((3, 18), bool)
    vis[1, 4] = False
    a = normalize_2d(kp, vis)
    b = normalize_2d(kp * 2.5 + 40.0, vis)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a.shape == (3, 54) and a[1, 4 * 3 + 2] == 0 and (a[1, 4 * 3 : 4 * 3 + 2] == 0).all()
    kp[2, 7] = np.nan  # a NaN joint counts as hidden, never as a number
    assert np.isfinite(normalize_2d(kp, np.ones((3, 18), bool))).all()
    with pytest.raises(ValueError, match="at least 2 visible"):
        normalize_2d(kp[:1], np.eye(18, dtype=bool)[:1])


def test_targets_are_hip_centred_y_up_and_turned_to_the_camera():
    kp, vis, target = synthetic_lifting_data(5, 3, views=2)
    assert kp.shape[1:] == (18, 2) and target.shape == (len(kp), 18, 3)
    hips = target[:, [8, 11]].mean(axis=1)
    np.testing.assert_allclose(hips, 0.0, atol=1e-5)
    assert (target[:, 0, 1] > target[:, 10, 1]).all()  # nose above the right ankle: y up
    # Camera at azimuth 0 sees the front: the person's right (joint 2) is on the image's left.
    assert ((kp[:, 2, 0] < kp[:, 5, 0]) == (target[:, 2, 0] < target[:, 5, 0])).all()


@pytest.mark.slow
def test_tiny_training_beats_the_mean_pose_and_roundtrips(tmp_path):
    cfg = LifterTrainConfig(poses=300, views=2, steps=500, batch_size=64, seed=1, heldout_poses=200)
    model, stats = train_lifter(cfg, LifterConfig(hidden=64, blocks=1), out=tmp_path / "l.pt")
    _, _, held = synthetic_lifting_data(200, 1000, views=1)
    mean_pose = mean_joint_error(np.broadcast_to(held.mean(axis=0), held.shape), held)
    assert stats["heldout_mpjpe_m"] < 0.8 * mean_pose
    again = load_lifter(tmp_path / "l.pt")
    x = torch.randn(4, 54)
    torch.testing.assert_close(again(x), model(x))


def test_lift_pose_marks_missing_input_joints_nan(tmp_path):
    model = MLPLifter(LifterConfig(hidden=32, blocks=1)).eval()
    kp, vis, _ = synthetic_lifting_data(1, 5, views=1)
    vis = vis[0].copy()
    vis[[9, 10]] = False
    out = lift_pose_mlp(kp[0], vis, model)
    assert out.shape == (18, 3) and np.isnan(out[[9, 10]]).all() and np.isfinite(out[vis]).all()
    with pytest.raises(FileNotFoundError, match="train-lifter"):
        load_lifter(tmp_path / "nothing.pt")
    assert save_lifter(model, tmp_path / "m.pt").stat().st_size < 2_000_000


def test_shipped_weights_are_small_and_lift_held_out_poses():
    assert Path(DEFAULT_WEIGHTS).stat().st_size < 2_000_000
    model = load_lifter()
    kp, vis, target = synthetic_lifting_data(100, 4242, views=1)
    pred = np.stack([lift_pose_mlp(k, v, model) for k, v in zip(kp, vis, strict=True)])
    assert mean_joint_error(pred, target) < 0.1  # 10 cm; the report gives the measured value


def test_a_file_that_is_not_lifter_weights_is_a_clear_error(tmp_path):
    bad = tmp_path / "lifter.pt"
    bad.write_text("not weights")
    with pytest.raises(ValueError, match="not a lifter weights file"):
        load_lifter(bad)
