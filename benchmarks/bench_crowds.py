"""Crowd quality: novel views of held-out scenes with 2–6 people, against ground-truth renders.

For each held-out test scene (people never seen in training) one viewpoint change (a seeded yaw in
[30°, 330°] of the whole group about its centre) is synthesized by ``pipelines.crowd.CrowdSynthesizer`` with the
single-person weights, and scored against the exact render of the turned scene:

* per-person L1 in the body (``evaluation.crowds.person_l1_in_body``: the person's target window at the
  model's size, L1 inside the body mask of the true target pose — the single-person benchmark's measure);
* the **same person alone**: the single-person path on that person in that pose, seen from the same
  direction and turned by the same yaw, in the single-person framing — the reference the crowd figure is
  compared with (the difference is what the scene adds: occlusion in the input and in the target, crops
  resampled from the scene's resolution);
* scene-level bbox-SSIM over all people's silhouettes, per-pixel occlusion-order accuracy where two people's
  silhouettes overlap, and time per scene per person (crops, synthesis, compositing; not the ground truth).

Run: ``python benchmarks/bench_crowds.py [--scenes 20] [--weights posegen_lite/assets/demo_128x64.pt]``; prints a
table and writes ``benchmarks/results/bench_crowds.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.data.synthetic.crowds import CrowdScene
from posegen_lite.data.synthetic.framing import ELEVATION_RANGE
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.evaluation.crowds import occlusion_order_accuracy, person_l1_in_body, scene_bbox_ssim
from posegen_lite.evaluation.metrics import l1_in_mask
from posegen_lite.geometry.posemaps import body_mask
from posegen_lite.pipelines.crowd import CrowdSynthesizer
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS, NovelViewSynthesizer


def alone_reference(synth: NovelViewSynthesizer, scene: CrowdScene, k: int, yaw: float) -> float:
    """L1 in the body of the single-person path for person ``k`` alone, same view direction and yaw."""
    body = scene.unplaced(k)
    cam = scene.camera(0.0)
    hip = scene.bodies[k].joints3d[[8, 11]].mean(axis=0)
    d = cam.center - hip
    azimuth = float(np.degrees(np.arctan2(d[0], d[2]))) - scene.headings[k]
    elevation = float(np.clip(np.degrees(np.arctan2(d[1], np.hypot(d[0], d[2]))), *ELEVATION_RANGE))
    alone = Scene(scene.people[k], body, (synth.height, synth.width), azimuth, elevation)
    src, truth = alone.input_view, alone.render(yaw)
    res = synth.synthesize(src.image, src.joints3d, yaw=yaw, camera=src.camera)
    mask = body_mask(truth.keypoints, truth.visible, synth.height, synth.width)[0] > 0.5
    return l1_in_mask(res.image, truth.image, mask)


def run(weights: Path, n_scenes: int, size: tuple[int, int], seed: int) -> dict:
    synth = NovelViewSynthesizer.from_checkpoint(weights, device="cpu")
    crowd = CrowdSynthesizer(synth, background="plain")
    rng = np.random.default_rng(seed)
    people_rows, scene_rows = [], []
    for i in tqdm(range(n_scenes), desc="crowd scenes"):
        scene = CrowdScene.held_out(i, size, seed=0)
        yaw = float(np.round(rng.uniform(30, 330)))
        src, truth = scene.input_view, scene.render(yaw)
        t0 = time.perf_counter()
        res = crowd.synthesize(src.image, scene.joints, src.camera, yaw=yaw)
        seconds = time.perf_counter() - t0
        n = len(scene.people)
        acc, overlap_px = occlusion_order_accuracy(res.front_map(), truth.person_map, truth.full_masks)
        scene_rows.append(
            {
                "scene": scene.name,
                "people": n,
                "yaw": yaw,
                "bbox_ssim": scene_bbox_ssim(res.image, truth.image, truth.full_masks),
                "occlusion_order_accuracy": acc,
                "overlap_pixels": overlap_px,
                "dropped": len(res.notes),
                "seconds_per_person": seconds / n,
            }
        )
        for k in range(n):
            person = res.people[k]
            if person is None:
                continue
            # How much of the person the input and the target show (visible / whole silhouette).
            seen_in = src.masks[k].sum() / max(src.full_masks[k].sum(), 1)
            seen_out = truth.masks[k].sum() / max(truth.full_masks[k].sum(), 1)
            people_rows.append(
                {
                    "scene": scene.name,
                    "person": k,
                    "l1_in_body_scene": person_l1_in_body(
                        res.image, truth.image, person.window, truth.camera, truth.joints3d[k], crowd.model_size
                    ),
                    "l1_in_body_alone": alone_reference(synth, scene, k, yaw),
                    "visible_input": float(seen_in),
                    "visible_target": float(seen_out),
                    "window": person.window.height,
                }
            )
    return {"people": people_rows, "scenes": scene_rows}


def _mean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if np.isfinite(r[key])]
    return float(np.mean(vals)) if vals else float("nan")


def summarize(result: dict) -> dict:
    people, scenes = result["people"], result["scenes"]
    clear = [r for r in people if min(r["visible_input"], r["visible_target"]) >= 0.95]
    hidden = [r for r in people if min(r["visible_input"], r["visible_target"]) < 0.95]
    groups = {"all people": people, "unoccluded (≥95 % visible in both views)": clear, "occluded": hidden}
    size_of = {sc["scene"]: sc["people"] for sc in scenes}
    for lo, hi in ((2, 3), (4, 6)):
        groups[f"in scenes of {lo}–{hi} people"] = [r for r in people if lo <= size_of[r["scene"]] <= hi]
    table = {}
    for name, rows in groups.items():
        scene_l1, alone_l1 = _mean(rows, "l1_in_body_scene"), _mean(rows, "l1_in_body_alone")
        table[name] = {
            "n": len(rows),
            "l1_in_body_scene": scene_l1,
            "l1_in_body_alone": alone_l1,
            "ratio": scene_l1 / alone_l1 if alone_l1 else float("nan"),
        }
    total_px = sum(s["overlap_pixels"] for s in scenes)
    weighted = sum(s["occlusion_order_accuracy"] * s["overlap_pixels"] for s in scenes if s["overlap_pixels"])
    return {
        "groups": table,
        "scenes": len(scenes),
        "people": len(people),
        "people_per_scene": _mean(scenes, "people"),
        "bbox_ssim": _mean(scenes, "bbox_ssim"),
        "occlusion_order_accuracy": weighted / total_px if total_px else float("nan"),
        "overlap_pixels": total_px,
        "dropped": sum(s["dropped"] for s in scenes),
        "mean_window_px": _mean(people, "window"),
        "seconds_per_scene_per_person": _mean(scenes, "seconds_per_person"),
    }


def print_table(summary: dict, load: float) -> None:
    print("| people | n | L1 in body, scene ↓ | L1 in body, alone ↓ | scene / alone |")
    print("|---|--:|--:|--:|--:|")
    for name, g in summary["groups"].items():
        print(f"| {name} | {g['n']} | {g['l1_in_body_scene']:.3f} | {g['l1_in_body_alone']:.3f} | {g['ratio']:.2f} |")
    print(
        f"\nscenes {summary['scenes']} ({summary['people_per_scene']:.1f} people each), bbox-SSIM "
        f"{summary['bbox_ssim']:.3f}, occlusion-order accuracy {summary['occlusion_order_accuracy']:.3f} over "
        f"{summary['overlap_pixels']} overlap pixels, dropped {summary['dropped']}, mean window "
        f"{summary['mean_window_px']:.0f} px, {summary['seconds_per_scene_per_person']:.2f} s per scene per person "
        f"(load {load:.1f})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=str(DEMO_WEIGHTS))
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--size", type=int, nargs=2, default=(192, 256), metavar=("H", "W"))
    ap.add_argument("--seed", type=int, default=0, help="seed of the yaws")
    ap.add_argument("--quick", action="store_true", help="3 scenes: a smoke run")
    ap.add_argument("--from-json", help="print the table of a saved result instead of running")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "bench_crowds.json"))
    args = ap.parse_args(argv)
    if args.from_json:
        import json

        saved = json.loads(Path(args.from_json).read_text())
        print_table(summarize({"people": saved["rows"], "scenes": saved["scenes"]}), saved["load_1min_at_start"])
        return 0
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = run(Path(args.weights), 3 if args.quick else args.scenes, tuple(args.size), args.seed)
    summary = summarize(result)
    print_table(summary, load)
    write_json(
        Path(args.out),
        result["people"],
        scenes=result["scenes"],
        summary=summary,
        load_1min_at_start=load,
        weights=args.weights,
        size=list(args.size),
        seconds_total=round(time.perf_counter() - t0, 1),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
