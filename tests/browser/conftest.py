"""Browser tests: skipped, with the reason printed, where Chromium or the ``browser`` extra is missing."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the harness module next to this file

import harness

MISSING = harness.missing_requirements()

# A SIGTERM (e.g. from `timeout`) becomes SystemExit, so the harness's finally blocks stop the servers they started.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def pytest_report_header(config) -> str:
    return f"browser tests: {'SKIPPED — ' + MISSING if MISSING else 'on, Chromium at ' + harness.CHROMIUM}"


def pytest_collection_modifyitems(config, items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)  # each drives Chromium and a Jupyter server: 14–30 s
            if MISSING:
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {MISSING}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page_and_log(request, tmp_path):
    """A fresh Chromium page; on failure a screenshot goes to outputs/browser/FAILED-<test>.png."""
    with harness.browser_page(tmp_path) as (page, log):
        yield page, log
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print("screenshot:", harness.shot(page, f"FAILED-{request.node.name}"))
