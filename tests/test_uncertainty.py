"""The bootstrap interval of a model's ratio to a baseline, resampling people (evaluation/uncertainty.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posegen_lite.evaluation.protocol import EvalResult
from posegen_lite.evaluation.uncertainty import ratio_interval, result_ratio_interval


def test_the_ratio_is_the_ratio_of_the_means_over_samples_where_both_are_defined():
    values = [0.1, 0.3, math.nan, 0.2]
    baseline = [0.2, 0.4, 0.5, math.nan]
    r = ratio_interval(values, baseline, ["a", "a", "b", "c"], resamples=50)
    # only the first two samples count: (0.1 + 0.3) / (0.2 + 0.4)
    assert r.ratio == pytest.approx(0.4 / 0.6)
    assert (r.samples, r.groups) == (2, 1)


def test_one_person_or_people_alike_give_no_spread():
    # every person has the same two sums, so every resample has the same ratio
    values = [0.1, 0.2] * 5
    baseline = [0.3, 0.2] * 5
    groups = [i // 2 for i in range(10)]
    r = ratio_interval(values, baseline, groups, resamples=200)
    assert r.low == pytest.approx(0.6) and r.high == pytest.approx(0.6) and r.ratio == pytest.approx(0.6)


def test_the_interval_holds_the_ratio_and_is_reproducible():
    rng = np.random.default_rng(1)
    baseline = rng.uniform(0.1, 0.2, 120)
    values = baseline * rng.uniform(0.3, 0.5, 120)
    groups = np.repeat(np.arange(30), 4)
    a = ratio_interval(values, baseline, groups, seed=3)
    b = ratio_interval(values, baseline, groups, seed=3)
    assert a == b
    assert a.low < a.ratio < a.high
    assert 0.3 < a.low and a.high < 0.5


def test_resampling_people_is_wider_than_resampling_pairs_when_a_persons_pairs_move_together():
    # 20 people × 8 pairs; each person's pairs share most of their error (a hard person is hard everywhere)
    rng = np.random.default_rng(0)
    person = np.repeat(np.arange(20), 8)
    level = rng.uniform(0.3, 0.6, 20)[person]
    values = level + rng.normal(0, 0.01, len(person))
    baseline = np.ones(len(person))
    by_person = ratio_interval(values, baseline, person)
    by_pair = ratio_interval(values, baseline, np.arange(len(person)))
    assert (by_person.high - by_person.low) > 2 * (by_pair.high - by_pair.low)


def test_a_wider_level_gives_a_wider_interval():
    rng = np.random.default_rng(2)
    values, baseline = rng.uniform(0, 1, 60), rng.uniform(1, 2, 60)
    groups = np.repeat(np.arange(15), 4)
    narrow = ratio_interval(values, baseline, groups, level=0.5)
    wide = ratio_interval(values, baseline, groups, level=0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"values": [0.1, 0.2], "baseline": [0.1], "groups": [0, 1]}, "equal-length"),
        ({"values": [0.1], "baseline": [0.2], "groups": [0], "level": 1.0}, "level"),
        ({"values": [math.nan], "baseline": [0.2], "groups": [0]}, "finite"),
        ({"values": [0.1], "baseline": [0.0], "groups": [0]}, "sum to 0"),
        ({"values": [0.1], "baseline": [0.2], "groups": [0], "resamples": 0}, "resamples"),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ratio_interval(**kwargs)


def test_result_ratio_interval_reads_an_evaluation_result():
    meta = {"index": [0, 1, 2, 3], "person_id": [7, 7, 9, 9], "name_a": [""] * 4, "name_b": [""] * 4, "yaw": [0.0] * 4}
    per_sample = {
        "identity": {"masked_l1": np.array([0.2, 0.2, 0.4, 0.4])},
        "G1": {"masked_l1": np.array([0.1, 0.1, 0.1, 0.1])},
    }
    result = EvalResult("test", per_sample, meta)
    r = result_ratio_interval(result, "G1", resamples=500)
    assert r.ratio == pytest.approx(0.4 / 1.2)
    assert r.groups == 2
    # resamples of two people: both person 7 (0.5), both person 9 (0.25), or one of each (1/3)
    assert r.low == pytest.approx(0.25) and r.high == pytest.approx(0.5)
    with pytest.raises(KeyError, match="G2"):
        result_ratio_interval(result, "G2")
