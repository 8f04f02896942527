"""The 73-view turntable (yaw −180…180° in 5° steps) of one held-out person through the shipped weights, in process.

* ``synthesize × 73``: one ``synthesize`` call per view (what the widget's background turntable did per view);
* ``synthesize_many, batch B``: the 73 views in one call, ``B`` views per forward pass (``NovelViewSynthesizer
  .batch``; ``batch 73``: one pass, as before batches existed);
* ``widget turntable``: ``ViewpointWidget``'s background precompute, every panel of every view (the networks, the
  ground truth render, the skeletons, the PNGs), as ``precompute_seconds`` reports it, in this process, whose
  main thread ran the rows above (so torch has two threads here: app/compute.py says why that is slower);
* ``the app's turntable``: the same in a fresh process built as ``posegen app``'s kernel builds it
  (``ViewpointApp``: the weights loaded and every view computed in one compute thread).

Each row at 1 and 2 torch threads, the median of ``--repeats`` runs. Run: ``python benchmarks/bench_turntable.py
[--repeats 3] [--out PATH]``; prints a table and writes ``benchmarks/results/bench_turntable.json`` with the load
average of the run (the 2 cores are shared: figures from a busy machine are upper bounds). Works on a tree without
``NovelViewSynthesizer.batch`` (one pass for all views), for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import write_json  # noqa: E402

from posegen_lite.app.widgets import ViewpointWidget, held_out_people  # noqa: E402
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer  # noqa: E402

YAWS = [float(y) for y in range(-180, 181, 5)]


def _seconds(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _widget_seconds(synth: NovelViewSynthesizer, people, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        app = ViewpointWidget(synth, people)
        if not app.wait_precomputed(timeout=600):
            raise RuntimeError("the widget's turntable did not finish in 10 min")
        out.append(float(app.precompute_seconds))
    return out


# The app's kernel (posegen app): the weights loaded and every view computed in the widget's one compute thread.
APP_TURNTABLE = """
import torch
from posegen_lite.allocator import keep_freed_memory
from posegen_lite.app.viewpoint_app import AppConfig, ViewpointApp
torch.set_num_threads({threads})
keep_freed_memory()
app = ViewpointApp(AppConfig(people=1, photos=False))
assert app.widget.wait_precomputed(600), "the turntable did not finish in 10 min"
print(app.widget.precompute_seconds)
"""


def _app_seconds(threads: int, repeats: int) -> list[float]:
    """The widget's turntable as ``posegen app`` runs it: a fresh process in which no other thread calls torch."""
    code = APP_TURNTABLE.format(threads=threads)
    out = []
    for _ in range(repeats):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        out.append(float(run.stdout.strip().splitlines()[-1]))
    return out


def measure(repeats: int, batches: list[int]) -> list[dict]:
    synth = NovelViewSynthesizer.from_checkpoint(device="cpu")
    people = held_out_people(1, synth.size)
    p = people[0]
    has_batch = hasattr(synth, "batch")
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        synth.synthesize_many(p.image, p.joints3d, YAWS[:8], camera=p.camera)  # warm-up
        cases = [("synthesize × 73", lambda: [synth.synthesize(p.image, p.joints3d, y, camera=p.camera) for y in YAWS])]
        for b in batches if has_batch else [len(YAWS)]:

            def many(b: int = b) -> None:
                if has_batch:
                    synth.batch = b
                synth.synthesize_many(p.image, p.joints3d, YAWS, camera=p.camera)

            cases.append((f"synthesize_many, batch {b}", many))
        for case, fn in cases:
            rows.append({"case": case, "threads": threads, "seconds": _seconds(fn, repeats)})
        if has_batch:
            synth.batch = 8
        widget = _widget_seconds(synth, people, repeats)
        rows.append({"case": "widget turntable", "threads": threads, "seconds": widget})
        rows.append({"case": "the app's turntable", "threads": threads, "seconds": _app_seconds(threads, repeats)})
        for row in rows[-len(cases) - 2 :]:
            row["median_s"] = statistics.median(row["seconds"])
            print(f"{row['case']:28s} {threads:>7d} {row['median_s']:9.2f} {min(row['seconds']):7.2f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 8, 16, 73])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_turntable.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    print(f"{'case':28s} {'threads':>7s} {'median s':>9s} {'min s':>7s}   (73 views, shipped weights, CPU)")
    rows = measure(args.repeats, args.batches)
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    print(write_json(args.out, rows, load_before=load_before, load_after=load_after, views=len(YAWS)))


if __name__ == "__main__":
    main()
