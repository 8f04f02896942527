"""TensorBoard logging as a training callback: loss scalars every step, an image grid every few steps.

    tb = TensorBoardLogger("runs/g1/tb", batch=fixed_batch, image_every=100)
    train(cfg, train_set, callbacks=[tb]); tb.close()

then ``tensorboard --logdir runs`` (or ``%tensorboard --logdir runs`` on Colab) shows the run. TensorBoard is an
optional extra (``pip install 'posegen-lite[tensorboard]'``); without it ``TensorBoardLogger`` says so in one
line and does nothing, so a notebook runs the same either way.

After a resume the writer is opened with ``purge_step`` = the first new step, so TensorBoard drops events a
crashed run had written past its last checkpoint instead of showing two overlapping curves.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["TensorBoardLogger", "tensorboard_available"]


def tensorboard_available() -> bool:
    """True when the ``tensorboard`` package (which ``torch.utils.tensorboard`` writes with) is installed."""
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLogger:
    """A ``train(..., callbacks=[...])`` callback writing TensorBoard event files into ``log_dir``.

    Args:
        log_dir: the folder for the event files (e.g. ``<run_dir>/tb``).
        batch: a fixed collated batch; every ``image_every`` steps its predictions are logged as one image grid
            (rows: input, target pose, the stage's outputs, target). ``None``: scalars only.
        image_every: steps between image grids.
        start_step: the step training resumes from (0 for a fresh run): earlier events past it are purged.
    """

    def __init__(self, log_dir: str | Path, batch: dict | None = None, image_every: int = 100, start_step: int = 0):
        if image_every < 1:
            raise ValueError(f"image_every must be ≥ 1, got {image_every}")
        self.log_dir, self.batch, self.image_every = Path(log_dir), batch, image_every
        self.writer = None
        if not tensorboard_available():
            print("TensorBoard is not installed (pip install 'posegen-lite[tensorboard]'): not logging to it")
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.log_dir), purge_step=start_step + 1 if start_step else None)

    @property
    def active(self) -> bool:
        return self.writer is not None

    def __call__(self, step: int, losses: dict, stage) -> None:
        if self.writer is None:
            return
        for key, value in losses.items():
            self.writer.add_scalar(f"loss/{key}", value, step)
        if self.batch is not None and step % self.image_every == 0:
            self.writer.add_image("samples", self.sample_grid(stage), step, dataformats="HWC")

    def sample_grid(self, stage) -> np.ndarray:
        """``(H, W, 3) uint8``: the stage's predictions on the fixed batch, one row per sample."""
        from posegen_lite.evaluation.grids import comparison_rows, image_grid

        stage.eval()
        outputs = stage.predict(self.batch)
        stage.train()
        return image_grid(comparison_rows(self.batch, outputs))

    def close(self) -> None:
        """Flush and close the event file (safe to call twice)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
