"""The assignment pack: the check functions on right and wrong answers, the stored reference values, and the
otter-grader pipeline end to end (build the masters, run the built notebooks, grade submissions)."""

from __future__ import annotations

import csv
import functools
import json
import math

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posegen_lite.assignments import NotDoneYet, evaluation, hidden, skip_if_todo, stage1, stage2, stage3
from posegen_lite.assignments.build import ASSIGNMENTS, build, run_notebook
from posegen_lite.assignments.grade import assignment_of, grade
from posegen_lite.assignments.recompute import compute_reference_values
from posegen_lite.assignments.reference import reference_values
from posegen_lite.evaluation.metrics import ssim

# otter-grader (the `assignments` extra, installed by scripts/setup_env.sh) is needed from "the pipeline" on;
# without it build() raises and says which extra to install.


@pytest.fixture(autouse=True)
def one_thread():
    """The checks train tiny networks: one thread (as the notebooks use in fast mode) avoids threads spinning
    against each other on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- reference answers (what a student should write) -------------------------------------------------------


def rotate_yaw(joints3d, yaw_deg):
    j = np.asarray(joints3d, dtype=np.float64)
    pivot = j[[8, 11]].mean(axis=0)
    a = np.deg2rad(yaw_deg)
    R = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return (j - pivot) @ R.T + pivot


def project(points, K, R, t):
    cam = np.asarray(points, dtype=np.float64) @ np.asarray(R).T + np.asarray(t)
    return cam[:, :2] / cam[:, 2:3] @ np.asarray(K)[:2, :2].T + np.asarray(K)[:2, 2]


def draw_pose_maps(xy, visible, height, width, radius):
    maps = np.full((18, height, width), -1.0, np.float32)
    ys, xs = np.mgrid[0:height, 0:width]
    for j in range(18):
        if visible[j]:
            maps[j][(xs - xy[j][0]) ** 2 + (ys - xy[j][1]) ** 2 <= radius**2] = 1.0
    return maps


def masked_l1(pred, target, mask):
    return ((pred - target).abs() * (1 + mask)).mean()


def g1_step(g1, optimizer, batch):
    optimizer.zero_grad()
    loss = masked_l1(g1(batch["image_a"], batch["pose_b"]), batch["image_b"], batch["mask_b"])
    loss.backward()
    optimizer.step()
    return loss.item()


def overfit_one_batch(g1, batch, steps, lr):
    optimizer = torch.optim.Adam(g1.parameters(), lr=lr)
    return [g1_step(g1, optimizer, batch) for _ in range(steps)]


def d_loss(real, fake):
    return -F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean()


def g_adv_loss(fake):
    return -F.logsigmoid(fake).mean()


def gan_step(g2, disc, opt_g, opt_d, batch, coarse, lam, detach=True):
    a, b, m = batch["image_a"], batch["image_b"], batch["mask_b"]
    fake = g2(a, coarse)
    opt_d.zero_grad()
    loss_d = d_loss(disc(a, b), disc(a, fake.detach() if detach else fake))
    loss_d.backward(retain_graph=not detach)
    opt_d.step()
    opt_g.zero_grad()
    adv = g_adv_loss(disc(a, fake))
    l1 = masked_l1(fake, b, m)
    (adv + lam * l1).backward()
    opt_g.step()
    return {"d": loss_d.item(), "g_adv": adv.item(), "g_l1": l1.item()}


def body_box(mask):
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return None if rows.size == 0 else (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def box_ssim(pred, target, mask):
    top, bottom, left, right = evaluation.grow_box(body_box(mask), *mask.shape)
    return ssim(pred[top:bottom, left:right], target[top:bottom, left:right])


def stub(*args):
    raise NotImplementedError("not written")


# --- the checks: right answers pass, public and hidden ----------------------------------------------------


def hidden_check(assignment, question):
    """The hidden check of ``question`` as a one-argument check (cases made on the spot: a fresh seed)."""
    check = functools.partial(hidden.check, assignment, question)
    check.__name__ = f"hidden_{question}"
    return check


RIGHT = [
    (stage1.check_rotate_yaw, rotate_yaw), (hidden_check("stage1_pose", "q1_rotate_yaw"), rotate_yaw),
    (stage1.check_project, project), (hidden_check("stage1_pose", "q2_project"), project),
    (stage1.check_draw_pose_maps, draw_pose_maps), (hidden_check("stage1_pose", "q3_draw_pose_maps"), draw_pose_maps),
    (stage2.check_masked_l1, masked_l1), (hidden_check("stage2_g1", "q1_masked_l1"), masked_l1),
    (stage2.check_g1_step, g1_step), (hidden_check("stage2_g1", "q2_g1_step"), g1_step),
    (stage3.check_d_loss, d_loss), (hidden_check("stage3_gan", "q1_d_loss"), d_loss),
    (stage3.check_g_adv_loss, g_adv_loss), (hidden_check("stage3_gan", "q2_g_adv_loss"), g_adv_loss),
    (stage3.check_gan_step, gan_step), (hidden_check("stage3_gan", "q3_gan_step"), gan_step),
    (evaluation.check_body_box, body_box), (hidden_check("evaluation", "q1_body_box"), body_box),
    (evaluation.check_box_ssim, box_ssim), (hidden_check("evaluation", "q2_box_ssim"), box_ssim),
]  # fmt: skip


@pytest.mark.parametrize(("check", "answer"), RIGHT, ids=[c.__name__ for c, _ in RIGHT])
def test_right_answers_pass(check, answer):
    check(answer)


@pytest.mark.parametrize(("check", "answer"), RIGHT, ids=[c.__name__ for c, _ in RIGHT])
def test_stubs_are_not_done_yet(check, answer):
    with pytest.raises(NotDoneYet, match="^not done yet"):
        check(stub)


def test_overfit_check_on_the_reference_run():
    hidden.check("stage2_g1", "q3_overfit", overfit_one_batch)
    with pytest.raises(NotDoneYet):
        stage2.check_overfit(None)
    with pytest.raises(AssertionError, match="memorise a single batch"):
        stage2.check_overfit([1.0] * stage2.OVERFIT_STEPS)


# --- the checks: wrong answers fail with a message that says what is wrong --------------------------------


WRONG = [
    (stage1.check_rotate_yaw, lambda j, y: rotate_yaw(j, -y), "turns the body the wrong way"),
    (stage1.check_rotate_yaw, lambda j, y: rotate_yaw(np.asarray(j) - np.asarray(j)[[8, 11]].mean(0), y),
     "hip centre moved"),
    (stage1.check_rotate_yaw, lambda j, y: rotate_yaw(j, np.rad2deg(y)), "radians"),
    (stage1.check_project, lambda p, K, R, t: project(p, K, R, t)[:, ::-1], "swapped"),
    (stage1.check_project, lambda p, K, R, t: project(p, K, np.asarray(R).T, t), "R.T"),
    (stage1.check_project, lambda p, K, R, t: (np.asarray(p) @ np.asarray(R).T + t)[:, :2] @ np.asarray(K)[:2, :2].T
     + np.asarray(K)[:2, 2], "perspective division"),
    (stage1.check_draw_pose_maps, lambda xy, v, h, w, r: draw_pose_maps(xy[:, ::-1], v, h, w, r), "swapped"),
    (stage1.check_draw_pose_maps, lambda xy, v, h, w, r: (draw_pose_maps(xy, v, h, w, r) + 1) / 2, "−1, not 0"),
    (stage1.check_draw_pose_maps, lambda xy, v, h, w, r: draw_pose_maps(xy, np.ones(18, bool), h, w, r),
     "not visible"),
    (stage2.check_masked_l1, lambda p, t, m: ((p - t).abs() * m).mean(), "instead of 1 \\+ M_B"),
    (stage2.check_masked_l1, lambda p, t, m: ((p - t).abs() * (1 + m)).sum(), "summed"),
    (stage2.check_masked_l1, lambda p, t, m: masked_l1(p, t, m).item(), "torch tensor"),
    (stage2.check_g1_step, lambda g, o, b: (masked_l1(g(b["image_a"], b["pose_b"]), b["image_b"], b["mask_b"])
     .backward(), o.step(), 0.0)[-1], "returned loss"),
    (stage3.check_d_loss, lambda r, f: -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(),
     "logsigmoid"),
    (stage3.check_d_loss, lambda r, f: d_loss(f, r), "swapped"),
    (stage3.check_g_adv_loss, lambda f: torch.log(1 - torch.sigmoid(f)).mean(), "saturating"),
    (stage3.check_g_adv_loss, lambda f: -torch.log(1 - torch.sigmoid(f)).mean(), "saturates"),
    (stage3.check_gan_step, lambda *a: gan_step(*a, detach=False), "detach"),
    (evaluation.check_body_box, lambda m: (lambda b: b and (b[0], b[1] - 1, b[2], b[3] - 1))(body_box(m)),
     "exclusive"),
    (evaluation.check_box_ssim, lambda p, t, m: ssim(p, t), "whole image"),
]  # fmt: skip


@pytest.mark.parametrize(("check", "answer", "message"), WRONG, ids=[f"{c.__name__}-{m}" for c, _, m in WRONG])
def test_wrong_answers_fail_with_what_is_wrong(check, answer, message):
    with pytest.raises(AssertionError, match=message) as info:
        check(answer)
    assert not isinstance(info.value, NotDoneYet)


def test_g1_step_without_zero_grad_is_caught():
    def no_zero_grad(g1, optimizer, batch):
        loss = masked_l1(g1(batch["image_a"], batch["pose_b"]), batch["image_b"], batch["mask_b"])
        loss.backward()
        optimizer.step()
        return loss.item()

    with pytest.raises(AssertionError, match="zero_grad"):
        stage2.check_g1_step(no_zero_grad)


def test_gan_step_that_frees_the_graph_is_explained():
    def no_detach_no_retain(g2, disc, opt_g, opt_d, batch, coarse, lam):
        a, b, m = batch["image_a"], batch["image_b"], batch["mask_b"]
        fake = g2(a, coarse)
        opt_d.zero_grad()
        d_loss(disc(a, b), disc(a, fake)).backward()
        opt_d.step()
        opt_g.zero_grad()
        (g_adv_loss(disc(a, fake)) + lam * masked_l1(fake, b, m)).backward()
        opt_g.step()
        return {"d": 0.0, "g_adv": 0.0, "g_l1": 0.0}

    with pytest.raises(AssertionError, match="detach"):
        stage3.check_gan_step(no_detach_no_retain)


def test_separation_check():
    stage3.check_separation({"p_real": 0.7, "p_fake": 0.5, "ranking": 0.8, "d_late": 1.2})
    stage3.check_separation({"p_real": 0.5, "p_fake": 0.5, "ranking": 0.49, "d_late": 1.3})  # a swing on held-out pairs
    with pytest.raises(AssertionError, match="opt_d steps"):  # a D that never steps stays at σ = ½
        stage3.check_separation({"p_real": 0.5, "p_fake": 0.5, "ranking": 0.5, "d_late": 2 * math.log(2)})
    with pytest.raises(AssertionError, match="labels"):  # D trained the wrong way round
        stage3.check_separation({"p_real": 0.1, "p_fake": 0.9, "ranking": 0.01, "d_late": 0.2})
    with pytest.raises(NotDoneYet):
        stage3.check_separation(None)
    with pytest.raises(AssertionError, match="older copy"):  # a notebook from before the check read D's losses
        stage3.check_separation({"p_real": 0.7, "p_fake": 0.5, "ranking": 0.8})
    assert stage3.late_d_loss([{"d": 9.0}, {"d": 1.0}, {"d": 2.0}]) == 1.5
    with pytest.raises(ValueError, match="no steps"):
        stage3.late_d_loss([])
    # a D that ranks real over generated pairs perfectly
    torch.manual_seed(0)
    disc = torch.nn.Module()
    disc.forward = lambda a, b: b.mean(dim=(1, 2, 3)) * 10  # type: ignore[method-assign]
    real, fake = torch.full((4, 3, 8, 8), 0.5), torch.full((4, 3, 8, 8), -0.5)
    stats = stage3.d_separation(disc, real, real, fake)
    assert stats["ranking"] == 1.0 and stats["p_real"] > 0.99 > 0.01 > stats["p_fake"]


def test_skip_if_todo_skips_stubs_but_not_bugs(capsys):
    with skip_if_todo("the plot"):
        stub()
    assert "skipped the plot" in capsys.readouterr().out
    with pytest.raises(ZeroDivisionError), skip_if_todo():
        _ = 1 / 0


def test_stored_reference_values_are_reproduced():
    stored, fresh = reference_values(), compute_reference_values()
    np.testing.assert_allclose(stored["stage1"]["projected_reference_pose"],
                               fresh["stage1"]["projected_reference_pose"], atol=1e-3)  # fmt: skip
    for metric, value in stored["evaluation"]["identity"].items():
        assert fresh["evaluation"]["identity"][metric] == pytest.approx(value, abs=1e-3), metric


def test_ablation_check_against_stored_values():
    from posegen_lite.evaluation import IdentityBaseline

    batch = evaluation.ablation_batch()
    predictors = {"identity": IdentityBaseline(), "target": lambda b: b["image_b"]}
    table = evaluation.reference_ablation(predictors, batch, box_metric=evaluation.probe_box_ssim)
    evaluation.check_ablation(table, predictors, batch)
    assert table["identity"]["mask_ssim"] > 0.85  # mask-SSIM saturates even for "do nothing"
    table["identity"]["box_ssim"] += 0.05
    with pytest.raises(AssertionError, match="stored reference"):
        evaluation.check_ablation(table, predictors, batch)
    assert "| identity |" in evaluation.markdown(table)


# --- the pipeline: build, run, grade (otter-grader, no Docker) --------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    built = build(out)
    assert [b.name for b in built] == list(ASSIGNMENTS)
    return out


def test_build_lays_out_student_autograder_and_solutions(dist):
    import zipfile

    for name in ASSIGNMENTS:
        student = dist / "student" / name / f"{name}.ipynb"
        assert assignment_of(student) == name
        text = student.read_text()
        assert "NotImplementedError" in text and "hidden_" not in text
        assert "BEGIN SOLUTION" not in text and "Model answer" not in text  # no solutions, no model answers
        public = "".join(p.read_text() for p in (dist / "student" / name / "tests").glob("*.py"))
        assert "check_" in public and "hidden=True" not in public
        with zipfile.ZipFile(dist / "autograder" / f"{name}.zip") as z:
            hidden = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("tests/"))
        assert "hidden=True" in hidden and "hidden.check(" in hidden and "seed=" not in hidden
        assert f"package/posegen_lite/assignments/hidden_{name}.pt" in z.namelist()
        assert not any(n.endswith(("answers.py", "hidden_cases.py")) for n in z.namelist())
        assert len(list((dist / "student" / name).glob("posegen_lite-*+student.*.whl"))) == 1
        solution = (dist / "solutions" / f"{name}.ipynb").read_text()
        assert "ASSIGNMENT CONFIG" not in solution and "grader.check" in solution


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebook_runs_with_every_check_not_done_yet(dist, name):
    run = run_notebook(dist / "student" / name / f"{name}.ipynb")
    assert len(run.checks) >= 3
    for question, text in run.checks.items():
        assert "not done yet" in text, f"{question}: {text}"
    errors = [o for c in run.notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def _with_bug(notebook, out, old, new):
    book = nbformat.read(notebook, as_version=4)
    hits = [c for c in book.cells if c.cell_type == "code" and old in c.source]
    assert len(hits) == 1
    hits[0].source = hits[0].source.replace(old, new)
    nbformat.write(book, out)
    return out


@pytest.mark.slow
def test_wrong_solution_fails_the_right_check_with_its_message(dist, tmp_path):
    wrong = _with_bug(dist / "solutions" / "stage1_pose.ipynb", dist / "student" / "stage1_pose" / "wrong.ipynb",
                      "a = np.deg2rad(yaw_deg)", "a = np.deg2rad(-yaw_deg)")  # fmt: skip
    try:
        run = run_notebook(wrong)
    finally:
        wrong.unlink()
    assert "turns the body the wrong way" in run.checks["q1_rotate_yaw"]
    assert "passed" in run.checks["q2_project"] and "passed" in run.checks["q3_draw_pose_maps"]


IMPORT_TRICK = {
    "def rotate_yaw": "def rotate_yaw(joints3d, yaw_deg):\n"
    "    from posegen_lite.geometry.camera import rotate_about_body_axis\n"
    "    return rotate_about_body_axis(joints3d, yaw_deg)\n",
    "def project": "def project(points, K, R, t):\n"
    "    from posegen_lite.geometry.camera import Camera\n"
    "    return Camera(K, R, t, 1000, 1000).project(points, within_image=False)[0]\n",
    "def draw_pose_maps": "def draw_pose_maps(xy, visible, height, width, radius):\n"
    "    from posegen_lite.geometry.posemaps import pose_maps\n"
    "    return pose_maps(xy, visible, height, width, kind='disc', radius=radius)\n",
}


def _import_trick(notebook, out):
    """Each answer cell replaced by a wrapper of the package's reference implementation."""
    book = nbformat.read(notebook, as_version=4)
    for start, code in IMPORT_TRICK.items():
        (cell,) = [c for c in book.cells if c.cell_type == "code" and c.source.startswith(start)]
        cell.source = code
    nbformat.write(book, out)
    return out


@pytest.mark.slow
def test_grading_four_submissions(dist, tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    (subs / "all_correct.ipynb").write_text((dist / "solutions" / "stage1_pose.ipynb").read_text())
    # one wrong: project forgets the perspective division
    _with_bug(dist / "solutions" / "stage1_pose.ipynb", subs / "one_wrong.ipynb",
              "xy = cam[:, :2] / cam[:, 2:3]", "xy = cam[:, :2]")  # fmt: skip
    (subs / "empty.ipynb").write_text((dist / "student" / "stage1_pose" / "stage1_pose.ipynb").read_text())
    _import_trick(dist / "solutions" / "stage1_pose.ipynb", subs / "import_trick.ipynb")
    written = tmp_path / "written.csv"
    written.write_text("student,question,points\nall_correct,w1_duality,2\nall_correct,w2_channels,1\n")
    grades = grade([subs], dist / "autograder", tmp_path / "scores.csv", progress=False, written=written)
    rows = {r["submission"].split("/")[-1]: r for r in csv.DictReader((tmp_path / "scores.csv").open())}
    totals = {g.submission.name: g.total for g in grades}
    assert totals == {"all_correct.ipynb": 12.0, "empty.ipynb": 0.0, "one_wrong.ipynb": 6.0, "import_trick.ipynb": 0.0}
    assert rows["one_wrong.ipynb"]["q2_project"] == "0.0" and rows["one_wrong.ipynb"]["q1_rotate_yaw"] == "3.0"
    assert "perspective division" in rows["one_wrong.ipynb"]["first_failure"]
    assert "not done yet" in rows["empty.ipynb"]["first_failure"]
    assert "itself an exercise" in rows["import_trick.ipynb"]["first_failure"]
    assert all(r["possible"] == "15.0" and not r["error"] for r in rows.values())  # 9 auto-graded + 3 × 2 written
    assert rows["all_correct.ipynb"]["w1"] == "2.0" and rows["all_correct.ipynb"]["w2"] == "1.0"
    answers = (tmp_path / "scores_answers" / "empty.md").read_text()
    assert "Written question 1" in answers and "Written question 2" in answers
    report = (tmp_path / "scores_reports" / "one_wrong.md").read_text()
    assert report.count("| q2_project |") == 2 and "perspective division" in report and "Total: 6 / 15" in report


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ASSIGNMENTS if n != "stage1_pose"])
def test_solutions_get_full_marks(dist, tmp_path, name):
    (g,) = grade([dist / "solutions" / f"{name}.ipynb"], dist / "autograder", tmp_path / "s.csv", progress=False)
    assert not g.error and sum(g.scores.values()) == sum(g.possible.values()) > 0, g.first_failure
    assert all(c.passed for c in g.checks) and g.written_possible  # the written questions await grading by hand


def test_cli_builds(tmp_path, capsys):
    from posegen_lite.cli import main

    assert main(["assignments", "build", "--out", str(tmp_path), "--only", "stage1_pose"]) == 0
    assert "stage1_pose: student" in capsys.readouterr().out
    assert json.loads((tmp_path / "student" / "stage1_pose" / "stage1_pose.ipynb").read_text())["metadata"]["otter"]


def test_ensure_tests_rebuilds_public_checks_only(tmp_path):
    from posegen_lite.assignments.build import ensure_tests

    tests = ensure_tests("stage2_g1", folder=tmp_path)
    assert sorted(p.name for p in tests.glob("*.py")) == ["q1_masked_l1.py", "q2_g1_step.py", "q3_overfit.py"]
    assert "hidden=True" not in "".join(p.read_text() for p in tests.glob("*.py"))
    assert ensure_tests("stage2_g1", folder=tmp_path) == tests  # already there: nothing rebuilt
    with pytest.raises(FileNotFoundError, match="upload the tests/"):
        ensure_tests("stage2_g1", folder=tmp_path / "elsewhere", source=tmp_path)
