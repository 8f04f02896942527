"""What a person's silhouette buys on held-out synthetic people, whose exact mask and every view are known.

For each held-out person (``Scene.held_out``, people and poses the splits never contain) and yaw, the shipped
weights synthesize the view several ways, the unseen side the networks' guess unless said: ``plain`` (no
silhouette: the renderer-adult proxy, the networks' background), ``silhouette`` (the exact mask: the proxy's
parts widened to it, the input's own background kept, ``synthesize_many(silhouette=...)``), ``part_colours``
(that, with the unseen side painted with the input's per-part colours), ``blend`` and ``silhouette_blend`` (the
synthesizer's default ``unseen="blend"``, without and with the silhouette: the texture in albedo, completed by
the shipped network and re-lit, the seen side re-lit), and painted from the input's texture as seen
(``unseen.paint_from_texture`` on the ``silhouette`` views, as the photo path's ``unseen="texture"`` paints them)
completed two ways: ``pull_push`` (``complete_texture``, the hand-made fill) and, given ``--weights``, ``learned``
(then the texture completion network those weights hold, trained on colours as seen).
L1 in [0, 1] against the ground-truth render: on the true body, on the body pixels the input never saw (by the
widened proxy), and on the whole image; the mottle ratio on the unseen body (``evaluation.unseen.mottle_ratio``);
and the learned texture's unseen L1 over the pull-push's with its 95 % interval, resampling people.
Weights on colours as seen (benchmarks/notes/2026-12-texture-completion-net-2.md): ``python -m
posegen_lite.training.texture_completion benchmarks/configs/texture_completion.toml OUT.pt``.

Run: ``python benchmarks/bench_silhouette.py [--people 32] [--weights PATH]``; prints a table, writes
``benchmarks/results/bench_silhouette.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.evaluation.uncertainty import ratio_interval
from posegen_lite.evaluation.unseen import mottle_ratio
from posegen_lite.geometry.warp import ProxyMaps
from posegen_lite.models.texture_completion import complete_texture, learned_completion, load_completion
from posegen_lite.pipelines.stage1 import fit_widths, proxy_warp
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer
from posegen_lite.pipelines.unseen import input_texture, paint_from_texture

YAWS = (20.0, 45.0, 90.0, 135.0, 180.0)
WAYS = {
    "plain": {"unseen": "networks"},
    "silhouette": {"unseen": "networks"},
    "part_colours": {"unseen": "part_colours"},
    "blend": {"unseen": "blend"},
    "silhouette_blend": {"unseen": "blend"},
}
PLAIN = ("plain", "blend")  # the ways without the silhouette


def _l1(image: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(image.astype(np.float64) - truth.astype(np.float64)).mean(-1)[where].mean() / 255.0)


def _summary(region: str, values: list[float]) -> dict[str, float]:
    if region == "mottle":  # a ratio per view, heavy-tailed: its median
        return {"mottle_median": round(float(np.median(values)), 3)}
    return {"l1": round(float(np.mean(values)), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=32)
    parser.add_argument("--weights", default=None, help="texture completion weights: adds the learned texture")
    args = parser.parse_args()
    start = time.perf_counter()
    synth = NovelViewSynthesizer.from_checkpoint()
    net = None if args.weights is None else load_completion(args.weights)
    scores: dict[tuple[str, float, str], list[float]] = {}
    for k in range(args.people):
        scene = Scene.held_out(k, synth.size)
        view, truths = scene.input_view, scene.render_many(list(YAWS))
        source = synth.source_pose(view.joints3d, view.camera)
        widths = fit_widths(source, synth.size, view.mask)
        for way, kw in WAYS.items():
            extra = kw if way in PLAIN else {"silhouette": view.mask, **kw}
            results = synth.synthesize_many(view.image, view.joints3d, list(YAWS), camera=view.camera, **extra)
            warp = proxy_warp(source, [r.joints3d for r in results], synth.size, widths)
            _score(scores, way, np.stack([r.image for r in results]), truths, warp)
            if way == "silhouette":
                partial = input_texture(view.image, view.mask, source, synth.size, widths)
                views = np.stack([r.image for r in results])
                textures = {"pull_push": complete_texture(partial)}
                if net is not None:
                    textures["learned"] = learned_completion(net, partial)
                for name, texture in textures.items():
                    _score(scores, name, paint_from_texture(views, warp, texture), truths, warp)
        if k == 0:
            print(f"person 0 scored in {time.perf_counter() - start:.0f} s", flush=True)
    ways = [*WAYS, "pull_push", *([] if net is None else ["learned"])]  # these painted onto ``silhouette``'s views
    rows = [{"way": w, "yaw": y, "region": n, "n": len(v), **_summary(n, v)}
            for (w, y, n), v in sorted(scores.items())]  # fmt: skip
    print(f"{'region':8} {'yaw':>5} " + " ".join(f"{w:>13}" for w in ways))
    for name in ("body", "unseen", "image", "mottle"):
        for y in YAWS:
            vals = [(np.median if name == "mottle" else np.mean)(scores.get((w, y, name), [np.nan])) for w in ways]
            print(f"{name:8} {y:5.0f} " + " ".join(f"{v:13.4f}" for v in vals))
    intervals = {}
    # every person has unseen pixels at every yaw here (the input faces the camera): one value per person
    for y in YAWS if net is not None else ():
        learned, pull_push = scores[("learned", y, "unseen")], scores[("pull_push", y, "unseen")]
        intervals[f"{y:g}"] = ratio_interval(learned, pull_push, list(range(len(learned))))
        print(f"learned / pull-push, unseen L1 at {y:5.0f}°: {intervals[f'{y:g}']}")
    path = write_json(Path(__file__).parent / "results" / "bench_silhouette.json", rows, people=args.people,
                      learned_over_pull_push={y: [r.ratio, r.low, r.high] for y, r in intervals.items()},
                      weights=args.weights, load=os.getloadavg())  # fmt: skip
    print(f"wrote {path}")


def _score(scores: dict, way: str, images: np.ndarray, truths: list, warp: ProxyMaps) -> None:
    """Add the L1s and the mottle ratio of ``images`` ``(N, H, W, 3)`` uint8 against the ``truths`` (renders)."""
    for i, truth in enumerate(truths):
        unseen = truth.mask & (warp.parts[i].numpy() >= 0) & (warp.visibility[i, 0].numpy() < 0.5)
        for name, where in (("body", truth.mask), ("unseen", unseen), ("image", np.ones_like(truth.mask))):
            if where.any():
                scores.setdefault((way, YAWS[i], name), []).append(_l1(images[i], truth.image, where))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a flat truth or too few pixels: NaN
            mottle = mottle_ratio(images[i], truth.image, unseen)
        if np.isfinite(mottle):
            scores.setdefault((way, YAWS[i], "mottle"), []).append(mottle)


if __name__ == "__main__":
    main()
