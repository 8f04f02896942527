"""Evaluation: the metrics (``metrics``), the protocol that runs every model and baseline through the same
code (``protocol``), the predictors themselves (``predictors``), what is written out (``reports``), and where
an error comes from (``budget``), and how sure a ratio to a baseline is (``uncertainty``); the baselines and
measures of the side the input never saw (``baselines``, ``unseen``, ``turntable``)."""

from posegen_lite.evaluation.baselines import MirrorBaseline, PartMedianBaseline, SourceParts, part_median_image
from posegen_lite.evaluation.budget import error_budget
from posegen_lite.evaluation.predictors import (
    G1G2Predictor,
    G1Predictor,
    IdentityBaseline,
    MeanImageBaseline,
    Predictor,
    WarpBaseline,
    checkpoint_predictors,
)
from posegen_lite.evaluation.protocol import PROTOCOL, TABLE_COLUMNS, EvalResult, evaluate, sample_indices
from posegen_lite.evaluation.reports import (
    failure_grid,
    markdown_table,
    refinement_report,
    write_results,
    yaw_table,
)
from posegen_lite.evaluation.turntable import TurntablePair, turntable_pair, turntable_scores
from posegen_lite.evaluation.uncertainty import RatioInterval, ratio_interval, result_ratio_interval
from posegen_lite.evaluation.unseen import (
    UNSEEN_METRICS,
    UnseenRecorder,
    laplacian_energy,
    mottle_ratio,
    turntable_difference,
    turntable_ratio,
    unseen_l1,
    unseen_scores,
)

__all__ = [
    "G1G2Predictor", "G1Predictor", "IdentityBaseline", "MeanImageBaseline", "Predictor", "WarpBaseline",
    "checkpoint_predictors",
    "PROTOCOL", "TABLE_COLUMNS", "EvalResult", "evaluate", "sample_indices", "failure_grid", "markdown_table",
    "refinement_report", "write_results", "yaw_table", "error_budget", "RatioInterval", "ratio_interval",
    "result_ratio_interval",
    "MirrorBaseline", "PartMedianBaseline", "SourceParts", "part_median_image", "UNSEEN_METRICS", "UnseenRecorder",
    "laplacian_energy", "mottle_ratio", "turntable_difference", "turntable_ratio", "unseen_l1", "unseen_scores",
    "TurntablePair", "turntable_pair", "turntable_scores",
]  # fmt: skip
