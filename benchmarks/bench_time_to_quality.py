"""Time to quality: the shipped G1 recipe trained for a fixed time, then scored on the validation split.

A faster training step is worth what it buys: more steps in the same time, so a lower error. This trains the demo
G1's recipe (``configs/demo_g1_cvae.toml``: its ``[g1]``, ``[cvae]``, part weights, lr and batch; fresh weights,
not ``init_g1``) with the training loop's API (``training.loop.train``, ``max_minutes``) for ``--minutes`` of
wall-clock time on ``--threads`` cores, then scores masked L1 (and the protocol's other leading numbers) on the
validation split with ``evaluation.protocol.evaluate``. ``--ref REV`` also runs a git revision's code (a
temporary ``git worktree``, a child process) the same way, on the same data: one after the other, or with
``--together`` both at once on one thread each, so that a shared machine's load falls on both alike.

The data: ``--pool`` training pairs and ``--val`` validation pairs (evenly spaced over the split) of the recipe's
synthetic dataset (128×64, with the proxy's maps), rendered once before any clock starts, so rendering (about as
slow as a training step on 2 cores) does not dilute the comparison; the recipe itself reads a pre-rendered cache.
The recipe's full run took 63–87 minutes; a few minutes show only the early part of the curve.

Run: ``python benchmarks/bench_time_to_quality.py --minutes 3 [--ref main] [--quick]``; prints a table, writes
``benchmarks/results/bench_time_to_quality.json`` (not in ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RECIPE = REPO / "configs" / "demo_g1_cvae.toml"
MARK = "@@ttq "
LEADING = ("masked_l1", "masked_l1_unseen", "bbox_ssim")


def read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def recipe_config(run_dir: Path, minutes: float):
    """The recipe's ``TrainConfig`` with fresh weights, stopping after ``minutes`` (never at a step count)."""
    from posegen_lite.models.g1 import G1Config
    from posegen_lite.training.config import CVAETrainConfig, TrainConfig, parse_part_weights

    recipe = read_toml(RECIPE)
    h, w = (int(v) for v in recipe["data"]["size"].split("x"))
    return TrainConfig(
        stage=int(recipe["stage"]),
        run_dir=str(run_dir),
        steps=10**7,
        max_minutes=minutes,
        checkpoint_every=10**7,
        val_every=10**7,
        resume=False,
        device="cpu",
        part_weights=parse_part_weights(recipe["part_weights"]),
        g1=G1Config(h, w, **recipe["g1"]),
        cvae=CVAETrainConfig(**recipe["cvae"]),
    )


class Pairs:
    """A list of pre-rendered pair samples as a map-style dataset."""

    def __init__(self, samples: list[dict]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        return self.samples[index]


def render(pool: int, val: int, path: Path) -> None:
    """``pool`` training and ``val`` validation pairs of the recipe's dataset, evenly spaced, saved to ``path``."""
    import torch

    from posegen_lite.data.datasets import DataSpec, build_dataset
    from posegen_lite.evaluation.protocol import sample_indices

    data = read_toml(RECIPE)["data"]
    h, w = (int(v) for v in data["size"].split("x"))
    spec = DataSpec(size=(h, w), people=int(data["people"]), views=int(data["views"]), extras=True)
    out = {}
    for split, n in (("train", pool), ("val", val)):
        dataset = build_dataset(spec, split)
        out[split] = [dataset[i] for i in sample_indices(len(dataset), n)]
    torch.save(out, path)


def child(data_path: Path, minutes: float, threads: int) -> None:
    """Train this tree's code for ``minutes``, score on the validation pairs, answer one JSON line."""
    import torch

    from posegen_lite.evaluation.predictors import G1Predictor
    from posegen_lite.evaluation.protocol import evaluate
    from posegen_lite.training.loop import train

    torch.set_num_threads(threads)
    data = torch.load(data_path, weights_only=False)
    with tempfile.TemporaryDirectory() as run_dir:
        t0 = time.perf_counter()
        result = train(recipe_config(Path(run_dir), minutes), Pairs(data["train"]), progress=False)
        seconds = time.perf_counter() - t0
    g1 = result.stage.models["g1"]
    scores = evaluate({"G1": G1Predictor(g1)}, Pairs(data["val"]), batch_size=16, progress=False, split="val")
    last = result.history[-10:]
    answer = {
        "steps": result.step,
        "train_s": seconds,
        "s_per_step": seconds / max(result.step, 1),  # with the loop's start-up and its last checkpoint
        "train_l1_last10": sum(h["l1"] for h in last) / max(len(last), 1),
        "val": {m: scores.mean("G1", m) for m in LEADING},
        "val_pairs": len(data["val"]),
    }
    print(MARK + json.dumps(answer), flush=True)


def start_side(tree: Path, data_path: Path, minutes: float, threads: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(data_path), "--minutes", str(minutes),
           "--threads", str(threads)]  # fmt: skip
    return subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_side(proc: subprocess.Popen, tree: Path) -> dict:
    stdout, stderr = proc.communicate()
    for line in stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(f"the child in {tree} failed (exit {proc.returncode}):\n{stderr[-2000:]}")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training time per side (wall clock)")
    parser.add_argument("--ref", help="also run this git revision's code the same way (e.g. main)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pool", type=int, default=512, help="pre-rendered training pairs")
    parser.add_argument("--val", type=int, default=64, help="validation pairs scored")
    parser.add_argument("--together", action="store_true",
                        help="with --ref: run both sides at the same time, one thread each (equal shares of a "
                        "shared machine)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke run: 0.2 minutes, 32 + 16 pairs")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_time_to_quality.json")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.minutes, args.threads)
        return []
    if args.quick:
        args.minutes, args.pool, args.val = 0.2, 32, 16
    sys.path.insert(0, str(HERE))
    from _machine import write_json
    from bench_step import checkout, remove

    sides = [("new", REPO, "this tree")]
    if args.ref:
        tree, sha = checkout(args.ref)
        sides.insert(0, ("old", tree, f"{args.ref} = {sha[:10]}"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "pairs.pt"
        t0 = time.perf_counter()
        render(args.pool, args.val, data_path)
        print(f"rendered {args.pool} + {args.val} pairs in {time.perf_counter() - t0:.0f} s; load {os.getloadavg()}")
        threads = 1 if args.together else args.threads
        load = os.getloadavg()
        procs = {}
        for name, tree, _label in sides:
            procs[name] = start_side(tree, data_path, args.minutes, threads)
            if not args.together:
                procs[name] = finish_side(procs[name], tree)
        for name, tree, label in sides:
            answer = procs[name] if isinstance(procs[name], dict) else finish_side(procs[name], tree)
            row = {"side": name, "code": label, "minutes": args.minutes, "threads": threads, "load_before": load,
                   "together": args.together, **answer, "load_after": os.getloadavg()}  # fmt: skip
            rows.append(row)
            if name == "old":
                remove(tree)
            print(f"{name}: {row['steps']} steps, {row['s_per_step']:.2f} s/step, val L1 in mask "
                  f"{row['val']['masked_l1']:.4f}, load {load[0]:.2f} → {row['load_after'][0]:.2f}")  # fmt: skip
    print(
        f"\n{'code':>24} {'min':>5} {'steps':>6} {'s/step':>7} {'train L1':>9} " + " ".join(f"{m:>17}" for m in LEADING)
    )
    for r in rows:
        vals = " ".join(f"{r['val'][m]:17.4f}" for m in LEADING)
        head = f"{r['code']:>24} {r['minutes']:5.1f} {r['steps']:6d} {r['s_per_step']:7.2f}"
        print(f"{head} {r['train_l1_last10']:9.4f} {vals}")
    if not args.quick:
        note = f"{args.pool} training pairs pre-rendered; {args.val} validation pairs; wall-clock minutes"
        write_json(args.out, rows, note=note, threads=threads)
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
