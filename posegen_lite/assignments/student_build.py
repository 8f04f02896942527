"""The package students install: posegen_lite with the exercises' reference implementations stubbed out.

For each assignment, ``STUBS`` lists the package functions that *are* its answers (``rotate_about_body_axis``,
``Camera.project``, ``pose_maps`` for Stage I, …). ``student_package`` copies the package, replaces each
listed function's body by ``raise NotImplementedError`` (its signature and docstring stay) and leaves out the
instructor's modules (``INSTRUCTOR_ONLY``: the reference steps, the hidden checks and their cases);
``write_wheel`` packs that copy as a wheel. One build per assignment, because the next assignments use the
previous one's functions (Stage II renders its data with ``pose_maps``). Grading runs the submissions against
the same copy (``build`` puts it into the autograder), so importing a reference scores nothing.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import shutil
import zipfile
from pathlib import Path

from .checks import REFERENCE_STUB

PACKAGE_DIR = Path(__file__).resolve().parents[1]

STUBS: dict[str, list[tuple[str, str]]] = {
    "stage1_pose": [
        ("geometry/camera.py", "rotate_about_body_axis"),
        ("geometry/camera.py", "Camera.project"),
        ("geometry/posemaps.py", "pose_maps"),
    ],
    "stage2_g1": [("training/losses.py", "masked_l1")],
    "stage3_gan": [("training/losses.py", "discriminator_loss"), ("training/losses.py", "generator_adversarial_loss")],
    "evaluation": [
        ("evaluation/metrics.py", "mask_bbox"),
        ("evaluation/metrics.py", "bbox_ssim"),
        ("assignments/evaluation.py", "reference_ablation"),
    ],
}
INSTRUCTOR_ONLY = ("assignments/answers.py", "assignments/hidden.py", "assignments/hidden_cases.py")


def stub_source(source: str, qualnames: list[str], why: str) -> str:
    """``source`` with the body of each function in ``qualnames`` (``name`` or ``Class.name``) replaced by
    ``raise NotImplementedError(why)``; everything else, comments included, is left as it was."""
    tree = ast.parse(source)
    found: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            found.update({f"{node.name}.{f.name}": f for f in node.body if isinstance(f, ast.FunctionDef)})
    missing = [q for q in qualnames if q not in found]
    if missing:
        raise ValueError(f"cannot stub {missing}: no such function")
    lines = source.splitlines(keepends=True)
    for fn in sorted((found[q] for q in qualnames), key=lambda f: f.lineno, reverse=True):
        body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
        first = body[0] if body else fn.body[0]
        indent = " " * first.col_offset
        start = first.lineno - 1 if body else fn.body[0].end_lineno
        lines[start : fn.end_lineno] = [f"{indent}raise NotImplementedError({why!r})\n"]
    return "".join(lines)


def student_package(assignment: str, out: str | Path, extra: dict[str, Path] | None = None) -> Path:
    """Write the stubbed copy of the package to ``out/posegen_lite`` and return that folder.

    ``extra``: more files to put into the copy (``{relative path: source file}``; the autograder's hidden
    checks and their stored cases)."""
    if assignment not in STUBS:
        raise ValueError(f"unknown assignment {assignment!r}; expected one of {sorted(STUBS)}")
    target = Path(out) / "posegen_lite"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in INSTRUCTOR_ONLY:
        (target / rel).unlink(missing_ok=True)
    by_file: dict[str, list[str]] = {}
    for rel, qualname in STUBS[assignment]:
        by_file.setdefault(rel, []).append(qualname)
    why = f"{REFERENCE_STUB} {assignment}: write it in your notebook"
    for rel, qualnames in by_file.items():
        path = target / rel
        path.write_text(stub_source(path.read_text(encoding="utf-8"), qualnames, why), encoding="utf-8")
    for rel, source in (extra or {}).items():
        shutil.copy(source, target / rel)
    return target


def _metadata_lines() -> tuple[str, str]:
    """The installed package's version and its dependency/extra lines (METADATA's ``Requires-Dist`` etc.)."""
    meta = importlib.metadata.distribution("posegen-lite").metadata
    lines = [f"{key}: {value}\n" for key in ("Requires-Python", "Provides-Extra", "Requires-Dist") for value in
             (meta.get_all(key) or [])]  # fmt: skip
    return meta["Version"], "".join(lines)


def _console_scripts() -> str:
    eps = importlib.metadata.distribution("posegen-lite").entry_points
    return "".join(f"{ep.name} = {ep.value}\n" for ep in eps if ep.group == "console_scripts")


def write_wheel(package: str | Path, assignment: str, out_dir: str | Path) -> Path:
    """Pack the stubbed ``package`` folder (from ``student_package``) as an installable pure-Python wheel,
    version ``<version>+student.<assignment>`` (the same dependencies and console script as the package)."""
    package, out_dir = Path(package), Path(out_dir)
    version, requirements = _metadata_lines()
    version = f"{version.split('+')[0]}+student.{assignment.replace('_', '.')}"
    dist_info = f"posegen_lite-{version}.dist-info"
    meta = {
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: posegen-lite\nVersion: {version}\n" + requirements,
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: posegen_lite.assignments\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": "[console_scripts]\n" + _console_scripts(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"posegen_lite-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        files = {f"posegen_lite/{p.relative_to(package).as_posix()}": p.read_bytes() for p in _files(package)}
        files.update({k: v.encode() for k, v in meta.items()})
        for name, data in sorted(files.items()):
            z.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        z.writestr(f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n")
    return wheel


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
