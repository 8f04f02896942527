"""What 2 DataLoader workers deliver at the `colab` tier's size and batch, against what its G1 step consumes on a GPU.

The `colab` tier trains notebook 02's G1 at 128×64, batch 32, 2 workers (``app/tiers.py``); on an H100 it ran 3,000
steps in 163 s (benchmarks/notes/2026-11-h100-session.md): **589 pairs/s**, the need; the goal is 3× that. Each
source is read as the training loop reads it (a shuffled DataLoader over ``SyntheticPairs``, batch 32), timed over
``--batches`` batches after the first: ``render`` (on the fly, the default), ``PNG cache`` (``DataSpec.cache``),
``array cache`` (``cache_arrays``: memory-mapped arrays) and ``compact arrays`` (what ``posegen train
--cache-arrays`` reads, ``data/compact.py``), whose batches are ``expanded`` here on the CPU by ``expand_batch``
(conservative: a GPU trainer expands on the GPU) or ``copied`` once (as the trainer's ``pin_memory`` does).
0 workers: read in this process. Each row also gives the CPU ms per batch of this process and of the workers
(less load-dependent than the rate); then a per-batch profile in this process (indexing, collate, expansion).

Run: ``python benchmarks/bench_data.py [--batches 40] [--workers 2] [--people 40]``; writes
``benchmarks/results/bench_data.json`` with the load average (2 shared cores: rates are lower bounds of what 2
idle cores deliver). The caches are built in a temporary folder first, untimed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, default_collate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import write_json  # noqa: E402

from posegen_lite.app.tiers import TIERS  # noqa: E402
from posegen_lite.data.compact import expand_batch  # noqa: E402
from posegen_lite.data.synthetic.dataset import SyntheticPairs  # noqa: E402
from posegen_lite.data.synthetic.pairs import SyntheticConfig  # noqa: E402

GPU_PAIRS_PER_S = 32 * 3000 / 163  # the colab tier's G1 on an H100: 3,000 steps of 32 pairs in 163 s
GOAL = 3.0


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _copied(batch: dict) -> None:
    for value in batch.values():
        if torch.is_tensor(value):
            value.clone()


AFTER = {"": None, "expanded": expand_batch, "copied": _copied}  # what the main process does with each batch


def pairs_per_second(dataset, batch: int, workers: int, batches: int, after: str = "") -> dict[str, float]:
    """Pairs per second of a shuffled DataLoader over ``dataset``, timed over ``batches`` batches after the
    first (the workers' start-up is left out), cycling over epochs if the set is small, each batch handled as
    ``AFTER[after]`` says in this process; with the CPU ms per batch of this process and of the workers."""
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
                        generator=generator, persistent_workers=workers > 0)  # fmt: skip
    stream = iter(loader)
    next(stream)
    pids = [w.pid for w in getattr(stream, "_workers", [])]  # the iterator's worker processes (private)
    handle = AFTER[after]
    t0, main0, workers0, seen = time.perf_counter(), time.process_time(), sum(map(_cpu_s, pids)), 0
    while seen < batches:
        try:
            got = next(stream)
        except StopIteration:
            stream = iter(loader)  # persistent workers: the same processes
            continue
        if handle is not None:
            handle(got)
        seen += 1
    wall = time.perf_counter() - t0
    return {"pairs_per_s": batches * batch / wall, "main_cpu_ms": 1e3 * (time.process_time() - main0) / batches,
            "workers_cpu_ms": 1e3 * (sum(map(_cpu_s, pids)) - workers0) / batches}  # fmt: skip


def per_batch_ms(dataset, batch: int, repeats: int) -> dict[str, float]:
    """Milliseconds per batch of ``batch`` pairs in this process, phase by phase: ``__getitems__`` (the worker's
    indexing), ``default_collate`` (stacking, which a worker does into shared memory), ``expand_batch``."""
    generator = torch.Generator().manual_seed(1)
    picks = [torch.randperm(len(dataset), generator=generator)[:batch].tolist() for _ in range(repeats)]
    out = {"index": 0.0, "collate": 0.0, "expand": 0.0}
    for indices in picks:
        t0 = time.perf_counter()
        samples = dataset.__getitems__(indices)
        t1 = time.perf_counter()
        collated = default_collate(samples)
        t2 = time.perf_counter()
        expand_batch(collated)
        t3 = time.perf_counter()
        for key, took in zip(out, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            out[key] += 1e3 * took / repeats
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--workers", type=int, default=TIERS["colab"].workers)
    parser.add_argument("--people", type=int, default=40, help="training people in the set (8 pairs each)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_data.json")
    args = parser.parse_args()
    tier = TIERS["colab"]
    config = SyntheticConfig(size=tier.size, train_people=args.people, views_per_person=tier.views,
                             val_people=8, test_people=8, hard_people=8)  # fmt: skip
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="posegen-bench-data-") as cache:
        t0 = time.perf_counter()
        SyntheticPairs(config, "train", cache_dir=cache, arrays=True)  # renders the PNGs, then packs the arrays
        build_s = time.perf_counter() - t0
        sources = {
            "render": SyntheticPairs(config, "train"),
            "PNG cache": SyntheticPairs(config, "train", cache_dir=cache),
            "array cache": SyntheticPairs(config, "train", cache_dir=cache, arrays=True),
            "compact arrays": SyntheticPairs(config, "train", cache_dir=cache, arrays=True, compact=True),
        }
        print(f"colab tier: {tier.size[0]}×{tier.size[1]}, batch {tier.batch}, {args.workers} workers; GPU need "
              f"{GPU_PAIRS_PER_S:.0f} pairs/s, goal {GOAL:.0f}× = {GOAL * GPU_PAIRS_PER_S:.0f}")  # fmt: skip
        print(f"{'source':14s} {'handled':>8s} {'workers':>7s} {'pairs/s':>8s} {'× need':>7s} {'main ms':>8s}"
              f" {'workers ms':>10s}")  # fmt: skip
        # the last rows: the arrays read in the training process itself (0 workers), what a batch costs the CPU
        runs = [(name, "", args.workers) for name in sources if name != "compact arrays"]
        runs += [("compact arrays", "expanded", args.workers), ("compact arrays", "copied", args.workers)]
        runs += [("array cache", "", 0), ("compact arrays", "expanded", 0)]
        for name, after, workers in runs:
            row = pairs_per_second(sources[name], tier.batch, workers, args.batches, after)
            rows.append({"source": name, "handled": after, "workers": workers, **row,
                         "times_gpu_need": row["pairs_per_s"] / GPU_PAIRS_PER_S})  # fmt: skip
            print(f"{name:14s} {after:>8s} {workers:7d} {row['pairs_per_s']:8.0f} {rows[-1]['times_gpu_need']:7.2f} "
                  f"{row['main_cpu_ms']:8.1f} {row['workers_cpu_ms']:10.1f}", flush=True)  # fmt: skip
        profile = {name: per_batch_ms(sources[name], tier.batch, args.batches) for name in ("array cache",
                   "compact arrays")}  # fmt: skip
    load_after = os.getloadavg()
    for name, phases in profile.items():
        text = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
        print(f"{name}: ms per batch of {tier.batch} in this process (CPU): {text}")
    expand_rate = tier.batch / (profile["compact arrays"]["expand"] / 1e3)
    print(f"expand_batch alone on the CPU: {expand_rate:.0f} pairs/s ({expand_rate / GPU_PAIRS_PER_S:.1f}× need)")
    print(f"cache built (render + PNGs + arrays, {len(sources['render'])} pairs) in {build_s:.1f} s")
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    print(write_json(args.out, rows, load_before=load_before, load_after=load_after, workers=args.workers,
                     batch=tier.batch, size=list(tier.size), pairs=len(sources["render"]), build_s=build_s,
                     gpu_pairs_per_s=GPU_PAIRS_PER_S, goal=GOAL, profile_ms=profile,
                     expand_pairs_per_s=expand_rate))  # fmt: skip


if __name__ == "__main__":
    main()
