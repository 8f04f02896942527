"""Checks of assignment 4 (evaluation): the body box, SSIM inside it, and a metric ablation.

The student writes

* ``body_box(mask) -> (top, bottom, left, right)`` — the bounding box of a ``(H, W)`` {0, 1} mask's
  pixels, bottom/right exclusive (so ``image[top:bottom, left:right]`` is the crop); ``None`` if empty;
* ``box_ssim(pred, target, mask) -> float`` — SSIM (the protocol's ``ssim``) of the two uint8 images cropped
  to the body box, grown to at least 11 px a side with the given ``grow_box`` so SSIM's window fits;
* ``run_ablation(predictors, batch) -> dict`` — ``{name: {"mask_ssim", "box_ssim", "l1_in_mask"}}``: the
  mean of each metric over the batch for each predictor.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..evaluation.metrics import SSIM_WINDOW, grow_span, l1_in_mask, mask_ssim, ssim
from ..images import to_uint8
from .checks import assert_close, attempt, stored_answers, with_references
from .reference import reference_values

METRICS = ("mask_ssim", "box_ssim", "l1_in_mask")


def grow_box(
    box: tuple[int, int, int, int], height: int, width: int, min_size: int = SSIM_WINDOW
) -> tuple[int, int, int, int]:
    """Grow ``(top, bottom, left, right)`` about its centre to at least ``min_size`` per side, inside the image."""
    top, bottom, left, right = (int(v) for v in box)
    return (*grow_span(top, bottom, height, min_size), *grow_span(left, right, width, min_size))


def _example_mask() -> np.ndarray:
    m = np.zeros((20, 30), np.uint8)
    m[4:9, 10:22] = 1
    m[12, 3] = 1
    return m


def check_body_box(body_box) -> None:
    """Public check: a box counted by hand, the exclusive ends, and an empty mask."""
    box = attempt(body_box, _example_mask())
    try:
        box = tuple(int(v) for v in box)
    except TypeError:
        raise AssertionError(f"body_box should return (top, bottom, left, right), got {box!r}") from None
    if box == (4, 12, 3, 21):
        raise AssertionError(
            "bottom and right must be exclusive (one past the last pixel), so that "
            "mask[top:bottom, left:right] holds every mask pixel"
        )
    if box == (3, 21, 4, 12) or box == (3, 22, 4, 13):
        raise AssertionError("you returned (left, right, top, bottom): rows (y) first — (top, bottom, left, right)")
    if box != (4, 13, 3, 22):
        raise AssertionError(
            f"the mask has pixels in rows 4–12 and columns 3–21, so the box is (4, 13, 3, 22); got {box}"
        )
    try:
        empty = body_box(np.zeros((5, 5), np.uint8))
    except NotImplementedError:
        raise
    except Exception as e:  # any error: the message names what went wrong
        raise AssertionError(f"an empty mask should give None, but body_box raised {type(e).__name__}: {e}") from None
    if empty is not None:
        raise AssertionError(f"an empty mask has no box: return None, got {empty!r}")


def _example_images(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)
    pred = np.clip(target.astype(int) + rng.integers(-40, 41, target.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((40, 32), np.uint8)
    mask[10:30, 12:17] = 1  # 5 px wide: the box must be grown to 11 px
    return pred, target, mask


def check_box_ssim(box_ssim) -> None:
    """Public check: identical images, invariance to pixels outside the box, and the reference value."""
    pred, target, mask = _example_images()
    same = float(attempt(box_ssim, target, target.copy(), mask))
    assert_close(same, 1.0, 1e-6, "identical images must score exactly 1")
    got = float(attempt(box_ssim, pred, target, mask))
    if abs(got - ssim(pred, target)) < 1e-9:
        raise AssertionError("you computed SSIM on the whole image: crop to the body box first")
    outside = pred.copy()
    outside[:, :4] = 0  # columns 0–3 lie outside the grown box (columns 9–19)
    moved = float(attempt(box_ssim, outside, target, mask))
    if abs(moved - got) > 1e-9:
        raise AssertionError(
            "the score changed when only pixels outside the body box changed: crop both images "
            "to the (grown) box before SSIM"
        )
    assert_close(
        got,
        stored_answers()["evaluation"]["box_ssim_example"],
        1e-6,
        "wrong value: crop to body_box(mask) grown with grow_box(box, H, W) (here a 5-px-wide box is "
        "grown to 11 px so SSIM's 11×11 window fits), then ssim(pred_crop, target_crop)",
    )


# --- the ablation -------------------------------------------------------------------------------------------


def probe_box_ssim(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """A stand-in for ``box_ssim`` in the check of ``run_ablation`` (SSIM of the whole image: deliberately not
    the answer), so a wrong ``box_ssim`` costs only its own question."""
    return ssim(pred, target)


def reference_ablation(predictors: dict, batch: dict, box_metric=None) -> dict[str, dict[str, float]]:
    """What ``run_ablation`` should return, computed with the package's metrics (``box_metric`` in place of
    ``bbox_ssim`` if given). Instructor's side: not part of the student build."""
    from ..evaluation.metrics import bbox_ssim

    box_metric = box_metric or bbox_ssim
    out = {}
    targets = to_uint8(batch["image_b"])
    masks = batch["mask_b"][:, 0].numpy().astype(np.uint8)
    for name, predict in predictors.items():
        preds = to_uint8(predict(batch))
        rows = {k: [] for k in METRICS}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for p, t, m in zip(preds, targets, masks, strict=True):
                rows["mask_ssim"].append(mask_ssim(p, t, m))
                rows["box_ssim"].append(box_metric(p, t, m))
                rows["l1_in_mask"].append(l1_in_mask(p, t, m))
        out[name] = {k: float(np.nanmean(v)) for k, v in rows.items()}
    return out


def stored_batch(batch: dict) -> dict | None:
    """The first ``ABLATION_SAMPLES`` pairs of ``batch`` (those the stored values are for), or ``None``."""
    if int(batch["image_b"].shape[0]) < ABLATION_SAMPLES:
        return None
    return {k: v[:ABLATION_SAMPLES] for k, v in batch.items() if isinstance(v, torch.Tensor)}


def check_ablation(table, predictors: dict, batch: dict) -> None:
    """Public check on the table of ``attempt_ablation`` (``probe_box_ssim`` standing in for your ``box_ssim``):
    its shape, the identity baseline's stored reference values, and every stored predictor's row."""
    if not isinstance(table, dict) or set(table) != set(predictors):
        raise AssertionError(
            f"run_ablation should return one entry per predictor {sorted(predictors)}, got "
            f"{sorted(table) if isinstance(table, dict) else type(table).__name__}"
        )
    for name, row in table.items():
        if not isinstance(row, dict) or set(row) != set(METRICS):
            raise AssertionError(f"table[{name!r}] should have exactly the keys {METRICS}")
    if stored_batch(batch) is None:
        return
    identity = reference_values()["evaluation"]["identity"]
    for metric in ("mask_ssim", "l1_in_mask"):
        if "identity" in table:
            assert_close(
                table["identity"][metric],
                identity[metric],
                2e-3,
                f"the identity baseline's {metric} does not match the stored reference value {identity[metric]:.4f}",
            )
    stored = stored_answers()["evaluation"]["ablation"]
    for name in set(table) & set(stored):
        for metric in METRICS:
            assert_close(
                table[name][metric],
                stored[name][metric],
                2e-3,
                f"{name}: the mean {metric} over the batch does not match the stored reference value (convert "
                "with to_uint8, take the target's mask, and average over the samples)",
            )


def pose_ablated(predictor):
    """A predictor that sees no target pose: P_B replaced by empty maps (all −1)."""

    def predict(batch: dict) -> torch.Tensor:
        return predictor({**batch, "pose_b": torch.full_like(batch["pose_b"], -1.0)})

    return predict


ABLATION_SAMPLES = 8  # the stored reference values are for this many pairs


def ablation_batch(n: int = ABLATION_SAMPLES) -> dict:
    """The first ``n`` test pairs (64×64, PG2's weights' size) of a fixed synthetic set, collated."""
    from torch.utils.data import default_collate

    from ..data.datasets import DataSpec, build_dataset

    dataset = build_dataset(DataSpec(size=(64, 64), people=80, views=8, seed=0), "test")
    return default_collate([dataset[i] for i in range(n)])


def attempt_ablation(run_ablation, predictors: dict, batch: dict):
    """The student's table on the stored pairs (the whole ``batch`` if it is smaller), with
    ``probe_box_ssim`` in place of their ``box_ssim`` (``NotDoneYet`` while the stub is there)."""
    run = with_references(run_ablation, box_ssim=probe_box_ssim)
    return attempt(run, predictors, stored_batch(batch) or batch, name="run_ablation")


def markdown(table: dict[str, dict[str, float]]) -> str:
    """The ablation table as markdown: one row per predictor (mask-SSIM ↑, box-SSIM ↑, L1 in mask ↓)."""
    lines = ["| predictor | mask-SSIM ↑ | box-SSIM ↑ | L1 in mask ↓ |", "|---|---|---|---|"]
    for name, row in table.items():
        lines.append(f"| {name} | {row['mask_ssim']:.3f} | {row['box_ssim']:.3f} | {row['l1_in_mask']:.4f} |")
    return "\n".join(lines)
