"""A lecture hall on 127.0.0.1: 20 visitors open ``posegen serve`` at once; first-view times and memory.

Starts ``posegen serve`` (the shipped weights, 4 held-out people) as its own process, waits until it answers,
then: one visitor alone (page, people, first view: the memory of one visitor); ``--visitors`` visitors at once,
released together by a barrier, each loading the page, the people and a first view — ``same``: the page's
default view (person 0 at 45°, what every visitor sees first), ``different``: each visitor a person and a yaw
of the slider's of their own; ``photo-yaws``: each visitor a yaw off the slider's 5° steps (nothing computed
before: the worst case, as for uploaded photos); then ``--idle`` seconds with nobody. The server's resident memory
(RSS, sampled every 50 ms) before, at its peak and after the idle time.

Run: ``python benchmarks/bench_app_load.py [--visitors 20] [--idle 120]``; prints a table, writes
``benchmarks/results/bench_app_load.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

PORT = 8871
MIB = 1024 * 1024


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def visit(base: str, person: int, yaw: float) -> float:
    """One visitor: the page, the people, the first view; seconds from the page request to the view's bytes."""
    t0 = time.perf_counter()
    _get(base + "/")
    _get(base + "/people")
    _get(f"{base}/view?person={person}&yaw={yaw}&pitch=0")
    return time.perf_counter() - t0


class Sampler(threading.Thread):
    """The server's RSS every 50 ms: ``peak`` so far, in MiB."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc, self.peak, self.running = proc, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss / MIB)
            time.sleep(0.05)


def crowd(base: str, n: int, mode: str) -> list[float]:
    barrier, times = threading.Barrier(n), [0.0] * n

    def one(k: int) -> None:
        barrier.wait()
        if mode == "same":
            times[k] = visit(base, 0, 45)
        elif mode == "different":
            times[k] = visit(base, k % 4, -175 + 15 * k)
        else:
            times[k] = visit(base, k % 4, -172.5 + 17 * k)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--idle", type=float, default=120.0, help="seconds with nobody before the last reading")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "posegen_lite", "serve", "--port", str(PORT), "--people", "4"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(600):
            try:
                _get(base + "/people")
                break
            except OSError:
                time.sleep(0.1)
        proc = psutil.Process(server.pid)
        started = proc.memory_info().rss / MIB
        alone = visit(base, 1, 30)
        one_visitor = proc.memory_info().rss / MIB
        sampler = Sampler(proc)
        sampler.start()
        rows = []
        for mode in ("same", "different", "photo-yaws"):
            times = crowd(base, args.visitors, mode)
            median, worst = round(float(np.median(times)), 3), round(max(times), 3)
            rows.append({"mode": mode, "visitors": args.visitors, "first_view_median_s": median,
                         "first_view_max_s": worst})  # fmt: skip
        time.sleep(args.idle)
        sampler.running = False
        after_idle = proc.memory_info().rss / MIB
    finally:
        server.terminate()
        server.wait(timeout=30)
    memory = {"started_mib": round(started), "one_visitor_mib": round(one_visitor), "peak_mib": round(sampler.peak),
              "after_idle_mib": round(after_idle), "idle_s": args.idle,
              "alone_first_view_s": round(alone, 3)}  # fmt: skip
    print(f"{'first view':12} {'visitors':>8} {'median s':>9} {'max s':>7}")
    for r in rows:
        print(f"{r['mode']:12} {r['visitors']:8d} {r['first_view_median_s']:9.3f} {r['first_view_max_s']:7.3f}")
    print("memory (MiB):", memory)
    path = write_json(Path(__file__).parent / "results" / "bench_app_load.json", rows, memory=memory,
                      load=os.getloadavg())  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
