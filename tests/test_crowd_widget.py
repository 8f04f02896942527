"""CrowdViewpointWidget driven headlessly: sliders and selectors in, PNG panels out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.app.crowd_widget import CROWD_PANELS, CrowdViewpointWidget, viewpoint_widget
from posegen_lite.app.widgets import ViewpointWidget, held_out_people
from posegen_lite.data.synthetic.crowds import CrowdConfig, CrowdScene
from posegen_lite.data.synthetic.pairs import SyntheticConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.pipelines.crowd import CrowdSynthesizer
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

pytest.importorskip("ipywidgets")

SIZE = (32, 32)


@pytest.fixture(scope="module")
def crowd() -> CrowdSynthesizer:
    torch.manual_seed(0)
    return CrowdSynthesizer(NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, z_dim=8)), device="cpu"))


@pytest.fixture(scope="module")
def scenes():
    config = CrowdConfig(size=(48, 64), people_range=(2, 3), people=SyntheticConfig(test_people=4))
    return [CrowdScene.sample(config, "test", i) for i in range(2)]


def test_yaw_slider_turns_the_group(crowd, scenes):
    app = CrowdViewpointWidget(crowd, scenes, zoom=1)
    before = {name: app.displayed(name) for name in CROWD_PANELS}
    app.yaw.value = 90
    after = {name: app.displayed(name) for name in CROWD_PANELS}
    np.testing.assert_array_equal(after["input"], before["input"])
    for name in ("target poses", "synthesized", "ground truth"):
        assert not np.array_equal(after[name], before[name]), name
    s = scenes[0]
    expected = crowd.synthesize(s.input_view.image, s.joints, s.input_view.camera, yaw=90)
    np.testing.assert_array_equal(after["synthesized"], expected.image)
    np.testing.assert_array_equal(after["ground truth"], s.render(90).image)
    app.yaw.value = 0  # cached: no new synthesis
    n = app.updates
    app.yaw.value = 90
    assert app.updates == n


def test_pivot_and_scene_selectors(crowd, scenes):
    app = CrowdViewpointWidget(crowd, scenes, yaw=60, zoom=1)
    app.pivot.value = 1
    s = scenes[0]
    pivot = s.joints[1][[8, 11]].mean(axis=0)
    expected = crowd.synthesize(s.input_view.image, s.joints, s.input_view.camera, yaw=60, pivot=pivot)
    np.testing.assert_array_equal(app.displayed("synthesized"), expected.image)
    assert "about person 1" in app.status.value and "ground truth only" in app.status.value
    app.scene.value = 1
    assert app.pivot.value == -1 and len(app.pivot.options) == len(scenes[1].people) + 1
    np.testing.assert_array_equal(app.displayed("input"), scenes[1].input_view.image)


def test_the_factory_accepts_scenes_or_people(crowd, scenes):
    assert isinstance(viewpoint_widget(crowd.synth, scenes, zoom=1), CrowdViewpointWidget)
    assert isinstance(viewpoint_widget(crowd.synth, held_out_people(1, SIZE), zoom=1), ViewpointWidget)
    with pytest.raises(ValueError, match="at least one scene"):
        CrowdViewpointWidget(crowd, [])
