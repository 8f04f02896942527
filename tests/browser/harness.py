"""Drive JupyterLab, Voilà and the ``posegen app`` page in headless Chromium (Playwright), for the browser tests
and ``benchmarks/bench_browser.py``.

No browser is downloaded: Playwright drives the system's Chromium (Debian's ``chromium`` package) through
``executable_path``. Every server runs on 127.0.0.1 on a free port with a random token, with its config,
runtime and settings folders in a temporary directory (autosave off), and is stopped by its process id.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("POSEGEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Offline, two outside resources fail to load and nothing else may: the Colab badge image of each notebook's
# first cell and plotly.js from its CDN (plotly's "notebook_connected" renderer; JupyterLab draws the figure
# with its own plotly extension instead).
ALLOWED_FAILURES = ("colab.research.google.com", "cdn.plot.ly")


def missing_requirements() -> str | None:
    """Why the browser tests cannot run here (``None`` when they can)."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; or set POSEGEN_CHROMIUM)"
    for module in ("playwright", "jupyterlab", "voila"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[browser]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a server started by ``serve`` (its own process group, so its kernels go too), by its pid."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


@dataclass
class Server:
    url: str  # base address, ending in "/"
    token: str
    proc: subprocess.Popen
    log: Path
    tmp: Path

    def page_url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "IPYTHONDIR": str(tmp / "ipython"), "JUPYTER_DATA_DIR": str(tmp / "data"), "MPLBACKEND": "Agg",
        "POSEGEN_FAST": env.get("POSEGEN_FAST", "1"), "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    return env


@contextlib.contextmanager
def serve(
    cmd: list[str],
    tmp: Path,
    ready_path: str,
    token: str,
    port: int,
    timeout: float = 90.0,
) -> Iterator[Server]:
    """Run ``cmd`` (a server listening on ``port``) in its own process group; yield once ``ready_path``
    answers; stop it by pid on exit."""
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=_env(tmp), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}/", token, proc, log, tmp)
    try:
        _wait_http(server.page_url(ready_path), proc, log, timeout)
        yield server
    finally:
        stop(proc)


def _root_flag() -> list[str]:
    """Jupyter refuses to run as root unless told (CI containers run as root)."""
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


@contextlib.contextmanager
def jupyterlab(tmp: Path, notebooks: list[str]) -> Iterator[Server]:
    """JupyterLab over copies of ``notebooks/<name>`` in ``tmp/work`` (the repository's files are never
    touched), autosave off, the app object exposed to the page (``window.jupyterapp``)."""
    work = tmp / "work"
    work.mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        shutil.copy(ROOT / "notebooks" / name, work / name)
    settings = tmp / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    news = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    token, port = secrets.token_hex(16), free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
        *_root_flag(),
    ]
    with serve(cmd, tmp, "api/status", token, port) as server:
        yield server


@contextlib.contextmanager
def posegen_app(tmp: Path, *extra: str) -> Iterator[Server]:
    """``posegen app`` (Voilà serving the viewpoint app) on a free port."""
    token, port = secrets.token_hex(16), free_port()
    cmd = [
        sys.executable,
        "-m",
        "posegen_lite.cli",
        "app",
        "--port",
        str(port),
        "--token",
        token,
        "--no-browser",
        *extra,
    ]
    with serve(cmd, tmp, "api/status", token, port) as server:
        yield server


@dataclass
class PageLog:
    """Page errors, console errors and failed requests of one page, split by the allow-list."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def add(self, text: str, url: str = "") -> None:
        (self.allowed if any(h in url or h in text for h in ALLOWED_FAILURES) else self.errors).append(
            f"{text} [{url}]" if url else text
        )


@contextlib.contextmanager
def browser_page(tmp: Path, width: int = 1400, height: int = 1000):
    """A fresh headless Chromium page (own user-data dir) and its ``PageLog``."""
    from playwright.sync_api import sync_playwright

    log = PageLog()
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.new_page()
            page.on("pageerror", lambda e: log.add(f"page error: {e}"))
            page.on("console", lambda m: m.type == "error" and log.add(f"console: {m.text}", m.location.get("url", "")))
            page.on("requestfailed", lambda r: log.add(f"request failed: {r.failure}", r.url))
            yield page, log
        finally:
            context.close()
