"""Training throughput of Stage II (G1) and Stage III (G2 + D) per image size, and which settings help.

For each case (network, size, width, batch) one real training step (``training.steps.Stage2/Stage3.train_step``:
forward, masked L1 / adversarial loss, backward, Adam) is timed on a fixed batch of synthetic pairs (the
renderer's own speed is ``bench_render.py``), under each setting:

* ``threads`` — ``torch.set_num_threads`` (CPU only);
* ``channels_last`` — NHWC memory format for weights and inputs (oneDNN's preferred layout);
* ``precision`` — fp32, or bf16 autocast (CPU/CUDA), fp16 autocast with loss scaling (CUDA: "AMP");
* ``compile`` — ``torch.compile`` of the trained generator (64×64 only; the first step, which compiles,
  is reported separately).

FLOPs of one step are counted once per case with ``torch.utils.flop_counter.FlopCounterMode`` (matrix
multiplications and convolutions, forward and backward; Adam's elementwise work is not counted), so
``GFLOP/s`` = counted FLOPs / step time. A setting "helps" when its median rate beats the baseline's best
run — a difference larger than the run-to-run noise of a shared machine.

The "G1 (demo recipe)" case is the shipped demo G1's configuration (body-proxy warp, paste, texture-space
latent; fresh weights) on a batch carrying the proxy's maps, with the part-weighted L1.

Run: ``python benchmarks/bench_train.py [--quick] [--device cpu|cuda] [--no-compile] [--only NAME]``; prints a
table, writes ``benchmarks/results/bench_train.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import default_collate
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.data.synthetic.pairs import SyntheticConfig
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config, count_parameters
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.losses import DEFAULT_PART_WEIGHTS
from posegen_lite.training.steps import Stage2, Stage3


@dataclass(frozen=True)
class Case:
    """One network configuration: Stage II (G1) or III (G2 + D with a frozen G1), size, width, batch."""

    name: str
    stage: int
    size: tuple[int, int]
    width: int
    batch: int
    steps: int  # timed steps per setting (after warm-up)
    demo: bool = False  # G1 as the shipped demo weights configure it (warp, paste, cVAE), fresh weights


def _demo_g1_config(case: Case) -> G1Config:
    """The shipped demo G1's config (body-proxy warp, paste, texture-space latent) at ``case``'s width."""
    from dataclasses import replace

    from posegen_lite.app.notebook import g1_config_of
    from posegen_lite.resources import demo_weights

    return replace(g1_config_of(demo_weights()), base_channels=case.width)


@dataclass(frozen=True)
class Setting:
    threads: int | None = None  # None: leave torch's default
    channels_last: bool = False
    precision: str = "fp32"
    compile: bool = False

    @property
    def label(self) -> str:
        parts = [
            f"{self.threads}t" if self.threads else "",
            "NHWC" if self.channels_last else "",
            self.precision if self.precision != "fp32" else "",
            "compile" if self.compile else "",
        ]
        return " ".join(p for p in parts if p) or "fp32"


def build_stage(case: Case, setting: Setting, device: torch.device):
    torch.manual_seed(0)
    h, w = case.size
    ctx = DistContext(device=device)
    g1 = G1(_demo_g1_config(case) if case.demo else G1Config(h, w, base_channels=case.width))
    if case.stage == 2:
        parts = dict(DEFAULT_PART_WEIGHTS) if case.demo else None  # the demo recipe's part-weighted L1
        stage = Stage2(g1, 2e-4, (0.5, 0.999), ctx, setting.precision, setting.channels_last, part_weights=parts)
        trained = "g1"
    else:
        stage = Stage3(
            g1,
            G2(G2Config(h, w, base_channels=case.width)),
            Discriminator(DiscriminatorConfig(h, w)),
            lr=2e-4,
            d_lr=2e-4,
            betas=(0.5, 0.999),
            ctx=ctx,
            precision=setting.precision,
            channels_last=setting.channels_last,
        )
        trained = "g2"
    if setting.compile:
        stage.models[trained] = torch.compile(stage.models[trained])
    return stage


def parameters(case: Case) -> int:
    h, w = case.size
    n = count_parameters(G1(_demo_g1_config(case) if case.demo else G1Config(h, w, base_channels=case.width)))
    if case.stage == 3:  # what is trained: G2 and D (G1 frozen)
        n = count_parameters(G2(G2Config(h, w, base_channels=case.width))) + count_parameters(
            Discriminator(DiscriminatorConfig(h, w))
        )
    return n


def fixed_batch(case: Case) -> dict:
    config = SyntheticConfig(size=case.size, train_people=max(1, case.batch), views_per_person=1)
    pairs = SyntheticPairs(config, "train", extras=case.demo)  # the demo G1 reads the body proxy's maps
    return default_collate(pairs.__getitems__(list(range(case.batch))))


def count_flops(case: Case, batch: dict, device: torch.device) -> int:
    stage = build_stage(case, Setting(), device)  # on the benchmark's device: PG2's width is slow on a CPU
    counter = FlopCounterMode(display=False)
    with counter:
        stage.train_step(batch, 0)
    return counter.get_total_flops()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(case: Case, setting: Setting, batch: dict, device: torch.device, steps: int, warmup: int = 2) -> dict:
    """Warm up, then time ``steps`` training steps one by one; returns the step times and the first step's
    (which also creates Adam's state, oneDNN's kernels and, with ``compile``, the compiled graph)."""
    if setting.threads:
        torch.set_num_threads(setting.threads)
    stage = build_stage(case, setting, device)
    stage.train()
    t0 = time.perf_counter()
    stage.train_step(batch, 0)  # first step: allocations, oneDNN primitive creation, compilation
    _sync(device)
    first = time.perf_counter() - t0
    if warmup > 1:
        stage.train_step(batch, 1)  # a second warm-up step where steps are cheap
    times = []
    for i in range(steps):
        _sync(device)
        t0 = time.perf_counter()
        stage.train_step(batch, 2 + i)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return {"first_step_s": first, "step_s": times}


def settings_for(
    case: Case, device: torch.device, quick: bool, max_threads: int, compile_: bool = True
) -> list[tuple[Setting, int]]:
    """(setting, timed steps) pairs: the baseline first, then one change at a time (``compile_=False``: no
    ``torch.compile`` row, which spends a minute or more compiling)."""
    n = case.steps
    if device.type == "cuda":
        out = [
            (Setting(), n),
            (Setting(channels_last=True), n),
            (Setting(precision="fp16"), n),
            (Setting(precision="bf16"), n),
            (Setting(channels_last=True, precision="bf16"), n),
        ]
        if case.size == (64, 64) and not quick and compile_:
            out.append((Setting(compile=True), n))
        return out
    base = Setting(threads=max_threads)
    out = [(base, n), (Setting(threads=max_threads, channels_last=True), n)]
    if max_threads > 1:
        out.append((Setting(threads=1), n))
    if quick:
        return out
    # bf16 without AVX512-BF16 runs reference kernels (≈20× slower): a couple of steps, and not at PG2's
    # width, where one fp32 step already takes ~10 s on 2 cores.
    if case.width < 64:
        out.append((Setting(threads=max_threads, precision="bf16"), 2))
    if case.size == (64, 64) and compile_:
        out.append((Setting(threads=max_threads, compile=True), n))
    return out


def cases_for(quick: bool, device: torch.device) -> list[Case]:
    cpu = device.type == "cpu"
    big_batch, big_steps = (2, 2) if cpu else (16, 10)  # PG2's width on 2 CPU cores: ~10 s per 2-image step
    if quick:
        return [Case("G1", 2, (64, 64), 16, 16, 2), Case("G2+D", 3, (64, 64), 16, 8, 2)]
    return [
        Case("G1", 2, (64, 64), 16, 16, 10),
        Case("G1", 2, (128, 64), 16, 16, 6),
        Case("G1 (demo recipe)", 2, (128, 64), 16, 16, 6, demo=True),
        Case("G1 (PG2 width)", 2, (128, 64), 128, big_batch, big_steps),
        Case("G2+D", 3, (64, 64), 16, 16, 8),
        Case("G2+D", 3, (128, 64), 16, 16, 5),
        Case("G2+D (PG2 width)", 3, (128, 64), 128, big_batch, big_steps),
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (about a minute on 2 cores)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--only", help="run only the cases whose name contains this text (e.g. 'demo recipe')")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "bench_train.json")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    max_threads = torch.get_num_threads()
    info = machine_info()
    print(
        f"{info['cpu']} · {info['usable_cores']} cores · torch {info['torch']} · {info['device']} · "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'case':>18} {'size':>7} {'w':>4} {'batch':>5} {'setting':>16} {'img/s best':>10} {'median':>8} "
        f"{'GFLOP/s':>8} {'first s':>8} {'vs base':>8}  verdict"
    )
    rows = []
    for case in cases_for(args.quick, device):
        if args.only and args.only not in case.name:
            continue
        batch = fixed_batch(case)
        flops = count_flops(case, batch, device)
        base_best = None
        for setting, steps in settings_for(case, device, args.quick, max_threads, not args.no_compile):
            try:
                timing = time_steps(case, setting, batch, device, steps, warmup=1 if case.width >= 64 else 2)
            except Exception as err:  # e.g. torch.compile without a working C++ toolchain: record, go on
                row = {**asdict(case), "setting": asdict(setting), "label": setting.label, "error": repr(err)}
                rows.append(row)
                print(f"{case.name:>18} {setting.label:>16}  failed: {err!r:.80}")
                continue
            rates = [case.batch / t for t in timing["step_s"]]
            best, median = max(rates), statistics.median(rates)
            if base_best is None:
                base_best, base_median = best, median
                verdict = "baseline"
            else:
                verdict = "helps" if median > base_best else ("hurts" if best < base_median else "no clear change")
            row = {
                **asdict(case),
                "size": f"{case.size[0]}x{case.size[1]}",
                "setting": asdict(setting),
                "label": setting.label,
                "parameters": parameters(case),
                "gflop_per_step": flops / 1e9,
                "images_per_s_best": best,
                "images_per_s_median": median,
                "gflops_median": flops / 1e9 / statistics.median(timing["step_s"]),
                "speedup_vs_baseline": median / base_median,
                "verdict": verdict,
                **timing,
            }
            rows.append(row)
            print(
                f"{case.name:>18} {row['size']:>7} {case.width:>4} {case.batch:>5} {setting.label:>16} "
                f"{best:10.1f} {median:8.1f} {row['gflops_median']:8.1f} {timing['first_step_s']:8.2f} "
                f"{row['speedup_vs_baseline']:7.2f}×  {verdict}"
            )
        torch.set_num_threads(max_threads)
    note = (
        "one training step (forward, loss, backward, Adam) on a fixed batch; images/s per process; FLOPs from "
        "FlopCounterMode (conv/matmul, forward+backward); the CPU may be shared with other work"
    )
    path = write_json(args.out, rows, note=note, quick=args.quick, load_average_end=os.getloadavg())
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
