"""How sure a table's ratio is: a bootstrap interval for a model's mean error over a baseline's.

The held-out pairs of a split are not independent draws: each person appears in several pairs (8 viewpoint
changes per person on the embedded data), and a person who is hard for one model (long hair, a busy print) is
hard in all their pairs. So the interval resamples **people**, each with all their pairs (a cluster bootstrap),
not single pairs: resampling pairs would treat 320 pairs as 320 independent people, and the interval would be
too narrow wherever a person's pairs move together.

The ratio is the one the tables print: mean(model) / mean(baseline) over the samples where both are defined
(``EvalResult`` keeps NaN for an undefined metric, e.g. an empty region). With both means over the same samples
this is Σ model / Σ baseline, so a resample only needs each person's two sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegen_lite.evaluation.protocol import EvalResult


@dataclass(frozen=True)
class RatioInterval:
    """``ratio`` = mean(model) / mean(baseline) and its percentile bootstrap interval ``[low, high]`` at
    ``level`` (e.g. 0.95), from ``resamples`` draws of ``groups`` people with replacement."""

    ratio: float
    low: float
    high: float
    level: float
    groups: int
    samples: int
    resamples: int

    def __str__(self) -> str:
        return (
            f"{self.ratio:.3f}× ({100 * self.level:.0f} % interval {self.low:.3f}–{self.high:.3f}, "
            f"{self.groups} people resampled)"
        )


def ratio_interval(
    values: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    groups: Sequence[object],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> RatioInterval:
    """Bootstrap interval of ``mean(values) / mean(baseline)``, resampling whole ``groups`` (people).

    ``values``, ``baseline``: ``(N,)`` per-sample errors of the model and of the baseline on the same samples
    (NaN: undefined; a sample counts only where both are finite). ``groups``: ``(N,)`` the group (person) of each
    sample. ``seed`` makes the draws reproducible. ``ValueError`` for mismatched lengths, a level outside (0, 1),
    no finite sample, or a baseline that sums to 0."""
    v, b = np.asarray(values, np.float64), np.asarray(baseline, np.float64)
    g = np.asarray(groups, dtype=object)
    if v.shape != b.shape or v.ndim != 1 or len(g) != len(v):
        raise ValueError(f"values {v.shape}, baseline {b.shape} and groups ({len(g)},) must be equal-length 1-D")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be ≥ 1, got {resamples}")
    ok = np.isfinite(v) & np.isfinite(b)
    if not ok.any():
        raise ValueError("no sample where both the model's and the baseline's value are finite")
    _, ids = np.unique(g[ok].astype(str), return_inverse=True)
    per_model = np.bincount(ids, weights=v[ok])
    per_base = np.bincount(ids, weights=b[ok])
    if per_base.sum() == 0:
        raise ValueError("the baseline's values sum to 0: the ratio is undefined")
    draws = np.random.default_rng(seed).integers(0, len(per_base), size=(resamples, len(per_base)))
    with np.errstate(divide="ignore", invalid="ignore"):  # a draw of only zero-baseline people: inf, sorted last
        ratios = per_model[draws].sum(1) / per_base[draws].sum(1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return RatioInterval(
        float(per_model.sum() / per_base.sum()), float(low), float(high), level, len(per_base), int(ok.sum()), resamples
    )


def result_ratio_interval(
    result: EvalResult,
    model: str,
    baseline: str = "identity",
    metric: str = "masked_l1",
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> RatioInterval:
    """``ratio_interval`` of ``model`` over ``baseline`` on one of an ``EvalResult``'s metrics (default: the L1
    in the body over the identity baseline's, the quality table's headline), people from its ``person_id``."""
    for name in (model, baseline):
        if name not in result.per_sample:
            raise KeyError(f"{name!r} is not among the evaluated models {result.models}")
    return ratio_interval(
        result.per_sample[model][metric],
        result.per_sample[baseline][metric],
        result.meta["person_id"],
        level=level,
        resamples=resamples,
        seed=seed,
    )
