"""What readers see in the notebooks' stored outputs: no path of the machine that ran them, no third-party
warnings or tracebacks (a reader's clone differs, and such noise hides what the cell shows)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").rglob("*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/\w|[A-Z]:\\\\Users)")
NOISE = re.compile(r"(Traceback \(most recent call last\)|\w+Warning: |^W\d{4} |absl::|XNNPACK)", re.MULTILINE)


def _texts(path: Path) -> list[tuple[int, str, str]]:
    """(cell index, output kind, text) of every stored text output of the notebook at ``path``."""
    found = []
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for out in cell.get("outputs", []):
            kind = out.get("name") or out.get("output_type")
            texts = [out.get("text", ""), *(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))]
            found += [(i, kind, t) for t in texts if t]
            if out.get("output_type") == "error":
                found.append((i, "error", " ".join(out.get("traceback", []))))
    return found


def test_the_checker_sees_paths_and_noise():
    assert MACHINE_PATH.search("File /work/main/posegen_lite/x.py, line 3")
    assert NOISE.search("/x/symbol_database.py:55: UserWarning: SymbolDatabase.GetPrototype() is deprecated")
    assert NOISE.search("W0000 00:00:17 123 inference_feedback_manager.cc:114] Feedback manager requires")
    assert not MACHINE_PATH.search("runs/nb02_g1_fast") and not NOISE.search("L1 in the body 0.063 (warning sign)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_name_no_machine_path_and_hold_no_warnings(path):
    bad = [(i, kind, m.group(0)) for i, kind, text in _texts(path) for m in [MACHINE_PATH.search(text)] if m]
    bad += [(i, kind, m.group(0)) for i, kind, text in _texts(path) for m in [NOISE.search(text)] if m]
    assert not bad, f"{path.name}: stored outputs (cell, stream, match): {bad}"


@pytest.mark.slow
def test_a_photo_pose_prints_nothing_to_stderr(tmp_path):
    """MediaPipe's C++ start-up lines and protobuf's deprecation warning stay out of a user's output."""
    pytest.importorskip("mediapipe")
    code = (
        "from skimage.data import astronaut\n"
        "from posegen_lite.geometry.photo import estimate_pose\n"
        "print(int(estimate_pose(astronaut()).visible.sum()))\n"
    )
    run = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True)
    assert int(run.stdout) > 0 and run.stderr == ""
