"""``posegen demo --crowd``: novel views of held-out crowd scenes, as pictures.

Writes into the output folder:

* ``crowd_views.png``: for each scene, the synthesized group (G1+G2 composite) over yaw angles above the
  ground truth, with the one input image on the left;
* ``crowd_turntable.gif``: the first scene turned through 360° about the group centre — input, synthesized
  and ground truth side by side;
* ``crowd_summary.json``: what was run, and per view the mean per-person L1 in the body, the scene bbox-SSIM
  and the occlusion-order accuracy (``evaluation.crowds``), plus any notes (dropped people).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from posegen_lite.app.demo import save_gif
from posegen_lite.data.synthetic.crowds import CrowdRender, CrowdScene
from posegen_lite.evaluation.crowds import occlusion_order_accuracy, person_l1_in_body, scene_bbox_ssim
from posegen_lite.pipelines.crowd import CrowdResult, CrowdSynthesizer
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS, NovelViewSynthesizer

CROWD_YAWS = (0, 60, 120, 180, 240, 300)
CROWD_TURNTABLE_STEP = 15  # degrees per GIF frame
CROWD_SIZE = (192, 256)


_PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230]],
    np.uint8,
)


def person_map_rgb(person_map: np.ndarray) -> np.ndarray:
    """``(H, W)`` int person indices (−1 = nobody) as an ``(H, W, 3)`` uint8 picture, one colour per person."""
    out = np.full((*person_map.shape, 3), 255, np.uint8)
    who = person_map >= 0
    out[who] = _PALETTE[person_map[who] % len(_PALETTE)]
    return out


def crowd_scores(crowd: CrowdSynthesizer, result: CrowdResult, truth: CrowdRender) -> dict:
    """Per-view scores of a synthesized crowd view against its ground truth."""
    l1 = [
        person_l1_in_body(result.image, truth.image, p.window, truth.camera, truth.joints3d[p.index], crowd.model_size)
        for p in result.people
        if p is not None
    ]
    acc, px = occlusion_order_accuracy(result.front_map(), truth.person_map, truth.full_masks)
    return {
        "yaw": result.yaw,
        "l1_in_body_mean": float(np.nanmean(l1)) if l1 else float("nan"),
        "bbox_ssim": scene_bbox_ssim(result.image, truth.image, truth.full_masks),
        "occlusion_order_accuracy": acc,
        "overlap_pixels": px,
        "notes": result.notes,
    }


def crowd_grid(crowd: CrowdSynthesizer, scenes: list[CrowdScene], yaws=CROWD_YAWS):
    """The figure of ``crowd_views.png`` (two rows per scene) and the per-view scores."""
    from posegen_lite.figures.grids import image_table_figure

    rows, titles, scores = [], [], []
    for scene in scenes:
        src = scene.input_view
        truth = scene.render_many(list(yaws))
        results = crowd.synthesize_many(src.image, scene.joints, src.camera, list(yaws))
        blank = np.full_like(src.image, 255)
        rows += [[src.image, *(r.image for r in results)], [blank, *(t.image for t in truth)]]
        titles += [f"{scene.name}\n{len(scene.people)} people\nsynthesized", "ground truth"]
        scores.append(
            {"scene": scene.name, "people": len(scene.people)}
            | {"views": [crowd_scores(crowd, r, t) for r, t in zip(results, truth, strict=True)]}
        )
    fig = image_table_figure(
        rows, col_titles=["input"] + [f"yaw {y}°" for y in yaws], row_titles=titles, panel_inches=2.0
    )
    return fig, scores


def crowd_turntable_frames(crowd: CrowdSynthesizer, scene: CrowdScene, step: int = CROWD_TURNTABLE_STEP):
    """Frames of a 360° turn of the group: [input | synthesized | ground truth]."""
    yaws = list(range(0, 360, step))
    src = scene.input_view
    results = crowd.synthesize_many(src.image, scene.joints, src.camera, yaws)
    gap = np.full((src.image.shape[0], 3, 3), 255, np.uint8)
    return [
        np.concatenate([src.image, gap, r.image, gap, t.image], axis=1)
        for r, t in zip(results, scene.render_many(yaws), strict=True)
    ]


def run_crowd_demo(
    out_dir: str | Path = "outputs/demo",
    weights: str | Path | None = None,
    scenes: int = 2,
    seed: int = 0,
    size: tuple[int, int] = CROWD_SIZE,
    step: int = CROWD_TURNTABLE_STEP,
    yaws: tuple[int, ...] = CROWD_YAWS,
) -> Path:
    """Run the crowd demo on held-out scenes and return the output folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    weights = Path(weights) if weights is not None else DEMO_WEIGHTS
    if not weights.exists():
        raise FileNotFoundError(f"{weights}: no weights; pass --weights")
    if scenes < 1:
        raise ValueError(f"need at least one scene, got {scenes}")
    crowd = CrowdSynthesizer(NovelViewSynthesizer.from_checkpoint(weights, device="cpu"))
    chosen = [CrowdScene.held_out(i, size, seed=seed) for i in range(scenes)]
    fig, scores = crowd_grid(crowd, chosen, yaws)
    fig.savefig(out / "crowd_views.png", dpi=110)
    save_gif(crowd_turntable_frames(crowd, chosen[0], step), out / "crowd_turntable.gif", ms_per_frame=120)
    summary = {
        "weights": str(weights),
        "size": list(size),
        "model_size": list(crowd.model_size),
        "scenes": scenes,
        "yaws": list(yaws),
        "seconds": round(time.monotonic() - t0, 1),
        "scores": scores,
    }
    (out / "crowd_summary.json").write_text(json.dumps(summary, indent=2))
    return out
