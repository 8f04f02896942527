"""posegen_lite's G1 training step beside an independent PyTorch PG2 G1, at equal settings, in one process.

The peer (``PeerG1``, below) is written from the paper's description of PG2's G1 (Ma et al. 2017, §3.1 and
their released code), the way a user would write it: plain ``nn.Module``s, NCHW, PyTorch's defaults, Adam and
the pose-masked L1. posegen_lite's side is ``G1(G1Config(...))`` (PG2's G1: no warp, no latent) trained by
``training.steps.Stage2`` with what ``posegen train`` uses by default (channels_last, precision "auto" = fp32 on a
CPU without bf16 kernels). Both: 128×64, width ``c`` = 16, batch 16, z_dim 64, fp32, the same random batch. The
rounds interleave (peer, posegen_lite, peer, ...) so a busy spell of a shared machine hits both alike; the
process keeps freed memory as ``posegen train`` does (``allocator.py``), which is process-wide: the peer gets it
too. FLOPs are counted per side (``FlopCounterMode``); the peer upsamples before its 1×1 convolutions, as PG2's
code does, so it counts more.

Run: ``python benchmarks/bench_peer.py [--rounds 5] [--steps 3] [--threads 2] [--quick]``;
writes ``benchmarks/results/bench_peer.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.allocator import keep_freed_memory
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.steps import Stage2

HERE = Path(__file__).resolve().parent


# --- the peer: PG2's G1 as the paper describes it -------------------------------------------------------------
class PeerResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + F.relu(self.conv2(F.relu(self.conv1(x))))


class PeerG1(nn.Module):
    """PG2's G1: a U-Net of residual blocks, c·(i+1) channels at level i, stride-2 3×3 downsampling, an FC
    bottleneck to z (64) and back, a decoder that concatenates the encoder's features, nearest upsampling + 1×1
    conv, a 3×3 conv to RGB and tanh."""

    def __init__(self, height=128, width=64, c=16, z_dim=64, in_ch=21):
        super().__init__()
        self.levels = int(torch.log2(torch.tensor(height)).item()) - 2  # PG2: repeat_num = log2(H) - 2
        L = self.levels
        self.c, self.bh, self.bw = c, height // 2 ** (L - 1), width // 2 ** (L - 1)
        self.stem = nn.Conv2d(in_ch, c, 3, padding=1)
        self.enc_blocks = nn.ModuleList([PeerResBlock(c * (i + 1)) for i in range(L)])
        self.downs = nn.ModuleList([nn.Conv2d(c * (i + 1), c * (i + 2), 3, stride=2, padding=1) for i in range(L - 1)])
        self.fc1 = nn.Linear(c * L * self.bh * self.bw, z_dim)
        self.fc2 = nn.Linear(z_dim, c * self.bh * self.bw)
        self.dec_blocks = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        ch = c
        for idx in range(L):
            ch = ch + c * (L - idx)  # concat with the encoder's level L-1-idx
            self.dec_blocks.append(PeerResBlock(ch))
            if idx < L - 1:
                self.up_convs.append(nn.Conv2d(ch, c * (L - idx - 1), 1))
                ch = c * (L - idx - 1)
        self.out = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, image_a, pose_b):
        x = F.relu(self.stem(torch.cat([image_a, pose_b], 1)))
        skips = []
        for i, block in enumerate(self.enc_blocks):
            x = block(x)
            skips.append(x)
            if i < self.levels - 1:
                x = F.relu(self.downs[i](x))
        x = self.fc2(self.fc1(x.flatten(1))).view(-1, self.c, self.bh, self.bw)
        for idx, block in enumerate(self.dec_blocks):
            x = block(torch.cat([x, skips[self.levels - 1 - idx]], 1))
            if idx < self.levels - 1:
                x = F.relu(self.up_convs[idx](F.interpolate(x, scale_factor=2, mode="nearest")))
        return torch.tanh(self.out(x))


def peer_step(model, opt, batch):
    opt.zero_grad()
    fake = model(batch["image_a"], batch["pose_b"])
    loss = ((fake - batch["image_b"]).abs() * (1 + batch["mask_b"])).mean()
    loss.backward()
    opt.step()
    return loss.item()


# --- the benchmark -----------------------------------------------------------------------------------------------
def random_batch(size: tuple[int, int], n: int) -> dict:
    g = torch.Generator().manual_seed(0)
    h, w = size
    return {
        "image_a": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
        "pose_b": torch.rand(n, 18, h, w, generator=g) * 2 - 1,
        "image_b": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
        "mask_b": (torch.rand(n, 1, h, w, generator=g) > 0.5).float(),
    }


def sides(size: tuple[int, int], width: int):
    """{name: step function} for the peer and for posegen_lite, each with fresh weights (seed 0)."""
    torch.manual_seed(0)
    peer = PeerG1(*size, c=width)
    peer_opt = torch.optim.Adam(peer.parameters(), lr=2e-4, betas=(0.5, 0.999))
    torch.manual_seed(0)
    g1 = G1(G1Config(*size, base_channels=width))
    stage = Stage2(g1, 2e-4, (0.5, 0.999), DistContext(device=torch.device("cpu")))  # posegen train's defaults
    stage.train()
    return {
        "peer (plain PyTorch)": (lambda b, i: peer_step(peer, peer_opt, b), peer),
        "posegen_lite": (lambda b, i: stage.train_step(b, i)["loss"], g1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 1 step")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_peer.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.steps = 1, 1
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    size = (128, 64)
    batch = random_batch(size, args.batch)
    runs = sides(size, args.width)
    params = {name: sum(p.numel() for p in m.parameters()) for name, (_, m) in runs.items()}
    flops, step = {}, 0
    for name, (fn, _) in runs.items():
        fn(batch, 0)  # warm-up: oneDNN's kernels, Adam's state
        counter = FlopCounterMode(display=False)
        with counter:
            fn(batch, 1)
        flops[name] = counter.get_total_flops()
    load_start = os.getloadavg()
    print(f"load {load_start}; parameters {params}")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        for name, (fn, _) in runs.items():
            for _ in range(args.steps):
                t0 = time.perf_counter()
                fn(batch, 2 + step)
                times[name].append(time.perf_counter() - t0)
                step += 1
        print(
            f"round {r + 1}: " + ", ".join(f"{n} {statistics.median(t[-args.steps :]):.3f} s" for n, t in times.items())
        )
    summary = {
        name: {"s_per_step_median": statistics.median(t), "images_per_s": args.batch / statistics.median(t),
               "gflop_per_step": flops[name] / 1e9, "gflops": flops[name] / 1e9 / statistics.median(t),
               "parameters": params[name], "step_s": t}
        for name, t in times.items()
    }  # fmt: skip
    ratio = summary["posegen_lite"]["images_per_s"] / summary["peer (plain PyTorch)"]["images_per_s"]
    print(f"{'':>22} {'s/step':>8} {'img/s':>7} {'GFLOP/step':>11} {'GFLOP/s':>8} {'params':>9}")
    for name, s in summary.items():
        print(f"{name:>22} {s['s_per_step_median']:8.3f} {s['images_per_s']:7.1f} {s['gflop_per_step']:11.1f} "
              f"{s['gflops']:8.1f} {s['parameters']:9d}")  # fmt: skip
    print(f"posegen_lite / peer img/s: {ratio:.2f}×; load average at the end {os.getloadavg()}")
    result = {"size": "128x64", "width": args.width, "batch": args.batch, "threads": args.threads,
              "summary": summary, "ratio": ratio, "load_start": load_start}  # fmt: skip
    if not args.quick:
        write_json(args.out, [result], load_average_end=os.getloadavg())
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
