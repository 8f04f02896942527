"""The embedded dataset: procedurally built people (``body``, ``poses``), a batched ray caster (``render``),
cameras around each person (``framing``), pair planning (``pairs``), the disk cache (``cache``) and the torch
``Dataset`` (``dataset``)."""

from posegen_lite.data.synthetic.cache import load_cache, render_to_disk, verify_cache
from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.data.synthetic.pairs import (
    HARD_YAW_RANGE,
    SPLITS,
    CacheError,
    PairPlan,
    PairRender,
    SyntheticConfig,
    len_split,
    person_of,
    plan_pair,
    render_pairs,
    wrap_degrees,
)

__all__ = [
    "SPLITS", "HARD_YAW_RANGE", "CacheError", "SyntheticConfig", "SyntheticPairs", "PairRender", "PairPlan",
    "plan_pair", "render_pairs", "render_to_disk", "verify_cache", "load_cache", "person_of", "len_split",
    "wrap_degrees",
]  # fmt: skip
