"""The viewpoint app: the viewpoint widget as a web page without code cells, for a lecture-hall demo.

    posegen app                      # serves it on http://127.0.0.1:8866 (Voilà) and opens a browser
    posegen app --people 6 --port 8900 --no-browser

``posegen app`` runs Voilà (which turns a notebook into a web app: it executes the notebook and shows only its
outputs) on ``viewpoint_app.ipynb``, shipped next to this module. That notebook holds one call, ``show_app()``;
everything else is here, where tests reach it. Settings travel from the command line to the notebook's kernel
in environment variables (``AppConfig.to_env`` / ``AppConfig.from_env``), the one channel Voilà passes on.

People: held-out synthetic people (never seen in training, with their true renders as ground truth) and, when
MediaPipe is installed (``posegen-lite[photo]``), photos uploaded in the page: cropped around the pose MediaPipe
finds, at the model's aspect, as ``synthesize_photo`` does. Serving a room: kernels idle for a while are ended, a
bound on visitors holds (``jupyter/config/voila.py``), an open address gets a token, tracebacks stay in the terminal.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegen_lite.app.compute import ComputeThread
from posegen_lite.app.people import ViewpointPerson, held_out_people
from posegen_lite.app.widgets import ViewpointWidget
from posegen_lite.images import PHOTO_MAX_PIXELS, ImageError, decode_photo
from posegen_lite.pipelines.photo import PhotoInput, prepare_everyone
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
VOILA_CONFIG_DIR = JUPYTER_DIR / "config"  # voila.py: the bound on visitors and the tab-close fix (Python objects)
ENV_PREFIX = "POSEGEN_APP_"
# One visitor's kernel holds about half a gigabyte (torch, the networks, its turntable cache): 8 fit in 8 GB.
DEFAULT_MAX_VISITORS = 8
# A kernel with no traffic (no slider moved, no view computed) for this long is ended, even with its tab open:
# in a lecture hall tabs stay open on closed laptops and would hold their seats for the whole session.
DEFAULT_IDLE_MINUTES = 10.0
APP_THREADS = 2  # torch threads of a kernel (show_app)
MAX_UPLOAD_PIXELS = PHOTO_MAX_PIXELS  # what an upload is downscaled to; a larger photo only adds decoding time


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


def photo_upload_problem() -> str | None:
    """Why a photo upload cannot work here, as one line of HTML for the page, or ``None`` when it can: it needs
    MediaPipe (the ``photo`` extra) at the one release that runs offline (``geometry/photo.py``)."""
    import importlib.metadata

    from posegen_lite.geometry.photo import MEDIAPIPE_VERSION

    hint = "<code>pip install 'posegen-lite[photo]'</code> (see docs/datasets.md)"
    if importlib.util.find_spec("mediapipe") is None:
        return f"Photo upload needs MediaPipe, which is not installed here: {hint}."
    try:
        version = importlib.metadata.version("mediapipe")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    if version != MEDIAPIPE_VERSION:
        return f"Photo upload needs MediaPipe {MEDIAPIPE_VERSION}, which runs offline; this is {version}: {hint}."
    return None


def photos_available() -> bool:
    """Whether photo upload can work here (``photo_upload_problem`` says why not)."""
    return photo_upload_problem() is None


def photo_person(
    photo: np.ndarray, synth: NovelViewSynthesizer, name: str = "photo", estimator=None
) -> ViewpointPerson:
    """A ``ViewpointPerson`` from a photo ``(H, W, 3)`` uint8, cropped as ``synth.synthesize_photo`` crops it
    (``prepare_photo``: the pose from ``estimator``, MediaPipe by default; a box of the model's aspect around it,
    scaled to the model's ``(H, W)``), its 2D keypoints moved along. Raises ``NoPersonFoundError`` (a
    ``ValueError``) when no person is found."""
    return _person(synth.prepare_photo(photo, estimator), name)


def photo_people_persons(
    photo: np.ndarray, synth: NovelViewSynthesizer, name: str = "photo", estimator=None
) -> list[ViewpointPerson]:
    """Every person found in a photo as a ``ViewpointPerson`` (``photo_person`` for each, one search for all),
    named ``name`` alone, ``name (1 of 3)``… for several, left to right as the search found them."""
    inputs = prepare_everyone(photo, synth.height, synth.width, estimator or synth.photo_estimator)
    n = len(inputs)
    return [_person(inp, name if n == 1 else f"{name} ({k + 1} of {n})") for k, inp in enumerate(inputs)]


def _person(inp: PhotoInput, name: str) -> ViewpointPerson:
    return ViewpointPerson(name, inp.image, None, None, keypoints=inp.keypoints, visible=inp.visible,
                           silhouette=inp.silhouette, lifted=inp.joints3d)  # fmt: skip


def decode_upload(data: bytes, name: str = "uploaded photo") -> np.ndarray:
    """An uploaded image file's bytes → ``(H, W, 3)`` uint8 RGB, upright, at most ``MAX_UPLOAD_PIXELS``: the one
    call that decodes a visitor's file (``images.decode_photo``: EXIF orientation, 16-bit scaled, a JPEG decoded
    at reduced size). Raises ``ImageError`` (a ``ValueError``), one line starting with ``name``."""
    return decode_photo(data, max_pixels=MAX_UPLOAD_PIXELS, name=name)


class ViewpointApp:
    """The page: a title, the viewpoint widget and (if MediaPipe is there) a photo upload with its messages."""

    def __init__(self, config: AppConfig | None = None, synthesizer: NovelViewSynthesizer | None = None,
                 estimator=None) -> None:  # fmt: skip
        import ipywidgets as w

        self.config = config or AppConfig()
        # Every torch call of the kernel runs in this one thread, the weights' loading included (compute.py).
        self.worker = ComputeThread("posegen-app")
        if synthesizer is None:
            from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS

            load = NovelViewSynthesizer.from_checkpoint
            synthesizer = self.worker.run(load, self.config.weights or DEMO_WEIGHTS)
        self.synth = synthesizer
        size = (synthesizer.height, synthesizer.width)
        self.widget = ViewpointWidget(synthesizer, held_out_people(self.config.people, size),
                                      precompute=self.config.precompute, worker=self.worker)  # fmt: skip
        self._estimator = estimator
        self.found = 0  # people in the last uploaded photo
        self.message = w.HTML()
        self.message.add_class("posegen-message")
        title = w.HTML(
            "<h2>posegen_lite: one image, a new viewpoint</h2><p>Pick a person and turn the <b>yaw</b> slider "
            "(arrow keys work too): Stage I turns the 3D pose, G1 paints the person in it, G2 refines, and the "
            "renderer shows the truth. Held-out people: the model never saw them.</p>"
        )
        rows = [title, self.widget.view]
        self.upload = None
        problem = photo_upload_problem() if self.config.photos else None
        if self.config.photos and problem is None:
            self.upload = w.FileUpload(accept="image/*", multiple=False, description="your photo")
            self.upload.add_class("posegen-upload")
            self.upload.observe(self._on_upload, names="value")
            rows.append(w.HBox([self.upload, self.message]))
        elif problem:
            self.message.value = problem
            rows.append(self.message)
        self.view = w.VBox(rows)
        self.view.add_class("posegen-app")

    def add_photo(self, data: bytes, name: str) -> int:
        """Add an uploaded photo (file bytes) as a person — each person it holds — and show the first; returns
        the first one's index in the selector."""
        photo = decode_upload(data, name)
        people = self.worker.run(photo_people_persons, photo, self.synth, name, self._estimator)
        first = self.widget.add_person(people[0])
        for person in people[1:]:
            self.widget.add_person(person, select=False)
        self.found = len(people)
        return first

    def _on_upload(self, change) -> None:
        import html
        import logging

        for item in change["new"]:  # ipywidgets 8: a tuple of {"name", "content" (memoryview), ...}
            name = str(item.get("name", "photo"))
            shown = html.escape(name)  # the visitor's file name: text, never markup
            try:
                self.add_photo(bytes(item["content"]), name)
            except ImageError as err:  # not an image, broken, too large: the message starts with the file's name
                self.message.value = f"<span style='color:#b00'>{html.escape(' '.join(str(err).split()))}</span>"
            except ValueError as err:  # no person found, too few joints: the visitor can fix it
                reason = html.escape(" ".join(str(err).split()))
                self.message.value = f"<span style='color:#b00'>{shown}: {reason}</span>"
            except Exception:  # one photo must not break the page; details are for the terminal
                logging.getLogger(__name__).exception("posegen app: the upload %r failed", name)
                self.message.value = (f"<span style='color:#b00'>{shown}: this photo could not be processed; "
                                      "try another one</span>")  # fmt: skip
            else:
                several = "" if self.found == 1 else f" ({self.found} people found: each is in the selector)"
                self.message.value = f"{shown}: pose found, lifted to 3D — turn it with the slider{several}"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.view._repr_mimebundle_(include=include, exclude=exclude)


def show_app(environ: Mapping[str, str] | None = None) -> ViewpointApp:
    """What the app notebook calls: an app configured from the ``POSEGEN_APP_*`` environment."""
    import torch

    from posegen_lite.allocator import keep_freed_memory

    # The sliders' views and the background turntable take turns (the widget's compute lock), so each may use both
    # cores: a new view took 83 ms with 2 torch threads and 117 ms with 1, 73 views 2.8 s and 5.5 s
    # (benchmarks/notes/2026-12-app-speed.md); more threads gain nothing on networks this small.
    if torch.get_num_threads() > APP_THREADS:
        torch.set_num_threads(APP_THREADS)
    keep_freed_memory()  # this kernel serves views: reused memory makes each one faster (allocator.py)
    return ViewpointApp(AppConfig.from_env(environ))


def voila_command(notebook: Path, port: int, token: str | None, open_browser: bool, ip: str = "127.0.0.1", *,
                  max_visitors: int = DEFAULT_MAX_VISITORS, idle_minutes: float = DEFAULT_IDLE_MINUTES,
                  debug: bool = False) -> list[str]:  # fmt: skip
    """The Voilà command line ``posegen app`` runs, with the ``posegen`` template (``VOILA_TEMPLATES``): Voilà's
    "lab" template less its links to a CDN, which a lecture hall without internet cannot reach. At most
    ``max_visitors`` kernels at once; a kernel without traffic for ``idle_minutes`` is ended (Jupyter's culling);
    tracebacks reach the page only with ``debug``; on ``port`` or not at all (no moving to the next port)."""
    import sys

    _check_limits(max_visitors, idle_minutes)
    idle_s = max(1, round(idle_minutes * 60))
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={ip}",
           "--Voila.port_retries=0", f"--Voila.config_file_paths={VOILA_CONFIG_DIR}",
           f"--VoilaConfiguration.show_tracebacks={bool(debug)}", f"--BoundedKernelManager.max_kernels={max_visitors}",
           f"--MappingKernelManager.cull_idle_timeout={idle_s}",
           f"--MappingKernelManager.cull_interval={min(60, idle_s)}", "--MappingKernelManager.cull_connected=True",
           "--theme=light", "--template=posegen",
           *(f"--VoilaConfiguration.extension_allowlist={name}" for name in VOILA_EXTENSIONS)]  # fmt: skip
    if token:
        cmd.append(f"--token={token}")
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def _check_limits(max_visitors: int, idle_minutes: float) -> None:
    if max_visitors < 1:
        raise ValueError(f"the app needs room for at least one visitor, got --max-visitors {max_visitors}")
    if not idle_minutes > 0:
        raise ValueError(f"the idle time before a kernel is ended must be > 0 minutes, got {idle_minutes}")


def app_environment(config: AppConfig) -> dict[str, str]:
    """The environment Voilà runs in: this one, the app's settings (for its kernels) and the template folder.
    ``JUPYTER_WIDGETS_ECHO=0``: a kernel does not send a slider's new value back to the page that just sent it
    (ipywidgets 8's echo, which keeps several views of one widget in step; the page shows each widget once), one
    message less in every key press's round trip."""
    paths = [str(JUPYTER_DIR), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**os.environ, **config.to_env(), "JUPYTER_PATH": os.pathsep.join(paths), "JUPYTER_WIDGETS_ECHO": "0"}


def check_weights(weights: str | None) -> None:
    """Load ``weights`` once before serving, so a damaged file is one line in the terminal and no server starts
    (otherwise each visitor's kernel fails on it, in the page). ``None``: the shipped weights, tested elsewhere."""
    if not weights:
        return
    if not Path(weights).exists():
        raise FileNotFoundError(f"weights not found: {weights}")
    try:
        NovelViewSynthesizer.from_checkpoint(weights, device="cpu")
    except Exception as err:  # whatever breaks the load, the file is the cause; --debug shows more
        detail = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"cannot serve the weights {weights}: {detail}") from err


def claim_port(ip: str, port: int) -> int:
    """The port to serve on: ``port`` if it is free on ``ip`` (else an ``OSError`` that says so: Voilà would move
    to another port than the one printed), or a free one if ``port`` is 0. Binds as tornado does (address reuse,
    IPv6 only on IPv6), then lets go."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(ip or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise OSError(f"cannot listen on {ip!r}: {err.strerror} (--ip takes an address of this machine)") from err
    if port == 0:  # the system's pick on the first address, then checked on all of them
        with socket.socket(*infos[0][:3]) as sock:
            sock.bind(infos[0][4])
            port = sock.getsockname()[1]
        return claim_port(ip, port)
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            if os.name != "nt":  # tornado's choice: a port whose last server just ended (TIME_WAIT) is free
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as err:
                if err.errno in (errno.EADDRINUSE, errno.EACCES):
                    why = "is in use (another posegen app or Jupyter?)" if err.errno == errno.EADDRINUSE else \
                        "needs more rights"  # fmt: skip
                    raise OSError(f"port {port} on {ip} {why}: choose another with --port, or --port 0 for any "
                                  "free one") from err  # fmt: skip
                raise OSError(f"cannot listen on {ip} port {port}: {err.strerror}") from err
    return port


def _is_loopback(ip: str) -> bool:
    """Whether ``ip`` reaches this machine only (a host name or an open address: reachable by others)."""
    import ipaddress

    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _page_urls(ip: str, port: int, token: str | None) -> list[str]:
    """The addresses to print: on an open address (0.0.0.0, ::) this machine's address on the network, for the
    room, and 127.0.0.1, for the lecturer."""
    import contextlib
    import socket

    hosts = [ip]
    if ip in ("", "0.0.0.0", "::"):
        hosts = [socket.gethostname(), "127.0.0.1"]
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: the system picks the interface it would use
            hosts[0] = probe.getsockname()[0]
    query = f"?token={token}" if token else ""
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}/{query}" for h in hosts]


def app_main(config: AppConfig, port: int = 8866, token: str | None = None, open_browser: bool = True,
             ip: str = "127.0.0.1", *, max_visitors: int = DEFAULT_MAX_VISITORS,
             idle_minutes: float = DEFAULT_IDLE_MINUTES, debug: bool = False) -> int:  # fmt: skip
    """Serve the app until Ctrl-C (or SIGTERM, passed on to Voilà); returns Voilà's exit code. Before serving:
    the weights load, the port is free, and an address open to others gets a token (``token=""``: none, on
    purpose). ``debug`` (or ``POSEGEN_DEBUG=1``) shows tracebacks in the page."""
    import secrets
    import signal
    import subprocess

    if importlib.util.find_spec("voila") is None:
        raise ValueError("posegen app needs Voilà: pip install 'posegen-lite[browser]'")
    debug = debug or os.environ.get("POSEGEN_DEBUG", "") not in ("", "0")
    _check_limits(max_visitors, idle_minutes)
    check_weights(config.weights)
    port = claim_port(ip, port)
    if token is None and not _is_loopback(ip):  # as Jupyter does: the whole network must not get a kernel for free
        token = secrets.token_urlsafe(24)
        print(f"posegen app: {ip} is open to others, so the page needs this token (--token sets your own)", flush=True)
    elif not token and not _is_loopback(ip):
        print(f"posegen app: warning: serving {ip} without a token: anyone who reaches this machine gets a kernel",
              flush=True)  # fmt: skip
    for url in _page_urls(ip, port, token):
        print(f"posegen app: {url}", flush=True)
    cmd = voila_command(APP_NOTEBOOK, port, token, open_browser, ip, max_visitors=max_visitors,
                        idle_minutes=idle_minutes, debug=debug)  # fmt: skip
    proc = subprocess.Popen(cmd, env=app_environment(config))
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Voilà got the Ctrl-C too and shuts down its kernels
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.kill()


__all__ = ["APP_NOTEBOOK", "AppConfig", "ViewpointApp", "app_environment", "app_main", "check_weights", "claim_port",
           "decode_upload", "photo_person", "photo_people_persons", "photo_upload_problem", "photos_available",
           "show_app", "voila_command"]  # fmt: skip
