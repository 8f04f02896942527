"""Run times of the assignment notebooks: the student version (stubs) and the completed one (solutions).

Builds the four assignments (``posegen assignments build``) into a temporary folder, then executes each
notebook top to bottom in a fresh kernel, as a student would, and records the wall time, the kernel's CPU
time (user + system, from ``RUSAGE_CHILDREN``) and the load average before and after (the machine may be
shared: CPU time is the steadier figure then).

Run: ``python benchmarks/bench_assignments.py [--full] [--only stage1_pose ...] [--which student solution]``;
``--full`` runs at full size (what a student's laptop runs; default: ``POSEGEN_FAST=1``, what the tests run).
Prints a table, writes ``benchmarks/results/bench_assignments[_full].json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.assignments.build import ASSIGNMENTS, build, run_notebook


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="full size (default: POSEGEN_FAST=1)")
    parser.add_argument("--only", nargs="+", default=list(ASSIGNMENTS), choices=ASSIGNMENTS)
    parser.add_argument("--which", nargs="+", default=["student", "solution"], choices=["student", "solution"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp)
        build(dist, names=args.only)
        print(f"{'notebook':<26} {'version':<9} {'wall s':>7} {'CPU s':>7} {'load before/after':>18}", flush=True)
        for name in args.only:
            for which in args.which:
                path = dist / "student" / name / f"{name}.ipynb"
                if which == "solution":  # run it where its tests/ are, like a finished student notebook
                    path = path.with_name("solution.ipynb")
                    path.write_text((dist / "solutions" / f"{name}.ipynb").read_text())
                load0, cpu0 = os.getloadavg()[0], _children_cpu()
                run = run_notebook(path, fast=not args.full, timeout=1800)
                cpu, load1 = _children_cpu() - cpu0, os.getloadavg()[0]
                passed = sum("passed" in t for t in run.checks.values())
                rows.append({
                    "notebook": name, "version": which, "full_size": args.full, "wall_s": round(run.seconds, 1),
                    "kernel_cpu_s": round(cpu, 1), "load_before": round(load0, 1), "load_after": round(load1, 1),
                    "checks_passed": passed, "checks": len(run.checks),
                })  # fmt: skip
                print(f"{name:<26} {which:<9} {run.seconds:7.1f} {cpu:7.1f} {load0:8.1f} / {load1:<7.1f}"
                      f" checks passed {passed}/{len(run.checks)}", flush=True)  # fmt: skip
    suffix = "_full" if args.full else ""
    out = write_json(Path(__file__).resolve().parent / "results" / f"bench_assignments{suffix}.json", rows)
    print(f"→ {out}")


if __name__ == "__main__":
    main()
