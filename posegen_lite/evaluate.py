"""The evaluation protocol: every model and every baseline measured by the same code (issue 7).

Protocol, stated once (the metric definitions themselves live in ``metrics.py``):

* **What is compared.** The prediction for the target view against the real target image ``I_B`` of a pair
  sample (``data/sample.py``), both converted to **uint8** RGB exactly as they would be saved as PNG
  (``images.to_uint8``). Masks and keypoints are the *target's* (``mask_b``, ``keypoints_b``).
* **SSIM** parameters: scikit-image, 11×11 Gaussian window with σ = 1.5, ``data_range = 255``, population
  statistics, per channel then averaged — Wang et al.'s settings (``metrics.py`` says why).
* **Which numbers lead.** On this kind of data mask-SSIM saturates (DESIGN.md §8: the identity baseline
  already scores ≈ 0.91), so the table leads with the measures that do not: **L1 inside the target body
  mask**, **SSIM over the person's bounding box**, **L1 in the detail regions** (face, torso/shirt print,
  hands, feet) and the **sharpness ratio** (edge energy relative to the target; 1 is ideal, G1 is blurry
  at < 1). Mask-SSIM (PG2's definition), whole-image SSIM, PSNR and L1 follow, for comparability with PG2.
* **Which samples.** Synthetic data: the ``test`` split (held-out people, any viewpoint change) and
  ``test_hard`` (held-out people, 150–180° changes: the unseen side). Both are drawn from person seeds that
  training never uses (``data/synthetic.py``), so every evaluated person is new to the model. ``limit``
  takes that many samples *evenly spaced* over the split, so a short evaluation still sees every person.
* **Undefined values** (an empty mask, a region with no visible joint) are NaN in the per-sample CSV and
  counted in the summary (``"nan"``); means leave them out (``metrics.summarize``).

Baselines (same code path as the models):

* ``IdentityBaseline`` — returns ``I_A``: what a model scores if it learns nothing about the pose change.
* ``MeanImageBaseline`` — the per-pixel mean of N training targets: what a model scores if it learns only
  "a blurry person in the middle".

Python::

    result = evaluate({"identity": IdentityBaseline(), "G1": G1Predictor(g1)}, test_set, batch_size=32)
    write_results(result, "outputs/eval"); print(markdown_table([result]))

Shell: ``posegen evaluate runs/demo_g2 --splits test test_hard --out outputs/eval``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset, default_collate
from tqdm.auto import tqdm

from . import metrics

Predictor = Callable[[dict], torch.Tensor]
"""Anything that maps a collated pair batch to predicted target images ``(B, 3, H, W)`` float in [-1, 1]."""

# The table's columns, most telling first: (metric key, header, which way is better).
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("masked_l1", "L1 in mask", "↓"),
    ("bbox_ssim", "bbox-SSIM", "↑"),
    ("region_l1_face", "L1 face", "↓"),
    ("region_l1_torso", "L1 torso", "↓"),
    ("region_l1_hands", "L1 hands", "↓"),
    ("region_l1_feet", "L1 feet", "↓"),
    ("sharpness_ratio", "sharpness", "→1"),
    ("mask_ssim", "mask-SSIM", "↑"),
    ("ssim", "SSIM", "↑"),
    ("psnr", "PSNR dB", "↑"),
    ("l1", "L1", "↓"),
)

PROTOCOL = {
    "images": "uint8 RGB (images.to_uint8: clamp to [-1, 1], round((x + 1) * 127.5)); target view I_B",
    "ssim": {"implementation": "skimage.metrics.structural_similarity", "gaussian_weights": True,
             "sigma": metrics.SSIM_SIGMA, "window": metrics.SSIM_WINDOW, "data_range": 255,
             "use_sample_covariance": False, "channel_axis": 2},
    "mask_ssim": "PG2: both images multiplied by the target body mask, then SSIM (saturates; for comparability)",
    "bbox_ssim": "SSIM over the bounding box of the target body mask (grown to >= 11 px)",
    "masked_l1": "mean |pred - target| / 255 inside the target body mask",
    "region_l1": {"joints": {k: list(v) for k, v in metrics.REGION_JOINTS.items()},
                  "half_size_of_height": metrics.REGION_HALF_SIZE},
    "sharpness_ratio": "mean gradient magnitude inside the target mask, prediction / target (1 = as sharp)",
    "l1": "mean |pred - target| / 255 over the whole image",
    "psnr": "dB, peak 255",
    "undefined": "NaN, left out of means and counted",
}


# --- predictors ------------------------------------------------------------------------------------------

class IdentityBaseline:
    """Predicts the condition image: ``I_B ≈ I_A`` (``(B, 3, H, W)`` in [-1, 1])."""

    def __call__(self, batch: dict) -> torch.Tensor:
        return batch["image_a"]


class MeanImageBaseline:
    """Predicts the same image for every sample: the per-pixel mean of training targets ``I_B``.

    ``mean``: ``(3, H, W)`` float in [-1, 1]. Build it with ``MeanImageBaseline.fit(train_set, n)``.
    """

    def __init__(self, mean: torch.Tensor) -> None:
        if mean.dim() != 3 or mean.shape[0] != 3:
            raise ValueError(f"the mean image must be (3, H, W), got {tuple(mean.shape)}")
        self.mean = mean.float()

    @classmethod
    def fit(cls, dataset: Dataset, n: int = 256, batch_size: int = 64, seed: int = 0) -> MeanImageBaseline:
        """Average ``image_b`` over ``n`` training samples drawn without replacement (seeded)."""
        if len(dataset) == 0:
            raise ValueError("cannot fit the mean-image baseline on an empty dataset")
        n = min(n, len(dataset))
        indices = np.random.default_rng(seed).choice(len(dataset), size=n, replace=False)
        total, count = None, 0
        for batch in DataLoader(Subset(dataset, sorted(indices.tolist())), batch_size=batch_size):
            b = batch["image_b"].double()
            total = b.sum(0) if total is None else total + b.sum(0)
            count += b.shape[0]
        return cls((total / count).float())

    def __call__(self, batch: dict) -> torch.Tensor:
        b, _, h, w = batch["image_b"].shape
        if self.mean.shape[1:] != (h, w):
            raise ValueError(f"mean image is {tuple(self.mean.shape[1:])}, the batch is {(h, w)}")
        return self.mean.unsqueeze(0).expand(b, -1, -1, -1)


class G1Predictor:
    """Stage II alone: ``Î_B1 = G1(I_A, P_B)``. Runs in float32 under ``torch.no_grad`` on ``device``
    (default: the model's device); returns CPU float32 ``(B, 3, H, W)`` in [-1, 1]."""

    def __init__(self, g1: torch.nn.Module, device: str | torch.device | None = None) -> None:
        self.device = torch.device(device) if device is not None else next(g1.parameters()).device
        self.g1 = g1.to(self.device).eval()

    @torch.no_grad()
    def __call__(self, batch: dict) -> torch.Tensor:
        a, pose = batch["image_a"].to(self.device), batch["pose_b"].to(self.device)
        return self.g1(a, pose).float().cpu()


class G1G2Predictor(G1Predictor):
    """Stage II + III: ``Î_B2 = Î_B1 + G2(I_A, Î_B1)`` (G2 returns the refined image itself)."""

    def __init__(self, g1: torch.nn.Module, g2: torch.nn.Module, device: str | torch.device | None = None) -> None:
        super().__init__(g1, device)
        self.g2 = g2.to(self.device).eval()

    @torch.no_grad()
    def __call__(self, batch: dict) -> torch.Tensor:
        a, pose = batch["image_a"].to(self.device), batch["pose_b"].to(self.device)
        return self.g2(a, self.g1(a, pose)).float().cpu()


def checkpoint_predictors(checkpoint: str | Path, device: str | torch.device = "cpu", suffix: str = ""
                          ) -> dict[str, Predictor]:
    """``{"G1": …}`` for a Stage II checkpoint, ``{"G1": …, "G1+G2": …}`` for Stage III (names + ``suffix``)."""
    from .train import load_models

    models = load_models(checkpoint, device=device)
    out: dict[str, Predictor] = {f"G1{suffix}": G1Predictor(models["g1"])}
    if "g2" in models:
        out[f"G1+G2{suffix}"] = G1G2Predictor(models["g1"], models["g2"])
    return out


# --- evaluation ------------------------------------------------------------------------------------------

@dataclass
class EvalResult:
    """Per-sample metrics of several predictors on one split.

    ``per_sample[model][metric]`` is a ``(N,)`` float64 array aligned with ``meta`` (``index`` in the
    dataset, ``person_id``, ``name_a``, ``name_b``, ``yaw``); ``summary[model][metric]`` holds
    ``{"mean", "std", "count", "nan"}`` (``metrics.summarize``).
    """

    split: str
    per_sample: dict[str, dict[str, np.ndarray]]
    meta: dict[str, list]
    seconds: float = 0.0
    summary: dict[str, dict[str, dict[str, float]]] = field(init=False)

    def __post_init__(self) -> None:
        with np.errstate(invalid="ignore"):  # the std of PSNRs that are all inf (perfect copies) is NaN
            self.summary = {name: metrics.summarize(values) for name, values in self.per_sample.items()}

    @property
    def models(self) -> list[str]:
        return list(self.per_sample)

    def __len__(self) -> int:
        return len(self.meta["index"])

    def mean(self, model: str, metric: str) -> float:
        return self.summary[model][metric]["mean"]

    def worst(self, model: str, metric: str = "masked_l1", k: int = 8) -> list[int]:
        """Dataset indices of the ``k`` worst samples of ``model`` by ``metric`` (NaNs never count as worst).
        "Worst" is the largest value for L1-type metrics, the smallest for SSIM/PSNR."""
        values = np.asarray(self.per_sample[model][metric], np.float64)
        higher_is_better = metric in ("ssim", "mask_ssim", "bbox_ssim", "psnr")
        key = np.where(np.isnan(values), -np.inf, -values if higher_is_better else values)
        order = np.argsort(-key, kind="stable")[: min(k, int((~np.isnan(values)).sum()))]
        return [int(self.meta["index"][i]) for i in order]


def sample_indices(n: int, limit: int | None) -> list[int]:
    """All of ``range(n)``, or ``limit`` indices evenly spaced over it (so every person is represented)."""
    if limit is None or limit >= n:
        return list(range(n))
    if limit < 1:
        raise ValueError(f"limit must be ≥ 1, got {limit}")
    return sorted(set(np.linspace(0, n - 1, limit).round().astype(int).tolist()))


def _check_prediction(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if not isinstance(pred, torch.Tensor):
        raise ValueError(f"predictor {name!r} returned {type(pred).__name__}, expected a tensor")
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"predictor {name!r} returned {tuple(pred.shape)}, expected {tuple(target.shape)}")
    return pred.detach().float().cpu()


def evaluate(predictors: Mapping[str, Predictor], dataset: Dataset, batch_size: int = 32, limit: int | None = None,
             progress: bool = True, split: str = "") -> EvalResult:
    """Run every predictor on (up to ``limit`` samples of) ``dataset`` and score it with ``batch_metrics``.

    Args:
        predictors: ``{name: predictor}``; each maps a collated batch to ``(B, 3, H, W)`` in [-1, 1].
        dataset: yields pair samples (``data/sample.py``); ``keypoints_b``/``visible_b`` give region L1.
        batch_size: samples per forward pass. limit: see ``sample_indices``. split: a label for tables/files.
    Returns:
        ``EvalResult``. Raises ``ValueError`` for an empty dataset or a prediction of the wrong shape/range.
    """
    if not predictors:
        raise ValueError("give at least one predictor")
    indices = sample_indices(len(dataset), limit)
    if not indices:
        raise ValueError("the dataset is empty")
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, shuffle=False)
    chunks: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in predictors}
    meta: dict[str, list] = {"index": list(indices), "person_id": [], "name_a": [], "name_b": [], "yaw": []}
    n_undefined = 0
    t0 = time.perf_counter()
    with tqdm(total=len(indices), desc=f"evaluate {split}".strip(), unit="pair", disable=not progress) as bar:
        for batch in loader:
            for key in ("person_id", "name_a", "name_b"):
                meta[key] += list(batch[key])
            meta["yaw"] += [float(y) for y in batch["yaw"]]
            for name, predict in predictors.items():
                pred = _check_prediction(name, predict(batch), batch["image_b"])
                # Undefined values (no visible face, ...) become NaN and are counted below and in the summary;
                # one warning per sample and metric would drown the progress bar.
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", RuntimeWarning)
                    chunks[name].append(metrics.batch_metrics(pred, batch["image_b"], batch["mask_b"],
                                                              batch["keypoints_b"], batch["visible_b"]))
                n_undefined += sum(issubclass(w.category, RuntimeWarning) for w in caught)
            bar.update(batch["image_b"].shape[0])
    per_sample = {name: {m: np.concatenate([c[m] for c in cs]) for m in cs[0]} for name, cs in chunks.items()}
    if n_undefined:
        warnings.warn(f"evaluate {split}: {n_undefined} undefined metric values (NaN; counted as 'nan' in the "
                      "summary) — e.g. regions without a visible joint", RuntimeWarning, stacklevel=2)
    return EvalResult(split, per_sample, meta, seconds=time.perf_counter() - t0)


# --- the G1 vs G1+G2 comparison (issue 5) ---------------------------------------------------------------

def refinement_report(result: EvalResult, coarse: str = "G1", refined: str = "G1+G2",
                      max_mask_ssim_drop: float = 0.02) -> dict[str, float | bool]:
    """Does G2 sharpen G1's output without losing structure? Issue 5's criterion, on one split:

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
    from .grids import comparison_rows, image_grid

    if not indices:
        raise ValueError("no samples to show")
    batch = default_collate([dataset[int(i)] for i in indices])
    outputs = {name: _check_prediction(name, predict(batch), batch["image_b"]) for name, predict in predictors.items()}
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
                writer.writerow([model, result.meta["index"][i], result.meta["person_id"][i],
                                 result.meta["name_a"][i], result.meta["name_b"][i], f"{result.meta['yaw'][i]:.3f}",
                                 *(f"{values[m][i]:.6g}" for m in metric_names)])
    summary = {"split": result.split, "samples": len(result), "seconds": result.seconds, "protocol": PROTOCOL,
               "models": result.summary}
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


def markdown_table(results: EvalResult | Sequence[EvalResult],
                   columns: Sequence[tuple[str, str, str]] = TABLE_COLUMNS) -> str:
    """One markdown table, a row per (split, model) with the mean of every metric in ``columns``."""
    results = [results] if isinstance(results, EvalResult) else list(results)
    header = ["split", "model", "n", *(f"{title} {arrow}" for _, title, arrow in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["--:"] * (len(header) - 2)) + "|"]
    for r in results:
        for model in r.models:
            cells = [_fmt(r.summary[model][m]["mean"], m) if m in r.summary[model] else "–" for m, _, _ in columns]
            lines.append("| " + " | ".join([r.split, model, str(len(r)), *cells]) + " |")
    return "\n".join(lines)


# --- the command line -----------------------------------------------------------------------------------

def _checkpoint_label(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def evaluate_main(args) -> int:
    """``posegen evaluate [checkpoints...] --splits test test_hard --out DIR --limit N --batch-size B`` plus
    the data arguments. Baselines (identity, mean image of 256 training targets) are always included; with
    no checkpoint the demo weights are used if present. Prints the markdown table; returns 0."""
    from .datasets import build_dataset, spec_from_args
    from .distributed import pick_device
    from .synthesize import DEMO_WEIGHTS

    spec = spec_from_args(args)
    checkpoints = [Path(c) for c in args.checkpoints]
    if not checkpoints:
        if DEMO_WEIGHTS.exists():
            checkpoints = [DEMO_WEIGHTS]
        else:
            print(f"no checkpoint given and no demo weights at {DEMO_WEIGHTS}: evaluating the baselines only",
                  file=sys.stderr)
    for c in checkpoints:
        if not c.exists():
            raise FileNotFoundError(f"checkpoint {c} does not exist")
    device = pick_device("auto")

    predictors: dict[str, Predictor] = {"identity": IdentityBaseline(),
                                        "mean image": MeanImageBaseline.fit(build_dataset(spec, "train"), n=256)}
    for c in checkpoints:
        suffix = f" ({_checkpoint_label(c)})" if len(checkpoints) > 1 else ""
        found = checkpoint_predictors(c, device=device, suffix=suffix)
        g1 = next(iter(found.values())).g1
        if (g1.config.height, g1.config.width) != tuple(spec.size):
            raise ValueError(f"{c} makes {g1.config.height}×{g1.config.width} images but --size is "
                             f"{spec.size[0]}x{spec.size[1]}; pass --size {g1.config.height}x{g1.config.width}")
        predictors.update(found)

    results = []
    for split in args.splits:
        try:
            dataset = build_dataset(spec, split)
        except ValueError as err:
            if spec.data != "synthetic" and split == "test_hard":
                print(f"skipping {split}: {err}", file=sys.stderr)
                continue
            raise
        result = evaluate(predictors, dataset, batch_size=args.batch_size, limit=args.limit, split=split)
        paths = write_results(result, args.out)
        print(f"{split}: {len(result)} samples in {result.seconds:.0f} s → {paths['csv']}, {paths['json']}")
        if {"G1", "G1+G2"} <= set(result.models):
            rep = refinement_report(result)
            print(f"{split}: sharpness G1 {rep['sharpness_coarse']:.3f} → G1+G2 {rep['sharpness_refined']:.3f}; "
                  f"mask-SSIM change {-rep['mask_ssim_drop']:+.4f}")
        results.append(result)
    if not results:
        raise ValueError("no split could be evaluated")
    table = markdown_table(results)
    (Path(args.out) / "table.md").write_text(table + "\n")
    print(table)
    return 0


__all__ = [
    "Predictor", "TABLE_COLUMNS", "PROTOCOL", "IdentityBaseline", "MeanImageBaseline", "G1Predictor",
    "G1G2Predictor", "checkpoint_predictors", "EvalResult", "sample_indices", "evaluate", "refinement_report",
    "failure_grid", "write_results", "markdown_table", "evaluate_main",
]
