"""The shipped recipe's G1 training step, old code against new, alternated in one run (same machine, same load).

The old code is a git revision (``--ref``, default ``main``) checked out in a temporary ``git worktree``; each
side runs in its own child process that imports its tree's ``posegen_lite`` and stays resident, and the parent
asks them in turn for ``--steps`` timed steps, ``--rounds`` times (old, new, old, new, ...), so slow spells of a
shared machine hit both sides alike. Both build the demo recipe's Stage II (``configs/demo_g1_cvae.toml``: warp
"paste", a 16-channel texture-space latent, 128×64, width 16, batch 16, part-weighted L1, the cVAE's KL and
noise warm-ups; fresh weights, seed 0) on one fixed batch of synthetic pairs with the proxy's maps, with the
training loop's defaults (channels_last, fp32 on a CPU without bf16 kernels, malloc keeping freed memory).

Equal maths: both sides' losses of their first three steps (same seed, same batch) are printed and compared.
FLOPs per step are counted on each side (``FlopCounterMode``: convolutions and matrix products, forward and
backward), so GFLOP/s is each side's own count over its own time.

Run: ``python benchmarks/bench_step.py [--ref main] [--rounds 8] [--steps 2] [--threads 2] [--quick]``;
writes ``benchmarks/results/bench_step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARK = "@@bench_step "  # the child's answers on stdout start with this, so stray prints cannot confuse them


# --- the child: one tree's code, one resident Stage II ---------------------------------------------------------
def demo_stage(threads: int, channels_last: bool = True):
    """The demo recipe's Stage II with fresh weights (seed 0) and one fixed batch of 16 pairs at 128×64."""
    import torch
    from torch.utils.data import default_collate

    from posegen_lite.data.synthetic.dataset import SyntheticPairs
    from posegen_lite.data.synthetic.pairs import SyntheticConfig
    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.training.distributed import DistContext
    from posegen_lite.training.losses import DEFAULT_PART_WEIGHTS
    from posegen_lite.training.steps import Stage2

    torch.set_num_threads(threads)
    config = SyntheticConfig(size=(128, 64), train_people=16, views_per_person=1)
    batch = default_collate(SyntheticPairs(config, "train", extras=True).__getitems__(list(range(16))))
    torch.manual_seed(0)
    g1 = G1(G1Config(128, 64, base_channels=16, warp="paste", latent_channels=16, latent_surface=True))
    recipe = {"kl_weight": 2e-4, "kl_warmup": 300, "kl_free_bits": 0.25, "latent_lr_scale": 10, "noise_warmup": 300}
    ctx = DistContext(device=torch.device("cpu"))
    stage = Stage2(g1, 2e-4, (0.5, 0.999), ctx, "auto", channels_last, dict(DEFAULT_PART_WEIGHTS), **recipe)
    stage.train()
    return stage, batch


def child(threads: int, channels_last: bool) -> None:
    """Answer the parent: first the FLOPs, the first three losses and the warm-up; then ``steps N`` → times."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    try:  # what ``posegen train`` does by default (training/loop.py)
        from posegen_lite.allocator import keep_freed_memory

        keep_freed_memory()
    except ImportError:
        pass
    stage, batch = demo_stage(threads, channels_last)
    torch.manual_seed(0)
    losses = [stage.train_step(batch, i) for i in range(3)]
    counter = FlopCounterMode(display=False)
    with counter:
        stage.train_step(batch, 3)
    step = 4
    import posegen_lite

    hello = {"flops": counter.get_total_flops(), "losses": losses, "package": posegen_lite.__file__}
    print(MARK + json.dumps(hello), flush=True)
    for line in sys.stdin:
        n = int(line.split()[1])
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            stage.train_step(batch, step)
            times.append(time.perf_counter() - t0)
            step += 1
        print(MARK + json.dumps({"step_s": times}), flush=True)


# --- the parent: trees, alternation, the table ---------------------------------------------------------------
def checkout(ref: str) -> tuple[Path, str]:
    """A detached worktree of ``ref`` in a temporary folder → (path, commit); ``remove`` takes it away."""
    commit = subprocess.run(["git", "rev-parse", ref], cwd=REPO, capture_output=True, text=True, check=True)
    sha = commit.stdout.strip()
    path = Path(tempfile.gettempdir()) / f"posegen-ref-{sha[:12]}"
    if not (path / "posegen_lite").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), sha], cwd=REPO, check=True,
                       capture_output=True)  # fmt: skip
    return path, sha


def remove(tree: Path) -> None:
    """Remove a worktree ``checkout`` made (and git's record of it)."""
    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)


class Side:
    """A resident child process running this file's ``child`` with ``tree``'s package."""

    def __init__(self, name: str, tree: Path, threads: int, channels_last: bool) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--threads", str(threads)]
        if not channels_last:
            cmd.append("--nchw")
        self.name = name
        self.proc = subprocess.Popen(cmd, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hello = self._answer()

    def _answer(self) -> dict:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
        raise RuntimeError(f"the {self.name} child ended without an answer (exit {self.proc.wait()})")

    def steps(self, n: int) -> list[float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"steps {n}\n")
        self.proc.stdin.flush()
        return self._answer()["step_s"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def loss_difference(old: list[dict], new: list[dict]) -> float:
    """Largest relative difference between the two sides' losses (every term of the first steps)."""
    return max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for a, b in zip(old, new, strict=True) for k in a)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="the old code's git revision")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per side per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nchw", action="store_true", help="NCHW instead of the loop's default channels_last")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 1 step")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_step.json")
    args = parser.parse_args(argv)
    if args.child:
        child(args.threads, not args.nchw)
        return {}
    if args.quick:
        args.rounds, args.steps = 1, 1
    sys.path.insert(0, str(HERE))
    from _machine import machine_info, write_json

    old_tree, old_sha = checkout(args.ref)
    print(f"old: {args.ref} = {old_sha[:10]} ({old_tree}); new: this tree ({REPO}); load {os.getloadavg()}")
    sides = [Side("old", old_tree, args.threads, not args.nchw), Side("new", REPO, args.threads, not args.nchw)]
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    rounds = []
    try:
        for r in range(args.rounds):
            row = {"round": r + 1, "load_before": os.getloadavg()[0]}
            for side in sides:
                row[side.name] = side.steps(args.steps)
                times[side.name] += row[side.name]
            rounds.append(row)
            old_s, new_s = statistics.median(row["old"]), statistics.median(row["new"])
            print(f"round {r + 1}: old {old_s:.3f} s/step, new {new_s:.3f} s/step, load {row['load_before']:.2f}")
    finally:
        for side in sides:
            side.close()
        remove(old_tree)
    summary = {}
    for side in sides:
        median, best = statistics.median(times[side.name]), min(times[side.name])
        flops = side.hello["flops"]
        summary[side.name] = {"s_per_step_median": median, "s_per_step_best": best, "images_per_s": 16 / median,
                              "images_per_s_best": 16 / best, "gflop_per_step": flops / 1e9,
                              "gflops": flops / 1e9 / median}  # fmt: skip
    # The headline: the median over rounds of old/new within a round (paired, so a busy spell that spans a round
    # cancels); the ratio of all steps' medians and of the best steps beside it.
    paired = statistics.median(statistics.median(r["old"]) / statistics.median(r["new"]) for r in rounds)
    speedup = summary["old"]["s_per_step_median"] / summary["new"]["s_per_step_median"]
    best = summary["old"]["s_per_step_best"] / summary["new"]["s_per_step_best"]
    diff = loss_difference(sides[0].hello["losses"], sides[1].hello["losses"])
    print(f"{'':>4} {'s/step':>8} {'best':>7} {'img/s':>7} {'GFLOP/step':>11} {'GFLOP/s':>8}")
    for name, s in summary.items():
        print(f"{name:>4} {s['s_per_step_median']:8.3f} {s['s_per_step_best']:7.3f} {s['images_per_s']:7.1f} "
              f"{s['gflop_per_step']:11.1f} {s['gflops']:8.1f}")  # fmt: skip
    print(f"packages: old {sides[0].hello['package']}, new {sides[1].hello['package']}")
    print(f"new/old img/s: {paired:.2f}× (median of the rounds' ratios; all steps' medians {speedup:.2f}×, best "
          f"steps {best:.2f}×); first three steps' losses differ by at most {diff:.2e} (relative)")  # fmt: skip
    print(f"load average at the end: {os.getloadavg()}")
    result = {"ref": args.ref, "ref_commit": old_sha, "threads": args.threads, "channels_last": not args.nchw,
              "rounds": rounds, "summary": summary, "speedup_paired": paired, "speedup_median": speedup,
              "speedup_best": best, "loss_max_rel_diff": diff,
              "losses": {s.name: s.hello["losses"] for s in sides}}  # fmt: skip
    if not args.quick:
        write_json(args.out, [result], load_average_end=os.getloadavg(), machine_new=machine_info())
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
