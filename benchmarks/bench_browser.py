"""In the browser: the time from a key press on the yaw slider to the new view on screen, uncached and cached.

What a person at the ``posegen app`` page feels: headless Chromium (Playwright, the system's Chromium) presses
ArrowRight/ArrowLeft on the focused yaw slider; the page records the key press and the moments the synthesized
view (the G2 panel) and the last panel the widget updates (the 3D pose) show their new images
(``performance.now()`` on both sides, so the figures include the websocket round trip, the kernel's work and the
browser's image decode).

* ``uncached``: ``posegen app --no-precompute``, each press to an angle not computed yet (one ``synthesize``
  call, one ground-truth render, one 3D-pose drawing and the PNG encodings in the kernel);
* ``cached``: the same server, pressing back over the angles just shown (PNGs swapped, nothing computed);
* ``precompute``: ``posegen app`` as shipped — how long the background turntable (73 yaws at 5°) of the first
  person takes, read from the page ("turntable ready: … in … s"), and key presses over precomputed angles.

Run: ``python benchmarks/bench_browser.py [--quick] [--presses 20] [--out PATH]``; needs Chromium at
/usr/bin/chromium and the ``browser`` extra. Prints a table (median, min, max ms of ``--presses`` key presses per
case) and writes ``benchmarks/results/bench_browser.json`` with the load average before and after: figures from a
busy machine are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))
import harness  # noqa: E402
from _machine import write_json  # noqa: E402

VIEW, LAST = "posegen-panel-g2", "posegen-panel-3d-pose"


def _presses(page, key: str, n: int) -> dict[str, list[float]]:
    """``n`` presses of ``key``: the ms to all panels (``ms``, the 3D pose: the last) and to the view."""
    times = [harness.press_and_times(page, key, (VIEW, LAST)) for _ in range(n)]
    return {"ms": [t[LAST] for t in times], "view_ms": [t[VIEW] for t in times]}


def measure(presses: int) -> tuple[list[dict], dict]:
    rows, extra = [], {}
    with tempfile.TemporaryDirectory(prefix="posegen-bench-browser-") as tmp:
        tmp = Path(tmp)
        (tmp / "a").mkdir()
        with harness.posegen_app(tmp / "a", "--people", "2", "--no-precompute") as server:
            with harness.browser_page(tmp / "a") as (page, _log):
                page.goto(server.page_url(""), timeout=180_000)
                harness.watch_panels(page)
                rows.append({"case": "uncached (--no-precompute)", **_presses(page, "ArrowRight", presses)})
                rows.append({"case": "cached (back over shown angles)", **_presses(page, "ArrowLeft", presses)})
        (tmp / "b").mkdir()
        with harness.posegen_app(tmp / "b", "--people", "2") as server:
            with harness.browser_page(tmp / "b") as (page, _log):
                page.goto(server.page_url(""), timeout=180_000)
                harness.watch_panels(page)
                ready = page.get_by_text("turntable ready").first
                ready.wait_for(timeout=300_000)
                match = re.search(r"(\d+) views in ([\d.]+) s", ready.inner_text())
                extra["precompute_views"], extra["precompute_s"] = int(match[1]), float(match[2])
                rows.append({"case": "precomputed (turntable done)", **_presses(page, "ArrowRight", presses)})
    return rows, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 presses per case instead of --presses")
    parser.add_argument("--presses", type=int, default=20, help="key presses per case (default 20)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_browser.json")
    args = parser.parse_args()
    missing = harness.missing_requirements()
    if missing:
        sys.exit(f"bench_browser: {missing}")
    load_before = os.getloadavg()
    rows, extra = measure(3 if args.quick else args.presses)
    load_after = os.getloadavg()
    head = f"{'all panels: median ms':>21s} {'min':>5s} {'max':>5s}   {'view: median':>12s} {'min':>5s} {'max':>5s}"
    print(f"{'case':34s} {head}  n")
    for row in rows:
        ms, view = row["ms"], row["view_ms"]
        row.update(median_ms=statistics.median(ms), min_ms=min(ms), max_ms=max(ms))
        row.update(view_median_ms=statistics.median(view), view_min_ms=min(view), view_max_ms=max(view))
        every = f"{row['median_ms']:21.0f} {row['min_ms']:5.0f} {row['max_ms']:5.0f}"
        seen = f"{row['view_median_ms']:12.0f} {row['view_min_ms']:5.0f} {row['view_max_ms']:5.0f}"
        print(f"{row['case']:34s} {every}   {seen}  {len(ms)}")
    print(f"turntable precompute: {extra['precompute_views']} views in {extra['precompute_s']:.1f} s")
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    path = write_json(args.out, rows, load_before=load_before,
                      load_after=load_after, quick=args.quick, **extra)  # fmt: skip
    print(path)


if __name__ == "__main__":
    main()
