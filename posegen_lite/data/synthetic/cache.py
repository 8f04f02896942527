"""The on-disk cache of the synthetic dataset: PNG files plus a manifest with sha256 sums, rebuilt with a
warning when a file is missing or corrupt."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from posegen_lite.data.sample import make_sample
from posegen_lite.data.synthetic.pairs import (
    _FORMAT,
    MANIFEST,
    CacheError,
    SyntheticConfig,
    check_split,
    len_split,
    render_pairs,
)
from posegen_lite.geometry.camera import Camera


def _png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _json_floats(values: np.ndarray) -> list:
    """Nested lists with NaN written as null (JSON has no NaN)."""
    arr = np.asarray(values, dtype=np.float64)
    return [_json_floats(v) for v in arr] if arr.ndim > 1 else [None if not math.isfinite(v) else float(v) for v in arr]


def _from_json_floats(values: list) -> np.ndarray:
    return np.array(values, dtype=np.float64).astype(np.float32)  # None → nan via dtype float


def _camera_json(cam: Camera) -> dict:
    return {"K": cam.K.tolist(), "R": cam.R.tolist(), "t": cam.t.tolist(), "width": cam.width, "height": cam.height}


def split_dir(out_dir: str | Path, split: str) -> Path:
    """Where ``split`` of a cache rooted at ``out_dir`` lives."""
    return Path(out_dir) / check_split(split)


def render_to_disk(
    config: SyntheticConfig, split: str, out_dir: str | Path, progress: bool = True, batch: int = 32
) -> Path:
    """Render every sample of ``split`` into ``out_dir/<split>/`` as PNGs plus ``manifest.json``; return the
    manifest path. The manifest is written last (atomically), so an interrupted run leaves no valid cache."""
    root = split_dir(out_dir, split)
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    if manifest_path.exists():
        manifest_path.unlink()  # from here on the directory is a cache under construction
    n = len_split(config, split)
    records = []
    with tqdm(total=n, desc=f"render {split}", unit="pair", disable=not progress) as bar:
        for start in range(0, n, batch):
            for pair in render_pairs(config, split, range(start, min(n, start + batch))):
                record = {
                    "index": pair.index,
                    "person_id": pair.person_id,
                    "yaw": pair.yaw,
                    "azimuth_a": pair.azimuth_a,
                    "azimuth_b": pair.azimuth_b,
                    "elevation": pair.elevation,
                    "joints3d": _json_floats(pair.view_a.joints3d),
                }
                for tag, view, name in (("a", pair.view_a, pair.name_a), ("b", pair.view_b, pair.name_b)):
                    data = _png_bytes(view.image)
                    (root / f"{name}.png").write_bytes(data)
                    record.update(
                        {
                            f"name_{tag}": name,
                            f"file_{tag}": f"{name}.png",
                            f"bytes_{tag}": len(data),
                            f"sha256_{tag}": hashlib.sha256(data).hexdigest(),
                            f"keypoints_{tag}": _json_floats(view.keypoints),
                            f"visible_{tag}": view.visible.tolist(),
                            f"camera_{tag}": _camera_json(view.camera),
                        }
                    )
                records.append(record)
            bar.update(min(n, start + batch) - start)
    manifest = {"format": _FORMAT, "split": split, "config": config.to_json(), "samples": records}
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, manifest_path)
    return manifest_path


def verify_cache(config: SyntheticConfig, split: str, out_dir: str | Path) -> list[dict]:
    """Check the cache of ``split`` against ``config``: manifest present and for this config and split, one
    record per sample, every file present with the recorded size and sha256. Returns the records or raises
    ``CacheError`` saying what is wrong."""
    root = split_dir(out_dir, split)
    path = root / MANIFEST
    if not path.is_file():
        raise CacheError(f"{root}: no {MANIFEST} (missing or partial cache)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CacheError(f"{path}: unreadable manifest ({err})") from err
    if manifest.get("format") != _FORMAT or manifest.get("split") != split:
        raise CacheError(f"{path}: not a {_FORMAT} manifest of split {split!r}")
    if manifest.get("config") != config.to_json():
        raise CacheError(f"{path}: rendered with another config ({manifest.get('config')})")
    records = manifest.get("samples", [])
    if len(records) != len_split(config, split):
        raise CacheError(f"{path}: {len(records)} samples, expected {len_split(config, split)}")
    for rec in records:
        for tag in ("a", "b"):
            file = root / rec[f"file_{tag}"]
            if not file.is_file():
                raise CacheError(f"{file}: missing")
            data = file.read_bytes()
            if len(data) != rec[f"bytes_{tag}"] or hashlib.sha256(data).hexdigest() != rec[f"sha256_{tag}"]:
                raise CacheError(f"{file}: size or sha256 differs from the manifest (corrupt)")
    return records


def load_cache(
    config: SyntheticConfig, split: str, out_dir: str | Path, rebuild: bool = True, progress: bool = True
) -> list[dict]:
    """The verified manifest records of a cache; a cache that fails ``verify_cache`` is rebuilt (with a
    warning) when ``rebuild``, else ``CacheError`` is raised. Never returns an unverified cache."""
    try:
        return verify_cache(config, split, out_dir)
    except CacheError as err:
        if not rebuild:
            raise
        warnings.warn(f"rebuilding the synthetic cache: {err}", stacklevel=2)
    render_to_disk(config, split, out_dir, progress=progress)
    return verify_cache(config, split, out_dir)


def cached_sample(root: Path, rec: dict, pose_kind: str = "disc") -> dict:
    """The pair sample (``data/sample.py``) of one manifest record ``rec`` of the cache folder ``root``."""
    images = [np.array(Image.open(root / rec[f"file_{t}"]).convert("RGB")) for t in ("a", "b")]
    j3 = _from_json_floats(rec["joints3d"])
    return make_sample(
        images[0],
        images[1],
        _from_json_floats(rec["keypoints_a"]),
        np.array(rec["visible_a"]),
        _from_json_floats(rec["keypoints_b"]),
        np.array(rec["visible_b"]),
        person_id=rec["person_id"],
        name_a=rec["name_a"],
        name_b=rec["name_b"],
        joints3d_a=j3,
        joints3d_b=j3,
        yaw=float(rec["yaw"]),
        pose_kind=pose_kind,
    )
