"""How ``posegen app`` serves the page, without a browser: the Voilà command line (kernel culling, a bound on
visitors, no tracebacks), the checks before serving (weights, port, token) and the Voilà config file's kernel
manager and hook; one slow test runs a real Voilà server on 127.0.0.1 for one visitor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar

import pytest

from posegen_lite.app import viewpoint_app as va
from posegen_lite.app.viewpoint_app import APP_NOTEBOOK, AppConfig, app_main, voila_command


class NoServer:
    """Stands in for ``subprocess.Popen`` in ``app_main``: records the command instead of running Voilà."""

    calls: list[list[str]] = []

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        NoServer.calls.append(cmd)
        self.env = env

    def wait(self) -> int:
        return 0

    def poll(self) -> int:
        return 0


@pytest.fixture
def no_server(monkeypatch) -> type[NoServer]:
    NoServer.calls = []
    monkeypatch.setattr(subprocess, "Popen", NoServer)
    return NoServer


def _option(cmd: list[str], name: str) -> str | None:
    values = [a.split("=", 1)[1] for a in cmd if a.startswith(f"{name}=")]
    return values[-1] if values else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- kernels: culled when idle, a bound on visitors, tab close shuts the kernel down ----------------------------
def test_voila_command_culls_idle_kernels_and_bounds_visitors():
    cmd = voila_command(APP_NOTEBOOK, 8870, None, open_browser=False, max_visitors=5, idle_minutes=3)
    assert int(_option(cmd, "--MappingKernelManager.cull_idle_timeout")) == 180
    assert 0 < int(_option(cmd, "--MappingKernelManager.cull_interval")) <= 180
    assert _option(cmd, "--MappingKernelManager.cull_connected") == "True"  # a tab left open still frees its seat
    assert _option(cmd, "--BoundedKernelManager.max_kernels") == "5"
    # the config file that installs the bounded kernel manager and the page hook is the one Voilà reads
    paths = _option(cmd, "--Voila.config_file_paths")
    assert paths is not None and str(va.VOILA_CONFIG_DIR) in paths and (va.VOILA_CONFIG_DIR / "voila.py").is_file()
    with pytest.raises(ValueError, match="visitor"):
        voila_command(APP_NOTEBOOK, 8870, None, open_browser=False, max_visitors=0)


def _voila_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("voila.py", path=str(va.VOILA_CONFIG_DIR)).load_config()


def test_bounded_kernel_manager_refuses_a_visitor_past_the_bound_with_a_page(monkeypatch):
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado.web import HTTPError

    manager_class = _voila_config().VoilaConfiguration.multi_kernel_manager_class
    assert issubclass(manager_class, AsyncMappingKernelManager)

    async def fake_start(self, *args, kernel_id=None, **kwargs):  # registers a kernel without starting a process
        await asyncio.sleep(0.01)
        kernel_id = kernel_id or str(uuid.uuid4())
        self._kernels[kernel_id] = object()
        return kernel_id

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", fake_start)
    manager = manager_class(max_kernels=2)

    async def visit(n: int) -> list:
        return await asyncio.gather(*(manager.start_kernel() for _ in range(n)), return_exceptions=True)

    results = asyncio.run(visit(3))  # three visitors at once: the starts still pending count too
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and len(manager._kernels) == 2
    assert isinstance(refused[0], HTTPError) and refused[0].status_code == 503
    assert "2 visitors" in refused[0].log_message and "try again" in refused[0].log_message.lower()
    manager._kernels.pop(next(iter(manager._kernels)))  # a kernel is shut down (tab closed or culled) ...
    assert isinstance(asyncio.run(visit(1))[0], str)  # ... and the next visitor gets a seat
    # the page a refused visitor sees says why (Voilà renders <status>.html from the template folder)
    page = va.JUPYTER_DIR / "voila" / "templates" / "posegen" / "503.html"
    assert "message" in page.read_text()


def test_a_phone_photo_fits_in_one_websocket_message():
    """An upload travels to the kernel in one websocket message; at tornado's default bound (10 MiB) a larger photo
    closed the page's connection."""
    limit = _voila_config().Voila.tornado_settings["websocket_max_message_size"]
    assert limit >= 32 * 2**20


def test_page_hook_sets_the_xsrf_cookie_the_tab_close_shutdown_sends():
    """Voilà's page posts ``_xsrf`` from a cookie on tab close, but Voilà never sets that cookie: the shutdown
    was refused (403) and the kernel lived on. The hook makes the page request set it."""
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
    from tornado.web import Application, RequestHandler

    hook = _voila_config().VoilaConfiguration.prelaunch_hook

    class Connection:
        def set_close_callback(self, callback) -> None:
            pass

    request = HTTPServerRequest(
        headers=HTTPHeaders({"Host": "127.0.0.1"}),
        connection=Connection(),
        start_line=RequestStartLine("GET", "/", "HTTP/1.1"),
    )
    handler = RequestHandler(Application(cookie_secret="x"), request)
    notebook = {"cells": []}
    assert hook(handler, notebook=notebook, cwd=".") in (None, notebook)
    cookies = getattr(handler, "_new_cookie", {})
    assert "_xsrf" in cookies and cookies["_xsrf"].value


# --- what app_main checks before it serves -------------------------------------------------------------------
def test_open_address_without_token_gets_a_generated_token(no_server, capsys):
    assert app_main(AppConfig(), port=_free_port(), ip="0.0.0.0", open_browser=False) == 0
    token = _option(no_server.calls[-1], "--token")
    assert token and len(token) >= 16
    out = capsys.readouterr().out
    assert f"?token={token}" in out
    # on this machine alone no token is needed, as before; a token given is used as it is
    app_main(AppConfig(), port=_free_port(), ip="127.0.0.1", open_browser=False)
    assert _option(no_server.calls[-1], "--token") is None
    app_main(AppConfig(), port=_free_port(), ip="0.0.0.0", token="mine", open_browser=False)
    assert _option(no_server.calls[-1], "--token") == "mine"


def test_the_command_line_passes_the_visitor_bound_and_idle_time(monkeypatch):
    from posegen_lite.cli import app as app_command
    from posegen_lite.cli import main

    assert (app_command.MAX_VISITORS, app_command.IDLE_MINUTES) == (va.DEFAULT_MAX_VISITORS, va.DEFAULT_IDLE_MINUTES)
    seen = {}
    monkeypatch.setattr(va, "app_main", lambda config, **kw: seen.update(kw) or 0)
    assert main(["app", "--no-browser", "--max-visitors", "3", "--idle-minutes", "2.5"]) == 0
    assert (seen["max_visitors"], seen["idle_minutes"], seen["debug"]) == (3, 2.5, False)
    assert main(["app", "--no-browser", "--idle-minutes", "0"]) == 2  # one line, no server


def test_tracebacks_only_in_debug():
    quiet = voila_command(APP_NOTEBOOK, 8870, None, open_browser=False)
    assert _option(quiet, "--VoilaConfiguration.show_tracebacks") in (None, "False")
    debug = voila_command(APP_NOTEBOOK, 8870, None, open_browser=False, debug=True)
    assert _option(debug, "--VoilaConfiguration.show_tracebacks") == "True"


def test_damaged_weights_stop_the_app_before_serving(tmp_path, no_server):
    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"\x80\x02 this is not a checkpoint" * 10)
    with pytest.raises((ValueError, OSError, RuntimeError)) as info:
        app_main(AppConfig(weights=str(bad)), port=_free_port(), open_browser=False)
    assert str(bad) in str(info.value) and "\n" not in str(info.value).strip()
    assert no_server.calls == []


def test_damaged_weights_are_one_line_in_the_terminal(tmp_path, no_server, capsys):
    from posegen_lite.cli import main

    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["app", "--weights", str(bad), "--no-browser", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights.pt" in err
    assert no_server.calls == []


def test_busy_port_is_refused_with_one_line(no_server, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port}"):
            app_main(AppConfig(), port=port, open_browser=False)
    assert no_server.calls == [] and "http" not in capsys.readouterr().out  # no URL of a server that is not there
    # and Voilà itself must not wander to another port than the one printed
    assert _option(voila_command(APP_NOTEBOOK, 8870, None, open_browser=False), "--Voila.port_retries") == "0"


def test_port_zero_serves_and_prints_a_free_port(no_server, capsys):
    app_main(AppConfig(), port=0, open_browser=False)
    port = int(_option(no_server.calls[-1], "--port"))
    assert port > 0 and f"127.0.0.1:{port}/" in capsys.readouterr().out


# --- one real server, one visitor (slow: starts Voilà and one kernel) -----------------------------------------
def _kernel_rss_mib(server_pid: int) -> float | None:
    """RSS of the kernel process Voilà started (the server's one child running ipykernel), MiB; ``None`` without
    psutil (not a dependency)."""
    try:
        import psutil
    except ImportError:
        return None
    kernels = [p for p in psutil.Process(server_pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
    assert len(kernels) == 1, kernels
    return kernels[0].memory_info().rss / 2**20


@pytest.mark.slow
def test_real_voila_bounds_visitors_and_tab_close_ends_the_kernel(tmp_path):
    pytest.importorskip("voila")
    port, token = _free_port(), "t0ken"
    cmd = voila_command(APP_NOTEBOOK, port, token, open_browser=False, max_visitors=1)
    env = {**va.app_environment(AppConfig(people=1, precompute=False, photos=False)), "JUPYTER_CONFIG_DIR":
           str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "OMP_NUM_THREADS": "1",
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "IPYTHONDIR": str(tmp_path / "ipython")}  # fmt: skip
    log = tmp_path / "voila.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        deadline = time.monotonic() + 120
        while True:  # a static file as the ready signal: the page itself would start a kernel
            try:
                urllib.request.urlopen(f"{base}voila/static/voila.js?token={token}", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(1)
        page = browser.open(f"{base}?token={token}", timeout=300).read().decode()
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        kernel_id = config["kernelId"]
        assert "application/vnd.jupyter.widget-view+json" in page and "There was an error" not in page, page[-3000:]
        loaded = {extension["name"] for extension in config["federated_extensions"]}  # the allowlist holds
        assert loaded and loaded <= set(va.VOILA_EXTENSIONS), loaded
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), None)
        assert xsrf, "the page did not set the _xsrf cookie the tab-close shutdown sends"
        rss = _kernel_rss_mib(proc.pid)
        print(f"one visitor's kernel after the first view: RSS {rss and round(rss)} MiB")
        # a second visitor while the only seat is taken: a page that says so (503), not a crash
        with pytest.raises(urllib.error.HTTPError) as full:
            urllib.request.urlopen(f"{base}?token={token}", timeout=60)
        assert full.value.code == 503 and "try again" in full.value.read().decode().lower()

        # the tab closes: Voilà's page posts the shutdown with _xsrf from the cookie (navigator.sendBeacon); without
        # the cookie it sent an empty value, which the server refuses
        def shutdown(value: str) -> urllib.request.Request:
            body = f'--b\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\n{value}\r\n--b--\r\n'
            headers = {"Content-Type": "multipart/form-data; boundary=b", "Origin": base.rstrip("/")}
            return urllib.request.Request(f"{base}voila/api/shutdown/{kernel_id}", data=body.encode(), headers=headers)

        with pytest.raises(urllib.error.HTTPError) as refused:
            browser.open(shutdown(""), timeout=30)
        assert refused.value.code == 403  # the check is on: only the page's own request passes
        assert browser.open(shutdown(xsrf), timeout=30).status == 204
        with pytest.raises(urllib.error.HTTPError) as gone:
            browser.open(f"{base}api/kernels/{kernel_id}", timeout=30)
        assert gone.value.code == 404
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
