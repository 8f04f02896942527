"""How long the notebooks' trainings take at a size tier on this machine — the figure each tier prints.

For each training notebook (02: Stage II G1, 03: Stage III G2 + D on a G1 of the tier's size) this runs the
notebook's own training call (``nb.train_config`` + ``train``, the real data pipeline included: the synthetic
people are rendered on the CPU as the notebook does) for ``--steps`` steps after a warm-up, and extrapolates
the steady-state seconds per step to the tier's step count. It also times the data pipeline alone (the same
batches and workers, no network): where that is close to a step, the GPU is waiting for the CPU. Run it on
a Colab GPU to replace the ``colab`` tier's estimate with a measurement; the JSON records the GPU's name.

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
from posegen_lite.app.tiers import data_workers
from posegen_lite.data.datasets import DataSpec
from posegen_lite.models.g1 import G1Config
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.loop import _batches, train


class _StepClock:
    """A training callback that notes when each step ended (the loss is already on the host, so the GPU's work
    for the step is done)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, step: int, losses: dict, stage) -> None:
        self.times.append(time.perf_counter())


def seconds_per_step(cfg, dataset, steps: int, warmup: int) -> float:
    """Seconds per step in the steady state: the time from the end of step ``warmup`` to the end of step
    ``warmup + steps`` of one training run — the DataLoader's start, the first steps and the final checkpoint
    are left out (on a GPU they would otherwise dominate a short measurement)."""
    cfg.steps, cfg.checkpoint_every = warmup + steps, 10**9
    clock = _StepClock()
    train(cfg, dataset, callbacks=[clock], progress=False)
    return (clock.times[-1] - clock.times[warmup - 1]) / steps


def data_seconds_per_batch(cfg, dataset, batches: int, warmup: int) -> float:
    """Seconds per batch of the training loop's own data pipeline alone (same batch size and workers): what the
    GPU waits for if the data is the bottleneck."""
    stream = _batches(dataset, cfg, DistContext(device=torch.device(cfg.device)), 0)
    for _ in range(warmup):
        next(stream)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(stream)
    return (time.perf_counter() - t0) / batches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", default=None, help="tier to time (default: the one this machine gets)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per training")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: the notebooks')")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default: results/bench_tiers_<tier>.json)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be at least 1 (the clock starts at the end of the warm-up)")
    environ = {"POSEGEN_SIZE": args.tier} if args.tier else {}
    env = nb.setup(environ=environ, verbose=False)
    s = env.sizes
    workers = data_workers(s) if args.workers is None else args.workers
    spec = DataSpec(size=s.size, people=s.people, views=s.views, seed=0)
    g1 = G1Config(*s.size, base_channels=s.width)
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        # the training sets as the notebooks get them (``nb.training_set``: GPU tiers read a compact array cache,
        # built here first, untimed, in the temporary folder)
        cache = {nb.DATA_CACHE_ENV: str(Path(runs) / "data")}
        train_set = nb.training_set(spec, env, environ=cache, verbose=False)
        g1_run = Path(runs) / "g1"
        cfg2 = nb.train_config(env, 2, "g1", g1=g1, run_dir=str(g1_run), num_workers=workers)
        rate2 = seconds_per_step(cfg2, train_set, args.steps, args.warmup)
        rows.append(("02 G1", s.steps2, rate2, data_seconds_per_batch(cfg2, train_set, args.steps, args.warmup)))
        weights = nb.demo_weights()
        cfg3 = nb.train_config(env, 3, "g2", g1=g1, g1_checkpoint=str(g1_run), run_dir=str(Path(runs) / "g2"),
                               num_workers=workers, **nb.stage3_settings(g1, weights))  # fmt: skip
        # notebook 03's G2 reads the body proxy's maps: its data carries them (extras), as the notebook's does
        extras_spec = DataSpec(size=s.size, people=s.people, views=s.views, seed=0, extras=True)
        extras_set = nb.training_set(extras_spec, env, environ=cache, verbose=False)
        rate3 = seconds_per_step(cfg3, extras_set, args.steps, args.warmup)
        rows.append(("03 G2+D", s.steps3, rate3, data_seconds_per_batch(cfg3, extras_set, args.steps, args.warmup)))
    device = torch.cuda.get_device_name(0) if env.device.type == "cuda" else "CPU"
    print(f"tier {s.name} on {device} ({env.device}), batch {s.batch}, {s.size[0]}×{s.size[1]}, width {s.width}, "
          f"{workers} DataLoader workers")  # fmt: skip
    print(f"{'training':10s} {'steps':>6s} {'s/step':>8s} {'minutes':>8s} {'data alone s/batch':>19s}")
    for name, steps, rate, data in rows:
        print(f"{name:10s} {steps:6d} {rate:8.3f} {steps * rate / 60:8.1f} {data:19.3f}")
    rows_json = [
        {"training": n, "steps": st, "seconds_per_step": r, "minutes": st * r / 60, "data_seconds_per_batch": d}
        for n, st, r, d in rows
    ]
    out = args.out or Path(__file__).resolve().parent / "results" / f"bench_tiers_{s.name}.json"
    write_json(out, rows_json, device=device, tier=s.name, workers=workers, batch=s.batch, size=list(s.size),
               width=s.width)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
