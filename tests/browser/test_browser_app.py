"""``posegen app`` (Voilà) in headless Chromium: the page shows the widget with no errors, the keyboard turns
the person, and after the background turntable the same keys show computed views."""

from __future__ import annotations

import json

import harness


def test_posegen_app_serves_the_widget(tmp_path, page_and_log):
    page, log = page_and_log
    with harness.posegen_app(tmp_path, "--people", "2") as server:
        page.goto(server.page_url(""), timeout=180_000)
        panels = harness.watch_panels(page)
        assert len(panels) == 6
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
