"""The evaluation protocol: every model and every baseline measured by the same code (docs/evaluation.md).

* **What is compared**: the prediction for the target view against the real target image ``I_B`` of a pair
  sample (``data/sample.py``), both as uint8 RGB (``images.to_uint8``); masks and keypoints are the target's.
  The metric definitions live in ``metrics.py``.
* **Which numbers lead**: L1 inside the target body mask, bbox-SSIM, L1 in the detail regions and the
  sharpness ratio; mask-SSIM (which saturates), whole-image SSIM, PSNR and L1 follow, for comparability.
* **Which samples**: ``test`` (held-out people, any viewpoint change) and ``test_hard`` (150–180°); ``limit``
  takes samples *evenly spaced* over the split, so a short evaluation still sees every person.
* **Undefined values** are NaN in the per-sample CSV, counted in the summary and left out of means.
* **Baselines** share the models' code path: ``IdentityBaseline`` (returns ``I_A``) and ``MeanImageBaseline``
  (the per-pixel mean of N training targets).

Use: ``evaluate({"identity": IdentityBaseline(), "G1": G1Predictor(g1)}, test_set)``, then ``write_results``
and ``markdown_table``; from the shell, ``posegen evaluate RUN --splits test test_hard``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from posegen_lite.evaluation import metrics
from posegen_lite.evaluation.predictors import Predictor

# The table's columns, most telling first: (metric key, header, which way is better).
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("masked_l1", "L1 in mask", "↓"),
    ("masked_l1_seen", "L1 seen", "↓"),
    ("masked_l1_unseen", "L1 unseen", "↓"),
    ("bbox_ssim", "bbox-SSIM", "↑"),
    ("region_l1_face", "L1 face", "↓"),
    ("region_l1_torso", "L1 torso", "↓"),
    ("region_l1_hands", "L1 hands", "↓"),
    ("region_l1_feet", "L1 feet", "↓"),
    ("sharpness_ratio", "sharpness", "→1"),
    ("gt_l1_face", "L1 face (front)", "↓"),
    ("gt_l1_print", "L1 print", "↓"),
    ("print_ssim", "print SSIM", "↑"),
    ("print_leak", "print leak", "↓"),
    ("gt_l1_shoes", "L1 shoes", "↓"),
    ("mask_ssim", "mask-SSIM", "↑"),
    ("ssim", "SSIM", "↑"),
    ("psnr", "PSNR dB", "↑"),
    ("l1", "L1", "↓"),
)

PROTOCOL = {
    "images": "uint8 RGB (images.to_uint8: clamp to [-1, 1], round((x + 1) * 127.5)); target view I_B",
    "ssim": {
        "implementation": "skimage.metrics.structural_similarity",
        "gaussian_weights": True,
        "sigma": metrics.SSIM_SIGMA,
        "window": metrics.SSIM_WINDOW,
        "data_range": 255,
        "use_sample_covariance": False,
        "channel_axis": 2,
    },
    "mask_ssim": "PG2: both images multiplied by the target body mask, then SSIM (saturates; for comparability)",
    "bbox_ssim": "SSIM over the bounding box of the target body mask (grown to >= 11 px)",
    "masked_l1": "mean |pred - target| / 255 inside the target body mask",
    "region_l1": {
        "joints": {k: list(v) for k, v in metrics.REGION_JOINTS.items()},
        "half_size_of_height": metrics.REGION_HALF_SIZE,
    },
    "sharpness_ratio": "mean gradient magnitude inside the target mask, prediction / target (1 = as sharp)",
    "l1": "mean |pred - target| / 255 over the whole image",
    "detail (synthetic only, exact parts)": {
        "gt_l1_face": "L1 over the target's head pixels, when both views show the front (chest within 60°)",
        "gt_l1_print": "L1 over the target's visible shirt-print patch, when both views show the front",
        "gt_l1_shoes": "L1 over the target's foot pixels",
        "print_ssim": "SSIM over the print patch's box (>= 11 px), when both views show the front",
        "print_leak": "target shows the back (chest > 120° from the camera): fraction of its chest pixels "
        f"(true colour >= {metrics.LEAK_MARGIN} from the print colours) predicted nearer a print colour "
        "than the truth",
    },
    "masked_l1_seen / masked_l1_unseen": "masked_l1 over the target mask's pixels whose body-proxy surface "
    "point the input saw (visibility > 0.5) / did not see (synthetic data with the proxy extras)",
    "psnr": "dB, peak 255",
    "undefined": "NaN, left out of means and counted",
}

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


def check_prediction(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if not isinstance(pred, torch.Tensor):
        raise ValueError(f"predictor {name!r} returned {type(pred).__name__}, expected a tensor")
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"predictor {name!r} returned {tuple(pred.shape)}, expected {tuple(target.shape)}")
    return pred.detach().float().cpu()


def evaluate(
    predictors: Mapping[str, Predictor],
    dataset: Dataset,
    batch_size: int = 32,
    limit: int | None = None,
    progress: bool = True,
    split: str = "",
) -> EvalResult:
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
                pred = check_prediction(name, predict(batch), batch["image_b"])
                # Undefined values (no visible face, ...) become NaN and are counted below and in the summary;
                # one warning per sample and metric would drown the progress bar.
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", RuntimeWarning)
                    chunks[name].append(
                        metrics.batch_metrics(
                            pred,
                            batch["image_b"],
                            batch["mask_b"],
                            batch["keypoints_b"],
                            batch["visible_b"],
                            details=batch if "parts_b" in batch else None,
                        )
                    )
                n_undefined += sum(issubclass(w.category, RuntimeWarning) for w in caught)
            bar.update(batch["image_b"].shape[0])
    per_sample = {name: {m: np.concatenate([c[m] for c in cs]) for m in cs[0]} for name, cs in chunks.items()}
    if n_undefined:
        warnings.warn(
            f"evaluate {split}: {n_undefined} undefined metric values (NaN; counted as 'nan' in the "
            "summary) — e.g. regions without a visible joint",
            RuntimeWarning,
            stacklevel=2,
        )
    return EvalResult(split, per_sample, meta, seconds=time.perf_counter() - t0)
