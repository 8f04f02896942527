"""Latency of one novel view, end to end — what the viewpoint widget pays per slider move.

From (image, 3D keypoints, camera, yaw) to the output uint8 image through
``NovelViewSynthesizer.synthesize``, batch of one, with every call at a new yaw (as a slider moves). Also
split into its parts:

* ``stage I``  — rotate the 3D pose about the body axis, project it (``target_pose``), pose maps and body
  mask (``posemaps``): numpy;
* ``networks`` — G1 and G2 forward passes on prepared tensors (torch, ``no_grad``);
* ``end to end`` — the whole ``synthesize`` call (also image → tensor and tensor → uint8).

The networks are untrained (latency does not depend on the weights' values) unless ``--checkpoint`` is
given. Demo width: G1 and G2 with 16 base channels (what the CPU demo trains); PG2's width (128) at 128×64
is timed with fewer repeats for comparison. The goal: under 100 ms at 128×64 on 2 CPU cores.

Run: ``python benchmarks/bench_latency.py [--quick] [--device cpu|cuda] [--checkpoint PATH] [--keep-freed-memory]``;
prints a table, writes ``benchmarks/results/bench_latency.json``. ``--keep-freed-memory`` first applies
``posegen_lite.keep_freed_memory`` (glibc keeps freed memory in the process, as training does).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.posemaps import body_mask, pose_maps
from posegen_lite.images import to_tensor
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.models.inputs import g2_inputs
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

GOAL_MS = 100.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timings_ms(fn, repeats: int, device: torch.device, warmup: int = 3) -> list[float]:
    """Call ``fn(i)`` ``warmup`` times, then ``repeats`` times timing each call (milliseconds)."""
    for i in range(warmup):
        fn(i)
    _sync(device)
    out = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(warmup + i)
        _sync(device)
        out.append(1000.0 * (time.perf_counter() - t0))
    return out


def build_synthesizer(
    size: tuple[int, int], width: int, device: torch.device, checkpoint: str | None
) -> NovelViewSynthesizer:
    if checkpoint:
        return NovelViewSynthesizer.from_checkpoint(checkpoint, device=device)
    torch.manual_seed(0)
    g1 = G1(G1Config(*size, base_channels=width))
    g2 = G2(G2Config(*size, base_channels=width))
    return NovelViewSynthesizer(g1, g2, device=device)


def bench(
    size: tuple[int, int], width: int, repeats: int, device: torch.device, checkpoint: str | None = None
) -> list[dict]:
    synth = build_synthesizer(size, width, device, checkpoint)
    size = (synth.height, synth.width)
    view = Scene.held_out(0, size).input_view
    image, joints3d, camera = view.image, view.joints3d, view.camera
    yaw = lambda i: float((10 * i) % 360)  # noqa: E731 - a new slider position per call
    h, w = size

    def stage1(i: int):
        xy, vis, rotated = synth.target_pose(joints3d, camera, yaw(i))
        if synth.needs_proxy:  # a G1 that warps I_A (or a G2 kept in its silhouette): the proxy is part of Stage I
            synth.proxy_flow(joints3d, [rotated], camera)
        return pose_maps(xy, vis, h, w, kind=synth.pose_kind), body_mask(xy, vis, h, w)

    maps, mask = stage1(1)
    a = to_tensor(image).unsqueeze(0).to(device)
    p = torch.from_numpy(maps).unsqueeze(0).to(device)
    m = torch.from_numpy(mask).unsqueeze(0).to(device)
    extras = {}
    g2_extras = {}
    if synth.needs_proxy:
        warp = synth.proxy_flow(joints3d, [synth.target_pose(joints3d, camera, yaw(1))[2]], camera)
        if synth.warps:
            extras = {"flow": warp.flow.to(device), "visibility": warp.visibility.to(device)}
        if synth.g1.config.latent_surface:  # a texture-space latent: its prior's mean needs the surface map
            extras["surface"] = warp.surface.to(device)
        g2_extras = {} if synth.g2 is None else g2_inputs(synth.g2.config, warp, device)

    @torch.no_grad()
    def networks(i: int):
        coarse = synth.g1(a, p, **extras)
        return coarse if synth.g2 is None else synth.g2(a, coarse, m, **g2_extras)

    def end_to_end(i: int):
        return synth.synthesize(image, joints3d, camera=camera, yaw=yaw(i))

    rows = []
    for part, fn in (("stage I", stage1), ("networks", networks), ("end to end", end_to_end)):
        ms = timings_ms(fn, repeats, device)
        rows.append(
            {
                "size": f"{h}x{w}",
                "width": synth.g1.config.base_channels,
                "g2": synth.g2 is not None,
                "part": part,
                "threads": torch.get_num_threads(),
                "device": str(device),
                "repeats": repeats,
                "median_ms": float(np.median(ms)),
                "p90_ms": float(np.percentile(ms, 90)),
                "best_ms": float(min(ms)),
                "ms": ms,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no PG2-width row")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--checkpoint", help="time this checkpoint instead of untrained demo-width networks")
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="first call posegen_lite.keep_freed_memory() (glibc keeps freed memory; what training does)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "bench_latency.json")
    args = parser.parse_args(argv)
    if args.keep_freed_memory:
        from posegen_lite.allocator import keep_freed_memory

        print(f"keep_freed_memory: {'applied' if keep_freed_memory() else 'not applicable here'}")
    device = torch.device(args.device)
    repeats = args.repeats or (10 if args.quick else 50)
    threads = torch.get_num_threads()
    info = machine_info()
    print(
        f"{info['cpu']} · {info['usable_cores']} cores · torch {info['torch']} · {info['device']} · "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'size':>7} {'width':>5} {'threads':>7} {'part':>11} {'median ms':>9} {'p90 ms':>7} {'best ms':>7}")
    configs = [((128, 64), 16, repeats, threads), ((64, 64), 16, repeats, threads)]
    if device.type == "cpu" and threads > 1:
        configs.append(((128, 64), 16, repeats, 1))
    if not args.quick:
        configs.append(((128, 64), 128, max(3, repeats // 10), threads))  # PG2's width, for comparison
    if args.checkpoint:
        configs = [(None, None, repeats, threads)]
    rows = []
    for size, width, n, t in configs:
        torch.set_num_threads(t)
        for row in bench(size, width, n, device, args.checkpoint):
            rows.append(row)
            print(
                f"{row['size']:>7} {row['width']:>5} {row['threads']:>7} {row['part']:>11} {row['median_ms']:9.1f} "
                f"{row['p90_ms']:7.1f} {row['best_ms']:7.1f}"
            )
        torch.set_num_threads(threads)
    e2e = [
        r
        for r in rows
        if r["part"] == "end to end" and r["size"] == "128x64" and r["width"] == 16 and r["threads"] == threads
    ]
    if e2e:
        verdict = "meets" if e2e[0]["median_ms"] < GOAL_MS else "misses"
        print(
            f"128x64 end to end at demo width: median {e2e[0]['median_ms']:.1f} ms — {verdict} the "
            f"{GOAL_MS:.0f} ms goal"
        )
    path = write_json(
        args.out,
        rows,
        goal_ms=GOAL_MS,
        keep_freed_memory=args.keep_freed_memory,
        load_average_end=os.getloadavg(),
        note="one view per call, batch 1, a new yaw per call; the CPU may be shared with other work",
    )
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
