"""Build the student notebooks and autograders from the masters, and grade submitted notebooks locally.

``posegen assignments build --out dist/`` runs otter-grader's ``otter assign`` on every master in
``notebooks/assignments/`` and lays out::

    dist/student/<name>/<name>.ipynb      the notebook students get (stubs, public checks)
    dist/student/<name>/tests/*.py        its public checks (``grader.check`` reads them)
    dist/autograder/<name>.zip            public + hidden checks, for grading
    dist/solutions/<name>.ipynb           the notebook with solutions (for the teacher)

``posegen assignments grade SUBMISSIONS --autograders dist/autograder --csv scores.csv`` grades every
``.ipynb`` under ``SUBMISSIONS`` with otter's non-containerized runner (``otter run``'s Python API: no
Docker), one notebook at a time in a fresh kernel, and writes one CSV row per submission: the points of
each auto-graded question, the total, the possible points, and the first failure message. The written
answers are collected per submission into ``<csv stem>_answers/<submission>.md`` for grading by hand
(docs/teaching.md has the rubric).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MASTERS_DIR = ROOT / "notebooks" / "assignments"
ASSIGNMENTS = ("stage1_pose", "stage2_g1", "stage3_gan", "evaluation")


def _otter():
    try:
        import otter  # noqa: F401
    except ImportError as e:
        raise RuntimeError(
            "the assignments need otter-grader: pip install -e '.[assignments]' (scripts/setup_env.sh installs it)"
        ) from e


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """otter prints a lot (logo, per-test output); keep the command's own output readable."""
    if verbose:
        yield
        return
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


@contextlib.contextmanager
def _environ(**values: str | None) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def masters(source: str | Path = MASTERS_DIR, names: Iterable[str] | None = None) -> list[Path]:
    """The master notebooks to build: ``source/<name>.ipynb`` for each name (default: all four)."""
    source = Path(source)
    paths = [source / f"{n}.ipynb" for n in (names or ASSIGNMENTS)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"master notebook(s) not found: {', '.join(missing)}")
    return paths


@dataclass
class Built:
    """What ``build`` wrote for one assignment."""

    name: str
    student: Path
    autograder: Path
    solution: Path


def build(
    out: str | Path,
    source: str | Path = MASTERS_DIR,
    names: Iterable[str] | None = None,
    run_tests: bool = False,
    fast: bool = True,
    verbose: bool = False,
) -> list[Built]:
    """Run ``otter assign`` on each master and lay the results out under ``out`` (module docstring).

    ``run_tests``: let otter execute each solution notebook and run every check against it (slow: the whole
    notebook runs); ``fast`` sets ``POSEGEN_FAST=1`` for those runs. Raises ``RuntimeError`` when otter fails.
    """
    _otter()
    from otter.assign import main as otter_assign

    out = Path(out)
    built = []
    for master in masters(source, names):
        name = master.stem
        with tempfile.TemporaryDirectory() as tmp:
            # otter assign writes next to the master unless given an absolute path; work in a copy so the
            # source folder stays clean (and read-only sources work).
            work = Path(tmp) / name
            work.mkdir()
            shutil.copy(master, work / master.name)
            result = Path(tmp) / "dist"
            try:
                with _quiet(verbose), _environ(POSEGEN_FAST="1" if fast else None):
                    otter_assign(str(work / master.name), str(result), no_pdfs=True, no_run_tests=not run_tests)
            except Exception as e:  # otter raises bare Exceptions on failing checks and bad markers
                raise RuntimeError(f"otter assign failed on {master}: {e}") from e
            student_dir = out / "student" / name
            shutil.rmtree(student_dir, ignore_errors=True)
            shutil.copytree(result / "student", student_dir)
            zips = sorted((result / "autograder").glob("*.zip"))
            if len(zips) != 1:
                raise RuntimeError(f"expected one autograder zip for {name}, found {len(zips)}")
            (out / "autograder").mkdir(parents=True, exist_ok=True)
            (out / "solutions").mkdir(parents=True, exist_ok=True)
            autograder = shutil.copy(zips[0], out / "autograder" / f"{name}.zip")
            solution = shutil.copy(result / "autograder" / master.name, out / "solutions" / master.name)
        built.append(Built(name, student_dir / master.name, Path(autograder), Path(solution)))
    return built


def ensure_tests(name: str, folder: str | Path = ".", source: str | Path = MASTERS_DIR) -> Path:
    """Make sure ``folder/tests/`` holds the public checks of assignment ``name`` (what ``grader.check`` reads).

    Distributed student folders already have it (no-op). Where only the notebook arrived — typically Colab,
    whose first cell installs this repository — the public checks are rebuilt from the master in the
    installed repository. Raises ``FileNotFoundError`` if neither is there (then upload ``tests/``)."""
    tests = Path(folder) / "tests"
    if tests.is_dir() and any(tests.glob("*.py")):
        return tests
    try:
        masters(source, [name])
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no {tests}/ next to the notebook and no master notebook to rebuild it from: upload the tests/ "
            "folder you were given next to this notebook"
        ) from None
    with tempfile.TemporaryDirectory() as tmp:
        build(tmp, source=source, names=[name])
        shutil.copytree(Path(tmp) / "student" / name / "tests", tests, dirs_exist_ok=True)
    return tests


# --- grading ------------------------------------------------------------------------------------------------


@dataclass
class Grade:
    """One graded submission: points per auto-graded question, and the first failure's message."""

    submission: Path
    assignment: str
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    first_failure: str = ""
    error: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))

    @property
    def total_possible(self) -> float:
        return float(sum(self.possible.values()))


def assignment_of(notebook: str | Path) -> str:
    """The assignment name otter stored in a student notebook's metadata."""
    meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    name = meta.get("otter", {}).get("assignment_name")
    if not name:
        raise ValueError(f"{notebook} is not an assignment notebook (no otter assignment name in its metadata)")
    return name


def _first_failure(results) -> str:
    """``"<question>: <the first failing check's last message line>"`` (public checks come first)."""
    for test_name in results.test_files:
        for case in results.get_result(test_name).test_case_results:
            if not case.passed:
                lines = [ln.strip() for ln in (case.message or "").splitlines() if ln.strip()]
                return f"{test_name}: {lines[-1] if lines else 'failed'}"
    return ""


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
        with _quiet(verbose), _environ(POSEGEN_FAST="1" if fast else None, MPLBACKEND="Agg"):
            results = otter_run(str(submission), autograder=str(zip_path), output_dir=None, no_logo=True)
    except Exception as e:  # a broken submission is a row with an error, not the end of the grading run
        grade.error = f"{type(e).__name__}: {e}"
        return grade
    for test_name in results.test_files:
        result = results.get_result(test_name)
        grade.scores[test_name] = float(result.score)
        grade.possible[test_name] = float(result.possible)
    grade.first_failure = _first_failure(results)
    return grade


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


def find_submissions(paths: Iterable[str | Path]) -> list[Path]:
    """Every ``.ipynb`` in the given files/folders (recursively), sorted, without checkpoints."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += [q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts]
        elif p.suffix == ".ipynb":
            found.append(p)
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
) -> list[Grade]:
    """Grade every submitted notebook and write ``csv_path`` (and the written answers beside it)."""
    from tqdm.auto import tqdm

    paths = find_submissions(submissions)
    if not paths:
        raise FileNotFoundError("no .ipynb submissions found")
    grades = [
        grade_one(p, autograders, fast=fast, verbose=verbose)
        for p in tqdm(paths, desc="grading", unit="notebook", disable=not progress)
    ]
    write_csv(grades, csv_path)
    answers = Path(csv_path).with_name(Path(csv_path).stem + "_answers")
    answers.mkdir(parents=True, exist_ok=True)
    for g in grades:
        (answers / f"{g.submission.stem}.md").write_text(written_answers(g.submission), encoding="utf-8")
    return grades


def write_csv(grades: list[Grade], csv_path: str | Path) -> Path:
    """One row per submission: file, assignment, each question's points, total, possible, first failure, error."""
    questions: list[str] = []
    for g in grades:
        questions += [q for q in g.scores if q not in questions]
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "assignment", *questions, "total", "possible", "first_failure", "error"])
        for g in grades:
            writer.writerow(
                [
                    str(g.submission),
                    g.assignment,
                    *[g.scores.get(q, "") for q in questions],
                    g.total,
                    g.total_possible,
                    g.first_failure,
                    g.error,
                ]
            )
    return csv_path


# --- running a notebook (tests, timing) ---------------------------------------------------------------------


@dataclass
class Run:
    """A notebook executed top to bottom: the notebook with outputs, its wall time, the check cells' texts."""

    notebook: dict
    seconds: float
    checks: dict[str, str]


def _cell_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append("".join(out.get("text", "")))
        data = out.get("data", {})
        parts.append("".join(data.get("text/plain", "")))
        if out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(p for p in parts if p)


def run_notebook(path: str | Path, fast: bool = True, timeout: int = 900, save: str | Path | None = None) -> Run:
    """Execute ``path`` in a fresh kernel in its own folder (where ``tests/`` is), like a student would.

    Raises nbclient's ``CellExecutionError`` if a cell fails. ``checks`` maps each question name to the text
    its ``grader.check("…")`` cell printed. ``save``: also write the executed notebook there.
    """
    import re
    import time

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    book = nbformat.read(path, as_version=4)
    with _environ(POSEGEN_FAST="1" if fast else None, MPLBACKEND="Agg"):
        t0 = time.monotonic()
        NotebookClient(
            book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent.resolve())}}
        ).execute()
        seconds = time.monotonic() - t0
    checks = {}
    for cell in book.cells:
        m = re.match(r'grader\.check\("([^"]+)"\)', cell.source.strip()) if cell.cell_type == "code" else None
        if m:
            checks[m.group(1)] = _cell_text(cell)
    if save is not None:
        nbformat.write(book, save)
    return Run(book, seconds, checks)
