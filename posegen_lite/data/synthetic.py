"""The embedded multi-view person dataset: pairs of views of procedural people (DESIGN.md §4).

A miniature CMU Panoptic studio: every sample is one person (``body.Person``) in one pose (``poses``), seen by
two cameras on an orbit around them (``framing``), rendered by ``render``. Everything is derived from seeds:

* person ``p`` of a split is drawn from ``SeedSequence([seed, split, p])``;
* their ``j``-th pair (pose, azimuths, elevation, background) from ``SeedSequence([seed, split, p, 1 + j])``.

So the same config gives the same bytes, any index can be rendered on its own (DataLoader workers are fine),
and the splits are disjoint by person identity. ``test_hard`` holds only viewpoint changes of 150–180°
(the front seen from the back). A rendered set can be written to disk once (``render_to_disk``) with a
manifest (config, per-sample metadata, sha256 of every file); a cache that does not match is rebuilt.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..camera import Camera
from .body import Person, PosedBody, pose_body, sample_person
from .framing import ELEVATION_RANGE, check_size, person_cameras
from .poses import sample_pose
from .render import Render, render_views
from .sample import make_sample

SPLITS: tuple[str, ...] = ("train", "val", "test", "test_hard")
_SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}
HARD_YAW_RANGE = (150.0, 180.0)
MANIFEST = "manifest.json"
_FORMAT = "posegen-synthetic-v1"


class CacheError(ValueError):
    """An on-disk cache that does not match its manifest or its config (missing, partial, corrupt)."""


@dataclass(frozen=True)
class SyntheticConfig:
    """What to render. Each person has ``views_per_person`` samples; each sample is a fresh pose seen from two
    cameras whose azimuths differ by ``|Δ|`` uniform in ``yaw_range`` (random sign); ``test_hard`` uses
    ``HARD_YAW_RANGE`` instead.

    Attributes:
        size: ``(height, width)`` of the images in pixels.
        train_people, val_people, test_people, hard_people: people per split (train / val / test / test_hard).
        views_per_person: pair samples per person.
        yaw_range: ``(low, high)`` degrees of the absolute azimuth difference, within [0, 360].
        elevation_range: camera elevation range in degrees, within ``framing.ELEVATION_RANGE``.
        seed: the dataset seed. supersample: sub-pixels per pixel side (anti-aliasing).
    """

    size: tuple[int, int] = (128, 64)
    train_people: int = 400
    val_people: int = 40
    test_people: int = 40
    hard_people: int = 40
    views_per_person: int = 8
    yaw_range: tuple[float, float] = (0.0, 360.0)
    elevation_range: tuple[float, float] = (-5.0, 20.0)
    seed: int = 0
    supersample: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", check_size(*self.size))
        for name in ("train_people", "val_people", "test_people", "hard_people", "views_per_person"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value}")
            object.__setattr__(self, name, int(value))
        if self.views_per_person < 1:
            raise ValueError(f"views_per_person must be at least 1, got {self.views_per_person}")
        lo, hi = (float(v) for v in self.yaw_range)
        if not 0.0 <= lo <= hi <= 360.0:
            raise ValueError(f"yaw_range must satisfy 0 <= low <= high <= 360, got {self.yaw_range}")
        object.__setattr__(self, "yaw_range", (lo, hi))
        e_lo, e_hi = (float(v) for v in self.elevation_range)
        if not ELEVATION_RANGE[0] <= e_lo <= e_hi <= ELEVATION_RANGE[1]:
            raise ValueError(f"elevation_range must lie within {ELEVATION_RANGE} (low <= high), "
                             f"got {self.elevation_range}")
        object.__setattr__(self, "elevation_range", (e_lo, e_hi))
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if int(self.supersample) != self.supersample or not 1 <= self.supersample <= 8:
            raise ValueError(f"supersample must be an integer in [1, 8], got {self.supersample}")

    def people_in(self, split: str) -> int:
        """Number of people in ``split``."""
        return {"train": self.train_people, "val": self.val_people, "test": self.test_people,
                "test_hard": self.hard_people}[check_split(split)]

    def to_json(self) -> dict:
        """The config as plain JSON values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def check_split(split: str) -> str:
    """Return ``split`` or raise ``ValueError`` if it is not one of ``SPLITS``."""
    if split not in _SPLIT_CODE:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return split


def wrap_degrees(angle: float) -> float:
    """Wrap an angle to (−180, 180]."""
    wrapped = -((-float(angle) + 180.0) % 360.0 - 180.0)
    return 180.0 if wrapped == -180.0 else wrapped


@dataclass(frozen=True)
class PairRender:
    """One sample before tensor conversion: two views of one person in one pose.

    ``yaw`` is the viewpoint change A→B as a body rotation (camera.py): ``wrap(−(azimuth_b − azimuth_a))``.
    """

    view_a: Render
    view_b: Render
    person_id: str
    index: int
    azimuth_a: float
    azimuth_b: float
    elevation: float
    yaw: float

    @property
    def name_a(self) -> str:
        return f"{self.person_id}_v{self.index % 1000:03d}_a"

    @property
    def name_b(self) -> str:
        return f"{self.person_id}_v{self.index % 1000:03d}_b"


def _rng(config: SyntheticConfig, split: str, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([config.seed, _SPLIT_CODE[split], *keys]))


@functools.lru_cache(maxsize=256)
def person_of(config: SyntheticConfig, split: str, person: int) -> Person:
    """Person ``person`` of ``split`` (deterministic; cached, as all of a person's samples share it)."""
    if not 0 <= person < config.people_in(split):
        raise IndexError(f"person {person} out of range for split {split!r} ({config.people_in(split)} people)")
    drawn = sample_person(_rng(config, split, person))
    for f in dataclasses.fields(drawn):  # the cached object is shared: make its colours read-only
        value = getattr(drawn, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return drawn


class PairPlan(NamedTuple):
    """Everything random about one sample, drawn before rendering."""

    person: Person
    body: PosedBody
    cameras: list[Camera]  # [camera A, camera B]
    background: np.ndarray  # (2, 3) top and bottom colour in [0, 1]
    azimuth_a: float
    azimuth_b: float
    elevation: float
    person_id: str


def plan_pair(config: SyntheticConfig, split: str, index: int) -> PairPlan:
    """Draw sample ``index`` of ``split``: person, posed body, the two cameras, background."""
    n = len_split(config, split)
    if not 0 <= index < n:
        raise IndexError(f"sample {index} out of range for split {split!r} ({n} samples)")
    p, j = divmod(index, config.views_per_person)
    person = person_of(config, split, p)
    rng = _rng(config, split, p, 1 + j)
    body = pose_body(person, sample_pose(rng))
    lo, hi = HARD_YAW_RANGE if split == "test_hard" else config.yaw_range
    az_a = float(rng.uniform(0.0, 360.0))
    delta = float(rng.uniform(lo, hi)) * (1.0 if rng.random() < 0.5 else -1.0)
    az_b = (az_a + delta) % 360.0
    elevation = float(rng.uniform(*config.elevation_range))
    # A lightly varied studio background, the same behind both views.
    grey = rng.uniform(0.55, 0.92)
    tint = rng.normal(0.0, 0.03, size=3)
    top = np.clip(grey + tint + 0.05, 0, 1)
    bottom = np.clip(grey + tint - rng.uniform(0.05, 0.15), 0, 1)
    height, width = config.size
    cams = person_cameras(body, [az_a, az_b], elevation, height, width)
    return PairPlan(person, body, cams, np.stack([top, bottom]), az_a, az_b, elevation, f"{split}-{p:05d}")


def len_split(config: SyntheticConfig, split: str) -> int:
    """Number of pair samples in ``split``."""
    return config.people_in(split) * config.views_per_person


def render_pairs(config: SyntheticConfig, split: str, indices: list[int] | range) -> list[PairRender]:
    """Render samples ``indices`` of ``split`` in one batched call (much faster per image than one by one)."""
    check_split(split)
    plans = [plan_pair(config, split, int(i)) for i in indices]
    if not plans:
        return []
    # Both views of every sample go into one render call: view A of sample k is image 2k, view B 2k + 1.
    views = render_views(
        [p.person for p in plans for _ in range(2)], [p.body for p in plans for _ in range(2)],
        [cam for p in plans for cam in p.cameras], supersample=config.supersample,
        backgrounds=np.stack([p.background for p in plans for _ in range(2)]).astype(np.float32),
    )
    return [PairRender(view_a=views[2 * k], view_b=views[2 * k + 1], person_id=p.person_id, index=int(index),
                       azimuth_a=p.azimuth_a, azimuth_b=p.azimuth_b, elevation=p.elevation,
                       yaw=wrap_degrees(-(p.azimuth_b - p.azimuth_a)))
            for k, (index, p) in enumerate(zip(indices, plans, strict=True))]


def _to_sample(pair: PairRender, image_a: np.ndarray, image_b: np.ndarray, pose_kind: str) -> dict:
    return make_sample(image_a, image_b, pair.view_a.keypoints, pair.view_a.visible, pair.view_b.keypoints,
                       pair.view_b.visible, person_id=pair.person_id, name_a=pair.name_a, name_b=pair.name_b,
                       joints3d_a=pair.view_a.joints3d, joints3d_b=pair.view_b.joints3d, yaw=pair.yaw,
                       pose_kind=pose_kind)


# --- on-disk cache ----------------------------------------------------------------------------------------

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


def render_to_disk(config: SyntheticConfig, split: str, out_dir: str | Path, progress: bool = True,
                   batch: int = 32) -> Path:
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
                record = {"index": pair.index, "person_id": pair.person_id, "yaw": pair.yaw,
                          "azimuth_a": pair.azimuth_a, "azimuth_b": pair.azimuth_b, "elevation": pair.elevation,
                          "joints3d": _json_floats(pair.view_a.joints3d)}
                for tag, view, name in (("a", pair.view_a, pair.name_a), ("b", pair.view_b, pair.name_b)):
                    data = _png_bytes(view.image)
                    (root / f"{name}.png").write_bytes(data)
                    record.update({f"name_{tag}": name, f"file_{tag}": f"{name}.png", f"bytes_{tag}": len(data),
                                   f"sha256_{tag}": hashlib.sha256(data).hexdigest(),
                                   f"keypoints_{tag}": _json_floats(view.keypoints),
                                   f"visible_{tag}": view.visible.tolist(), f"camera_{tag}": _camera_json(view.camera)})
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


def load_cache(config: SyntheticConfig, split: str, out_dir: str | Path, rebuild: bool = True,
               progress: bool = True) -> list[dict]:
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


def synth_main(out_dir: str | Path, split: str = "train", size: tuple[int, int] = (128, 64), people: int = 100,
               views: int = 8, seed: int = 0) -> Path:
    """The ``posegen synth`` command: render ``people`` people × ``views`` pairs of ``split`` at ``size``
    into ``out_dir/<split>/`` (PNG + manifest) with a progress bar; returns the split's directory."""
    counts = {"train_people": 0, "val_people": 0, "test_people": 0, "hard_people": 0}
    counts[{"train": "train_people", "val": "val_people", "test": "test_people",
            "test_hard": "hard_people"}[check_split(split)]] = people
    config = SyntheticConfig(size=tuple(size), views_per_person=views, seed=seed, **counts)
    render_to_disk(config, split, out_dir, progress=True)
    return split_dir(out_dir, split)


# --- the torch Dataset -------------------------------------------------------------------------------------

class SyntheticPairs(Dataset):
    """Pair samples (the dict of ``data/sample.py``) of one split of the synthetic dataset.

    Rendered on the fly from per-index seeds, or read from a verified on-disk cache when ``cache_dir`` is
    given (built or rebuilt there if missing or corrupt). ``__getitems__`` renders a whole DataLoader batch in
    one call, which is several times faster per image than one sample at a time.

    Args:
        config: what to render. split: one of ``SPLITS``. cache_dir: optional cache root.
        pose_kind: passed to ``posemaps.pose_maps`` (``"disc"`` as PG2, or ``"gaussian"``).
    """

    def __init__(self, config: SyntheticConfig | None = None, split: str = "train",
                 cache_dir: str | Path | None = None, pose_kind: str = "disc", progress: bool = False) -> None:
        self.config = config if config is not None else SyntheticConfig()
        self.split = check_split(split)
        self.pose_kind = pose_kind
        self.cache_root = None if cache_dir is None else split_dir(cache_dir, split)
        self.records = None
        if cache_dir is not None:
            self.records = load_cache(self.config, self.split, cache_dir, progress=progress)

    def __len__(self) -> int:
        return len_split(self.config, self.split)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        n = len(self)
        indices = [int(i) + n if int(i) < 0 else int(i) for i in indices]
        for i in indices:
            if not 0 <= i < n:
                raise IndexError(f"index {i} out of range for {n} samples")
        if self.records is not None:
            return [self._cached(i) for i in indices]
        return [_to_sample(p, p.view_a.image, p.view_b.image, self.pose_kind)
                for p in render_pairs(self.config, self.split, indices)]

    def _cached(self, index: int) -> dict:
        rec = self.records[index]
        images = [np.array(Image.open(self.cache_root / rec[f"file_{t}"]).convert("RGB")) for t in ("a", "b")]
        j3 = _from_json_floats(rec["joints3d"])
        return make_sample(images[0], images[1], _from_json_floats(rec["keypoints_a"]), np.array(rec["visible_a"]),
                           _from_json_floats(rec["keypoints_b"]), np.array(rec["visible_b"]),
                           person_id=rec["person_id"], name_a=rec["name_a"], name_b=rec["name_b"],
                           joints3d_a=j3, joints3d_b=j3, yaw=float(rec["yaw"]), pose_kind=self.pose_kind)


__all__ = [
    "SPLITS", "HARD_YAW_RANGE", "CacheError", "SyntheticConfig", "SyntheticPairs", "PairRender", "PairPlan",
    "plan_pair", "render_pairs",
    "render_to_disk", "verify_cache", "load_cache", "synth_main", "person_of", "len_split", "wrap_degrees",
]
