"""NovelViewSynthesizer: Stage I geometry feeding G1/G2, the 2D (lifted) path, loading and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.app.synthesizer import NovelViewSynthesizer
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.models.checkpoints import save_checkpoint
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.models.weights import export_weights

SIZE = (32, 32)


@pytest.fixture(scope="module")
def synth() -> NovelViewSynthesizer:
    torch.manual_seed(0)
    return NovelViewSynthesizer(
        G1(G1Config(*SIZE, base_channels=4, z_dim=8)), G2(G2Config(*SIZE, base_channels=4)), device="cpu"
    )


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene.held_out(0, SIZE)


def test_yaw_zero_targets_the_input_pose(synth, scene):
    view = scene.input_view
    res = synth.synthesize(view.image, view.joints3d, yaw=0, camera=view.camera)
    np.testing.assert_array_equal(res.visible, view.visible)
    np.testing.assert_allclose(res.keypoints[res.visible], view.keypoints[view.visible], atol=1e-3)
    assert res.image.shape == (*SIZE, 3) and res.image.dtype == np.uint8
    # G2 starts as the identity on G1's output, so an untrained G2 returns G1's picture
    np.testing.assert_array_equal(res.refined, res.coarse)


def test_many_yaws_in_one_batch_match_single_calls(synth, scene):
    view = scene.input_view
    many = synth.synthesize_many(view.image, view.joints3d, [0, 90, 180], camera=view.camera)
    one = synth.synthesize(view.image, view.joints3d, yaw=90, camera=view.camera)
    assert [r.yaw for r in many] == [0.0, 90.0, 180.0]
    np.testing.assert_array_equal(many[1].keypoints, one.keypoints)
    np.testing.assert_allclose(many[1].image.astype(int), one.image.astype(int), atol=1)


def test_yaw_180_mirrors_the_shoulders(synth, scene):
    view = scene.input_view
    front = synth.synthesize(view.image, view.joints3d, yaw=0, camera=view.camera).keypoints
    back = synth.synthesize(view.image, view.joints3d, yaw=180, camera=view.camera).keypoints
    r, l = 2, 5  # r_shoulder, l_shoulder
    assert (front[r, 0] - front[l, 0]) * (back[r, 0] - back[l, 0]) < 0


def test_2d_keypoints_are_lifted_and_placed_on_the_person(synth, scene):
    view = scene.input_view
    res = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=0)
    ok = res.visible & view.visible
    assert ok.sum() >= 12
    err = np.linalg.norm(res.keypoints[ok] - view.keypoints[ok], axis=1)
    assert np.median(err) < 2.0  # pixels, at 32×32
    turned = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=90)
    assert not np.allclose(turned.keypoints[turned.visible & ok], res.keypoints[turned.visible & ok])


def test_bad_input(synth, scene):
    view = scene.input_view
    with pytest.raises(ValueError, match="camera"):
        synth.synthesize(view.image, view.joints3d, yaw=10)
    with pytest.raises(ValueError, match="expects 32×32"):
        synth.synthesize(np.zeros((64, 64, 3), np.uint8), view.joints3d, camera=view.camera)
    with pytest.raises(ValueError, match=r"\(18, 3\)"):
        synth.synthesize(view.image, np.zeros((17, 3)), camera=view.camera)
    with pytest.raises(ValueError):
        synth.synthesize(view.image, np.full((18, 3), np.nan), camera=view.camera)
    with pytest.raises(ValueError, match="lifter"):
        NovelViewSynthesizer(synth.g1, lifter="magic")


def test_loads_from_an_exported_checkpoint(tmp_path, synth, scene):
    state = {
        "stage": 3,
        "step": 1,
        "config": {},
        "history": [],
        "model_configs": {"g1": vars(synth.g1.config).copy(), "g2": vars(synth.g2.config).copy()},
        "models": {"g1": synth.g1.state_dict(), "g2": synth.g2.state_dict()},
    }
    ckpt = save_checkpoint(state, tmp_path / "run")
    slim = export_weights(ckpt, tmp_path / "demo.pt")
    loaded = NovelViewSynthesizer.from_checkpoint(slim, device="cpu")
    view = scene.input_view
    a = synth.synthesize(view.image, view.joints3d, yaw=45, camera=view.camera)
    b = loaded.synthesize(view.image, view.joints3d, yaw=45, camera=view.camera)
    np.testing.assert_array_equal(a.image, b.image)


def test_a_warping_g1_gets_the_proxy_flow_from_3d_and_from_2d_keypoints(scene):
    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g1 = G1(G1Config(h, w, base_channels=4, warp="skip"))
    g2 = G2(G2Config(h, w, base_channels=4, mask_difference=True))
    synth = NovelViewSynthesizer(g1, g2, device="cpu")
    view = scene.input_view
    assert synth.warps
    flow, vis = synth.proxy_flow(view.joints3d, [view.joints3d], view.camera)
    assert flow.abs().max() < 0.5 and vis.sum() > 0  # yaw 0: the identity
    res3d = synth.synthesize_many(view.image, view.joints3d, [0.0, 90.0], camera=view.camera)
    res2d = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=30.0)
    for r in [*res3d, res2d]:
        assert r.image.shape == (h, w, 3) and r.image.dtype == np.uint8
    with pytest.raises(ValueError, match="warp"):
        synth.generate(view.image, [view.keypoints], [view.visible])
