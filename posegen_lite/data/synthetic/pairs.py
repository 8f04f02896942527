"""The embedded multi-view person dataset: pairs of views of procedural people.

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
import json
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from posegen_lite.data.sample import make_sample
from posegen_lite.data.synthetic.body import Person, PosedBody, pose_body, sample_person
from posegen_lite.data.synthetic.framing import ELEVATION_RANGE, check_size, person_cameras
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.data.synthetic.render import Render, render_views
from posegen_lite.geometry.camera import Camera

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
            raise ValueError(
                f"elevation_range must lie within {ELEVATION_RANGE} (low <= high), got {self.elevation_range}"
            )
        object.__setattr__(self, "elevation_range", (e_lo, e_hi))
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if int(self.supersample) != self.supersample or not 1 <= self.supersample <= 8:
            raise ValueError(f"supersample must be an integer in [1, 8], got {self.supersample}")

    def people_in(self, split: str) -> int:
        """Number of people in ``split``."""
        return {
            "train": self.train_people,
            "val": self.val_people,
            "test": self.test_people,
            "test_hard": self.hard_people,
        }[check_split(split)]

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
        [p.person for p in plans for _ in range(2)],
        [p.body for p in plans for _ in range(2)],
        [cam for p in plans for cam in p.cameras],
        supersample=config.supersample,
        backgrounds=np.stack([p.background for p in plans for _ in range(2)]).astype(np.float32),
    )
    return [
        PairRender(
            view_a=views[2 * k],
            view_b=views[2 * k + 1],
            person_id=p.person_id,
            index=int(index),
            azimuth_a=p.azimuth_a,
            azimuth_b=p.azimuth_b,
            elevation=p.elevation,
            yaw=wrap_degrees(-(p.azimuth_b - p.azimuth_a)),
        )
        for k, (index, p) in enumerate(zip(indices, plans, strict=True))
    ]


def _to_sample(pair: PairRender, image_a: np.ndarray, image_b: np.ndarray, pose_kind: str) -> dict:
    return make_sample(
        image_a,
        image_b,
        pair.view_a.keypoints,
        pair.view_a.visible,
        pair.view_b.keypoints,
        pair.view_b.visible,
        person_id=pair.person_id,
        name_a=pair.name_a,
        name_b=pair.name_b,
        joints3d_a=pair.view_a.joints3d,
        joints3d_b=pair.view_b.joints3d,
        yaw=pair.yaw,
        pose_kind=pose_kind,
    )
