"""Colab: the repository address and ref the notebooks install from, their badges and their install cell.

The address and the ref live here and only here (``REPO_URL``, ``REF``). ``scripts/make_badges.py --repo URL
--ref TAG`` rewrites these two constants *and* every notebook's badge and install cell, so a course can point
the notebooks at its fork and pin a tag — every student then runs the same code. ``make_badges.py --check``
(run by the tests) fails when a notebook disagrees with the constants.

The install cell is plain Python that runs before ``posegen_lite`` can be imported: on Colab it clones
``REPO_URL`` at ``REF`` (``git clone --branch`` takes a branch or a tag, not a commit hash) and installs the
package with the extras that notebook needs; elsewhere it does nothing. The assignment masters'
(``notebooks/assignments/``) set-up cells open with the same install (``assignment_setup``, the ``assignments``
extra), and ``make_badges.py`` rewrites them too.
"""

from __future__ import annotations

import sys

REPO_URL = "https://github.com/posegen-lite/posegen_lite"
REF = "main"
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
NOTEBOOKS = (
    "00_quickstart.ipynb", "01_stage1_pose.ipynb", "02_stage2_unet.ipynb", "03_stage3_gan.ipynb",
    "04_evaluation.ipynb", "05_viewpoint_widget.ipynb", "06_real_datasets.ipynb", "07_crowds.ipynb",
    "08_unseen_side.ipynb",
)  # fmt: skip
# pyproject extras each notebook installs on Colab (tensorboard: the %tensorboard view of a training run)
EXTRAS = {
    "02_stage2_unet.ipynb": "tensorboard",
    "03_stage3_gan.ipynb": "tensorboard",
    "06_real_datasets.ipynb": "photo",
    "08_unseen_side.ipynb": "tensorboard",
}
# MediaPipe 0.10.14 ships its pose models in the wheel; its metadata pins an old numpy, so it goes in with
# --no-deps next to the "photo" extra (the same as scripts/setup_env.sh does).
MEDIAPIPE = "mediapipe==0.10.14"


def _github_path(repo_url: str) -> str:
    prefix = "https://github.com/"
    if not repo_url.startswith(prefix) or repo_url.rstrip("/").count("/") != 4:
        raise ValueError(f"Colab opens GitHub repositories only (https://github.com/OWNER/NAME); got {repo_url!r}")
    return repo_url[len(prefix) :].rstrip("/").removesuffix(".git")


def colab_url(notebook: str, repo_url: str = REPO_URL, ref: str = REF) -> str:
    """The address that opens ``notebooks/<notebook>`` of ``repo_url`` at ``ref`` (branch or tag) in Colab."""
    return f"https://colab.research.google.com/github/{_github_path(repo_url)}/blob/{ref}/notebooks/{notebook}"


def colab_badge(notebook: str, repo_url: str = REPO_URL, ref: str = REF) -> str:
    """The markdown "Open in Colab" badge of ``notebook`` (the first line of its first cell)."""
    return f"[![Open In Colab]({COLAB_BADGE_SVG})]({colab_url(notebook, repo_url, ref)})"


PIP = 'subprocess.run([sys.executable, "-m", "pip", "install", "-q", '
SETUP_END = 'sys.path.insert(0, os.path.abspath("posegen_lite"))'  # the install's last line, in every set-up cell
ASSIGNMENT_SETUP_START = "# Setup. On Colab: install posegen_lite with its assignments extra first"


def _install_lines(first_line: str, target: str, repo_url: str, ref: str) -> list[str]:
    """The Colab install: clone ``repo_url`` at ``ref`` and ``pip install -e`` ``target`` (a package spec in the
    clone, e.g. ``posegen_lite[photo]``). ``ValueError`` for an address Colab cannot open or an unusable ref."""
    _github_path(repo_url)  # validates
    if not ref or any(ch in ref for ch in ' "\\'):
        raise ValueError(f"not a usable git ref: {ref!r}")
    return [
        first_line,
        "# REF is a branch or a tag: a course pins a tag so every student gets the same code.",
        "import os, subprocess, sys",
        f'REPO_URL = "{repo_url}"',
        f'REF = "{ref}"',
        'if "google.colab" in sys.modules:',
        '    if not os.path.isdir("posegen_lite"):',
        '        subprocess.run(["git", "clone", "--depth", "1", "--branch", REF, REPO_URL, "posegen_lite"], '
        "check=True)",
        f'        {PIP}"-e", "./{target}"], check=True)',
    ]


def assignment_setup(repo_url: str = REPO_URL, ref: str = REF) -> str:
    """The opening of every assignment master's set-up cell (the rest of the cell, from otter on, is the
    master's own): on Colab, clone ``repo_url`` at ``ref`` and install it with the ``assignments`` extra."""
    first = ASSIGNMENT_SETUP_START + " (plain Python: nothing is importable yet)."
    return "\n".join([*_install_lines(first, "posegen_lite[assignments]", repo_url, ref), "    " + SETUP_END])


def install_cell(notebook: str, repo_url: str = REPO_URL, ref: str = REF) -> str:
    """The source of ``notebook``'s first code cell: the Colab install, then ``nb.setup()``."""
    extra = EXTRAS.get(notebook)
    target = f"posegen_lite[{extra}]" if extra else "posegen_lite"
    first = "# Setup. On Colab: fetch and install posegen_lite first (plain Python: the package is not importable yet)."
    lines = _install_lines(first, target, repo_url, ref)
    if extra == "photo":
        lines.append(f'        {PIP}"--no-deps", "{MEDIAPIPE}"], check=True)')
    lines += [
        "    " + SETUP_END,
        "",
        "from posegen_lite.app import notebook as nb",
        "env = nb.setup()      # seed 0, device, and the size tier for this machine (printed, with its expected time)",
        "S = env.sizes",
    ]
    return "\n".join(lines)


def in_colab() -> bool:
    """True inside a Google Colab kernel."""
    return "google.colab" in sys.modules


def mount_drive(folder: str = "posegen_runs") -> str:
    """On Colab: mount Google Drive and return ``/content/drive/MyDrive/<folder>`` (created), a place for
    checkpoints that survives a disconnect and that the next notebook's machine can read. Elsewhere:
    ``RuntimeError``."""
    import os

    if not in_colab():
        raise RuntimeError("mount_drive works on Colab only; elsewhere set POSEGEN_RUNS to any folder")
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount("/content/drive")
    path = os.path.join("/content/drive/MyDrive", folder)
    os.makedirs(path, exist_ok=True)
    return path


__all__ = [
    "REPO_URL",
    "REF",
    "NOTEBOOKS",
    "COLAB_BADGE_SVG",
    "colab_url",
    "colab_badge",
    "install_cell",
    "assignment_setup",
    "in_colab",
    "mount_drive",
]
