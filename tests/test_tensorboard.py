"""TensorBoard events from a training run: scalars every step, image grids, and a clean no-op without it."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import default_collate

from posegen_lite.models.g1 import G1Config
from posegen_lite.training import tensorboard as tb
from posegen_lite.training.loop import TrainConfig, train


def _cfg(run_dir, steps=4, resume=False):
    g1 = G1Config(16, 16, base_channels=4, z_dim=8)
    return TrainConfig(stage=2, run_dir=str(run_dir), steps=steps, batch_size=2, g1=g1, checkpoint_every=2,
                       val_every=100, resume=resume, device="cpu", precision="fp32")  # fmt: skip


def test_event_files_hold_scalars_and_images(tiny_pairs, tmp_path):
    pytest.importorskip("tensorboard")  # installed with the test extra
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    batch = default_collate([tiny_pairs[i] for i in range(2)])
    logger = tb.TensorBoardLogger(tmp_path / "tb", batch=batch, image_every=2)
    assert logger.active
    train(_cfg(tmp_path / "run"), tiny_pairs, callbacks=[logger], progress=False)
    logger.close()
    logger.close()  # twice is fine
    files = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert files
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("loss/loss")] == [1, 2, 3, 4]
    assert all(e.value > 0 for e in events.Scalars("loss/loss"))
    images = events.Images("samples")
    assert [e.step for e in images] == [2, 4] and images[0].height > 16


def test_without_tensorboard_it_says_so_and_does_nothing(tiny_pairs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tb, "tensorboard_available", lambda: False)
    logger = tb.TensorBoardLogger(tmp_path / "tb")
    assert not logger.active and "not installed" in capsys.readouterr().out
    logger(1, {"loss": torch.tensor(1.0).item()}, None)
    logger.close()
    assert not (tmp_path / "tb").exists()
    with pytest.raises(ValueError):
        tb.TensorBoardLogger(tmp_path / "x", image_every=0)
