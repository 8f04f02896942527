"""Real photos through the shipped weights, measured without ground truth (``evaluation.photos``).

Photos: scikit-image's ``astronaut`` and ``camera`` and matplotlib's ``grace_hopper.jpg`` (the photos the project
may ship). Per photo: the yaw-0 view against the crop (max grey-level difference; 0 is exact), the cycle L1
(turn by θ and back, on the person's pixels) at 20°, 45° and 90°, the scores of the faces MediaPipe's detector
finds at 0° (the control: the real face), 135° and 180° (a back: no face should be found), and the seconds of
one ``synthesize_photo`` call. Each photo is measured with every way of painting its unseen side that paints
(``unseen="part_colours"``: one colour per part; ``"texture"``: the completed texture), in one run.

Run: ``python benchmarks/bench_photos.py``; prints a table, writes ``benchmarks/results/bench_photos.json``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.evaluation.photos import cycle_l1, faces_at, yaw0_difference
from posegen_lite.geometry.photo import MediaPipeFaceDetector
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

CYCLE_YAWS = (20.0, 45.0, 90.0)
FACE_YAWS = (0.0, 135.0, 180.0)
WAYS = ("part_colours", "texture")


def main() -> None:
    from bench_photo_people import sample_photos

    rows = []
    with NovelViewSynthesizer.from_checkpoint() as synth, MediaPipeFaceDetector() as detector:
        for name, photo in sample_photos().items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # several people found: person 0 is measured
                synth.synthesize_photo(photo, yaw=45)  # warm-up: the estimator is built here
                inp = synth.prepare_photo(photo)
            for way in WAYS:
                t0 = time.perf_counter()
                synth.photo_views(inp, [45.0], unseen=way)
                seconds = time.perf_counter() - t0
                faces = faces_at(synth, inp, FACE_YAWS, detector, way)
                rows.append({
                    "photo": name,
                    "unseen": way,
                    "yaw0_max_difference": yaw0_difference(synth, inp, way),
                    **{f"cycle_l1_{y:g}": round(cycle_l1(synth, inp, y, way), 4) for y in CYCLE_YAWS},
                    **{f"faces_{y:g}": [round(s, 2) for s in faces[y]] for y in FACE_YAWS},
                    "person_fraction": round(float(inp.silhouette.mean()), 3),
                    "seconds_per_view": round(seconds, 3),
                })  # fmt: skip
    keys = list(rows[0])
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(str(r[k]) for k in keys))
    path = write_json(Path(__file__).parent / "results" / "bench_photos.json", rows, load=os.getloadavg())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
