"""``posegen serve`` (one process, one model) in headless Chromium: the page shows a view, the yaw slider turns
the person, a photo upload becomes a person with its own view, and a text file is one line naming it."""

from __future__ import annotations

import sys

import harness
import pytest


@pytest.fixture(scope="module")
def serve_server(tmp_path_factory):
    """One ``posegen serve`` with one held-out person (its 73 slider views are computed before it answers)."""
    port = harness.free_port()
    cmd = [sys.executable, "-m", "posegen_lite", "serve", "--port", str(port), "--people", "1"]
    with harness.serve(cmd, tmp_path_factory.mktemp("serve"), "people", "", port, timeout=180) as server:
        yield server


def _view_src(page) -> str:
    return page.eval_on_selector("#view", "img => img.src")


def _wait_new_view(page, before: str, timeout_s: float = 60) -> str:
    page.wait_for_function("(b) => { const i = document.getElementById('view'); return i.src && i.src !== b "
                           "&& i.complete && i.naturalWidth > 0; }", arg=before, timeout=timeout_s * 1000)  # fmt: skip
    return _view_src(page)


def test_the_page_turns_the_person_and_takes_a_photo(serve_server, tmp_path, page_and_log):
    from PIL import Image
    from skimage.data import astronaut

    page, log = page_and_log
    page.goto(serve_server.url, timeout=60_000)
    first = _wait_new_view(page, "")
    assert page.eval_on_selector("#view", "img => img.naturalHeight") == 384  # 128×64 at 3×
    page.focus("#yaw")
    page.keyboard.press("ArrowRight")
    turned = _wait_new_view(page, first)
    assert page.input_value("#yaw") == "50"
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    page.set_input_files("#file", str(photo))
    _wait_new_view(page, turned, timeout_s=120)
    assert page.eval_on_selector("#person", "s => s.options[s.selectedIndex].text") == "astronaut.png"
    assert page.inner_text("#msg") == ""
    assert log.errors == [], log.errors
    harness.shot(page, "serve_photo")


def test_a_text_file_is_one_line_naming_it(serve_server, tmp_path, page_and_log):
    page, log = page_and_log
    page.goto(serve_server.url, timeout=60_000)
    _wait_new_view(page, "")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo\n")
    page.set_input_files("#file", str(notes))
    page.wait_for_function("() => document.getElementById('msg').textContent.includes('notes.txt')", timeout=60_000)
    message = page.inner_text("#msg")
    assert "not an image" in message and "\n" not in message and "Traceback" not in message
    assert page.eval_on_selector("#person", "s => s.options.length") == 1
    assert [e for e in log.errors if "400" not in e] == [], log.errors  # the refused upload's 400 is the answer
