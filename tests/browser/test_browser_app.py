"""``posegen app`` (Voilà) in headless Chromium: the page shows the widget with no errors, the keyboard turns
the person, and after the background turntable the same keys show computed views; a photo uploaded in the page
(shipped 128×64 weights) becomes a person with its own views, and a file that is not an image is one line."""

from __future__ import annotations

import json
import time

import harness
import pytest


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """One ``posegen app`` for the module (starting one costs ~15 s); each page gets its own kernel."""
    with harness.posegen_app(tmp_path_factory.mktemp("app"), "--people", "2") as server:
        yield server


def open_app(page, server: harness.Server) -> None:
    page.goto(server.page_url(""), timeout=180_000)
    assert len(harness.watch_panels(page)) == 6


def test_posegen_app_serves_the_widget(app_server, page_and_log):
    page, log = page_and_log
    open_app(page, app_server)
    assert page.locator(".posegen-app").count() == 1
    assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0  # an app: no code cells
    start = harness.panel_sources(page)
    uncached = [harness.press_and_time(page, "ArrowRight", control="pitch")]  # pitch views are not precomputed
    page.get_by_text("turntable ready").first.wait_for(timeout=120_000)
    cached = [harness.press_and_time(page, key) for key in ("ArrowRight", "ArrowRight", "ArrowLeft")]
    after = harness.panel_sources(page)
    assert after["posegen-panel-g1"] != start["posegen-panel-g1"]
    assert harness.slider_value(page, "pitch") == "5"
    assert page.get_by_text("Error displaying widget").count() == 0
    assert log.errors == [], log.errors
    harness.shot(page, "app")
    (harness.ARTIFACTS / "app_key_to_view_ms.json").write_text(json.dumps({"uncached": uncached,
                                                                           "cached": cached}))  # fmt: skip
    print("app: key press → new view (ms): uncached", [round(x) for x in uncached], "cached",
          [round(x) for x in cached])  # fmt: skip


def test_photo_upload_becomes_a_person_with_a_novel_view(app_server, tmp_path, page_and_log):
    from PIL import Image
    from skimage.data import astronaut

    page, log = page_and_log
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    open_app(page, app_server)
    people_before = harness.selected_option(page)[1]
    before = harness.panel_digests(page)
    t0 = time.monotonic()
    harness.upload_file(page, photo)  # the shipped weights offer the upload (they were once refused it)
    message = harness.wait_for_message(page, timeout_s=180)  # MediaPipe's first estimate takes seconds
    assert message.startswith("astronaut.png: pose found"), message
    assert harness.selected_option(page) == ("astronaut.png", people_before + 1)
    panels = ("posegen-panel-input", "posegen-panel-g1", "posegen-panel-g2")
    harness.wait_for_new_pictures(page, before, panels, timeout_s=60)
    seconds = time.monotonic() - t0
    assert "Traceback" not in page.inner_text("body")
    assert page.get_by_text("Error displaying widget").count() == 0
    assert log.errors == [], log.errors
    harness.shot(page, "app_photo_upload")
    print(f"app: photo upload → its view in {seconds:.1f} s")


def test_upload_of_a_text_file_is_one_line_naming_it(app_server, tmp_path, page_and_log):
    page, log = page_and_log
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo\n")
    open_app(page, app_server)
    people_before = harness.selected_option(page)
    harness.upload_file(page, notes)
    message = harness.wait_for_message(page, timeout_s=60)
    assert "notes.txt" in message and "not an image" in message, message
    assert "\n" not in message, message
    assert "Traceback" not in page.inner_text("body")
    assert harness.selected_option(page) == people_before  # no person added
    assert log.errors == [], log.errors
    harness.shot(page, "app_upload_not_an_image")
