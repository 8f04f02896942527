"""The package installs without its source tree: a wheel, installed into a fresh virtual environment outside the
checkout, runs the demo and synthesizes a view with the shipped weights (package data, found via
``importlib.resources``).

Installing torch and friends into the fresh environment would take minutes, so the environment borrows the
*dependencies* of the running interpreter through a ``.pth`` line naming its site-packages folder. A folder added
that way is only put on ``sys.path``: the ``.pth`` files inside it — among them the editable install's finder,
which would point back into the checkout — are not run. The test checks that ``posegen_lite`` is imported from
the fresh environment, not from the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what a source distribution of the project holds: enough to build the wheel
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")

SYNTHESIZE = """
import json, sys
from pathlib import Path
import numpy as np
import posegen_lite
from posegen_lite import NovelViewSynthesizer, Scene
from posegen_lite.resources import completion_weights, demo_weights, lifter_weights

synth = NovelViewSynthesizer.from_checkpoint(device="cpu")          # the shipped demo weights
assert synth.completion is not None                                 # and the texture completion network
view = Scene.held_out(0, size=(synth.height, synth.width)).input_view
from3d = synth.synthesize(view.image, view.joints3d, camera=view.camera, yaw=120)
from2d = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=90)  # the shipped lifter
print(json.dumps({
    "package": posegen_lite.__file__,
    "weights": [str(demo_weights()), str(lifter_weights()), str(completion_weights())],
    "size": [synth.height, synth.width],
    "shapes": [list(from3d.image.shape), list(from2d.image.shape)],
    "dtypes": [str(from3d.image.dtype), str(from2d.image.dtype)],
    "differs_from_input": bool(np.abs(from3d.image.astype(int) - view.image.astype(int)).mean() > 1),
}))
"""


def _has_setuptools(major: int) -> bool:
    try:
        return int(version("setuptools").split(".")[0]) >= major
    except (PackageNotFoundError, ValueError):
        return False


def _dependency_dirs() -> list[str]:
    """The running interpreter's site-packages folders (where torch, numpy, ... are installed). Added after the
    fresh environment's own site-packages, they cannot shadow the wheel's copy of posegen_lite."""
    dirs = {*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return sorted(d for d in dirs if Path(d).is_dir())


def _run(args: list, cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PYTHONNOUSERSITE="1", MPLBACKEND="Agg")
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """A wheel built from a copy of the sources, installed (not editable) into a fresh venv outside the checkout."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "posegen_lite", src / "posegen_lite", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    # build with this environment's setuptools when it is new enough for pyproject.toml (fast, offline); else
    # let pip fetch the build requirements into an isolated build environment
    dist = root / "dist"
    isolation = ["--no-build-isolation", "--no-index"] if _has_setuptools(77) else []
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", dist, src], cwd=root)
    (wheel,) = dist.glob("posegen_lite-*.whl")

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], cwd=root)
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root).strip())
    (purelib / "_posegen_test_dependencies.pth").write_text("\n".join(_dependency_dirs()) + "\n")

    run = root / "run"  # the working directory: no posegen_lite/ beside it
    run.mkdir()
    return {"python": python, "venv": venv, "purelib": purelib, "run": run, "wheel": wheel}


@pytest.mark.slow
def test_wheel_holds_the_shipped_weights(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    shipped = {"demo_128x64.pt", "lifter.pt", "texture_completion.pt"}
    assert {f"posegen_lite/assets/{name}" for name in shipped} <= names
    assert "posegen_lite/app/viewpoint_app.ipynb" in names  # what `posegen app` serves
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_installed_package_synthesizes_a_view(installed):
    out = json.loads(_run([installed["python"], "-c", SYNTHESIZE], cwd=installed["run"]).splitlines()[-1])
    purelib = installed["purelib"].resolve()
    assert Path(out["package"]).resolve().is_relative_to(purelib), f"imported from {out['package']}, not the wheel"
    for weights in out["weights"]:
        assert Path(weights).resolve().is_relative_to(purelib) and Path(weights).is_file()
    assert out["shapes"] == [[*out["size"], 3]] * 2 and out["dtypes"] == ["uint8", "uint8"]
    assert out["differs_from_input"]


@pytest.mark.slow
def test_installed_demo_runs(installed):
    out_dir = installed["run"] / "demo"
    printed = _run([installed["python"], "-m", "posegen_lite", "demo", "--out", out_dir, "--people", "1"],
                   cwd=installed["run"])  # fmt: skip
    assert str(out_dir) in printed
    summary = json.loads((out_dir / "summary.json").read_text())
    assert Path(summary["weights"]).resolve().is_relative_to(installed["purelib"].resolve())
    assert (out_dir / "novel_views.png").stat().st_size > 0 and (out_dir / "turntable.gif").stat().st_size > 0
    # the wheel's console script is the same command
    assert "demo" in _run([installed["venv"] / "bin" / "posegen", "--help"], cwd=installed["run"])
