"""The assignments grade what the student wrote: the student build (references stubbed, no hidden checks),
isolated checks (one mistake costs one question), hidden checks at least as strict as the public ones with
unguessable cases, and the per-student report with hand-graded written points."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from posegen_lite.assignments import evaluation, hidden, stage1, stage2, stage3
from posegen_lite.assignments.answers import compute_stored_answers
from posegen_lite.assignments.checks import stored_answers
from posegen_lite.assignments.grade import CheckResult, Grade, merge_written, read_written_points, report, write_csv
from posegen_lite.assignments.hidden_cases import cases_for as hidden_cases
from posegen_lite.assignments.student_build import INSTRUCTOR_ONLY, STUBS, stub_source, student_package, write_wheel


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def notebook(source: str) -> dict:
    """The global namespace of a notebook that ran ``source`` (the checks see the student's functions there)."""
    scope = {"np": np, "torch": torch, "F": torch.nn.functional}
    exec(textwrap.dedent(source), scope)
    return scope


# --- the student build --------------------------------------------------------------------------------------


def test_stub_source_keeps_signature_docstring_and_the_rest():
    source = textwrap.dedent('''
        import math

        def answer(x: float) -> float:
            """The docstring stays."""
            y = x * 2  # the answer goes
            return math.sqrt(y)

        class Camera:
            def project(self, p):
                return p + 1

            def other(self):
                return 3  # stays
    ''')
    out = stub_source(source, ["answer", "Camera.project"], "an exercise")
    scope: dict = {}
    exec(out, scope)
    with pytest.raises(NotImplementedError, match="an exercise"):
        scope["answer"](2.0)
    with pytest.raises(NotImplementedError):
        scope["Camera"]().project(1)
    assert scope["Camera"]().other() == 3 and scope["answer"].__doc__ == "The docstring stays."
    assert "x * 2" not in out and "p + 1" not in out and "# stays" in out
    with pytest.raises(ValueError, match="no such function"):
        stub_source(source, ["missing"], "x")


@pytest.mark.parametrize("assignment", sorted(STUBS))
def test_student_package_has_no_reference_bodies_and_no_instructor_modules(tmp_path, assignment):
    package = student_package(assignment, tmp_path)
    for rel in INSTRUCTOR_ONLY:
        assert not (package / rel).exists(), rel
    for rel, qualname in STUBS[assignment]:
        text = (package / rel).read_text()
        name = qualname.split(".")[-1]
        body = text.split(f"def {name}(", 1)[1].split("\ndef ", 1)[0].split("\n    def ", 1)[0]
        assert "raise NotImplementedError" in body and "return" not in body.split('"""')[-1], qualname
    # other assignments' references stay: the next stages use them (Stage II renders with pose_maps)
    assert "NotImplementedError" not in (package / "geometry/skeleton.py").read_text()


def _run_in_venv(tmp_path: Path, wheel: Path, script: str) -> subprocess.CompletedProcess:
    """``script`` in a fresh venv where only the student wheel provides posegen_lite (its dependencies come from
    the test's own site-packages, on the path; the editable instructor package there is not importable)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    env = {"PYTHONPATH": sysconfig.get_paths()["purelib"], "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(python), "-c", textwrap.dedent(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_student_wheel_defeats_the_import_trick_and_passes_honest_work(tmp_path):
    wheel = write_wheel(student_package("stage1_pose", tmp_path / "pkg"), "stage1_pose", tmp_path)
    result = _run_in_venv(
        tmp_path,
        wheel,
        """
        import importlib.util, inspect
        import numpy as np
        import posegen_lite
        from posegen_lite.assignments import stage1
        from posegen_lite.geometry.camera import Camera, rotate_about_body_axis
        from posegen_lite.geometry.posemaps import pose_maps
        assert "/venv/" in posegen_lite.__file__, posegen_lite.__file__
        for module in ("hidden", "hidden_cases", "answers"):
            assert importlib.util.find_spec(f"posegen_lite.assignments.{module}") is None, module
        assert "hip_centre(j)" not in inspect.getsource(rotate_about_body_axis)

        def trick_rotate(joints3d, yaw_deg):
            return rotate_about_body_axis(joints3d, yaw_deg)

        def trick_maps(xy, visible, height, width, radius):
            return pose_maps(xy, visible, height, width, kind="disc", radius=radius)

        def honest_rotate(joints3d, yaw_deg):
            j = np.asarray(joints3d, dtype=np.float64)
            pivot = j[[8, 11]].mean(axis=0)
            a = np.deg2rad(yaw_deg)
            R = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
            return (j - pivot) @ R.T + pivot

        for check, trick in ((stage1.check_rotate_yaw, trick_rotate), (stage1.check_draw_pose_maps, trick_maps)):
            try:
                check(trick)
            except AssertionError as e:
                assert "itself an exercise" in str(e), e
            else:
                raise SystemExit("the import trick passed")
        stage1.check_rotate_yaw(honest_rotate)
        print("OK")
        """,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-3000:]


# --- isolated checks ----------------------------------------------------------------------------------------

WRONG_L1 = """
def masked_l1(pred, target, mask):
    return ((pred - target).abs() * mask).mean()   # the usual mistake: M_B instead of 1 + M_B

def g1_step(g1, optimizer, batch):
    optimizer.zero_grad()
    loss = masked_l1(g1(batch["image_a"], batch["pose_b"]), batch["image_b"], batch["mask_b"])
    loss.backward()
    optimizer.step()
    return loss.item()

def overfit_one_batch(g1, batch, steps, lr):
    optimizer = torch.optim.Adam(g1.parameters(), lr=lr)
    return [g1_step(g1, optimizer, batch) for _ in range(steps)]
"""


def test_a_wrong_masked_l1_costs_only_its_own_question():
    nb = notebook(WRONG_L1)
    with pytest.raises(AssertionError, match="instead of 1 \\+ M_B"):
        stage2.check_masked_l1(nb["masked_l1"])
    with pytest.raises(AssertionError, match="wrong value"):
        hidden.check("stage2_g1", "q1_masked_l1", nb["masked_l1"])
    stage2.check_g1_step(nb["g1_step"])
    hidden.check("stage2_g1", "q2_g1_step", nb["g1_step"])
    hidden.check("stage2_g1", "q3_overfit", nb["overfit_one_batch"])
    assert nb["g1_step"].__globals__["masked_l1"] is nb["masked_l1"]  # the notebook itself is left as it was


def test_a_wrong_g1_step_is_blamed_on_g1_step_not_on_masked_l1():
    nb = notebook(WRONG_L1.replace("    optimizer.zero_grad()\n", "").replace("* mask)", "* (1 + mask))"))
    stage2.check_masked_l1(nb["masked_l1"])
    with pytest.raises(AssertionError, match="zero_grad"):
        stage2.check_g1_step(nb["g1_step"])


def test_wrong_gan_losses_cost_only_their_own_questions():
    nb = notebook("""
        def d_loss(real_logits, fake_logits):
            return -F.logsigmoid(fake_logits).mean() - F.logsigmoid(-real_logits).mean()   # real and fake swapped

        def g_adv_loss(fake_logits):
            return torch.log(1 - torch.sigmoid(fake_logits)).mean()   # the saturating form

        def masked_l1(pred, target, mask):
            return ((pred - target).abs() * (1 + mask)).mean()

        def gan_step(g2, disc, opt_g, opt_d, batch, coarse, lam):
            a, b, m = batch["image_a"], batch["image_b"], batch["mask_b"]
            fake = g2(a, coarse)
            opt_d.zero_grad()
            loss_d = d_loss(disc(a, b), disc(a, fake.detach()))
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            adv = g_adv_loss(disc(a, fake))
            l1 = masked_l1(fake, b, m)
            (adv + lam * l1).backward()
            opt_g.step()
            return {"d": loss_d.item(), "g_adv": adv.item(), "g_l1": l1.item()}
    """)
    with pytest.raises(AssertionError, match="swapped"):
        stage3.check_d_loss(nb["d_loss"])
    with pytest.raises(AssertionError, match="saturating"):
        stage3.check_g_adv_loss(nb["g_adv_loss"])
    stage3.check_gan_step(nb["gan_step"])
    hidden.check("stage3_gan", "q3_gan_step", nb["gan_step"])


def test_a_wrong_box_ssim_costs_only_its_own_question():
    nb = notebook("""
        from posegen_lite.assignments.evaluation import grow_box
        from posegen_lite.evaluation.metrics import l1_in_mask, mask_ssim, ssim
        from posegen_lite.images import to_uint8

        def box_ssim(pred, target, mask):
            return ssim(pred, target)   # forgot to crop

        def run_ablation(predictors, batch):
            targets = to_uint8(batch["image_b"])
            masks = batch["mask_b"][:, 0].numpy().astype(np.uint8)
            table = {}
            for name, predict in predictors.items():
                preds = to_uint8(predict(batch))
                scores = {"mask_ssim": [], "box_ssim": [], "l1_in_mask": []}
                for p, t, m in zip(preds, targets, masks):
                    scores["mask_ssim"].append(mask_ssim(p, t, m))
                    scores["box_ssim"].append(box_ssim(p, t, m))
                    scores["l1_in_mask"].append(l1_in_mask(p, t, m))
                table[name] = {k: float(np.mean(v)) for k, v in scores.items()}
            return table
    """)
    with pytest.raises(AssertionError, match="whole image"):
        evaluation.check_box_ssim(nb["box_ssim"])
    hidden.check("evaluation", "q3_ablation", nb["run_ablation"])
    from posegen_lite.evaluation import IdentityBaseline

    batch, predictors = evaluation.ablation_batch(), {"identity": IdentityBaseline()}
    evaluation.check_ablation(evaluation.attempt_ablation(nb["run_ablation"], predictors, batch), predictors, batch)


# --- hidden checks: as strict as the public ones, cases nobody can guess ------------------------------------


def strict_less_than(xy, visible, height, width, radius):
    maps = np.full((18, height, width), -1.0, np.float32)
    ys, xs = np.mgrid[0:height, 0:width]
    for j in range(18):
        if visible[j]:
            maps[j][(xs - xy[j][0]) ** 2 + (ys - xy[j][1]) ** 2 < radius**2] = 1.0
    return maps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_disc_check_is_as_strict_as_the_public_one(seed):
    with pytest.raises(AssertionError, match="13 pixels"):
        stage1.check_draw_pose_maps(strict_less_than)
    cases = hidden_cases("stage1_pose", seed)["q3_draw_pose_maps"]
    with pytest.raises(AssertionError, match="exactly the radius"):
        hidden.CHECKS["q3_draw_pose_maps"](strict_less_than, cases)


def test_hidden_body_box_catches_inclusive_ends_at_the_image_edge():
    def inclusive(mask):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return None if rows.size == 0 else (int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]))

    cases = hidden_cases("evaluation", 0)["q1_body_box"]
    with pytest.raises(AssertionError, match="wrong box"):
        hidden.CHECKS["q1_body_box"](inclusive, cases)


def test_hidden_checks_are_not_in_the_public_modules_and_their_cases_are_fresh():
    for module in (stage1, stage2, stage3, evaluation):
        assert not [n for n in dir(module) if n.startswith("hidden_")], module.__name__
    a, b = hidden_cases("stage2_g1"), hidden_cases("stage2_g1")  # a new secret seed each time
    assert not torch.equal(a["q1_masked_l1"][0]["pred"], b["q1_masked_l1"][0]["pred"])
    again = hidden_cases("stage2_g1", 7), hidden_cases("stage2_g1", 7)  # reproducible given the seed
    assert torch.equal(again[0]["q1_masked_l1"][0]["pred"], again[1]["q1_masked_l1"][0]["pred"])


def test_stored_answers_are_reproduced():
    stored, fresh = stored_answers(), compute_stored_answers()
    for section, values in stored.items():
        for key, value in values.items():
            np.testing.assert_allclose(
                np.asarray(_numbers(value)), np.asarray(_numbers(fresh[section][key])), atol=1e-4, err_msg=key
            )


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _numbers(value[k])]
    return np.ravel(np.asarray(value, np.float64)).tolist()


# --- feedback: the student's report, written points -----------------------------------------------------------


def _student_notebook(path: Path, written: int) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {"tags": ["otter_answer_cell"]}, "source": "my answer"}] * written
    path.write_text(json.dumps({"cells": cells, "metadata": {"otter": {"assignment_name": "stage1_pose"}}}))
    return path


def _graded(path: Path) -> Grade:
    g = Grade(path, "stage1_pose", scores={"q1_rotate_yaw": 1.0}, possible={"q1_rotate_yaw": 3.0})
    g.checks = [
        CheckResult("q1_rotate_yaw", "public", False, True, 1.0, 1.0),
        CheckResult("q1_rotate_yaw", "hidden", True, False, 0.0, 2.0, "wrong result for another pose | at 12°"),
    ]
    return g


def test_report_lists_every_check_and_merges_written_points(tmp_path):
    alice = _graded(_student_notebook(tmp_path / "alice.ipynb", written=2))
    bob = _graded(_student_notebook(tmp_path / "bob.ipynb", written=2))
    points = tmp_path / "written.csv"
    points.write_text("student,question,points\nalice,w1_duality,2\nalice,w2_channels,1.5\nbob,w2,1\ncarol,w1,2\n")
    written = read_written_points(points)
    merge_written(alice, written)
    merge_written(bob, written)
    assert alice.total == 1 + 2 + 1.5 and alice.total_possible == 3 + 2 + 2
    assert bob.written == {"w2": 1.0}
    text = report(alice)
    assert "| q1_rotate_yaw | public | passed | 1/1 |" in text
    assert "hidden | failed | 0/2 | wrong result for another pose \\| at 12°" in text
    assert "w2 (written)" in text and "1.5/2" in text and "Total: 4.5 / 7" in text
    assert "not graded yet" in report(bob)
    rows = list(csv.DictReader(write_csv([alice, bob], tmp_path / "scores.csv").open()))
    assert rows[0]["w1"] == "2.0" and rows[0]["total"] == "4.5" and rows[1]["w1"] == "" and rows[1]["possible"] == "7.0"


def test_written_points_are_validated(tmp_path):
    alice = _graded(_student_notebook(tmp_path / "alice.ipynb", written=2))
    bad = tmp_path / "bad.csv"
    bad.write_text("student,question,points\nalice,w1,three\n")
    with pytest.raises(ValueError, match="line 2"):
        read_written_points(bad)
    bad.write_text("student,question,points\nalice,w3,1\n")
    with pytest.raises(ValueError, match="no written question"):
        merge_written(alice, read_written_points(bad))
    bad.write_text("student,question,points\nalice,w1,5\n")
    with pytest.raises(ValueError, match="outside"):
        merge_written(alice, read_written_points(bad))


def test_hidden_checks_repeat_the_public_checks_side_conditions():
    def in_place(joints3d, yaw_deg):
        a = np.deg2rad(yaw_deg)
        pivot = joints3d[[8, 11]].mean(axis=0)
        R = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
        joints3d[:] = (joints3d - pivot) @ R.T + pivot
        return joints3d

    def detached(pred, target, mask):
        return ((pred - target).abs() * (1 + mask)).mean().detach()

    for check, answer, assignment, question in (
        (stage1.check_rotate_yaw, in_place, "stage1_pose", "q1_rotate_yaw"),
        (stage2.check_masked_l1, detached, "stage2_g1", "q1_masked_l1"),
    ):
        with pytest.raises(AssertionError, match="in place|autograd"):
            check(answer)
        with pytest.raises(AssertionError, match="in place|autograd"):
            hidden.check(assignment, question, answer)
