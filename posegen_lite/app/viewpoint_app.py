"""The viewpoint app: the viewpoint widget as a web page without code cells, for a lecture-hall demo.

    posegen app                      # serves it on http://localhost:8866 (Voilà) and opens a browser
    posegen app --people 6 --port 8900 --no-browser

``posegen app`` runs Voilà (which turns a notebook into a web app: it executes the notebook and shows only its
outputs) on ``viewpoint_app.ipynb``, shipped next to this module. That notebook holds one call, ``show_app()``;
everything else is here, where tests reach it. Settings travel from the command line to the notebook's kernel
in environment variables (``AppConfig.to_env`` / ``AppConfig.from_env``), the one channel Voilà passes on.

People: held-out synthetic people (never seen in training, with their true renders as ground truth) and, when
MediaPipe is installed (``posegen-lite[photo]``), photos uploaded in the page: MediaPipe finds the pose, the
photo is cropped square around it and scaled to the model's size, and the 2D keypoints are lifted to 3D.
"""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegen_lite.app.widgets import ViewpointPerson, ViewpointWidget, held_out_people
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

APP_NOTEBOOK = Path(__file__).with_name("viewpoint_app.ipynb")
# The front-end extensions the app needs: widgets (and Voilà's own manager for them), plotly, code colours.
# Voilà loads every JupyterLab extension in the environment by default; some (e.g. ipylab and jupytext, which
# otter-grader brings) fail to load in Voilà's page with "The getter for the shared module is not a function".
VOILA_EXTENSIONS = (
    "@voila-dashboards/widgets-manager8",
    "@voila-dashboards/widgets-manager7",
    "@jupyter-widgets/jupyterlab-manager",
    "jupyterlab-plotly",
    "jupyterlab_pygments",
)
JUPYTER_DIR = Path(__file__).with_name("jupyter")  # holds voila/templates/posegen; goes on JUPYTER_PATH
ENV_PREFIX = "POSEGEN_APP_"


@dataclass(frozen=True)
class AppConfig:
    """What ``posegen app`` serves.

    Attributes:
        weights: checkpoint, run dir or exported weights (``None``: the demo weights shipped in the package).
        people: held-out synthetic people in the selector.
        precompute: compute each chosen person's turntable in the background (instant scrubbing).
        photos: offer a photo upload when MediaPipe is installed.
    """

    weights: str | None = None
    people: int = 4
    precompute: bool = True
    photos: bool = True

    def __post_init__(self) -> None:
        if self.people < 1:
            raise ValueError(f"the app needs at least one person, got {self.people}")

    def to_env(self) -> dict[str, str]:
        """The settings as ``POSEGEN_APP_*`` environment variables (for the kernel Voilà starts)."""
        env = {f"{ENV_PREFIX}PEOPLE": str(self.people), f"{ENV_PREFIX}PRECOMPUTE": str(int(self.precompute)),
               f"{ENV_PREFIX}PHOTOS": str(int(self.photos))}  # fmt: skip
        if self.weights:
            env[f"{ENV_PREFIX}WEIGHTS"] = str(Path(self.weights).resolve())
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppConfig:
        env = os.environ if environ is None else environ

        def flag(name: str, default: bool) -> bool:
            value = env.get(f"{ENV_PREFIX}{name}")
            return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")

        return cls(weights=env.get(f"{ENV_PREFIX}WEIGHTS") or None, people=int(env.get(f"{ENV_PREFIX}PEOPLE", 4)),
                   precompute=flag("PRECOMPUTE", True), photos=flag("PHOTOS", True))  # fmt: skip


def photos_available() -> bool:
    """Whether photo upload can work here: MediaPipe (the ``photo`` extra) is installed."""
    return importlib.util.find_spec("mediapipe") is not None


def photo_person(
    photo: np.ndarray, size: tuple[int, int], name: str = "photo", estimator=None, margin: float = 0.15
) -> ViewpointPerson:
    """A ``ViewpointPerson`` from a photo ``(H, W, 3)`` uint8: the pose from ``estimator`` (MediaPipe by
    default), the photo cropped square around the visible joints (``margin`` × the person's extent added on
    each side, padded grey past the border) and scaled to ``size`` (the model's square (H, W)); its 2D keypoints
    moved along. Raises ``NoPersonFoundError`` (a ``ValueError``) when no person is found."""
    from posegen_lite.data.real.panoptic import crop_square, person_crop_box
    from posegen_lite.geometry.photo import estimate_pose
    from posegen_lite.images import ensure_rgb

    h, w = size
    if h != w:
        raise ValueError(f"photo people need a square model size, got {h}×{w}")
    rgb = ensure_rgb(photo, convert=True)
    pose = estimate_pose(rgb, estimator)
    x0, y0, side = person_crop_box(pose.keypoints, pose.visible, margin)
    image = crop_square(rgb, x0, y0, side, h, fill=(200, 200, 200))
    scale = h / side  # pixel centres at integers: x' = (x - x0 + 0.5) * scale - 0.5
    keypoints = (pose.keypoints - np.array([x0, y0], np.float32) + 0.5) * scale - 0.5
    keypoints[~pose.visible] = np.nan
    return ViewpointPerson(name, image, None, None, keypoints=keypoints.astype(np.float32), visible=pose.visible)


def decode_upload(data: bytes) -> np.ndarray:
    """An uploaded image file's bytes → ``(H, W, 3)`` uint8 RGB; a clear ``ValueError`` if it is no image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError("the uploaded file is not an image PIL can read (PNG, JPEG, …)") from err


class ViewpointApp:
    """The page: a title, the viewpoint widget and (if MediaPipe is there) a photo upload with its messages."""

    def __init__(self, config: AppConfig | None = None, synthesizer: NovelViewSynthesizer | None = None,
                 estimator=None) -> None:  # fmt: skip
        import ipywidgets as w

        self.config = config or AppConfig()
        if synthesizer is None:
            from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS

            synthesizer = NovelViewSynthesizer.from_checkpoint(self.config.weights or DEMO_WEIGHTS)
        self.synth = synthesizer
        size = (synthesizer.height, synthesizer.width)
        self.widget = ViewpointWidget(synthesizer, held_out_people(self.config.people, size),
                                      precompute=self.config.precompute)  # fmt: skip
        self._estimator = estimator
        self.message = w.HTML()
        self.message.add_class("posegen-message")
        title = w.HTML(
            "<h2>posegen_lite: one image, a new viewpoint</h2><p>Pick a person and turn the <b>yaw</b> slider "
            "(arrow keys work too): Stage I turns the 3D pose, G1 paints the person in it, G2 refines, and the "
            "renderer shows the truth. Held-out people: the model never saw them.</p>"
        )
        rows = [title, self.widget.view]
        self.upload = None
        if self.config.photos and photos_available() and size[0] == size[1]:
            self.upload = w.FileUpload(accept="image/*", multiple=False, description="your photo")
            self.upload.add_class("posegen-upload")
            self.upload.observe(self._on_upload, names="value")
            rows.append(w.HBox([self.upload, self.message]))
        elif self.config.photos:
            self.message.value = ("Photo upload needs MediaPipe: <code>pip install 'posegen-lite[photo]'</code> "
                                  "(see docs/datasets.md).")  # fmt: skip
            rows.append(self.message)
        self.view = w.VBox(rows)
        self.view.add_class("posegen-app")

    def add_photo(self, data: bytes, name: str) -> int:
        """Add an uploaded photo (file bytes) as a person and show it; returns its index in the selector."""
        person = photo_person(decode_upload(data), (self.synth.height, self.synth.width), name=name,
                              estimator=self._estimator)  # fmt: skip
        return self.widget.add_person(person)

    def _on_upload(self, change) -> None:
        for item in change["new"]:  # ipywidgets 8: a tuple of {"name", "content" (memoryview), ...}
            name = item.get("name", "photo")
            try:
                self.add_photo(bytes(item["content"]), name)
            except ValueError as err:  # no image, no person found: say so in the page
                self.message.value = f"<span style='color:#b00'>{name}: {err}</span>"
            else:
                self.message.value = f"{name}: pose found, lifted to 3D — turn it with the slider"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.view._repr_mimebundle_(include=include, exclude=exclude)


def show_app(environ: Mapping[str, str] | None = None) -> ViewpointApp:
    """What the app notebook calls: an app configured from the ``POSEGEN_APP_*`` environment."""
    import torch

    from posegen_lite.allocator import keep_freed_memory
    from posegen_lite.app.notebook import cpu_threads

    # one torch thread per view: the sliders' view and the background turntable each get a core
    threads = cpu_threads(True, torch.device("cpu"))
    if threads is not None and torch.get_num_threads() > threads:
        torch.set_num_threads(threads)
    keep_freed_memory()  # this kernel serves views: reused memory makes each one faster (allocator.py)
    return ViewpointApp(AppConfig.from_env(environ))


def voila_command(notebook: Path, port: int, token: str | None, open_browser: bool, ip: str = "127.0.0.1"
                  ) -> list[str]:  # fmt: skip
    """The Voilà command line ``posegen app`` runs, with the ``posegen`` template (``VOILA_TEMPLATES``): Voilà's
    "lab" template less its links to a CDN, which a lecture hall without internet cannot reach."""
    import sys

    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={ip}",
           "--VoilaConfiguration.show_tracebacks=True", "--theme=light", "--template=posegen",
           f"--VoilaConfiguration.extension_allowlist={list(VOILA_EXTENSIONS)!r}"]  # fmt: skip
    if token:
        cmd.append(f"--token={token}")
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def app_main(config: AppConfig, port: int = 8866, token: str | None = None, open_browser: bool = True,
             ip: str = "127.0.0.1") -> int:  # fmt: skip
    """Serve the app until Ctrl-C (or SIGTERM, passed on to Voilà); returns Voilà's exit code."""
    import signal
    import subprocess

    if importlib.util.find_spec("voila") is None:
        raise ValueError("posegen app needs Voilà: pip install 'posegen-lite[browser]'")
    if config.weights and not Path(config.weights).exists():
        raise FileNotFoundError(f"weights not found: {config.weights}")
    paths = [str(JUPYTER_DIR), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    env = {**os.environ, **config.to_env(), "JUPYTER_PATH": os.pathsep.join(paths)}
    print(f"posegen app: http://{ip}:{port}/" + (f"?token={token}" if token else ""), flush=True)
    proc = subprocess.Popen(voila_command(APP_NOTEBOOK, port, token, open_browser, ip), env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Voilà got the Ctrl-C too and shuts down its kernels
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.kill()


__all__ = ["APP_NOTEBOOK", "AppConfig", "ViewpointApp", "app_main", "decode_upload", "photo_person",
           "photos_available", "show_app", "voila_command"]  # fmt: skip
