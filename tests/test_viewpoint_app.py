"""The viewpoint app behind ``posegen app``, without a browser: its settings, a photo person, the page's widgets,
the Voilà command line and the CLI's errors (tests/browser/ drives the real page)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from posegen_lite.app.synthesizer import NovelViewSynthesizer
from posegen_lite.app.viewpoint_app import (
    APP_NOTEBOOK,
    AppConfig,
    ViewpointApp,
    decode_upload,
    photo_person,
    voila_command,
)
from posegen_lite.cli import build_parser, main
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.photo import PhotoPose
from posegen_lite.models.g1 import G1, G1Config

pytest.importorskip("ipywidgets")
SIZE = (32, 32)


@pytest.fixture(scope="module")
def synth() -> NovelViewSynthesizer:
    torch.manual_seed(0)
    return NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, z_dim=8)), None, device="cpu")


class FakeEstimator:
    """Stands in for MediaPipe: returns the true keypoints of a rendered person."""

    def __init__(self, view) -> None:
        self.view = view

    def estimate(self, image: np.ndarray) -> PhotoPose:
        assert image.shape == self.view.image.shape
        return PhotoPose(self.view.joints3d, self.view.keypoints, self.view.visible)


def test_config_travels_through_the_environment():
    config = AppConfig(weights=None, people=3, precompute=False, photos=False)
    env = config.to_env()
    assert env == {"POSEGEN_APP_PEOPLE": "3", "POSEGEN_APP_PRECOMPUTE": "0", "POSEGEN_APP_PHOTOS": "0"}
    assert AppConfig.from_env(env) == config
    assert AppConfig.from_env({}) == AppConfig()
    with pytest.raises(ValueError, match="at least one person"):
        AppConfig(people=0)


def test_photo_person_crops_around_the_pose_and_moves_the_keypoints(synth):
    view = Scene.held_out(1, (96, 128)).input_view  # a wide "photo"
    person = photo_person(view.image, SIZE, name="me", estimator=FakeEstimator(view))
    assert person.image.shape == (*SIZE, 3) and person.camera is None and person.joints3d is None
    vis = person.visible
    np.testing.assert_array_equal(vis, view.visible)
    kp = person.keypoints[vis]
    assert (kp >= -0.5).all() and (kp < SIZE[0] - 0.5).all()  # the crop holds every visible joint
    # the keypoints keep their layout: the distances between joints scale by one factor
    d_photo = np.linalg.norm(view.keypoints[vis][:, None] - view.keypoints[vis][None], axis=-1)
    d_crop = np.linalg.norm(kp[:, None] - kp[None], axis=-1)
    ratio = d_crop[d_photo > 5] / d_photo[d_photo > 5]
    np.testing.assert_allclose(ratio, ratio.mean(), rtol=1e-4)
    # the widget takes the photo person: 2D keypoints, lifted to 3D by the synthesizer
    from posegen_lite.app.widgets import ViewpointWidget, held_out_people

    widget = ViewpointWidget(synth, held_out_people(1, SIZE), precompute=False)
    index = widget.add_person(person)
    assert index == 1 and widget.person.value == 1 and widget.person.options[1] == ("me", 1)
    np.testing.assert_array_equal(widget.displayed("input"), person.image)
    before = widget.displayed("target pose")
    widget.yaw.value = 90
    assert not np.array_equal(widget.displayed("target pose"), before)
    assert "ground truth" in widget.current_images()  # a placeholder: a photo has no truth


def test_photo_person_needs_a_square_model():
    view = Scene.held_out(0, (64, 64)).input_view
    with pytest.raises(ValueError, match="square"):
        photo_person(view.image, (64, 32), estimator=FakeEstimator(view))


def test_decode_upload():
    buf = io.BytesIO()
    Image.fromarray(np.full((5, 4, 4), 200, np.uint8), "RGBA").save(buf, format="PNG")
    assert decode_upload(buf.getvalue()).shape == (5, 4, 3)
    with pytest.raises(ValueError, match="not an image"):
        decode_upload(b"definitely not a picture")


def test_app_page_holds_the_widget(synth):
    app = ViewpointApp(AppConfig(people=2, precompute=False, photos=False), synthesizer=synth)
    assert len(app.widget.people) == 2 and app.upload is None
    bundle = app._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.view.model_id
    assert "posegen-app" in app.view._dom_classes


def test_app_rejects_a_bad_upload_in_the_page(synth):
    app = ViewpointApp(AppConfig(people=1, precompute=False, photos=False), synthesizer=synth)
    app._on_upload({"new": ({"name": "notes.txt", "content": memoryview(b"hello")},)})
    assert "notes.txt" in app.message.value and "not an image" in app.message.value
    assert len(app.widget.people) == 1


def test_voila_command_and_packaged_notebook():
    assert APP_NOTEBOOK.is_file() and "show_app()" in APP_NOTEBOOK.read_text()
    cmd = voila_command(APP_NOTEBOOK, 8870, "tok", open_browser=False)
    assert "--port=8870" in cmd and "--token=tok" in cmd and "--no-browser" in cmd
    assert "--template=posegen" in cmd and "--Voila.ip=127.0.0.1" in cmd
    assert not any(a.startswith("--token") for a in voila_command(APP_NOTEBOOK, 1, None, open_browser=True))


def test_cli_app_parses_and_reports_missing_weights(capsys):
    args = build_parser().parse_args(["app", "--port", "9000", "--no-browser", "--people", "2"])
    assert (args.port, args.no_browser, args.people, args.no_precompute) == (9000, True, 2, False)
    assert main(["app", "--weights", "/nonexistent/weights.pt", "--no-browser"]) == 2
    assert "weights not found" in capsys.readouterr().err
