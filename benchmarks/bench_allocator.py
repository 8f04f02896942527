"""What keeping freed memory (``posegen_lite.allocator.keep_freed_memory``) buys a CPU training step.

glibc returns every large freed block to the kernel, so each training step faults its activations in again
(``posegen_lite/allocator.py`` says why). This times the same training steps with glibc's default and with the
memory kept, each in a fresh child process (the setting is process-wide and cannot be undone), the settings
alternated over ``--rounds`` rounds so that a slow minute of a shared machine hits them alike. Per setting: the
median step time, and the kernel (``sys``) time and minor page faults per step.

Cases: the shipped demo G1 (``bench_train``'s "G1 (demo recipe)": body-proxy warp, paste, texture-space latent;
fresh weights) in both memory formats, and ``bench_train``'s G2 + D at 128×64.

Run: ``python benchmarks/bench_allocator.py [--rounds 2] [--steps 8]``; prints a table, writes
``benchmarks/results/bench_allocator.json``. Linux with glibc only (elsewhere there is nothing to compare).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

HERE = Path(__file__).resolve().parent

# (case name in bench_train.cases_for, channels_last)
CONFIGS = [("G1 (demo recipe)", False), ("G1 (demo recipe)", True), ("G2+D", True)]
WARMUP = 3  # steps before the clock starts: the kept heap grows to its steady size in the first ones


def child(case_name: str, channels_last: bool, keep: bool, steps: int) -> dict:
    """Time ``steps`` training steps of one case in this process; ``keep``: keep freed memory first."""
    import torch
    from bench_train import Setting, build_stage, cases_for, fixed_batch

    from posegen_lite.allocator import keep_freed_memory

    applied = keep_freed_memory() if keep else False
    device = torch.device("cpu")
    case = next(c for c in cases_for(False, device) if c.name == case_name and c.size == (128, 64))
    batch = fixed_batch(case)
    stage = build_stage(case, Setting(channels_last=channels_last), device)
    stage.train()
    for i in range(WARMUP):
        stage.train_step(batch, i)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        stage.train_step(batch, WARMUP + i)
        times.append(time.perf_counter() - t0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "applied": applied,
        "step_s": times,
        "sys_s_per_step": (after.ru_stime - usage.ru_stime) / steps,
        "user_s_per_step": (after.ru_utime - usage.ru_utime) / steps,
        "minor_faults_per_step": (after.ru_minflt - usage.ru_minflt) / steps,
    }


def run_child(case_name: str, channels_last: bool, keep: bool, steps: int) -> dict:
    cmd = [sys.executable, __file__, "--child", case_name, str(int(channels_last)), str(int(keep)), str(steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternations of all settings (default 2)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per child process (default 8)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_allocator.json")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, nhwc, keep, steps = args.child
        print(json.dumps(child(name, bool(int(nhwc)), bool(int(keep)), int(steps))))
        return []
    from posegen_lite.allocator import is_glibc

    if not is_glibc():
        print("not Linux with glibc: keep_freed_memory does nothing here, nothing to compare")
        return []
    runs: dict[tuple[str, bool, bool], list[dict]] = {}
    for r in range(args.rounds):
        for name, nhwc in CONFIGS:
            for keep in (False, True):
                print(f"round {r + 1}/{args.rounds}: {name}, {'NHWC' if nhwc else 'NCHW'}, keep={keep}", flush=True)
                runs.setdefault((name, nhwc, keep), []).append(run_child(name, nhwc, keep, args.steps))
    rows = []
    for (name, nhwc, keep), results in runs.items():
        steps = [t for res in results for t in res["step_s"]]
        rows.append(
            {
                "case": name,
                "memory_format": "NHWC" if nhwc else "NCHW",
                "keep_freed_memory": keep,
                "applied": all(res["applied"] for res in results) if keep else False,
                "median_step_s": statistics.median(steps),
                "per_round_median_step_s": [statistics.median(res["step_s"]) for res in results],
                "sys_s_per_step": statistics.mean(res["sys_s_per_step"] for res in results),
                "user_s_per_step": statistics.mean(res["user_s_per_step"] for res in results),
                "minor_faults_per_step": statistics.mean(res["minor_faults_per_step"] for res in results),
            }
        )
    base = {(r["case"], r["memory_format"]): r["median_step_s"] for r in rows if not r["keep_freed_memory"]}
    print("\n| case | format | malloc | median s/step | sys s/step | page faults/step | speed-up |")
    print("|---|---|---|--:|--:|--:|--:|")
    for r in rows:
        r["speedup_vs_default"] = base[(r["case"], r["memory_format"])] / r["median_step_s"]
        print(
            f"| {r['case']} | {r['memory_format']} | {'kept' if r['keep_freed_memory'] else 'glibc default'} | "
            f"{r['median_step_s']:.2f} | {r['sys_s_per_step']:.2f} | {r['minor_faults_per_step']:,.0f} | "
            f"{r['speedup_vs_default']:.2f}× |"
        )
    write_json(args.out, rows, rounds=args.rounds, steps=args.steps, warmup=WARMUP)
    print(f"\nwrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
