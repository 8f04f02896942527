"""Drive JupyterLab, Voilà and the ``posegen app`` page in headless Chromium (Playwright), for the browser tests
and ``benchmarks/bench_browser.py``.

No browser is downloaded: Playwright drives the system's Chromium (Debian's ``chromium`` package) through
``executable_path``. Every server runs on 127.0.0.1 on a free port with a random token, with its config,
runtime and settings folders in a temporary directory (autosave off), and is stopped by its process id.
"""

from __future__ import annotations

import contextlib
import http.client
import json
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
        with contextlib.suppress(OSError, http.client.HTTPException):  # not up yet, or still starting
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
    # JupyterLab's own settings (as scripts/lab.sh gives them: widget state saved with the notebook), autosave off
    settings = tmp / "settings"
    for plugin, values in json.loads(WIDGET_SETTINGS.read_text()).items():
        package, name = plugin.split(":")
        folder = settings / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    # autosave off (the copies stay as the test leaves them); every cell in the DOM (no virtual scrolling), so the
    # page can be checked cell by cell
    for folder, name, values in (("docmanager-extension", "plugin", {"autosave": False}),
                                 ("notebook-extension", "tracker", {"windowingMode": "none"})):  # fmt: skip
        (settings / "@jupyterlab" / folder).mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
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
        "posegen_lite",
        "app",
        "--port",
        str(port),
        "--token",
        token,
        "--no-browser",
        *extra,
    ]
    # a static file as the ready signal: requesting the page itself would start a kernel
    with serve(cmd, tmp, "voila/static/voila.js", token, port, timeout=180) as server:
        yield server


@dataclass
class PageLog:
    """Page errors, console errors and failed requests of one page, split by the allow-list."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def add(self, text: str, url: str = "") -> None:
        # An aborted JupyterLab API poll (net::ERR_ABORTED on /api/...) is the page cancelling its own request,
        # e.g. when a test shuts the kernel session down and reopens the notebook: not a failure to load.
        aborted_poll = "net::ERR_ABORTED" in text and "/api/" in url
        allowed = aborted_poll or any(h in url or h in text for h in ALLOWED_FAILURES)
        (self.allowed if allowed else self.errors).append(f"{text} [{url}]" if url else text)


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
            context.set_default_timeout(60_000)
            page = context.new_page()
            page.on("pageerror", lambda e: log.add(f"page error: {e}"))
            page.on("console", lambda m: m.type == "error" and log.add(f"console: {m.text}", m.location.get("url", "")))
            page.on("requestfailed", lambda r: log.add(f"request failed: {r.failure}", r.url))
            yield page, log
        finally:
            context.close()


# --- JupyterLab and widget actions ----------------------------------------------------------------------------

ARTIFACTS = Path(os.environ.get("POSEGEN_BROWSER_ARTIFACTS", ROOT / "outputs" / "browser"))
WIDGET_SETTINGS = ROOT / "scripts" / "jupyterlab_overrides.json"  # what scripts/lab.sh gives JupyterLab too


def shot(page, name: str) -> Path:
    """A full-page screenshot in ``ARTIFACTS`` (outputs/browser/ unless POSEGEN_BROWSER_ARTIFACTS is set)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected'; }"""

_ALL_RUN = """() => { const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim())); }"""


def open_notebook(page, server: Server, name: str, timeout_s: float = 90) -> None:
    """Open ``name`` in JupyterLab, alone (``?reset``: no tabs restored from an earlier page), and wait until
    its kernel is idle."""
    page.goto(server.page_url(f"lab/tree/{name}?reset"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout_s * 1000)


def run_command(page, command: str) -> None:
    """Start a JupyterLab command without waiting for it (a command can open a dialog and never finish; every
    wait in this module is bounded instead)."""
    page.evaluate("(c) => { window.jupyterapp.commands.execute(c); }", command)


def run_all(page, timeout_s: float = 150) -> float:
    """Clear every output, "Run All Cells", and wait until each code cell has its execution number (JupyterLab
    stops at the first error, so a failing cell times out here); returns the seconds it took."""
    run_command(page, "notebook:clear-all-cell-outputs")
    page.wait_for_function(f"() => !({_ALL_RUN})()", timeout=10_000)
    t0 = time.monotonic()
    run_command(page, "notebook:run-all-cells")
    page.wait_for_function(_ALL_RUN, timeout=timeout_s * 1000, polling=250)
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout_s * 1000)
    return time.monotonic() - t0


def error_outputs(page) -> list[str]:
    """Texts of error outputs, and of widgets that failed to display."""
    found = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output')]
        .map(o => o.textContent).filter(t => /Traceback|Error displaying widget|model not found/.test(t))""")
    return [t[:500] for t in found]


# The widget's panels are <img> elements carrying the CSS classes ViewpointWidget gives them.
_WATCH = """(root) => {
  const pg = window.__posegen = {key: null, changes: {}};
  document.addEventListener('keydown', () => { pg.key = performance.now(); }, true);
  for (const img of root.querySelectorAll('img[class*="posegen-panel-"]')) {
    const name = [...img.classList].find(c => c.startsWith('posegen-panel-'));
    pg.changes[name] = [];
    new MutationObserver(() => pg.changes[name].push(performance.now()))
      .observe(img, {attributes: true, attributeFilter: ['src']});
  }
  return Object.keys(pg.changes);
}"""


def watch_panels(page, root_selector: str = ".posegen-viewpoint") -> list[str]:
    """Start recording, in the page, when each panel image of the (first) viewpoint widget changes."""
    root = page.locator(root_selector).first
    root.wait_for(timeout=60_000)
    page.wait_for_function(f"() => document.querySelectorAll('{root_selector} img[src^=\"blob:\"]').length >= 6",
                           timeout=60_000)  # fmt: skip
    return root.evaluate(_WATCH)


def panel_sources(page, root_selector: str = ".posegen-viewpoint") -> dict[str, str]:
    return page.locator(root_selector).first.evaluate(
        """(root) => Object.fromEntries([...root.querySelectorAll('img[class*="posegen-panel-"]')]
             .map(img => [[...img.classList].find(c => c.startsWith('posegen-panel-')), img.src]))""")  # fmt: skip


def press_and_time(
    page,
    key: str,
    control: str = "yaw",
    panel: str = "posegen-panel-3d-pose",
    root_selector: str = ".posegen-viewpoint",
    timeout_s: float = 30,
) -> float:
    """Focus the ``control`` slider's handle, press ``key``, and return the milliseconds from the key press to
    the moment ``panel`` (the last panel the widget updates) shows a new image."""
    handle = page.locator(f"{root_selector} .posegen-{control} .noUi-handle").first
    handle.focus()
    before = page.evaluate(f"() => window.__posegen.changes['{panel}'].length")
    page.keyboard.press(key)
    page.wait_for_function(f"() => window.__posegen.changes['{panel}'].length > {before}", timeout=timeout_s * 1000,
                           polling="raf")  # fmt: skip
    return page.evaluate(f"() => window.__posegen.changes['{panel}'][{before}] - window.__posegen.key")


def press_and_times(
    page,
    key: str,
    panels: tuple[str, ...],
    control: str = "yaw",
    root_selector: str = ".posegen-viewpoint",
    timeout_s: float = 30,
) -> dict[str, float]:
    """``press_and_time`` for several panels at once: the milliseconds from the key press to each of ``panels``
    showing a new image, by panel."""
    handle = page.locator(f"{root_selector} .posegen-{control} .noUi-handle").first
    handle.focus()
    names = repr(list(panels))
    before = page.evaluate(f"() => Object.fromEntries({names}.map(p => [p, window.__posegen.changes[p].length]))")
    page.keyboard.press(key)
    page.wait_for_function(f"() => {names}.every(p => window.__posegen.changes[p].length > {before}[p])",
                           timeout=timeout_s * 1000, polling="raf")  # fmt: skip
    return page.evaluate(f"() => Object.fromEntries({names}.map(p => "
                         f"[p, window.__posegen.changes[p][{before}[p]] - window.__posegen.key]))")  # fmt: skip


def slider_value(page, control: str = "yaw", root_selector: str = ".posegen-viewpoint") -> str:
    return page.locator(f"{root_selector} .posegen-{control} .widget-readout").first.inner_text().strip()


# --- the app's photo upload ------------------------------------------------------------------------------------

# The SHA-256 of the bytes each panel image shows (its blob: address changes with every update, even to the same
# picture; the bytes change only with the picture).
_PANEL_DIGESTS = """async (root) => {
  const hex = (buf) => [...new Uint8Array(buf)].map(b => b.toString(16).padStart(2, '0')).join('');
  const out = {};
  for (const img of root.querySelectorAll('img[class*="posegen-panel-"]')) {
    const name = [...img.classList].find(c => c.startsWith('posegen-panel-'));
    const bytes = await (await fetch(img.src)).arrayBuffer();
    out[name] = hex(await crypto.subtle.digest('SHA-256', bytes));
  }
  return out;
}"""


def panel_digests(page, root_selector: str = ".posegen-viewpoint") -> dict[str, str]:
    """A digest of the picture each panel shows, by panel class (``posegen-panel-g1`` …)."""
    return page.locator(root_selector).first.evaluate(_PANEL_DIGESTS)


def wait_for_new_pictures(
    page, before: dict[str, str], panels: tuple[str, ...], timeout_s: float = 60
) -> dict[str, str]:
    """Wait until each of ``panels`` shows another picture than in ``before`` (``panel_digests``); returns the
    new digests. A panel updated while it is read (its old blob: address revoked) is read again."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(Exception):  # playwright's Error: a blob revoked between reading src and fetching
            now = panel_digests(page)
            if all(now[p] != before[p] for p in panels):
                return now
        if time.monotonic() > deadline:
            raise TimeoutError(f"{panels} did not change within {timeout_s:.0f} s")
        time.sleep(0.25)


def upload_file(page, path: Path, selector: str = ".posegen-upload") -> None:
    """Click the FileUpload widget carrying the CSS class of ``selector`` and choose ``path`` in the file dialog it
    opens, as a visitor does. (ipywidgets 8 keeps its ``<input type=file>`` out of the page: the button clicks it,
    so there is no element to give the file to; Playwright answers the dialog instead.)"""
    button = page.locator(selector)
    button.wait_for(timeout=15_000)  # rendered with the panels
    with page.expect_file_chooser(timeout=15_000) as chooser:
        button.click()
    chooser.value.set_files(str(path))


def wait_for_message(page, selector: str = ".posegen-message", timeout_s: float = 120) -> str:
    """Wait until the element ``selector`` holds text; returns it (stripped)."""
    found = page.wait_for_function(
        f"() => {{ const m = document.querySelector('{selector}'); return m && m.innerText.trim(); }}",
        timeout=timeout_s * 1000,
        polling=250,
    )
    return found.json_value()


def selected_option(page, control: str = "person", root_selector: str = ".posegen-viewpoint") -> tuple[str, int]:
    """The text of the selected option of the ``control`` dropdown, and how many options it has."""
    return tuple(page.locator(f"{root_selector} .posegen-{control} select").first.evaluate(
        "(s) => [s.options[s.selectedIndex].text, s.options.length]"))  # fmt: skip
