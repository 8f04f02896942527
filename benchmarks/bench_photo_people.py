"""Photo people: how many of the people in a photo the offline estimator (MediaPipe Pose 0.10.14) finds, per method.

Photos: scikit-image's ``astronaut`` and ``camera`` (the cameraman: one person) and matplotlib's
``grace_hopper.jpg``, each alone at its own size and scaled to 1280 px high, and composites of two or three of
them side by side on a white canvas of 640×360, 1280×720 and 1920×1080, the people 100 %, 60 % and 30 % of the
canvas height. Each person's placed rectangle is the truth: a found pose whose joint box centre lies in a person's
rectangle finds that person (once); any other pose is an extra (a duplicate or a false find).

Methods (``geometry.people``): ``single`` — one estimator call on the photo (what the photo path did);
``multiscale`` — ``estimate_multiscale`` (scales 1, ½, ¼); ``masking_1scale`` — ``find_people`` at scale 1 only;
``masking`` — ``find_people`` (blank each person found, search again, multi-scale); ``tiles`` —
``find_people_tiled`` (whole photo, 2 and 3 overlapping vertical strips, multi-scale, no blanking);
``masking_tiles`` — ``find_people`` with ``strip_counts=(1, 2, 3)``: blanking in the whole photo, then in each
strip. One estimator for all.

Run: ``python benchmarks/bench_photo_people.py``; prints a table and writes
``benchmarks/results/bench_photo_people.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.geometry.people import (
    STRIP_COUNTS,
    estimate_multiscale,
    find_people,
    find_people_tiled,
    person_extent,
)
from posegen_lite.geometry.photo import MediaPipeEstimator, NoPersonFoundError
from posegen_lite.images import ensure_rgb, resize_image

CANVASES = ((360, 640), (720, 1280), (1080, 1920))
HEIGHT_FRACTIONS = (1.0, 0.6, 0.3)
GROUPS = (("astronaut", "grace_hopper"), ("astronaut", "camera"), ("grace_hopper", "camera"),
          ("astronaut", "grace_hopper", "camera"))  # fmt: skip


def sample_photos() -> dict[str, np.ndarray]:
    """The three sample photos, ``(H, W, 3)`` uint8, one person each."""
    import matplotlib.image as mpimg
    from matplotlib import cbook
    from skimage import data

    grace = np.asarray(mpimg.imread(cbook.get_sample_data("grace_hopper.jpg")))
    return {"astronaut": data.astronaut(), "camera": ensure_rgb(data.camera(), convert=True), "grace_hopper": grace}


def composite(photos: list[np.ndarray], height: int, width: int, person_height: int) -> tuple[np.ndarray, list]:
    """``photos`` scaled to ``person_height`` and centred in equal columns of a white ``height × width`` canvas;
    the canvas and each photo's ``(x0, y0, x1, y1)`` rectangle in it (columns narrower than a photo crop it)."""
    canvas = np.full((height, width, 3), 255, np.uint8)
    rects, column = [], width / len(photos)
    top = (height - person_height) // 2
    for k, photo in enumerate(photos):
        w = round(photo.shape[1] * person_height / photo.shape[0])
        scaled = resize_image(photo, person_height, w)
        left = round((k + 0.5) * column - w / 2)
        lo, hi = max(left, round(k * column)), min(left + w, round((k + 1) * column))
        canvas[top : top + person_height, lo:hi] = scaled[:, lo - left : hi - left]
        rects.append((lo, top, hi, top + person_height))
    return canvas, rects


def test_photos() -> list[dict]:
    """``{"name", "image", "rects"}`` for every photo the benchmark measures."""
    photos = sample_photos()
    out = []
    for name, photo in photos.items():
        h, w = photo.shape[:2]
        out.append({"name": f"{name} {w}×{h}", "image": photo, "rects": [(0, 0, w, h)]})
        big_w = round(w * 1280 / h)
        out.append({"name": f"{name} {big_w}×1280", "image": resize_image(photo, 1280, big_w),
                    "rects": [(0, 0, big_w, 1280)]})  # fmt: skip
    for group in GROUPS:
        for height, width in CANVASES:
            for frac in HEIGHT_FRACTIONS:
                image, rects = composite([photos[n] for n in group], height, width, round(height * frac))
                name = f"{'+'.join(group)} {width}×{height} at {frac:.0%}"
                out.append({"name": name, "image": image, "rects": rects})
    return out


def _one(finder):
    def run(image, estimator):
        try:
            return [finder(image, estimator)]
        except NoPersonFoundError:
            return []

    return run


def _many(finder, **kw):
    def run(image, estimator):
        try:
            return finder(image, estimator, **kw)
        except NoPersonFoundError:
            return []

    return run


METHODS = {
    "single": _one(lambda image, est: est.estimate(image)),
    "multiscale": _one(estimate_multiscale),
    "masking_1scale": _many(find_people, scales=(1.0,)),
    "masking": _many(find_people),
    "tiles": _many(find_people_tiled),
    "masking_tiles": _many(find_people, strip_counts=STRIP_COUNTS),
    "masking_verified": _many(find_people, verify=True),
    "masking_tiles_verified": _many(find_people, strip_counts=STRIP_COUNTS, verify=True),
}


def score(poses: list, rects: list) -> tuple[int, int]:
    """``(people found, extras)``: each rectangle is found at most once, by a pose whose box centre lies in it."""
    found, extras = set(), 0
    for pose in poses:
        x0, y0, x1, y1 = person_extent(pose)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hit = [k for k, (a, b, c, d) in enumerate(rects) if a <= cx < c and b <= cy < d and k not in found]
        if hit:
            found.add(hit[0])
        else:
            extras += 1
    return len(found), extras


def run() -> list[dict]:
    rows = []
    with MediaPipeEstimator() as estimator:
        estimator.estimate(sample_photos()["astronaut"])  # warm the graph: the first call is slower
        for photo in test_photos():
            for method, finder in METHODS.items():
                t0 = time.perf_counter()
                poses = finder(photo["image"], estimator)
                seconds = time.perf_counter() - t0
                found, extras = score(poses, photo["rects"])
                rows.append({"photo": photo["name"], "method": method, "present": len(photo["rects"]),
                             "found": found, "extras": extras, "seconds": round(seconds, 4)})  # fmt: skip
    return rows


def summarize(rows: list[dict]) -> dict[str, dict]:
    """Per method: people found / present, extras, photos with everybody found, mean and max seconds per photo;
    over all photos and over the photos ≥ 1280 px wide or high."""
    out = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        large = [r for r in mine if max(int(v) for v in r["photo"].split(" ")[1].split("×")) >= 1280]
        out[method] = {
            "found": sum(r["found"] for r in mine),
            "present": sum(r["present"] for r in mine),
            "extras": sum(r["extras"] for r in mine),
            "photos_all_found": sum(r["found"] == r["present"] for r in mine),
            "photos": len(mine),
            "found_large": sum(r["found"] for r in large),
            "present_large": sum(r["present"] for r in large),
            "seconds_mean": round(float(np.mean([r["seconds"] for r in mine])), 3),
            "seconds_max": round(float(np.max([r["seconds"] for r in mine])), 3),
        }
    return out


def print_table(summary: dict[str, dict], load: float) -> None:
    print(f"{'method':16s} {'found/present':>14s} {'recall':>7s} {'≥1280 px':>10s} {'extras':>7s} "
          f"{'all found':>10s} {'s/photo':>8s} {'max s':>6s}")  # fmt: skip
    for method, s in summary.items():
        print(
            f"{method:16s} {s['found']:>6d}/{s['present']:<7d} {s['found'] / s['present']:>7.0%} "
            f"{s['found_large']:>4d}/{s['present_large']:<5d} {s['extras']:>7d} "
            f"{s['photos_all_found']:>4d}/{s['photos']:<5d} {s['seconds_mean']:>8.3f} {s['seconds_max']:>6.2f}"
        )
    print(f"(1-min load at start {load:.2f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "bench_photo_people.json"))
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    rows = run()
    summary = summarize(rows)
    print_table(summary, load)
    write_json(Path(args.out), rows, summary=summary, load_1min_at_start=load,
               seconds_total=round(time.perf_counter() - t0, 1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
