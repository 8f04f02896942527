"""Each assignment prints its own measured time per size tier (not the tutorials' estimate), and those figures
are the ones benchmarks/bench_assignments.py stored (docs/teaching.md, "Run times")."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from posegen_lite.assignments.times import MEASURED, TIERS, expected_time

ROOT = Path(__file__).resolve().parents[1]
MASTERS = ROOT / "notebooks" / "assignments"
# bench_assignments.py's runs: the default (POSEGEN_FAST=1) is the fast tier, --full the cpu tier (no GPU there)
RESULTS = {"fast": "bench_assignments.json", "cpu": "bench_assignments_full.json"}


def _solution_rows(tier: str) -> dict[str, dict]:
    rows = json.loads((ROOT / "benchmarks" / "results" / RESULTS[tier]).read_text())["rows"]
    return {r["notebook"]: r for r in rows if r["version"] == "solution"}


@pytest.mark.parametrize("tier", list(RESULTS))
def test_the_printed_times_are_the_measured_ones(tier):
    rows = _solution_rows(tier)
    for name, timings in MEASURED.items():
        t, row = timings[tier], rows[name]
        assert row["full_size"] == (tier != "fast") and row["checks_passed"] == row["checks"] > 0
        assert (t.wall_s, t.cpu_s) == (row["wall_s"], row["kernel_cpu_s"])
        assert t.load == max(row["load_before"], row["load_after"])


@pytest.mark.parametrize("name", list(MEASURED))
def test_each_master_prints_its_own_expected_time(name):
    setup = next(
        c.source for c in nbformat.read(MASTERS / f"{name}.ipynb", as_version=4).cells if c.cell_type == "code"
    )
    assert "nb.setup(verbose=False)" in setup  # not the tutorials' banner and estimate
    assert f'expected_time("{name}", env.tier)' in setup


def test_expected_time_names_the_tier_and_the_others():
    wall = MEASURED["stage2_g1"]["cpu"].wall_s
    text = expected_time("stage2_g1", "cpu")
    first, others = text.splitlines()
    assert "'cpu' tier" in first and "measured" in first and "load" in first
    assert f"{wall:.0f} s" in first or f"{wall / 60:.1f} min" in first
    assert all(t in others for t in TIERS if t != "cpu") and "colab not measured" in others
    assert "not measured" in expected_time("stage2_g1", "full").splitlines()[0]
    with pytest.raises(KeyError):
        expected_time("no_such_assignment", "cpu")
