"""Notebooks 00, 01 and 05 as a new user meets them: JupyterLab in headless Chromium, Run All, no errors, and
the viewpoint widget answers the keyboard. Screenshots go to outputs/browser/."""

from __future__ import annotations

import json

import harness
import pytest


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with harness.jupyterlab(tmp_path_factory.mktemp("lab"), ["00_quickstart.ipynb", "01_stage1_pose.ipynb",
                                                          "05_viewpoint_widget.ipynb"]) as server:  # fmt: skip
        yield server


def _run_clean(page, log, lab, name: str) -> float:
    harness.open_notebook(page, lab, name)
    seconds = harness.run_all(page)
    assert harness.error_outputs(page) == []
    assert page.get_by_text("Error displaying widget").count() == 0
    assert log.errors == [], f"page/console errors (allowed offline: {harness.ALLOWED_FAILURES}): {log.errors}"
    return seconds


def test_notebook_00_quickstart_runs_clean(lab, page_and_log):
    page, log = page_and_log
    _run_clean(page, log, lab, "00_quickstart.ipynb")
    assert page.locator(".jp-OutputArea-output img").count() >= 2  # the two figures
    harness.shot(page, "00_quickstart")


def test_notebook_01_runs_clean_and_shows_the_whole_plotly_skeleton(lab, page_and_log):
    page, log = page_and_log
    _run_clean(page, log, lab, "01_stage1_pose.ipynb")
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for(timeout=30_000)
    plot.scroll_into_view_if_needed()
    # what plotly.js draws with: a cube of equal ranges (the body whole, equal scales)
    page.wait_for_function("""() => { const gd = document.querySelector('.js-plotly-plot');
        return gd && gd._fullLayout && gd._fullLayout.scene && gd._fullLayout.scene.aspectmode === 'cube'; }""",
                           timeout=30_000)  # fmt: skip
    ranges = plot.evaluate("(gd) => ['xaxis', 'yaxis', 'zaxis'].map(a => gd._fullLayout.scene[a].range.slice())")
    lengths = [hi - lo for lo, hi in ranges]
    assert max(lengths) - min(lengths) < 1e-6
    page.wait_for_timeout(1000)  # plotly draws its WebGL scene after the element appears
    harness.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    plot.screenshot(path=str(harness.ARTIFACTS / "01_plotly_skeleton.png"))


def test_notebook_05_widget_answers_the_keyboard_and_survives_a_reopen(lab, page_and_log):
    page, log = page_and_log
    _run_clean(page, log, lab, "05_viewpoint_widget.ipynb")
    panels = harness.watch_panels(page)
    assert len(panels) == 6
    start = harness.panel_sources(page)
    yaw0 = harness.slider_value(page)
    latencies = [harness.press_and_time(page, "ArrowRight") for _ in range(4)]
    after = harness.panel_sources(page)
    assert harness.slider_value(page) != yaw0
    for name in ("posegen-panel-target-pose", "posegen-panel-g1", "posegen-panel-g2", "posegen-panel-3d-pose"):
        assert after[name] != start[name], f"{name} did not change"
    assert after["posegen-panel-input"] == start["posegen-panel-input"]
    latencies += [harness.press_and_time(page, "ArrowLeft") for _ in range(2)]  # back over shown angles
    assert log.errors == []
    harness.shot(page, "05_viewpoint_widget")
    (harness.ARTIFACTS / "05_key_to_view_ms.json").write_text(json.dumps({"ms": latencies}))
    print("key press → new view (ms):", [round(x) for x in latencies])

    # saved and reopened later (kernel gone): the widget is drawn from the state saved with the notebook
    harness.run_command(page, "docmanager:save")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=30_000)
    opens = _reopen_until_drawn(page, log, lab, "05_viewpoint_widget.ipynb")
    page.locator(".posegen-viewpoint img").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.get_by_text("Error displaying widget").count() == 0
    assert log.errors == []
    print("opens until the saved widget was drawn:", opens)
    harness.shot(page, "05_reopened")


_DRAWN_OR_LOST = """() => document.querySelector('.posegen-viewpoint img') !== null
    || [...document.querySelectorAll('.jupyter-widgets')].some(n => n.textContent.includes('model not found'))"""


def _reopen_until_drawn(page, log, lab, name: str, opens: int = 2) -> int:
    """Open ``name`` until its widget is drawn from the saved state; returns how many opens it took.

    Why a second open may be needed: jupyterlab_widgets 3.0 restores a reopened notebook twice at once, from the
    kernel alone when the kernel connects, and from the kernel and then the notebook's saved state. When the first
    ends while the second still reads the saved state, an output drawn in between says "model not found" for good
    and logs "widget model not found"; a reload draws it (seen once, on a slow CI machine). Only that line is
    forgiven, and only for the open that showed it."""
    for k in range(1, opens + 1):
        seen = len(log.errors)
        harness.open_notebook(page, lab, name)
        page.wait_for_function(_DRAWN_OR_LOST, timeout=60_000, polling=250)
        if page.locator(".posegen-viewpoint img").count() > 0:
            return k
        lost = [e for e in log.errors[seen:] if "widget model not found" in e]
        log.errors[seen:] = [e for e in log.errors[seen:] if e not in lost]
        assert lost, "the widget said 'model not found' without the restore race's console line"
    raise AssertionError(f"the saved widget was not drawn in {opens} opens")
