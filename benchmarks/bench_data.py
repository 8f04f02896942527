"""What 2 DataLoader workers deliver at the `colab` tier's size and batch, against what its G1 step consumes on a GPU.

The `colab` tier trains notebook 02's G1 at 128×64, batch 32, with 2 DataLoader workers (``app/tiers.py``). Its
G1 step on a GPU: 3,000 steps in 163 s on an H100 (benchmarks/notes/2026-11-h100-session.md), about 18.4 steps/s,
so **589 pairs/s**; the goal is 3× that. Each source below is read as the training loop reads it (a DataLoader
over ``SyntheticPairs``, batch 32, shuffled, ``__getitems__`` per batch), ``--batches`` batches after one warm-up
epoch-start:

* ``render``: the synthetic people rendered on the fly (the default);
* ``PNG cache``: the on-disk cache (``posegen synth`` / ``DataSpec.cache``), PNGs decoded and pose maps drawn;
* ``array cache``: the same cache as memory-mapped arrays (``data/synthetic/arrays.py``, ``cache_arrays``), also
  read with 0 workers (in the training process: what the reading itself costs, without the workers' transfer).

Run: ``python benchmarks/bench_data.py [--batches 40] [--workers 2] [--people 40]``; prints a table and writes
``benchmarks/results/bench_data.json`` with the load average of the run (2 shared cores: figures are lower bounds
of what 2 idle cores deliver). The caches are built in a temporary folder first, untimed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import write_json  # noqa: E402

from posegen_lite.app.tiers import TIERS  # noqa: E402
from posegen_lite.data.synthetic.dataset import SyntheticPairs  # noqa: E402
from posegen_lite.data.synthetic.pairs import SyntheticConfig  # noqa: E402

GPU_PAIRS_PER_S = 32 * 3000 / 163  # the colab tier's G1 on an H100: 3,000 steps of 32 pairs in 163 s
GOAL = 3.0


def pairs_per_second(dataset, batch: int, workers: int, batches: int) -> float:
    """Pairs per second of a shuffled DataLoader over ``dataset``, timed over ``batches`` batches after the
    first (the workers' start-up is left out), cycling over epochs if the set is small."""
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
                        generator=generator, persistent_workers=workers > 0)  # fmt: skip
    stream = iter(loader)
    next(stream)
    t0, seen = time.perf_counter(), 0
    while seen < batches:
        try:
            next(stream)
        except StopIteration:
            stream = iter(loader)
            continue
        seen += 1
    return batches * batch / (time.perf_counter() - t0)


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
        }
        print(f"colab tier: {tier.size[0]}×{tier.size[1]}, batch {tier.batch}, {args.workers} workers; GPU need "
              f"{GPU_PAIRS_PER_S:.0f} pairs/s, goal {GOAL:.0f}× = {GOAL * GPU_PAIRS_PER_S:.0f}")  # fmt: skip
        print(f"{'source':12s} {'workers':>7s} {'pairs/s':>8s} {'× GPU need':>10s}")
        # the last row: the arrays read in the training process itself (0 workers), what a batch costs the CPU
        runs = [(name, dataset, args.workers) for name, dataset in sources.items()]
        for name, dataset, workers in [*runs, ("array cache", sources["array cache"], 0)]:
            rate = pairs_per_second(dataset, tier.batch, workers, args.batches)
            rows.append({"source": name, "workers": workers, "pairs_per_s": rate,
                         "times_gpu_need": rate / GPU_PAIRS_PER_S})  # fmt: skip
            print(f"{name:12s} {workers:7d} {rate:8.0f} {rate / GPU_PAIRS_PER_S:10.2f}", flush=True)
    load_after = os.getloadavg()
    print(f"cache built (render + PNGs + arrays, {len(sources['render'])} pairs) in {build_s:.1f} s")
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    print(write_json(args.out, rows, load_before=load_before, load_after=load_after, workers=args.workers,
                     batch=tier.batch, size=list(tier.size), pairs=len(sources["render"]), build_s=build_s,
                     gpu_pairs_per_s=GPU_PAIRS_PER_S, goal=GOAL))  # fmt: skip


if __name__ == "__main__":
    main()
