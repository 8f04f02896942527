"""Stage II training steps per second with 1 vs 2 processes (DistributedDataParallel, gloo, CPU).

Each configuration runs ``training.loop.train`` for a few steps in freshly spawned processes, the way ``torchrun``
would launch them (``RANK`` / ``WORLD_SIZE`` / ``MASTER_*`` on the loopback interface; a single process gets
no ``WORLD_SIZE`` and takes the plain path). A callback stamps the time of every step on rank 0; the rate is
measured after two warm-up steps, so process start, process-group setup and the final checkpoint are
excluded. With 2 processes every step trains on twice as many images (``batch_size`` is per process),
so images/s is the fair comparison. On 2 CPU cores the point of the 2-process run is correctness
(``tests/test_distributed.py``); the figure is for the record.

Run: ``python benchmarks/bench_ddp.py [--quick]``; prints a table, writes ``benchmarks/results/bench_ddp.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp
from torch.utils.data import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

WARMUP_STEPS = 2


class RandomPairs(Dataset):
    """``n`` fixed random samples following the pair-sample contract (no rendering: the loop is measured)."""

    def __init__(self, n: int, height: int, width: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.a = torch.rand(n, 3, height, width, generator=g) * 2 - 1
        self.b = torch.rand(n, 3, height, width, generator=g) * 2 - 1
        self.pose = torch.rand(n, 18, height, width, generator=g) * 2 - 1
        self.mask = (torch.rand(n, 1, height, width, generator=g) > 0.5).float()

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        return {
            "image_a": self.a[i],
            "image_b": self.b[i],
            "pose_b": self.pose[i],
            "mask_b": self.mask[i],
            "keypoints_b": torch.full((18, 2), math.nan),
            "visible_b": torch.zeros(18, dtype=torch.bool),
            "yaw": 0.0,
            "person_id": f"p{i}",
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, spec: dict, out_dir: str) -> None:
    if world > 1:
        os.environ.update(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            GLOO_SOCKET_IFNAME="lo",
            POSEGEN_DIST_TIMEOUT_S="300",
        )
    torch.set_num_threads(spec["threads"])
    from posegen_lite.models.g1 import G1Config
    from posegen_lite.training.loop import TrainConfig, train

    h, w = spec["size"]
    cfg = TrainConfig(
        stage=2,
        run_dir=str(Path(out_dir) / "run"),
        steps=spec["steps"],
        batch_size=spec["batch"],
        device="cpu",
        precision="fp32",
        checkpoint_every=10**6,
        val_every=10**6,
        resume=False,
        g1=G1Config(h, w, base_channels=spec["width"]),
    )
    stamps: list[float] = []
    train(
        cfg,
        RandomPairs(64, h, w),
        callbacks=[lambda step, losses, stage: stamps.append(time.perf_counter())],
        progress=False,
    )
    (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps({"stamps": stamps}))


def run_config(processes: int, spec: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        mp.start_processes(
            _worker, args=(processes, _free_port(), spec, tmp), nprocs=processes, join=True, start_method="spawn"
        )
        wall = time.perf_counter() - t0
        stamps = json.loads((Path(tmp) / "rank0.json").read_text())["stamps"]
    gaps = [b - a for a, b in zip(stamps[WARMUP_STEPS:], stamps[WARMUP_STEPS + 1 :], strict=False)]
    steps_per_s = 1.0 / statistics.median(gaps)
    return {
        "processes": processes,
        **spec,
        "size": f"{spec['size'][0]}x{spec['size'][1]}",
        "timed_steps": len(gaps),
        "steps_per_s": steps_per_s,
        "images_per_s": steps_per_s * spec["batch"] * processes,
        "mean_steps_per_s": len(gaps) / (stamps[-1] - stamps[WARMUP_STEPS]),
        "wall_s_incl_startup": wall,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32×32, width 8, 10 steps")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "bench_ddp.json")
    args = parser.parse_args(argv)
    if not torch.distributed.is_available():
        sys.exit("torch was built without torch.distributed")
    base = (
        {"size": (32, 32), "width": 8, "batch": 8, "steps": 10}
        if args.quick
        else {"size": (64, 64), "width": 16, "batch": 8, "steps": 22}
    )
    info = machine_info()
    print(
        f"{info['cpu']} · {info['usable_cores']} cores · torch {info['torch']} · load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'processes':>9} {'threads each':>12} {'size':>6} {'batch/proc':>10} {'steps/s':>8} {'images/s':>9}")
    rows = []
    for processes, threads in ((1, 1), (1, 2), (2, 1)):
        row = run_config(processes, {**base, "threads": threads})
        rows.append(row)
        print(
            f"{processes:>9} {threads:>12} {row['size']:>6} {row['batch']:>10} {row['steps_per_s']:8.2f} "
            f"{row['images_per_s']:9.1f}"
        )
    path = write_json(
        args.out,
        rows,
        load_average_end=os.getloadavg(),
        note="Stage II, fp32, gloo on loopback; median step rate on rank 0 after 2 warm-up steps; "
        "the CPU may be shared with other work",
    )
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
