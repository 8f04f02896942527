"""posegen demo --crowd: the group grid PNG, the group turntable GIF and the summary."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from posegen_lite.app.crowd_demo import person_map_rgb, run_crowd_demo
from posegen_lite.cli import build_parser
from posegen_lite.models.checkpoints import save_checkpoint
from posegen_lite.models.g1 import G1, G1Config


def test_crowd_demo_writes_grid_gif_and_summary(tmp_path):
    torch.manual_seed(0)
    g1 = G1(G1Config(32, 32, base_channels=4, z_dim=8))
    state = {"stage": 2, "step": 1, "config": {}, "history": [], "model_configs": {"g1": vars(g1.config).copy()},
             "models": {"g1": g1.state_dict()}}  # fmt: skip
    weights = save_checkpoint(state, tmp_path / "run")
    out = run_crowd_demo(tmp_path / "demo", weights=weights, scenes=1, size=(48, 64), step=120, yaws=(0, 180))
    assert Image.open(out / "crowd_views.png").size[0] > 200
    gif = Image.open(out / "crowd_turntable.gif")
    assert gif.n_frames == 3 and gif.size == (3 * 64 + 6, 48)
    summary = json.loads((out / "crowd_summary.json").read_text())
    views = summary["scores"][0]["views"]
    assert len(views) == len(summary["yaws"]) and all(0.0 <= v["l1_in_body_mean"] <= 1.0 for v in views)
    args = build_parser().parse_args(["demo", "--crowd", "--scenes", "3"])
    assert args.crowd and args.scenes == 3


def test_person_map_colours():
    pic = person_map_rgb(np.array([[-1, 0], [1, 1]]))
    assert (pic[0, 0] == 255).all() and not np.array_equal(pic[0, 1], pic[1, 0])
    np.testing.assert_array_equal(pic[1, 0], pic[1, 1])
