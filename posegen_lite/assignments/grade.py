"""Grade submitted notebooks locally, report to each student, and merge the hand-graded written points.

``grade(SUBMISSIONS, autograders, csv)`` runs every ``.ipynb`` with otter's non-containerized runner (``otter
run``'s Python API: no Docker), one at a time in a fresh kernel, against the autograder that ``build`` made —
whose stubbed package the kernel imports, so a submission cannot reach a reference. It writes

* ``<csv>`` — one row per submission: each question's points (auto-graded and written), total, possible,
  the first failure, an error;
* ``<csv stem>_reports/<submission>.md`` — for the student: every check, passed or not, its message, its points;
* ``<csv stem>_answers/<submission>.md`` — the written answers, for grading by hand.

The challenge's weights are scored by ``challenge.grade_challenge`` (``posegen assignments grade --challenge``).
Written points come from a CSV ``student,question,points`` (``student`` = the submission's file name without
``.ipynb``; an optional ``assignment`` column where one student's file names repeat across assignments).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .build import PACKAGE_IN_ZIP, _environ, _otter, _quiet

WRITTEN_POINTS = 2.0  # every written question (docs/teaching.md, the rubric)


@dataclass
class CheckResult:
    """One check of one question: public or hidden, passed or not, its message, its points."""

    question: str
    name: str
    hidden: bool
    passed: bool
    points: float
    possible: float
    message: str = ""


@dataclass
class Grade:
    """One graded submission: points per auto-graded question, every check, and the written points."""

    submission: Path
    assignment: str
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    written: dict[str, float] = field(default_factory=dict)
    written_possible: dict[str, float] = field(default_factory=dict)
    first_failure: str = ""
    error: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()) + sum(self.written.values()))

    @property
    def total_possible(self) -> float:
        return float(sum(self.possible.values()) + sum(self.written_possible.values()))


def assignment_of(notebook: str | Path) -> str:
    """The assignment name otter stored in a student notebook's metadata."""
    meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    name = meta.get("otter", {}).get("assignment_name")
    if not name:
        raise ValueError(f"{notebook} is not an assignment notebook (no otter assignment name in its metadata)")
    return name


def _last_line(message: str | None) -> str:
    lines = [ln.strip() for ln in (message or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "failed"


def _checks(results) -> list[CheckResult]:
    """Every test case of otter's results, public ones first within each question."""
    out = []
    for question in results.test_files:
        for case in results.get_result(question).test_case_results:
            possible = float(case.test_case.points or 0.0)
            out.append(
                CheckResult(
                    question,
                    case.test_case.name,
                    bool(case.test_case.hidden),
                    bool(case.passed),
                    possible if case.passed else 0.0,
                    possible,
                    "" if case.passed else _last_line(case.message),
                )
            )
    return out


def written_questions(notebook: str | Path) -> list[str]:
    """The names of the written (hand-graded) questions of a student notebook, from otter's cell tags."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    names = []
    for cell in cells:
        if cell["cell_type"] == "markdown" and "otter_answer_cell" in cell.get("metadata", {}).get("tags", []):
            names.append(f"w{len(names) + 1}")
    return names


def grade_one(submission: str | Path, autograders: str | Path, fast: bool = True, verbose: bool = False) -> Grade:
    """Grade one notebook with the autograder ``autograders/<assignment>.zip`` (no Docker)."""
    _otter()
    from otter.run import main as otter_run

    submission = Path(submission)
    grade = Grade(submission, "")
    try:
        grade.assignment = assignment_of(submission)
        zip_path = Path(autograders) / f"{grade.assignment}.zip"
        if not zip_path.is_file():
            raise FileNotFoundError(f"no autograder {zip_path} (build it with `posegen assignments build`)")
        with tempfile.TemporaryDirectory() as tmp, _quiet(verbose):
            path = os.pathsep.join(filter(None, [_student_package(zip_path, Path(tmp)), os.environ.get("PYTHONPATH")]))
            with _environ(POSEGEN_FAST="1" if fast else None, MPLBACKEND="Agg", PYTHONPATH=path):
                results = otter_run(str(submission), autograder=str(zip_path), output_dir=None, no_logo=True)
    except Exception as e:  # a broken submission is a row with an error, not the end of the grading run
        grade.error = f"{type(e).__name__}: {e}"
        return grade
    for test_name in results.test_files:
        result = results.get_result(test_name)
        grade.scores[test_name] = float(result.score)
        grade.possible[test_name] = float(result.possible)
    grade.checks = _checks(results)
    failed = [c for c in grade.checks if not c.passed]
    grade.first_failure = f"{failed[0].question}: {failed[0].message}" if failed else ""
    return grade


def _student_package(autograder: Path, into: Path) -> str:
    """Unpack the autograder's stubbed package (``build``) into ``into``; the folder to put on the path."""
    prefix = f"{PACKAGE_IN_ZIP}/"
    with zipfile.ZipFile(autograder) as z:
        members = [n for n in z.namelist() if n.startswith(prefix)]
        if not members:
            raise FileNotFoundError(
                f"{autograder} holds no student package, so submissions would run against the full package "
                "(where importing a reference earns the points): rebuild it with `posegen assignments build`"
            )
        z.extractall(into, members)
    return str(into / PACKAGE_IN_ZIP)


def read_written_points(path: str | Path) -> dict[tuple[str, str, str], float]:
    """``{(student, assignment or "", question): points}`` from a CSV with columns student, question, points
    (and optionally assignment). Raises ``ValueError`` naming the line of a bad row."""
    points = {}
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"student", "question", "points"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)} (need student, question, points)")
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["points"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: points must be a number, got {row['points']!r}") from None
            key = (row["student"].strip(), (row.get("assignment") or "").strip(), row["question"].strip())
            points[key] = value
    return points


def merge_written(grade: Grade, written: dict[tuple[str, str, str], float]) -> None:
    """Add the hand-graded points of ``grade``'s student to it (questions named as in the notebook, e.g.
    ``w1_duality``, or by their number ``w1``); every written question counts toward the possible total."""
    student = grade.submission.stem
    for number in written_questions(grade.submission):
        grade.written_possible[number] = WRITTEN_POINTS
    for (who, assignment, question), value in written.items():
        if who != student or assignment not in ("", grade.assignment):
            continue
        number = question.split("_", 1)[0]
        if number not in grade.written_possible:
            raise ValueError(f"{student}: no written question {question!r} in {grade.assignment}")
        if not 0 <= value <= WRITTEN_POINTS:
            raise ValueError(f"{student}, {question}: {value:g} points is outside 0–{WRITTEN_POINTS:g}")
        grade.written[number] = value


def written_answers(notebook: str | Path) -> str:
    """The written questions and the student's answers, as markdown (for grading by hand)."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    parts, prompt = [], None
    for cell in cells:
        source = "".join(cell.get("source", ""))
        if cell["cell_type"] == "markdown" and "<!-- BEGIN QUESTION -->" in source:
            # otter may put the previous question's end marker in the same cell as this prompt
            prompt = source.split("<!-- BEGIN QUESTION -->", 1)[1].strip()
        elif cell["cell_type"] == "markdown" and "otter_answer_cell" in cell.get("metadata", {}).get("tags", []):
            parts.append(f"### {prompt or 'Question'}\n\n{source.strip()}\n")
            prompt = None
    return "\n".join(parts)


def report(grade: Grade) -> str:
    """The student's report as markdown: every check with its message and points, the written points, the total."""
    lines = [f"# {grade.assignment or 'assignment'} — {grade.submission.stem}", ""]
    if grade.error:
        return "\n".join([*lines, f"Your notebook could not be graded: {grade.error}", ""])
    lines += ["| question | check | result | points | message |", "| --- | --- | --- | --: | --- |"]
    for c in grade.checks:
        kind = "hidden" if c.hidden else "public"
        result = "passed" if c.passed else "failed"
        message = c.message.replace("|", "\\|")
        lines.append(f"| {c.question} | {kind} | {result} | {c.points:g}/{c.possible:g} | {message} |")
    for number, possible in grade.written_possible.items():
        got = f"{grade.written[number]:g}" if number in grade.written else "not graded yet"
        lines.append(f"| {number} (written) | by hand | | {got}/{possible:g} | |")
    lines += ["", f"**Total: {grade.total:g} / {grade.total_possible:g}**", ""]
    return "\n".join(lines)


def find_submissions(paths: Iterable[str | Path]) -> list[Path]:
    """Every ``.ipynb`` in the given files/folders (recursively), sorted, without checkpoints."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += [q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts]
        elif p.suffix == ".ipynb":
            found.append(p)
        elif p.suffix == ".pt":  # the challenge's submissions are weights, scored by challenge.py
            raise FileNotFoundError(f"{p} holds weights, not a notebook: grade the challenge with --challenge")
        else:
            raise FileNotFoundError(f"not a notebook or folder: {p}")
    return sorted(found)


def grade(
    submissions: Iterable[str | Path],
    autograders: str | Path,
    csv_path: str | Path,
    fast: bool = True,
    verbose: bool = False,
    progress: bool = True,
    written: str | Path | None = None,
) -> list[Grade]:
    """Grade every submitted notebook; write ``csv_path``, the students' reports and the written answers
    beside it (module docstring). ``written``: the CSV of hand-graded points to merge into the totals."""
    from tqdm.auto import tqdm

    paths = find_submissions(submissions)
    if not paths:
        raise FileNotFoundError("no .ipynb submissions found")
    points = read_written_points(written) if written else {}
    grades = [
        grade_one(p, autograders, fast=fast, verbose=verbose)
        for p in tqdm(paths, desc="grading", unit="notebook", disable=not progress)
    ]
    for g in grades:
        if not g.error:
            merge_written(g, points)
    write_csv(grades, csv_path)
    stem = Path(csv_path).with_name(Path(csv_path).stem)
    answers, reports = Path(f"{stem}_answers"), Path(f"{stem}_reports")
    answers.mkdir(parents=True, exist_ok=True)
    reports.mkdir(parents=True, exist_ok=True)
    for g in grades:
        (answers / f"{g.submission.stem}.md").write_text(written_answers(g.submission), encoding="utf-8")
        (reports / f"{g.submission.stem}.md").write_text(report(g), encoding="utf-8")
    return grades


def write_csv(grades: list[Grade], csv_path: str | Path) -> Path:
    """One row per submission: file, assignment, each question's points (auto-graded, then written), total,
    possible, first failure, error."""
    questions: list[str] = []
    for g in grades:
        questions += [q for q in [*g.scores, *g.written_possible] if q not in questions]
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "assignment", *questions, "total", "possible", "first_failure", "error"])
        for g in grades:
            cells = [g.scores.get(q, g.written.get(q, "")) for q in questions]
            writer.writerow(
                [str(g.submission), g.assignment, *cells, g.total, g.total_possible, g.first_failure, g.error]
            )
    return csv_path
