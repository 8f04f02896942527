"""Throughput of the synthetic person renderer, single process, per image size.

Three measurements per size, each repeated (the CPU may be shared: the best run is the machine's capability,
the spread says how noisy the measurement was):

* ``render``  — ``render_views`` on a batch of prepared views (people, poses and cameras drawn beforehand);
* ``pairs``   — ``synthetic.render_pairs``: everything a sample needs (person, pose, framing, two views);
* ``dataset`` — ``SyntheticPairs.__getitems__`` (what a DataLoader batch costs), which adds the tensor
  conversion and the pose maps / body mask of ``posemaps``.

Run: ``python benchmarks/bench_render.py [--repeats 5] [--batch 64]``; prints a table, writes JSON to
``benchmarks/results/bench_render.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

from posegen_lite.data.synthetic.body import pose_body, sample_person
from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.data.synthetic.framing import person_camera
from posegen_lite.data.synthetic.pairs import SyntheticConfig, render_pairs
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.data.synthetic.render import render_views

SIZES = ((64, 64), (128, 64), (256, 256))


def _rates(fn, images: int, repeats: int) -> list[float]:
    fn()  # warm-up (imports, caches)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        rates.append(images / (time.perf_counter() - t0))
    return rates


def bench_size(size: tuple[int, int], batch: int, repeats: int) -> list[dict]:
    rng = np.random.default_rng(0)
    people = [sample_person(rng) for _ in range(batch)]
    bodies = [pose_body(p, sample_pose(rng)) for p in people]
    cams = [person_camera(b, rng.uniform(0, 360), rng.uniform(-5, 20), *size) for b in bodies]
    config = SyntheticConfig(size=size, train_people=1000, views_per_person=8)
    dataset = SyntheticPairs(config, "train")
    pairs = batch // 2
    counter = iter(range(10**9))

    def fresh() -> list[int]:  # new samples every run, so no cache helps
        start = next(counter) * pairs
        return list(range(start, start + pairs))

    rows = []
    for name, fn, n in (
        ("render", lambda: render_views(people, bodies, cams), batch),
        ("pairs", lambda: render_pairs(config, "train", fresh()), 2 * pairs),
        ("dataset", lambda: dataset.__getitems__(fresh()), 2 * pairs),
    ):
        rates = _rates(fn, n, repeats)
        rows.append(
            {
                "size": f"{size[0]}x{size[1]}",
                "what": name,
                "batch_images": n,
                "repeats": repeats,
                "best": max(rates),
                "median": statistics.median(rates),
                "worst": min(rates),
                "rates": rates,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64, help="images per call (pairs: half as many samples)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "bench_render.json")
    args = parser.parse_args(argv)
    info = machine_info()
    print(f"{info['cpu']} · {info['usable_cores']} cores · numpy {info['numpy']} · torch {info['torch']}")
    print(f"{'size':>8} {'what':>8} {'best img/s':>11} {'median':>8} {'worst':>8}")
    rows = []
    for size in SIZES:
        repeats = args.repeats if size[0] * size[1] <= 128 * 64 else max(2, args.repeats // 2)
        for row in bench_size(size, args.batch, repeats):
            rows.append(row)
            print(f"{row['size']:>8} {row['what']:>8} {row['best']:11.0f} {row['median']:8.0f} {row['worst']:8.0f}")
    path = write_json(args.out, rows, note="single process; images per second; the CPU may be shared")
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
