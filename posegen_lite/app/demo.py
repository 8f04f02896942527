"""The main job: novel views of held-out synthetic people, as pictures.

``posegen demo`` (and ``scripts/main.sh``) loads the demo weights from ``assets/`` — or trains G1 and G2 from
scratch within a time budget (``--train-minutes``) — and writes into the output folder:

* ``novel_views.png``: for each person, rows target pose / G1 / G1+G2 / + texture (as the synthesizer shows it:
  the body painted from the input's re-lit texture) / ground truth over yaw angles, the input on the left;
* ``turntable.gif``: a 360° turn of one person — input, G1+G2 and ground truth side by side;
* ``summary.json``: what was run, and L1 inside the target body (G1, the final views, identity) per person.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS, NovelViewSynthesizer

GRID_YAWS = (0, 45, 90, 135, 180, 225, 270, 315)
TURNTABLE_STEP = 10  # degrees per GIF frame


def train_from_scratch(
    run_root: Path, minutes: float, size: tuple[int, int] = (64, 64), width: int = 16, people: int = 400, seed: int = 0
) -> Path:
    """Stage II for 75 % of the budget, then Stage III for the rest, with the library's training loop;
    returns the Stage III run directory."""
    from posegen_lite.data.datasets import DataSpec, build_dataset
    from posegen_lite.models.g1 import G1Config
    from posegen_lite.training.loop import TrainConfig, train

    if minutes <= 0:
        raise ValueError(f"the training budget must be positive, got {minutes} minutes")
    spec = DataSpec(size=size, people=people, seed=seed)
    train_set, val_set = build_dataset(spec, "train"), build_dataset(spec, "val")
    g1 = G1Config(*size, base_channels=width)
    common = dict(steps=1_000_000, batch_size=16, seed=seed, g1=g1, checkpoint_every=250, val_every=500)
    stage2 = TrainConfig(stage=2, run_dir=str(run_root / "g1"), max_minutes=0.75 * minutes, **common)
    result = train(stage2, train_set, val_set)
    stage3 = TrainConfig(
        stage=3,
        run_dir=str(run_root / "g2"),
        max_minutes=0.25 * minutes,
        g1_checkpoint=str(result.checkpoint),
        **common,
    )
    train(stage3, train_set, val_set)
    return run_root / "g2"


def _mean_masked_l1(preds, targets, masks) -> float:
    """Mean over views of the L1 (in [0, 1]) inside each target body mask ``(1, H, W)``."""
    from posegen_lite.evaluation.metrics import l1_in_mask

    return float(np.mean([l1_in_mask(p, t, m[0]) for p, t, m in zip(preds, targets, masks, strict=True)]))


def novel_view_grid(synth: NovelViewSynthesizer, scenes: list[Scene], yaws=GRID_YAWS):
    """The figure of ``novel_views.png`` (a block of rows per person) and per-person scores. Target poses are
    the ground truth's exact 2D keypoints, so G1/G2 and the ground truth are compared for the very same pose."""
    from posegen_lite.figures.grids import image_table_figure
    from posegen_lite.geometry.posemaps import draw_skeleton

    rows, titles, scores = [], [], []
    for scene in scenes:
        truth = scene.render_many(list(yaws))
        src = scene.input_view
        warp = None
        if synth.needs_proxy:  # the body proxy from the input camera to each target camera (G1's warp, G2's region)
            from posegen_lite.geometry.warp import source_maps

            warp = source_maps(src.joints3d, src.camera, [t.joints3d for t in truth], [t.camera for t in truth])
        coarse, refined, _, masks = synth.generate(
            src.image, [t.keypoints for t in truth], [t.visible for t in truth], warp
        )
        targets = [t.image for t in truth]
        block = {
            "target pose": [draw_skeleton(t.keypoints, t.visible, synth.height, synth.width) for t in truth],
            "G1": list(coarse),
        }
        if refined is not None:
            block["G1+G2"] = list(refined)
        final = coarse if refined is None else refined
        if warp is not None:  # as the synthesizer shows it: the body from the input's re-lit texture
            final = _blended(synth, final, src, truth, warp)
            block["+ texture"] = list(final)
        block["ground truth"] = targets
        blank = np.full_like(src.image, 255)
        for k, (name, cells) in enumerate(block.items()):
            rows.append([src.image if k == 0 else blank, *cells])  # the one input image leads each block
            titles.append(f"{scene.name}\n{name}" if k == 0 else name)
        scores.append(
            {
                "person": scene.name,
                "l1_in_body_identity": _mean_masked_l1([src.image] * len(truth), targets, masks),
                "l1_in_body_g1": _mean_masked_l1(coarse, targets, masks),
                "l1_in_body_final": _mean_masked_l1(final, targets, masks),
            }
        )
    fig = image_table_figure(
        rows, col_titles=["input"] + [f"yaw {y}°" for y in yaws], row_titles=titles, panel_inches=1.2
    )
    return fig, scores


def _blended(synth: NovelViewSynthesizer, views: np.ndarray, src, truth, warp) -> np.ndarray:
    """``views`` as the synthesizer's ``unseen="blend"`` shows them (``unseen.blend_views``): the body painted from
    the input's albedo texture (completed by ``synth.completion``), the pixels it saw squarely its colour, re-lit
    for each target camera."""
    from posegen_lite.geometry.shading import RENDER_LIGHT, shading_maps
    from posegen_lite.pipelines.unseen import blend_views, lit_view

    lit = lit_view(src.image, src.joints3d, src.camera, None, RENDER_LIGHT, completion=synth.completion)
    shade = shading_maps(np.stack([t.joints3d for t in truth]), [t.camera for t in truth], RENDER_LIGHT)
    return blend_views(views, warp, lit, shade, synth.texture_share)


def turntable_frames(
    synth: NovelViewSynthesizer, scene: Scene, step: int = TURNTABLE_STEP, zoom: int = 3
) -> list[np.ndarray]:
    """Frames of a 360° turn: [input | synthesized | ground truth], enlarged ``zoom``× for viewing."""
    yaws = list(range(0, 360, step))
    truth = scene.render_many(yaws)
    src = scene.input_view
    results = synth.synthesize_many(src.image, src.joints3d, yaws, camera=src.camera)
    frames = []
    for res, t in zip(results, truth, strict=True):
        gap = np.full((src.image.shape[0], 2, 3), 255, np.uint8)
        frame = np.concatenate([src.image, gap, res.image, gap, t.image], axis=1)
        frames.append(frame.repeat(zoom, axis=0).repeat(zoom, axis=1))
    return frames


def save_gif(frames: list[np.ndarray], path: Path, ms_per_frame: int = 90) -> Path:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms_per_frame, loop=0)
    return path


def run_demo(
    out_dir: str | Path = "outputs/demo",
    weights: str | Path | None = None,
    train_minutes: float | None = None,
    people: int = 4,
    seed: int = 0,
) -> Path:
    """Run the main job and return the output folder (printed by the CLI)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if train_minutes is not None:
        weights = train_from_scratch(out / "runs", train_minutes, seed=seed)
    weights = Path(weights) if weights is not None else DEMO_WEIGHTS
    if not weights.exists():
        raise FileNotFoundError(f"{weights}: no weights; pass --weights or train with --train-minutes N")
    synth = NovelViewSynthesizer.from_checkpoint(weights, device="cpu")
    size = (synth.height, synth.width)
    scenes = [Scene.held_out(i, size, seed=seed) for i in range(people)]
    fig, scores = novel_view_grid(synth, scenes)
    fig.savefig(out / "novel_views.png", dpi=150)
    save_gif(turntable_frames(synth, scenes[0]), out / "turntable.gif")
    summary = {
        "weights": str(weights),
        "size": list(size),
        "people": people,
        "yaws": list(GRID_YAWS),
        "seconds": round(time.monotonic() - t0, 1),
        "scores": scores,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return out
