"""How long the notebooks' trainings take at a size tier on this machine — the figure each tier prints.

For each training notebook (02: Stage II G1, 03: Stage III G2 + D on a G1 of the tier's size) this runs the
notebook's own training call (``nb.train_config`` + ``train``, the real data pipeline included: the synthetic
people are rendered on the CPU as the notebook does) for ``--steps`` steps after a warm-up, and extrapolates
the measured seconds per step to the tier's step count. Run it on a Colab GPU to replace the ``colab`` tier's
estimate with a measurement; the JSON records the GPU's name.

Run: ``python benchmarks/bench_tiers.py [--tier colab] [--steps 30]``; prints a table, writes
``benchmarks/results/bench_tiers_<tier>.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.app import notebook as nb
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.models.g1 import G1Config
from posegen_lite.training.loop import train


def seconds_per_step(cfg, dataset, steps: int, warmup: int) -> float:
    """Seconds per step: wall time of ``steps`` steps after ``warmup`` steps (no checkpoints in between)."""
    cfg.steps, cfg.checkpoint_every = warmup, 10**9
    train(cfg, dataset, progress=False)
    cfg.steps = warmup + steps
    if cfg.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train(cfg, dataset, progress=False)  # resumes after the warm-up (the warm-up's final checkpoint)
    if cfg.device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", default=None, help="tier to time (default: the one this machine gets)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per training")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    environ = {"POSEGEN_SIZE": args.tier} if args.tier else {}
    env = nb.setup(environ=environ, verbose=False)
    s = env.sizes
    spec = DataSpec(size=s.size, people=s.people, views=s.views, seed=0)
    train_set = build_dataset(spec, "train")
    g1 = G1Config(*s.size, base_channels=s.width)
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        g1_run = Path(runs) / "g1"
        cfg2 = nb.train_config(env, 2, "g1", g1=g1, run_dir=str(g1_run))
        rate2 = seconds_per_step(cfg2, train_set, args.steps, args.warmup)
        rows.append(("02 G1", s.steps2, rate2))
        weights = nb.demo_weights()
        cfg3 = nb.train_config(env, 3, "g2", g1=g1, g1_checkpoint=str(g1_run), run_dir=str(Path(runs) / "g2"),
                               **nb.stage3_settings(g1, weights))  # fmt: skip
        rate3 = seconds_per_step(cfg3, train_set, args.steps, args.warmup)
        rows.append(("03 G2+D", s.steps3, rate3))
    device = torch.cuda.get_device_name(0) if env.device.type == "cuda" else "CPU"
    print(f"tier {s.name} on {device} ({env.device}), batch {s.batch}, {s.size[0]}×{s.size[1]}, width {s.width}")
    print(f"{'training':10s} {'steps':>6s} {'s/step':>8s} {'minutes':>8s}")
    for name, steps, rate in rows:
        print(f"{name:10s} {steps:6d} {rate:8.3f} {steps * rate / 60:8.1f}")
    rows_json = [{"training": n, "steps": st, "seconds_per_step": r, "minutes": st * r / 60} for n, st, r in rows]
    write_json(Path(__file__).resolve().parent / "results" / f"bench_tiers_{s.name}.json", rows_json,
               device=device, tier=s.name, batch=s.batch, size=list(s.size), width=s.width)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
