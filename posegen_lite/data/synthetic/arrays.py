"""The disk cache as memory-mapped arrays: each sample read by index, with no PNG to decode and no map to draw.

``pack_arrays`` turns a verified PNG cache (``cache.py``) into ``<split>/arrays/*.npy``: every value of the PNG
cache's samples (``make_sample``'s dict) — images as uint8, the pose maps of one kind (disc: as bits, exactly
±1, ``data/compact.py``; gaussian: float32), body masks as uint8, keypoints, joints, names. ``ArraySamples``
gives the PNG cache's samples bit for bit, or with ``compact=True`` in the compact form (``data/compact.py``):
a tenth of the bytes for a DataLoader worker to send, expanded after the transfer. A PNG cache read with 2
workers spends most of its time drawing pose maps (benchmarks/bench_data.py); these arrays skip that work.
Arrays of another manifest or format are packed anew.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from posegen_lite.data.compact import JOINT_KEYS, JOINTS, expand_batch, joint_table, pack_disc_maps
from posegen_lite.data.synthetic.cache import cached_sample, load_cache, split_dir
from posegen_lite.data.synthetic.pairs import MANIFEST, SyntheticConfig

ARRAYS = "arrays"  # the folder beside the PNGs
_META = "meta.json"
_FORMAT = 2  # 2: disc pose maps as bits (data/compact.py); arrays of another format are packed anew
_TENSORS = ("image_a", "image_b", "pose_b", "mask_b", "keypoints_a", "keypoints_b", "visible_a", "visible_b",
            "joints3d_a", "joints3d_b")  # fmt: skip
_TEXT = ("person_id", "name_a", "name_b")


def _stored(name: str, value: torch.Tensor, pose_kind: str) -> np.ndarray:
    """A sample tensor as it is stored: images back to uint8 ``(H, W, 3)``, disc pose maps in their compact
    form (``compact.pack_disc_maps``: bits), masks as uint8."""
    if name in ("image_a", "image_b"):
        return value.add(1.0).mul(127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if name == "pose_b" and pose_kind == "disc":
        return pack_disc_maps(value.numpy())
    if name == "mask_b":
        return value.to(torch.uint8).numpy()
    return value.numpy()


def _manifest_digest(root: Path) -> str:
    return hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()


def pack_arrays(config: SyntheticConfig, split: str, out_dir: str | Path, pose_kind: str = "disc") -> Path:
    """Write the arrays of the cache of ``split`` under ``out_dir`` (rendered first if missing) for pose maps of
    ``pose_kind``; returns their folder. The meta file, written last, names the manifest they were packed from."""
    records = load_cache(config, split, out_dir, progress=False)
    root = split_dir(out_dir, split)
    folder = root / ARRAYS
    folder.mkdir(exist_ok=True)
    (folder / _META).unlink(missing_ok=True)  # from here on the folder is being rewritten
    n, arrays = len(records), {}
    text: dict[str, list] = {k: [] for k in _TEXT}
    for i, rec in enumerate(records):
        sample = cached_sample(root, rec, pose_kind)
        for name in _TENSORS:
            value = _stored(name, sample[name], pose_kind)
            if name not in arrays:
                path = folder / f"{name}.npy"
                arrays[name] = np.lib.format.open_memmap(path, mode="w+", dtype=value.dtype, shape=(n, *value.shape))
            arrays[name][i] = value
        for k in _TEXT:
            text[k].append(sample[k])
        text.setdefault("yaw", []).append(sample["yaw"])
    for a in arrays.values():
        a.flush()
    meta = {"format": _FORMAT, "manifest_sha256": _manifest_digest(root), "pose_kind": pose_kind, "samples": n,
            **text}  # fmt: skip
    tmp = folder / (_META + ".tmp")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, folder / _META)
    return folder


def load_arrays(
    config: SyntheticConfig, split: str, out_dir: str | Path, pose_kind: str = "disc", progress: bool = False
) -> ArraySamples:
    """The arrays of ``split``'s cache for ``pose_kind``, packed first when missing or packed from another
    manifest or in another format (the PNG cache itself is verified, and rebuilt if need be, as ``load_cache``
    does)."""
    load_cache(config, split, out_dir, progress=progress)
    root = split_dir(out_dir, split)
    folder = root / ARRAYS
    try:
        meta = json.loads((folder / _META).read_text())
    except (OSError, json.JSONDecodeError):
        meta = {}
    wanted = {"format": _FORMAT, "manifest_sha256": _manifest_digest(root), "pose_kind": pose_kind}
    if any(meta.get(k) != v for k, v in wanted.items()):
        pack_arrays(config, split, out_dir, pose_kind)
    return ArraySamples(folder)


class ArraySamples:
    """Pair samples read from packed arrays (``pack_arrays``). The files are mapped on first use, so each
    DataLoader worker maps them itself and the pages are shared through the OS's file cache."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / _META).read_text())
        self._arrays: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.meta["samples"])

    def __getstate__(self) -> dict:  # a worker started by pickling (spawn) maps the files anew
        return {**self.__dict__, "_arrays": None}

    def _mapped(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {k: np.load(self.folder / f"{k}.npy", mmap_mode="r") for k in _TENSORS}
        return self._arrays

    def sample(self, index: int, compact: bool = False) -> dict:
        """Sample ``index``: the dict of ``data/sample.py``, equal to the PNG cache's (``compact``: in the
        form of ``data/compact.py``)."""
        return self.samples([index], compact)[0]

    def samples(self, indices: list[int], compact: bool = False) -> list[dict]:
        """The samples of ``indices`` (a DataLoader batch), each array read with one fancy index for all.
        ``compact``: in the form of ``data/compact.py`` (as stored, the joints in one table), whose
        ``expand_batch`` gives the float sample bit for bit; a DataLoader worker sends a tenth of the bytes."""
        a = self._mapped()
        read = {}
        for name in _TENSORS:
            value = torch.from_numpy(a[name][np.asarray(indices, np.int64)])  # a copy: the maps stay read-only
            if name in ("image_a", "image_b"):
                value = value.permute(0, 3, 1, 2)  # (H, W, 3) → (3, H, W), as images.to_tensor
            read[name] = value
        stacked: dict[str, object] = {k: v for k, v in read.items() if k not in JOINT_KEYS}
        stacked[JOINTS] = joint_table(read)
        if not compact:
            stacked = expand_batch(stacked)
        columns = {name: value.unbind(0) for name, value in stacked.items() if isinstance(value, torch.Tensor)}
        out = []
        for row, index in enumerate(indices):
            sample: dict[str, object] = {name: column[row] for name, column in columns.items()}
            sample["yaw"] = float(self.meta["yaw"][index])
            sample.update({k: str(self.meta[k][index]) for k in _TEXT})
            out.append(sample)
        return out
