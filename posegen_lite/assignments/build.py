"""Build the student notebooks, the student package and the autograders from the masters; run a notebook.

``posegen assignments build --out dist/`` runs otter-grader's ``otter assign`` on every master in
``notebooks/assignments/`` and lays out::

    dist/student/<name>/<name>.ipynb        the notebook students get (stubs, public checks)
    dist/student/<name>/tests/*.py          its public checks (``grader.check`` reads them)
    dist/student/<name>/posegen_lite-*.whl  the package students install: the exercises' references stubbed
    dist/autograder/<name>.zip              public + hidden checks (stored cases) and the stubbed package
    dist/solutions/<name>.ipynb             the notebook with solutions (for the teacher)

The challenge (``CHALLENGE``, ``challenge.py``) has no checks: its master is the student notebook as it is, its
wheel the package unstubbed, and its autograder zip holds only the hidden split. Grading the submissions is
``grade``'s and ``challenge``'s (``posegen assignments grade [--challenge]``); ``student_build`` makes the package.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MASTERS_DIR = ROOT / "notebooks" / "assignments"
ASSIGNMENTS = ("stage1_pose", "stage2_g1", "stage3_gan", "evaluation")  # notebooks graded by otter's checks
CHALLENGE = "challenge"  # the fifth: exported weights scored on a hidden split (challenge.py)
EVERY = (*ASSIGNMENTS, CHALLENGE)  # what ``posegen assignments build`` builds by default
PACKAGE_IN_ZIP = "package"  # the autograder's folder with the stubbed package the submissions run against


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
    """The master notebooks to build: ``source/<name>.ipynb`` for each name (default: the four otter ones)."""
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
    wheel: Path | None


def build(
    out: str | Path,
    source: str | Path = MASTERS_DIR,
    names: Iterable[str] | None = None,
    run_tests: bool = False,
    fast: bool = True,
    verbose: bool = False,
    seed: int | None = None,
    with_package: bool = True,
) -> list[Built]:
    """Run ``otter assign`` on each master and lay the results out under ``out`` (module docstring), then
    add the student build (``student_build``): its wheel beside the student notebook, and the same stubbed
    package with the hidden checks' stored cases into the autograder.

    ``run_tests``: let otter execute each solution notebook and run every check against it (slow: the whole
    notebook runs); ``fast`` sets ``POSEGEN_FAST=1`` for those runs. ``seed``: the hidden cases' seed and the
    challenge's data seed (default: a fresh secret one per build). ``with_package=False`` skips the student build
    (``wheel`` is then ``None``). ``names`` may include ``CHALLENGE`` (``build_challenge``). Raises
    ``RuntimeError`` when otter fails.
    """
    paths = masters(source, names)
    if any(p.stem != CHALLENGE for p in paths):
        _otter()

    out = Path(out)
    built = []
    for master in paths:
        name = master.stem
        if name == CHALLENGE:
            built.append(build_challenge(master, out, seed, with_package))
            continue
        from otter.assign import main as otter_assign

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
            wheel = add_student_build(name, Path(autograder), student_dir, Path(tmp), seed) if with_package else None
        built.append(Built(name, student_dir / master.name, Path(autograder), Path(solution), wheel))
    return built


def add_student_build(name: str, autograder: Path, student_dir: Path, work: Path, seed: int | None = None) -> Path:
    """Write the student wheel of assignment ``name`` into ``student_dir`` and put the stubbed package, with
    the hidden checks and their stored cases, into the autograder zip under ``package/`` (``grade`` puts it
    first on the grading kernel's path: a submission never reaches a reference)."""
    from .hidden_cases import write_cases
    from .student_build import student_package, write_wheel

    package = student_package(name, work / "student")
    for old in student_dir.glob("posegen_lite-*.whl"):
        old.unlink()
    wheel = write_wheel(package, name, student_dir)
    cases = write_cases(name, work / f"hidden_{name}.pt", seed)
    extra = {"assignments/hidden.py": Path(__file__).with_name("hidden.py"), f"assignments/{cases.name}": cases}
    graded = student_package(name, work / "autograder", extra=extra)
    with zipfile.ZipFile(autograder, "a", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in graded.rglob("*") if p.is_file()):
            z.write(path, f"{PACKAGE_IN_ZIP}/posegen_lite/{path.relative_to(graded).as_posix()}")
    return wheel


def build_challenge(master: Path, out: Path, seed: int | None = None, with_package: bool = True) -> Built:
    """Lay the challenge out like the others: the master as the student notebook and the solution (it holds no
    answer), the package unstubbed but without the instructor's modules as its wheel, and an autograder zip
    holding the hidden split alone (``seed``: its data seed; default a fresh secret one)."""
    from .challenge import new_split, write_split
    from .student_build import INSTRUCTOR_ONLY, PACKAGE_DIR, write_wheel

    student_dir = out / "student" / CHALLENGE
    shutil.rmtree(student_dir, ignore_errors=True)
    student_dir.mkdir(parents=True)
    student = Path(shutil.copy(master, student_dir / master.name))
    (out / "solutions").mkdir(parents=True, exist_ok=True)
    solution = Path(shutil.copy(master, out / "solutions" / master.name))
    autograder = out / "autograder" / f"{CHALLENGE}.zip"
    autograder.unlink(missing_ok=True)
    write_split(autograder, new_split(seed))
    wheel = None
    if with_package:
        with tempfile.TemporaryDirectory() as tmp:
            package = Path(tmp) / "posegen_lite"
            shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            for rel in INSTRUCTOR_ONLY:
                (package / rel).unlink(missing_ok=True)
            wheel = write_wheel(package, CHALLENGE, student_dir)
    return Built(CHALLENGE, student, autograder, solution, wheel)


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
        build(tmp, source=source, names=[name], with_package=False)
        shutil.copytree(Path(tmp) / "student" / name / "tests", tests, dirs_exist_ok=True)
    return tests


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
