"""The challenge (docs/teaching.md, "Challenge"): a hidden split nobody saw, weights scored by the evaluation
protocol into a leaderboard, bad submissions one line each. Tiny sizes: a G1 of width 4, a few dozen pairs."""

from __future__ import annotations

import csv
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from posegen_lite.assignments import challenge
from posegen_lite.assignments.build import CHALLENGE, EVERY, build
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation.predictors import IdentityBaseline, checkpoint_predictors
from posegen_lite.evaluation.protocol import evaluate
from posegen_lite.models.checkpoints import save_checkpoint
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.training.config import TrainConfig
from posegen_lite.training.loop import train

SPLIT = challenge.HiddenSplit(seed=4242, people=8, views=2)  # the tests' "secret": 16 pairs of 8 people


def _config(run_dir: Path, size=challenge.SIZE, **overrides) -> TrainConfig:
    fields = dict(stage=2, run_dir=str(run_dir), steps=40, batch_size=8, device="cpu", checkpoint_every=40,
                  val_every=10**6, max_minutes=challenge.BUDGET_MINUTES["cpu"],
                  g1=G1Config(*size, base_channels=4))  # fmt: skip
    return TrainConfig(**{**fields, **overrides})


def _untrained(run_dir: Path, size=challenge.SIZE, **overrides) -> Path:
    """A run dir whose checkpoint holds a freshly initialised G1 (step 0)."""
    cfg = _config(run_dir, size, **overrides)
    torch.manual_seed(0)
    g1 = G1(cfg.g1)
    state = {"stage": 2, "step": 0, "config": cfg.to_dict(), "model_configs": {"g1": asdict(cfg.g1)},
             "models": {"g1": g1.state_dict()}}  # fmt: skip
    return save_checkpoint(state, run_dir)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, float]:
    """A G1 trained 30 steps through the library's loop (a high learning rate: it must learn something fast),
    and the seconds it took."""
    run_dir = tmp_path_factory.mktemp("trained")
    data = DataSpec(size=challenge.SIZE, people=16, views=4)
    cfg = _config(run_dir, steps=30, checkpoint_every=30, lr=1e-3, g1=G1Config(*challenge.SIZE, base_channels=8))
    t0 = time.monotonic()
    train(cfg, build_dataset(data, "train"), progress=False)
    return run_dir, time.monotonic() - t0


def test_hidden_split_is_a_fresh_secret_kept_in_the_autograder(tmp_path):
    drawn = {challenge.new_split().seed for _ in range(5)}
    assert len(drawn) == 5 and challenge.PUBLIC_SEED not in drawn
    zip_path = challenge.write_split(tmp_path / f"{CHALLENGE}.zip", SPLIT)
    assert challenge.read_split(tmp_path) == SPLIT == challenge.read_split(zip_path)
    with pytest.raises(ValueError, match="already holds a hidden split"):
        challenge.write_split(zip_path, challenge.new_split())
    samples = challenge.render(SPLIT.dataset())
    assert len(samples) == SPLIT.people * SPLIT.views and len({s["person_id"] for s in samples}) == SPLIT.people
    assert samples[0]["image_a"].shape[-2:] == challenge.SIZE and "flow" in samples[0]  # a warping G1 is scored too
    public = build_dataset(DataSpec(size=challenge.SIZE, seed=challenge.PUBLIC_SEED), "test")[0]
    assert not torch.equal(public["image_a"], samples[0]["image_a"])  # other people than the public test split's
    with pytest.raises(FileNotFoundError, match="posegen assignments build --only challenge"):
        challenge.read_split(tmp_path / "elsewhere")


def test_rules_name_each_bad_submission_in_one_line(tmp_path):
    good = challenge.export_submission(_untrained(tmp_path / "ok"), tmp_path / "ok.pt", "cpu", train_seconds=30)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (tmp_path / "notes.pt").write_text("my weights are on my laptop")
    cases = {
        "missing file": tmp_path / "absent.pt",
        "not a usable checkpoint: CheckpointError: not a torch checkpoint": tmp_path / "notes.pt",
        "not a usable checkpoint: CheckpointError": truncated,
        "wrong size: its G1 makes 32×32 images": challenge.export_submission(
            _untrained(tmp_path / "small", size=(32, 32)), tmp_path / "small.pt", "cpu", 30
        ),
        "over budget: trained 60.0 min": challenge.export_submission(good, tmp_path / "slow.pt", "cpu", 3600),
        "over budget: max_minutes 60": _untrained(tmp_path / "declared", max_minutes=60),
        "budget: no training time recorded and no max_minutes": _untrained(tmp_path / "undeclared", max_minutes=None),
        "trained for the gpu track": challenge.export_submission(good, tmp_path / "gpu.pt", "gpu", 60),
    }
    for expected, path in cases.items():
        entry = challenge.Entry(path.stem, path, "cpu")
        assert challenge.check_rules(entry) is None, expected
        assert entry.violation.startswith(expected) and "\n" not in entry.violation, entry.violation
    ok = challenge.Entry("ok", good, "cpu")
    assert challenge.check_rules(ok) is not None and not ok.violation and ok.train_minutes == pytest.approx(0.5)
    assert challenge.check_rules(challenge.Entry("gpu", tmp_path / "gpu.pt", "gpu")) is not None


def test_a_baseline_and_a_better_submission_are_graded_and_ranked(tmp_path, trained, capsys):
    from posegen_lite.cli import main

    run_dir, seconds = trained
    subs = tmp_path / "submissions"
    subs.mkdir()
    challenge.export_submission(_untrained(tmp_path / "untrained"), subs / "baseline.pt", "cpu", 1.0)
    (subs / "better").mkdir()  # a student's folder holding their file
    challenge.export_submission(run_dir, subs / "better" / "weights.pt", "cpu", seconds)
    (subs / "empty").mkdir()  # a student who handed in nothing
    (subs / "junk.pt").write_bytes(b"\x00" * 64)
    (subs / "corrupt.pt").write_bytes((subs / "baseline.pt").read_bytes()[:5000])
    challenge.export_submission(_untrained(tmp_path / "small", size=(32, 32)), subs / "small.pt", "cpu", 1.0)
    challenge.write_split(tmp_path / "autograder" / f"{CHALLENGE}.zip", SPLIT)
    board = tmp_path / "leaderboard.csv"
    argv = ["assignments", "grade", "--challenge", str(subs), "--autograders", str(tmp_path / "autograder"),
            "--csv", str(board), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    rows = list(csv.DictReader(board.open()))
    assert [r["student"] for r in rows] == ["better", "baseline", "corrupt", "empty", "junk", "small"]
    assert [r["rank"] for r in rows] == ["1", "2", "", "", "", ""]
    why = [r["violation"] for r in rows]
    assert why[:2] == ["", ""] and all(w and "\n" not in w for w in why[2:])
    assert why[2].startswith("not a usable checkpoint: CheckpointError: ") and "truncated or corrupted" in why[2]
    assert why[3].startswith("missing file") and why[4].startswith("not a usable checkpoint")
    assert why[5].startswith("wrong size: its G1 makes 32×32 images")
    # The scores are the protocol's numbers on the split the zip names, recomputed here from scratch.
    predictors = {"identity": IdentityBaseline(), **checkpoint_predictors(subs / "better" / "weights.pt")}
    result = evaluate(predictors, SPLIT.dataset(), progress=False)
    assert float(rows[0]["score"]) == pytest.approx(result.mean("G1", "masked_l1"), abs=1e-4)
    assert float(rows[0]["identity"]) == pytest.approx(result.mean("identity", "masked_l1"), abs=1e-4)
    assert float(rows[1]["score"]) > float(rows[0]["score"])
    ratio = float(rows[0]["ratio"])
    assert float(rows[0]["ratio_low"]) <= ratio <= float(rows[0]["ratio_high"])
    assert ratio == pytest.approx(float(rows[0]["score"]) / float(rows[0]["identity"]), rel=1e-3)
    assert float(rows[0]["train_minutes"]) == pytest.approx(seconds / 60, abs=0.05) and rows[0]["steps"] == "30"
    reports = tmp_path / "leaderboard_reports"
    assert "**Rank 1 of 2**" in (reports / "better.md").read_text()
    assert "not ranked: missing file" in (reports / "empty.md").read_text()


def test_a_network_that_fails_on_the_data_is_its_own_row(tmp_path):
    path = challenge.export_submission(_untrained(tmp_path / "run"), tmp_path / "nan.pt", "cpu", 1.0)
    samples = challenge.render(SPLIT.dataset())
    identity = challenge.score_identity(samples)
    entry = challenge.score_entry(challenge.Entry("ok", path, "cpu"), samples, identity)
    assert not entry.violation and np.isfinite(entry.score) and entry.scored == "G1"
    broken = {**samples[0], "pose_b": samples[0]["pose_b"][:3]}  # G1 cannot read 3 pose channels
    failed = challenge.score_entry(challenge.Entry("x", path, "cpu"), [broken], identity)
    assert failed.violation.startswith("could not be scored:") and "\n" not in failed.violation


def test_one_row_per_student_and_a_name_twice_is_a_violation(tmp_path):
    (tmp_path / "alice.pt").write_bytes(b"")
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "w.pt").write_bytes(b"")
    (tmp_path / "bob").mkdir()
    for name in ("a.pt", "b.pt"):
        (tmp_path / "bob" / name).write_bytes(b"")
    entries = challenge.find_entries([tmp_path, tmp_path / "carol.pt"], "cpu")
    assert [e.student for e in entries] == ["alice", "alice", "bob", "carol"]
    assert all(e.violation == "2 submissions named 'alice': submit one" for e in entries[:2])
    assert entries[2].violation == "2 .pt files: submit one" and not entries[3].violation
    with pytest.raises(ValueError, match="unknown track"):
        challenge.find_entries([tmp_path], "tpu")


def test_grading_notebooks_points_weights_to_the_challenge(tmp_path):
    from posegen_lite.assignments.grade import find_submissions

    (tmp_path / "alice.pt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="--challenge"):
        find_submissions([tmp_path / "alice.pt"])


def test_the_student_build_has_the_master_and_not_the_split(tmp_path):
    (built,) = build(tmp_path, names=[CHALLENGE], seed=987654321)
    assert CHALLENGE in EVERY and built.name == CHALLENGE
    assert built.student == tmp_path / "student" / CHALLENGE / f"{CHALLENGE}.ipynb" and built.student.is_file()
    with zipfile.ZipFile(built.wheel) as z:
        names = z.namelist()
        student_text = "".join(z.read(n).decode(errors="ignore") for n in names if n.endswith(".py"))
    assert "posegen_lite/assignments/challenge.py" in names
    assert not any(n.endswith(("hidden.py", "answers.py", "hidden_cases.py")) for n in names)
    student_text += "".join(p.read_text() for p in built.student.parent.glob("*.ipynb"))
    assert "987654321" not in student_text
    assert challenge.read_split(built.autograder).seed == 987654321


@pytest.mark.slow
def test_the_student_notebook_trains_exports_and_scores_within_its_budget(tmp_path, monkeypatch):
    from posegen_lite.assignments.build import run_notebook

    (built,) = build(tmp_path, names=[CHALLENGE], with_package=False)
    monkeypatch.setenv("POSEGEN_RUNS", str(tmp_path / "runs"))
    run = run_notebook(built.student)  # the fast tier: half a minute of training
    errors = [o for c in run.notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    weights = built.student.parent / "your_name.pt"
    entry = challenge.Entry("your_name", weights, "cpu")
    state = challenge.check_rules(entry)
    assert state is not None and not entry.violation
    assert 0.5 <= entry.train_minutes < 1.0  # the half minute of the fast tier stopped it, with the kernel's overhead
    printed = "".join(o.get("text", "") for o in run.notebook.cells[-2].get("outputs", []))
    assert "L1 in the body" in printed and "identity" in printed
