"""The 3D body-proxy correspondence (``geometry/proxy.py``, ``geometry/warp.py``): how fast, how far it carries.

Three questions, on held-out synthetic pairs (the ``test`` split, every viewpoint change):

* **speed** — milliseconds per target view for ``proxy_maps`` (build both proxies, ray-cast the target view,
  ray-cast the source view's depth map, project, depth-test) in batches, at 128×64 unless ``--size`` says
  otherwise; split into proxy building (numpy) and casting (torch). Goal: ≤ 2 ms per view on the CPU, so it
  never becomes the training bottleneck.
* **coverage** — per yaw bucket, the fraction of the target body (renderer mask) the proxy marks visible in I_A;
* **error** — per yaw bucket, the L1 (images in [0, 1]) on those visible body pixels of the warped input
  W(I_A) and of I_A itself (the identity baseline), against the target render.

Run: ``python benchmarks/bench_proxy.py [--quick] [--size 128x64] [--pairs 256]``; prints tables, writes
``benchmarks/results/bench_proxy.json`` (and a figure ``benchmarks/results/proxy_warp.png``).
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
from _machine import write_json

from posegen_lite.data.synthetic.pairs import SyntheticConfig, plan_pair, render_pairs
from posegen_lite.geometry.proxy import build_proxy, correspond, ray_cameras
from posegen_lite.geometry.warp import proxy_maps
from posegen_lite.images import to_tensor
from posegen_lite.models.warping import warp_image

BUCKETS = ((0, 15), (15, 30), (30, 60), (60, 90), (90, 120), (120, 150), (150, 181))
GOAL_MS = 2.0


def _timed(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median seconds of ``fn()`` by ``clock`` (wall clock, or ``time.process_time``: CPU time, which a busy
    shared machine inflates far less than the wall clock)."""
    fn()
    best = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        best.append(clock() - t0)
    return float(np.median(best))


def speed(plans, batch: int, repeats: int) -> dict:
    plans = plans[:batch]
    joints = np.stack([p.body.joints3d for p in plans])
    cams_a, cams_b = [p.cameras[0] for p in plans], [p.cameras[1] for p in plans]
    n = len(plans)
    total = _timed(lambda: proxy_maps(joints, joints, cams_a, cams_b), repeats)
    cpu = _timed(lambda: proxy_maps(joints, joints, cams_a, cams_b), repeats, time.process_time)
    build = _timed(lambda: build_proxy(joints), repeats)
    prims, ra, rb = build_proxy(joints), ray_cameras(cams_a), ray_cameras(cams_b)
    cast = _timed(lambda: correspond(prims, prims, ra, rb), repeats)
    return {
        "batch": n,
        "threads": torch.get_num_threads(),
        "ms_per_view_total": 1000 * total / n,
        "cpu_ms_per_view_total": 1000 * cpu / n,
        "ms_per_view_build": 1000 * build / n,
        "ms_per_view_cast": 1000 * cast / n,
    }


def quality(pairs, plans) -> list[dict]:
    joints = np.stack([p.body.joints3d for p in plans])
    flow, vis, _ = proxy_maps(joints, joints, [p.cameras[0] for p in plans], [p.cameras[1] for p in plans])[:3]
    a = torch.stack([to_tensor(p.view_a.image) for p in pairs])
    b = torch.stack([to_tensor(p.view_b.image) for p in pairs])
    body = torch.stack([torch.from_numpy(p.view_b.mask) for p in pairs])[:, None].float()
    warped = warp_image(a, flow, vis)
    yaw = np.abs([p.yaw for p in pairs])
    rows = []
    for lo, hi in BUCKETS:
        sel = torch.from_numpy((yaw >= lo) & (yaw < hi))
        if not sel.any():
            continue
        seen = vis[sel] * body[sel]
        n_seen = float(seen.sum())
        row = {"yaw": f"{lo}–{min(hi, 180)}°", "pairs": int(sel.sum()), "coverage": n_seen / float(body[sel].sum())}
        if n_seen > 0:
            row["l1_warped"] = float(((warped[sel] - b[sel]).abs() * seen).sum()) / (3 * n_seen) / 2
            row["l1_input"] = float(((a[sel] - b[sel]).abs() * seen).sum()) / (3 * n_seen) / 2
            row["ratio"] = row["l1_warped"] / row["l1_input"]
        rows.append(row)
    return rows


def figure(samples_dir: Path, config: SyntheticConfig) -> Path:
    from posegen_lite.data.synthetic.dataset import SyntheticPairs
    from posegen_lite.figures.body_proxy import correspondence_figure

    ds = SyntheticPairs(config, "test", extras=True)
    yaws = np.array([abs(plan_pair(config, "test", i).azimuth_b - plan_pair(config, "test", i).azimuth_a) % 360
                     for i in range(min(len(ds), 64))])  # fmt: skip
    yaws = np.minimum(yaws, 360 - yaws)
    picks = [int(np.argmin(np.abs(yaws - t))) for t in (10, 30, 60, 100, 170)]
    path = samples_dir / "proxy_warp.png"
    correspondence_figure([ds[i] for i in picks]).savefig(path, dpi=110)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 32 pairs, 1 repeat")
    parser.add_argument("--size", default="128x64", help="HEIGHTxWIDTH (default 128x64)")
    parser.add_argument("--pairs", type=int, default=256, help="held-out pairs for coverage and error")
    parser.add_argument("--batch", type=int, default=64, help="views per batch for the speed figure")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: what a DataLoader worker uses)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.size.lower().split("x"))
    n = 32 if args.quick else args.pairs
    views = 8
    config = SyntheticConfig(size=(h, w), test_people=max(1, -(-n // views)), views_per_person=views)
    idx = list(range(n))
    plans = [plan_pair(config, "test", i) for i in idx]
    spd = speed(plans, min(args.batch, n), 1 if args.quick else 5)
    pairs = render_pairs(config, "test", idx)
    rows = quality(pairs, plans)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"proxy_maps at {h}×{w}, batch {spd['batch']}, {spd['threads']} torch threads, load {load:.1f}:")
    print(f"  {spd['ms_per_view_total']:.2f} ms/view (build {spd['ms_per_view_build']:.2f}, "
          f"cast+correspond {spd['ms_per_view_cast']:.2f}); CPU time {spd['cpu_ms_per_view_total']:.2f} ms/view; "
          f"goal ≤ {GOAL_MS} ms")  # fmt: skip
    print("\n| |yaw| | pairs | coverage of the target body | L1 W(I_A) | L1 I_A | ratio |")
    print("|---|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['yaw']} | {r['pairs']} | {r['coverage']:.2f} | {r.get('l1_warped', float('nan')):.3f} | "
              f"{r.get('l1_input', float('nan')):.3f} | {r.get('ratio', float('nan')):.2f} |")  # fmt: skip
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    fig = figure(out_dir, config)
    path = write_json(out_dir / "bench_proxy.json", rows, size=[h, w], speed=spd, load_average=load, figure=fig.name)
    print(f"\n{path}\n{fig}")


if __name__ == "__main__":
    main()
