"""The viewpoint app behind ``posegen app``, without a browser: its settings, a photo person, the page's widgets,
the Voilà command line and the CLI's errors (tests/browser/ drives the real page)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from posegen_lite.app import viewpoint_app as va
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
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

pytest.importorskip("ipywidgets")
SIZE = (32, 16)  # (H, W): the shipped weights' 2:1 aspect (128×64), smaller


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
    person = photo_person(view.image, synth, name="me", estimator=FakeEstimator(view))
    assert person.image.shape == (*SIZE, 3) and person.camera is None and person.joints3d is None
    vis = person.visible
    np.testing.assert_array_equal(vis, view.visible)
    kp = person.keypoints[vis]
    assert (kp >= -0.5).all() and (kp[:, 1] < SIZE[0] - 0.5).all() and (kp[:, 0] < SIZE[1] - 0.5).all()
    # the crop has the model's aspect, so the keypoints keep their layout: distances scale by one factor
    d_photo = np.linalg.norm(view.keypoints[vis][:, None] - view.keypoints[vis][None], axis=-1)
    d_crop = np.linalg.norm(kp[:, None] - kp[None], axis=-1)
    ratio = d_crop[d_photo > 5] / d_photo[d_photo > 5]
    np.testing.assert_allclose(ratio, ratio.mean(), rtol=0.02)
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


def test_photo_person_is_the_crop_synthesize_photo_makes(synth):
    """The app's photo person and ``synthesize_photo`` see the same crop: one photo path, whatever the size."""
    view = Scene.held_out(2, (96, 128)).input_view
    person = photo_person(view.image, synth, estimator=FakeEstimator(view))
    result = synth.synthesize_photo(view.image, estimator=FakeEstimator(view))
    np.testing.assert_array_equal(person.image, result.input_image)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def test_photo_upload_is_offered_for_the_shipped_weights_aspect(synth, monkeypatch):
    """The shipped weights make 128×64 views; the upload used to be offered for square models only."""
    monkeypatch.setattr(va, "photo_upload_problem", lambda: None, raising=False)  # MediaPipe as it should be
    app = ViewpointApp(AppConfig(people=1, precompute=False), synthesizer=synth)
    assert synth.height != synth.width and app.upload is not None
    view = Scene.held_out(1, (96, 128)).input_view
    app._estimator = FakeEstimator(view)
    app._on_upload({"new": ({"name": "me.png", "content": memoryview(_png(view.image))},)})
    assert "pose found" in app.message.value and len(app.widget.people) == 2
    assert app.widget.people[1].image.shape == (*SIZE, 3)


def test_no_upload_message_names_the_real_reason(synth, monkeypatch):
    import importlib.metadata
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mediapipe" else real_find_spec(name, *a)
    )
    app = ViewpointApp(AppConfig(people=1, precompute=False), synthesizer=synth)
    assert app.upload is None and "MediaPipe" in app.message.value and "pip install" in app.message.value
    # MediaPipe there, but a release that downloads its models at run time: say which version is the matter
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.10.99" if name == "mediapipe" else "1")
    app = ViewpointApp(AppConfig(people=1, precompute=False), synthesizer=synth)
    assert app.upload is None and "0.10.99" in app.message.value
    # photos switched off: no upload and no message about MediaPipe
    app = ViewpointApp(AppConfig(people=1, precompute=False, photos=False), synthesizer=synth)
    assert app.upload is None and "MediaPipe" not in app.message.value


def test_decode_upload():
    buf = io.BytesIO()
    Image.fromarray(np.full((5, 4, 4), 200, np.uint8), "RGBA").save(buf, format="PNG")
    assert decode_upload(buf.getvalue()).shape == (5, 4, 3)
    with pytest.raises(ValueError, match="not an image"):
        decode_upload(b"definitely not a picture")
    buf = io.BytesIO()
    levels = np.repeat(np.array([[1000], [30000], [60000]], np.uint16), 5, axis=1)
    Image.fromarray(levels).save(buf, format="PNG")  # a 16-bit grey PNG
    image = decode_upload(buf.getvalue())
    assert image.shape == (3, 5, 3) and image.dtype == np.uint8
    assert len(np.unique(image[:, 0, 0])) == 3  # the levels scaled to 8 bits, not clipped to white


def test_a_large_upload_is_downscaled_to_the_cap(monkeypatch):
    monkeypatch.setattr(va, "MAX_UPLOAD_PIXELS", 50)
    image = decode_upload(_png(np.zeros((20, 10, 3), np.uint8)))
    assert image.shape[0] * image.shape[1] <= 50 and image.shape[0] == 2 * image.shape[1]  # aspect kept


def test_app_page_holds_the_widget(synth):
    app = ViewpointApp(AppConfig(people=2, precompute=False, photos=False), synthesizer=synth)
    assert len(app.widget.people) == 2 and app.upload is None
    bundle = app._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.view.model_id
    assert "posegen-app" in app.view._dom_classes
    assert app.widget._worker is app.worker  # the kernel's one thread for torch (app/compute.py)


def test_the_app_loads_its_weights_in_its_compute_thread(monkeypatch):
    import threading

    from posegen_lite.pipelines import synthesizer as module

    where = []
    real = module.NovelViewSynthesizer.from_checkpoint

    def loading(*args, **kwargs):
        where.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(module.NovelViewSynthesizer, "from_checkpoint", loading)
    app = ViewpointApp(AppConfig(people=1, precompute=False, photos=False))
    assert where == [app.worker._thread]


def test_app_rejects_a_bad_upload_in_the_page(synth):
    app = ViewpointApp(AppConfig(people=1, precompute=False, photos=False), synthesizer=synth)
    app._on_upload({"new": ({"name": "notes.txt", "content": memoryview(b"hello")},)})
    assert "notes.txt" in app.message.value and "not an image" in app.message.value
    assert len(app.widget.people) == 1
    # the file name is the visitor's: shown as text, never as markup
    app._on_upload({"new": ({"name": "<img src=x onerror=alert(1)>", "content": memoryview(b"hello")},)})
    assert "<img" not in app.message.value and "&lt;img" in app.message.value


def test_app_turns_any_upload_failure_into_one_line(synth, caplog):
    class BrokenEstimator:
        def estimate(self, image):
            raise RuntimeError("graph failed in /secret/server/path.py")

    app = ViewpointApp(
        AppConfig(people=1, precompute=False, photos=False), synthesizer=synth, estimator=BrokenEstimator()
    )
    photo = Scene.held_out(0, (48, 64)).input_view.image
    app._on_upload({"new": ({"name": "me.png", "content": memoryview(_png(photo))},)})
    message = app.message.value
    assert "me.png" in message and "\n" not in message and "Traceback" not in message
    assert "/secret/server" not in message  # the server's details go to its terminal, not to every visitor
    assert any(r.exc_info and "/secret/server" in str(r.exc_info[1]) for r in caplog.records)  # the terminal's
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


def test_app_kernels_send_no_echo_of_the_sliders_values():
    import subprocess
    import sys

    from posegen_lite.app.viewpoint_app import AppConfig, app_environment

    env = app_environment(AppConfig(people=1, precompute=False, photos=False))
    # the variable ipywidgets itself reads: its kernels then skip the echo of every value the page sends
    code = "from ipywidgets.widgets import widget; print(widget.JUPYTER_WIDGETS_ECHO)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
