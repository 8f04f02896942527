"""Checkpoints that survive crashes: atomic writes, the last K kept, the newest *loadable* one found.

A checkpoint is one ``torch.save`` file ``ckpt_<step:08d>.pt`` in a run directory holding plain data only
(tensors, numbers, strings, lists, dicts) so that it loads with ``torch.load(weights_only=True)``:

    {"format": FORMAT, "stage": 2 | 3, "step": int, "config": dict, "model_configs": {name: dict},
     "models": {name: state_dict}, "optimizers": {name: state_dict}, "scaler": state_dict | None,
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor, ...]}, "history": [dict, ...]}

Writing goes to a temporary file in the same directory, is flushed to disk, and is then renamed over the
final name — a rename is atomic, so a crash mid-write leaves the previous checkpoints untouched and at worst
a stray ``*.tmp`` file, which is ignored and removed by ``remove_temporary_files`` when training starts again.

Every file also holds ``"checksum"``, a CRC-32 of all its tensors' bytes (``state_checksum``): a file damaged
on disk in a way the zip container does not notice is refused on load instead of silently used. Files
without the key (written by older versions) still load.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
import zlib
from pathlib import Path

import torch

FORMAT = "posegen_lite/checkpoint-v1"
_NAME = re.compile(r"^ckpt_(\d{8})\.pt$")
_TEMPORARY = re.compile(r"^ckpt_\d{8}\.pt\..*\.tmp$")  # what save_atomic's mkstemp names look like
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive (since PyTorch 1.6)
_PICKLE_MAGIC = b"\x80"  # the legacy (pre-1.6) format starts with a pickle protocol opcode


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used (corrupt, truncated, or not a posegen_lite checkpoint)."""


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / f"ckpt_{step:08d}.pt"


def save_atomic(state: dict, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the permissions a normal file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        # Whatever went wrong (disk full, Ctrl-C, a crash in torch.save), the old files stay as they were.
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _tensors(obj, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every tensor inside nested dicts/lists, with a path name, in a fixed order (dict keys sorted)."""
    if isinstance(obj, torch.Tensor):
        return [(prefix, obj)]
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: str(kv[0]))
        return [t for k, v in items for t in _tensors(v, f"{prefix}/{k}")]
    if isinstance(obj, (list, tuple)):
        return [t for i, v in enumerate(obj) for t in _tensors(v, f"{prefix}/{i}")]
    return []


def state_checksum(state: dict) -> str:
    """CRC-32 (hex) over the names, shapes, dtypes and bytes of every tensor in ``state`` (except a
    ``"checksum"`` entry). Cheap next to writing the file (~1 GB/s)."""
    crc = 0
    for name, t in _tensors({k: v for k, v in state.items() if k != "checksum"}):
        crc = zlib.crc32(f"{name}{tuple(t.shape)}{t.dtype}".encode(), crc)
        data = t.detach().to("cpu").contiguous().reshape(-1)
        if data.numel():
            crc = zlib.crc32(data.view(torch.uint8).numpy().tobytes(), crc)
    return f"{crc:08x}"


def remove_temporary_files(run_dir: str | Path) -> list[Path]:
    """Delete the ``ckpt_*.pt.*.tmp`` files a process killed mid-write left in ``run_dir``; returns them."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    stale = [p for p in run_dir.iterdir() if _TEMPORARY.match(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoint files, oldest first (temporary files excluded)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [p for p in run_dir.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def save_checkpoint(state: dict, run_dir: str | Path, keep_last: int = 3) -> Path:
    """Save ``state`` (must hold ``"step"``) as the run's newest checkpoint and prune all but ``keep_last``."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be ≥ 1, got {keep_last}")
    state = {"format": FORMAT, **state}
    state["checksum"] = state_checksum(state)
    path = save_atomic(state, checkpoint_path(run_dir, int(state["step"])))
    for old in list_checkpoints(run_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load one checkpoint; raises ``CheckpointError`` naming the file if it is unreadable."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read checkpoint ({err.strerror or err})") from err
    if not head:
        raise CheckpointError(f"{path}: empty file, not a torch checkpoint")
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        # torch's own error for such a file is e.g. "IndexError: pop from empty list".
        raise CheckpointError(
            f"not a torch checkpoint: {path} (a torch.save file is a zip archive; this one starts with {head!r})"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a damaged zip/pickle
        first_line = (str(err).splitlines() or [""])[0]
        raise CheckpointError(
            f"{path}: truncated or corrupted torch checkpoint ({type(err).__name__}: {first_line})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a posegen_lite checkpoint (format {FORMAT!r} expected)")
    if "checksum" in state and state_checksum(state) != state["checksum"]:
        raise CheckpointError(f"{path}: corrupted checkpoint (its tensors do not match the checksum stored with them)")
    return state


def load_latest(run_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict] | None:
    """The newest checkpoint of ``run_dir`` that loads, or None if there is none.

    A damaged newer file (e.g. from a disk that filled up) is skipped with a warning rather than
    aborting the resume: the previous checkpoint is still good.
    """
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as err:
            warnings.warn(f"skipping unusable checkpoint: {err}", stacklevel=2)
    return None


def resolve_checkpoint(path_or_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict]:
    """Load a checkpoint given either its file or its run directory (then the newest loadable one)."""
    p = Path(path_or_dir)
    if p.is_dir():
        found = load_latest(p, map_location)
        if found is None:
            raise CheckpointError(f"{p}: no loadable checkpoint in this directory")
        return found
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file or run directory")
    return p, load_checkpoint(p, map_location)
