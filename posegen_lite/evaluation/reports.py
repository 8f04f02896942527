"""Reports of an evaluation: the G1 vs G1+G2 comparison, failure grids, CSV/JSON files and the markdown table."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset, default_collate

from posegen_lite.evaluation.predictors import Predictor
from posegen_lite.evaluation.protocol import PROTOCOL, TABLE_COLUMNS, EvalResult, check_prediction

# --- the G1 vs G1+G2 comparison (docs/evaluation.md, "Does G2 help?") -----------------------------------


def refinement_report(
    result: EvalResult, coarse: str = "G1", refined: str = "G1+G2", max_mask_ssim_drop: float = 0.02
) -> dict[str, float | bool]:
    """Does G2 sharpen G1's output without losing structure? The criterion of docs/evaluation.md, on one split:

    ``sharper``: the refined sharpness ratio (gradient energy / target's, inside the target mask) is above
    the coarse one; ``mask_ssim_drop`` = coarse − refined mask-SSIM must be ≤ ``max_mask_ssim_drop``.
    Also the fraction of samples where the refined image is the sharper one, and the masked-L1 change.
    """
    for name in (coarse, refined):
        if name not in result.per_sample:
            raise ValueError(f"no predictor named {name!r} in this result (have {result.models})")
    s_c, s_r = (np.asarray(result.per_sample[n]["sharpness_ratio"]) for n in (coarse, refined))
    both = ~(np.isnan(s_c) | np.isnan(s_r))
    drop = result.mean(coarse, "mask_ssim") - result.mean(refined, "mask_ssim")
    sharper = result.mean(refined, "sharpness_ratio") > result.mean(coarse, "sharpness_ratio")
    return {
        "split": result.split,
        "sharpness_coarse": result.mean(coarse, "sharpness_ratio"),
        "sharpness_refined": result.mean(refined, "sharpness_ratio"),
        "fraction_refined_sharper": float((s_r[both] > s_c[both]).mean()) if both.any() else math.nan,
        "mask_ssim_coarse": result.mean(coarse, "mask_ssim"),
        "mask_ssim_refined": result.mean(refined, "mask_ssim"),
        "mask_ssim_drop": drop,
        "masked_l1_coarse": result.mean(coarse, "masked_l1"),
        "masked_l1_refined": result.mean(refined, "masked_l1"),
        "sharper": bool(sharper),
        "passes": bool(sharper and drop <= max_mask_ssim_drop),
    }


# --- failure cases --------------------------------------------------------------------------------------


def failure_grid(predictors: Mapping[str, Predictor], dataset: Dataset, indices: Sequence[int]) -> np.ndarray:
    """An image grid of the samples ``indices`` (e.g. ``result.worst("G1", k=8)``): one row per sample with
    input I_A, target skeleton, every predictor's output, target I_B. ``(H', W', 3)`` uint8."""
    from posegen_lite.evaluation.grids import comparison_rows, image_grid

    if not indices:
        raise ValueError("no samples to show")
    batch = default_collate([dataset[int(i)] for i in indices])
    outputs = {name: check_prediction(name, predict(batch), batch["image_b"]) for name, predict in predictors.items()}
    return image_grid(comparison_rows(batch, outputs, limit=len(indices)))


# --- files and tables -----------------------------------------------------------------------------------


def _json_value(v):
    """Strict JSON: NaN → null, ±inf → "inf"/"-inf" (PSNR of a perfect copy)."""
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def write_results(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<split>_per_sample.csv`` (one row per sample and model) and ``<split>_summary.json`` (the
    protocol, per-model summaries, and the G1 vs G1+G2 report when both are present); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    label = result.split or "eval"
    csv_path, json_path = out / f"{label}_per_sample.csv", out / f"{label}_summary.json"
    metric_names = list(next(iter(result.per_sample.values())))
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "index", "person_id", "name_a", "name_b", "yaw", *metric_names])
        for model, values in result.per_sample.items():
            for i in range(len(result)):
                writer.writerow(
                    [
                        model,
                        result.meta["index"][i],
                        result.meta["person_id"][i],
                        result.meta["name_a"][i],
                        result.meta["name_b"][i],
                        f"{result.meta['yaw'][i]:.3f}",
                        *(f"{values[m][i]:.6g}" for m in metric_names),
                    ]
                )
    summary = {
        "split": result.split,
        "samples": len(result),
        "seconds": result.seconds,
        "protocol": PROTOCOL,
        "models": result.summary,
    }
    if {"G1", "G1+G2"} <= set(result.models):
        summary["refinement"] = refinement_report(result)
    json_path.write_text(json.dumps(_json_value(summary), indent=2, allow_nan=False) + "\n")
    return {"csv": csv_path, "json": json_path}


def _fmt(value: float, metric: str) -> str:
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}" if metric == "psnr" else f"{value:.3f}"


def markdown_table(
    results: EvalResult | Sequence[EvalResult], columns: Sequence[tuple[str, str, str]] = TABLE_COLUMNS
) -> str:
    """One markdown table, a row per (split, model) with the mean of every metric in ``columns``."""
    results = [results] if isinstance(results, EvalResult) else list(results)
    header = ["split", "model", "n", *(f"{title} {arrow}" for _, title, arrow in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["--:"] * (len(header) - 2)) + "|"]
    for r in results:
        for model in r.models:
            cells = [_fmt(r.summary[model][m]["mean"], m) if m in r.summary[model] else "–" for m, _, _ in columns]
            lines.append("| " + " | ".join([r.split, model, str(len(r)), *cells]) + " |")
    return "\n".join(lines)


# degrees of |yaw|: small turns get their own bins (under 2° the input itself is the answer to beat)
YAW_BINS = (0.0, 2.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)


def yaw_table(
    result: EvalResult,
    metric: str = "masked_l1",
    bins: Sequence[float] = YAW_BINS,
    baseline: str | None = "identity",
    models: Sequence[str] | None = None,
) -> str:
    """A markdown table of ``metric``'s mean per bin of the viewpoint change |yaw| (degrees; bin ``[lo, hi)``,
    the last one closed), a column per model, and each model's ratio to ``baseline`` (when it is a model of
    ``result``) in the bin — what a single mean over all yaws hides: whether small turns beat doing nothing.
    ``models``: the columns (default: every model of ``result``)."""
    yaw = np.abs(np.asarray(result.meta["yaw"], np.float64))
    edges = list(bins)
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"yaw_table: bins must be increasing edges, got {edges}")
    models = list(result.models if models is None else models)
    ratio_of = [m for m in models if baseline in models and m != baseline]
    header = ["\\|yaw\\|", "pairs", *models, *(f"{m} / {baseline}" for m in ratio_of)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "--:|" * (len(header) - 1)]
    for i, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False)):
        last = i == len(edges) - 2
        in_bin = (yaw >= lo) & ((yaw <= hi) if last else (yaw < hi))
        means = {}
        for m in models:
            values = np.asarray(result.per_sample[m][metric], np.float64)[in_bin]
            values = values[~np.isnan(values)]
            means[m] = float(values.mean()) if values.size else math.nan
        cells = [_fmt(means[m], metric) for m in models]
        ratios = [
            f"{means[m] / means[baseline]:.2f}×" if means[baseline] and not math.isnan(means[m]) else "–"
            for m in ratio_of
        ]
        lines.append("| " + " | ".join([f"{lo:g}–{hi:g}°", str(int(in_bin.sum())), *cells, *ratios]) + " |")
    return "\n".join(lines)
