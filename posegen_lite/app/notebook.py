"""Helpers the notebooks call, so that no cell holds logic a test cannot reach.

Every notebook starts with the same two steps:

1. (plain Python, before ``posegen_lite`` can be imported) on Colab, clone ``REPO_URL`` and ``pip install -e``;
2. ``env = setup()``: seed, pick the device (CUDA if present), and read the one size switch.

The size switch is the environment variable ``POSEGEN_FAST``: ``1`` (set by the test command) gives tiny sizes
and a handful of steps so every notebook runs in well under two minutes on two CPU cores; unset gives the full
sizes meant for a Colab GPU. ``Sizes`` holds both sets of numbers side by side.

The repository address lives here and only here (``REPO_URL``); ``scripts/make_badges.py`` rewrites each
notebook's "Open in Colab" badge and install cell from it, and ``tests/test_notebook.py`` checks they match.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO_URL = "https://github.com/posegen-lite/posegen_lite"
BRANCH = "main"
FAST_ENV = "POSEGEN_FAST"
NOTEBOOKS = (
    "00_quickstart.ipynb", "01_stage1_pose.ipynb", "02_stage2_unet.ipynb", "03_stage3_gan.ipynb",
    "04_evaluation.ipynb", "05_viewpoint_widget.ipynb", "06_real_datasets.ipynb", "07_crowds.ipynb",
)  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]  # the repository root of a checkout
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"


# --- Colab badge and install ------------------------------------------------------------------------------


def colab_url(notebook: str, repo_url: str = REPO_URL, branch: str = BRANCH) -> str:
    """The address that opens ``notebooks/<notebook>`` of ``repo_url`` in Colab."""
    prefix = "https://github.com/"
    if not repo_url.startswith(prefix):
        raise ValueError(f"Colab opens GitHub repositories only; got {repo_url!r}")
    return f"https://colab.research.google.com/github/{repo_url[len(prefix) :]}/blob/{branch}/notebooks/{notebook}"


def colab_badge(notebook: str, repo_url: str = REPO_URL) -> str:
    """The markdown "Open in Colab" badge of ``notebook``."""
    return f"[![Open In Colab]({COLAB_BADGE_SVG})]({colab_url(notebook, repo_url)})"


def in_colab() -> bool:
    """True inside a Google Colab kernel."""
    return "google.colab" in sys.modules


# --- the size switch ----------------------------------------------------------------------------------------


def is_fast(environ: Mapping[str, str] | None = None) -> bool:
    """``POSEGEN_FAST`` set to 1/true/yes/on (any case) → fast mode. Anything else (or unset) → full size."""
    value = (os.environ if environ is None else environ).get(FAST_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Sizes:
    """Every number a notebook scales with the size switch.

    Attributes:
        size: ``(height, width)`` of the images the notebooks train on.
        width: G1/G2 base channels. people: synthetic training people. views: pairs per person.
        steps2: Stage II (G1) steps in notebook 02. steps3: Stage III steps in notebook 03.
        batch: batch size. plot_every: steps between live-plot refreshes.
        eval_samples: test pairs per split in notebook 04. widget_people: people in the widget's selector.
        workers: DataLoader worker processes (the synthetic data renders on the CPU; on a GPU it must keep up).
    """

    size: tuple[int, int]
    width: int
    people: int
    views: int
    steps2: int
    steps3: int
    batch: int
    plot_every: int
    eval_samples: int
    widget_people: int
    workers: int


FAST_SIZES = Sizes(
    size=(64, 64),
    width=8,
    people=16,
    views=4,
    steps2=30,
    steps3=12,
    batch=8,
    plot_every=10,
    eval_samples=16,
    widget_people=3,
    workers=0,
)
FULL_SIZES = Sizes(
    size=(128, 64),
    width=32,
    people=400,
    views=8,
    steps2=4000,
    steps3=2000,
    batch=32,
    plot_every=100,
    eval_samples=320,
    widget_people=8,
    workers=2,
)


def sizes(fast: bool | None = None) -> Sizes:
    """``FAST_SIZES`` or ``FULL_SIZES`` (``fast=None``: ask the environment)."""
    return FAST_SIZES if (is_fast() if fast is None else fast) else FULL_SIZES


@dataclass(frozen=True)
class NotebookEnv:
    """What ``setup`` found: the device, whether we are on Colab, the size switch and its sizes."""

    device: torch.device
    colab: bool
    fast: bool
    sizes: Sizes
    seed: int

    def __str__(self) -> str:
        mode = "FAST (CI sizes)" if self.fast else "full size"
        where = "Colab" if self.colab else "local"
        return f"posegen_lite on {self.device} ({where}), {mode}: {self.sizes}"


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy global RNG and torch (CPU and CUDA), so cell outputs repeat."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _configure_plotly(colab: bool) -> None:
    """Plotly figures as JSON (+ a script tag loading plotly.js from its CDN) instead of the default, which
    embeds the whole 3.5 MB library in every notebook; Colab needs its own renderer."""
    try:
        import plotly.io as pio
    except ImportError:
        return
    pio.renderers.default = "colab" if colab else "plotly_mimetype+notebook_connected"


def cpu_threads(fast: bool, device: torch.device) -> int | None:
    """Torch CPU threads for a notebook: 1 in fast mode on a CPU, else ``None`` (torch's default).

    Why: the fast-mode networks are tiny (64×64, width 8–16, batches of 1–8) and gain nothing from intra-op
    threads, while on a busy shared machine two threads spin against other processes — one widget
    ``synthesize`` call took 0.8 s with 2 threads and 0.04 s with 1 on the project's 2-core machine while
    another process was training (measured, noisy)."""
    return 1 if fast and device.type == "cpu" else None


def _enable_colab_widgets() -> None:
    """Colab renders ipywidgets 8 (which this package installs) only through its custom widget manager."""
    try:
        from google.colab import output  # type: ignore[import-not-found]
    except ImportError:
        return
    output.enable_custom_widget_manager()


def _configure_figures(dpi: int = 100) -> None:
    """Show returned matplotlib ``Figure`` objects as PNG in the notebook, whatever the backend (the test
    command sets ``MPLBACKEND=Agg``, under which IPython would print only the Figure's repr)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        select_figure_formats(shell, {"png"}, dpi=dpi, bbox_inches="tight")


def setup(
    seed: int = 0, device: str = "auto", environ: Mapping[str, str] | None = None, verbose: bool = True
) -> NotebookEnv:
    """The first thing every notebook calls (after the Colab install): seed, pick the device (CUDA if
    present, else MPS, else CPU), read the size switch, set CPU threads (``cpu_threads``), configure plotly.
    Returns a ``NotebookEnv``."""
    from posegen_lite.device import pick_device

    seed_everything(seed)
    colab = in_colab()
    fast = is_fast(environ)
    threads = cpu_threads(fast, pick_device(device))
    if threads is not None:
        torch.set_num_threads(threads)
    env = NotebookEnv(device=pick_device(device), colab=colab, fast=fast, sizes=sizes(fast), seed=seed)
    _configure_plotly(colab)
    _configure_figures()
    if colab:
        _enable_colab_widgets()
    if verbose:
        print(env)
    return env


# --- weights ------------------------------------------------------------------------------------------------


def demo_weights(root: str | Path = ROOT, shipped: str | Path | None = None) -> Path:
    """The demo weights the notebooks load: the shipped ``posegen_lite/assets/demo_64x64.pt`` (``shipped``
    overrides it), else (while developing, before they are exported) the newest checkpoint of
    ``<root>/runs/demo_g2`` or ``<root>/runs/demo_g1``. Raises ``FileNotFoundError``."""
    from posegen_lite.models.checkpoints import list_checkpoints
    from posegen_lite.resources import demo_weights as shipped_demo_weights

    shipped = Path(shipped) if shipped is not None else shipped_demo_weights()
    if shipped.exists():
        return shipped
    root = Path(root)
    for run in ("runs/demo_g2", "runs/demo_g1"):
        found = list_checkpoints(root / run) if (root / run).is_dir() else []
        if found:
            return found[-1]
    raise FileNotFoundError(
        f"no demo weights: {shipped} is missing and no checkpoint in runs/demo_g1 or "
        "runs/demo_g2 (train them with the README's training command)"
    )


def run_dir(name: str, root: str | Path = ROOT) -> Path:
    """``<repository>/runs/<name>``: where notebook training runs write checkpoints (git ignores ``runs/``)."""
    return Path(root) / "runs" / name


def g1_config_of(checkpoint: str | Path):
    """The ``G1Config`` a checkpoint (file or run dir) was trained with — so Stage III can take its G1."""
    from posegen_lite.models.checkpoints import resolve_checkpoint
    from posegen_lite.models.g1 import G1Config

    _, state = resolve_checkpoint(checkpoint)
    return G1Config(**state["model_configs"]["g1"])


def fixed_batch(dataset, n: int = 4, start: int = 0, step: int = 1) -> dict:
    """A collated batch of samples ``start, start + step, …`` (``n`` of them): the same pictures every run."""
    from torch.utils.data import default_collate

    if n < 1 or step < 1:
        raise ValueError("need n ≥ 1 and step ≥ 1")
    indices = [start + i * step for i in range(n)]
    if indices[-1] >= len(dataset):
        raise ValueError(f"the dataset has {len(dataset)} samples, asked for index {indices[-1]}")
    return default_collate([dataset[i] for i in indices])


# --- live training plot -------------------------------------------------------------------------------------


class LivePlot:
    """A ``train(..., callbacks=[LivePlot(...)])`` callback: a loss curve and sample images that redraw every
    ``every`` steps, in place, in the notebook output (and nowhere else when there is no notebook).

    Args:
        every: steps between redraws (the last step always redraws via ``finish``).
        batch: a fixed collated batch whose predictions are shown next to the curve (``None``: curve only).
        keys: loss names to plot (default: all the stage reports).
        show: draw into the notebook (``False``: only collect, e.g. in tests).
    """

    def __init__(
        self,
        every: int = 10,
        batch: dict | None = None,
        keys: Sequence[str] | None = None,
        show: bool = True,
        samples: int = 4,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be ≥ 1, got {every}")
        self.every, self.batch, self.keys, self.show, self.samples = every, batch, keys, show, samples
        self.history: list[dict] = []
        self.redraws = 0
        self._handle = None
        self._stage = None

    def __call__(self, step: int, losses: dict, stage) -> None:
        self.history.append({"step": step, **losses})
        self._stage = stage
        if step % self.every == 0:
            self.redraw()

    def sample_grid(self) -> np.ndarray | None:
        """The current predictions on ``batch`` as one image (rows: input, target pose, outputs, target)."""
        if self.batch is None or self._stage is None:
            return None
        from posegen_lite.evaluation.grids import comparison_rows, image_grid

        self._stage.eval()
        outputs = self._stage.predict(self.batch)
        self._stage.train()
        return image_grid(comparison_rows(self.batch, outputs, limit=self.samples))

    def figure(self):
        """The current ``matplotlib.figure.Figure`` (loss curves + samples)."""
        from posegen_lite.app.viz import training_figure

        return training_figure(self.history, self.sample_grid(), keys=self.keys)

    def redraw(self) -> None:
        self.redraws += 1
        if not self.show:
            return
        from IPython.display import display

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)

    def finish(self) -> None:
        """Redraw once more so the output shows the last step."""
        if self.history and self.history[-1]["step"] % self.every != 0:
            self.redraw()


# --- small things the notebooks print ----------------------------------------------------------------------


def torchrun_command(
    nproc_per_node: int = 4,
    nnodes: int = 1,
    node_rank: int = 0,
    master_addr: str = "10.0.0.1",
    master_port: int = 29500,
    args: str = "--stage 2 --run-dir runs/g1 --size 128x64 --width 64 --steps 20000",
) -> str:
    """The ``torchrun`` line that trains with PyTorch DDP on ``nproc_per_node`` GPUs (× ``nnodes`` machines;
    run it on every machine with its own ``node_rank``)."""
    if nproc_per_node < 1 or nnodes < 1 or not 0 <= node_rank < nnodes:
        raise ValueError("need nproc_per_node ≥ 1, nnodes ≥ 1 and 0 ≤ node_rank < nnodes")
    parts = ["torchrun", f"--nproc_per_node {nproc_per_node}"]
    if nnodes > 1:
        parts += [
            f"--nnodes {nnodes}",
            f"--node_rank {node_rank}",
            f"--master_addr {master_addr}",
            f"--master_port {master_port}",
        ]
    return " ".join([*parts, "-m posegen_lite train", args])


def data_root(name: str, default: str | Path) -> Path:
    """Where a real dataset lives: ``$POSEGEN_DATA_<NAME>`` if set (point it at your own copy, e.g. on
    Colab a mounted Drive folder), else ``default`` (the repository's small test fixtures)."""
    value = os.environ.get(f"POSEGEN_DATA_{name.upper()}")
    return Path(value) if value else Path(default)


# --- refreshing the committed outputs ------------------------------------------------------------------------


def execute_notebook(path: str | Path, timeout: int = 600) -> float:
    """Run a notebook top to bottom in fast mode and store its outputs in place (what is committed, so readers
    on GitHub see the figures); returns the seconds it took. Needs ``nbclient`` (installed with nbval).

        python -m posegen_lite.app.notebook notebooks/*.ipynb
    """
    import time

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    book = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in (FAST_ENV, "MPLBACKEND")}
    os.environ[FAST_ENV], os.environ["MPLBACKEND"] = "1", "Agg"  # the kernel inherits them
    try:
        t0 = time.monotonic()
        NotebookClient(
            book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        seconds = time.monotonic() - t0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nbformat.write(book, path)
    return seconds


__all__ = [
    "REPO_URL",
    "NOTEBOOKS",
    "FAST_SIZES",
    "FULL_SIZES",
    "Sizes",
    "NotebookEnv",
    "colab_url",
    "colab_badge",
    "in_colab",
    "is_fast",
    "sizes",
    "setup",
    "cpu_threads",
    "seed_everything",
    "demo_weights",
    "LivePlot",
    "torchrun_command",
    "run_dir",
    "g1_config_of",
    "fixed_batch",
    "data_root",
    "execute_notebook",
]


if __name__ == "__main__":
    for arg in sys.argv[1:] or [str(ROOT / "notebooks" / n) for n in NOTEBOOKS]:
        print(f"{arg}: {execute_notebook(arg):.1f} s, {Path(arg).stat().st_size / 1e3:.0f} kB", flush=True)
