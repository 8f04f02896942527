"""Checkpoint files: a file that is not a torch checkpoint, a truncated one and a corrupted one are clear errors."""

from __future__ import annotations

import pytest
import torch

from posegen_lite.models.checkpoints import CheckpointError, load_checkpoint, resolve_checkpoint, save_checkpoint

MARKER = 1.2345678  # a float32 value whose bytes are easy to find in the file


def _save(tmp_path):
    state = {"stage": 2, "step": 1, "models": {"g1": {"w": torch.full((256,), MARKER)}}}
    return save_checkpoint(state, tmp_path / "run")


def test_a_text_file_is_not_a_torch_checkpoint(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes, not weights\n")
    with pytest.raises(CheckpointError, match="not a torch checkpoint: .*notes.pt"):
        load_checkpoint(path)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load_checkpoint(empty)


def test_a_truncated_file_says_so(tmp_path):
    path = _save(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


def test_flipped_bytes_inside_a_tensor_are_detected(tmp_path):
    path = _save(tmp_path)
    assert torch.equal(load_checkpoint(path)["models"]["g1"]["w"], torch.full((256,), MARKER))
    data = bytearray(path.read_bytes())
    at = bytes(data).find(torch.tensor([MARKER]).numpy().tobytes() * 4)
    assert at > 0
    data[at + 40 : at + 44] = torch.tensor([7.0]).numpy().tobytes()  # one weight changes on disk
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path)


def test_a_missing_path_or_a_directory_without_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        resolve_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(CheckpointError, match="no loadable checkpoint"):
        resolve_checkpoint(tmp_path)
