"""The main job writes a grid PNG, a turntable GIF and a summary, from given weights or a short training."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from posegen_lite.app.demo import run_demo
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.models.checkpoints import save_checkpoint
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config


def _tiny_weights(tmp_path):
    torch.manual_seed(0)
    g1, g2 = G1(G1Config(32, 32, base_channels=4, z_dim=8)), G2(G2Config(32, 32, base_channels=4))
    state = {
        "stage": 3,
        "step": 1,
        "config": {},
        "history": [],
        "model_configs": {"g1": vars(g1.config).copy(), "g2": vars(g2.config).copy()},
        "models": {"g1": g1.state_dict(), "g2": g2.state_dict()},
    }
    return save_checkpoint(state, tmp_path / "run")


def test_demo_writes_grid_gif_and_summary(tmp_path):
    out = run_demo(tmp_path / "demo", weights=_tiny_weights(tmp_path), people=1)
    grid = Image.open(out / "novel_views.png")
    assert grid.size[0] > 300 and grid.size[1] > 150
    gif = Image.open(out / "turntable.gif")
    assert gif.n_frames == 36
    summary = json.loads((out / "summary.json").read_text())
    assert summary["people"] == 1 and len(summary["scores"]) == 1
    assert 0.0 <= summary["scores"][0]["l1_in_body_g1"] <= 1.0


def test_demo_without_weights_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="--train-minutes"):
        run_demo(tmp_path / "demo", weights=tmp_path / "missing.pt")


def test_scene_yaw_turns_the_body_not_the_person():
    scene = Scene.held_out(1, (32, 32))
    front, back = scene.render_many([0.0, 180.0])
    assert front.image.shape == (32, 32, 3)
    r, l = 2, 5  # shoulders swap image sides when the body turns around
    assert (front.keypoints[r, 0] - front.keypoints[l, 0]) * (back.keypoints[r, 0] - back.keypoints[l, 0]) < 0
    assert Scene.held_out(1, (32, 32)).input_view.image.tobytes() == front.image.tobytes()
    with pytest.raises(ValueError):
        Scene.held_out(-1)


def test_the_grid_s_texture_row_is_what_the_synthesizer_shows():
    """The "+ texture" row paints the unseen side as ``synthesize`` does: the synthesizer's completion network and
    its share of the texture (the outline left hard: the grid does not antialias it)."""
    import numpy as np

    from posegen_lite.app.demo import _blended
    from posegen_lite.geometry.warp import source_maps
    from posegen_lite.models.texture_completion import TextureCompletionConfig, TextureCompletionNet
    from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

    torch.manual_seed(0)
    net = TextureCompletionNet(TextureCompletionConfig(width=4, levels=1)).eval()
    torch.nn.init.normal_(net.head.weight, std=0.5)  # a correction far from 0
    g1 = G1(G1Config(64, 32, base_channels=4, warp="paste"))
    synth = NovelViewSynthesizer(g1, None, device="cpu", soft_outline=False, completion=net)
    scene, yaws = Scene.held_out(1, (64, 32)), [45.0, 180.0]
    truth, src = scene.render_many(yaws), scene.input_view
    warp = source_maps(src.joints3d, src.camera, [t.joints3d for t in truth], [t.camera for t in truth])
    coarse, _, _, _ = synth.generate(src.image, [t.keypoints for t in truth], [t.visible for t in truth], warp)
    grid = _blended(synth, coarse, src, truth, warp).astype(int)
    shown = np.stack([r.image for r in synth.synthesize_many(src.image, src.joints3d, yaws, camera=src.camera)])
    assert np.abs(grid - shown).max() <= 1  # the same pixels up to a rounding
    assert (grid != coarse).any()
