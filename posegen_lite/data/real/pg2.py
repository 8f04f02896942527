"""Torch datasets over the real datasets as users have them on disk, yielding the pair-sample dict.

* ``PG2Dataset``: Market-1501 (128×64) and DeepFashion (256×256, or the 176×256 crops of later work) in the
  PG2 / pose-gan / PATN layout. 2D keypoints only: a pair uses the target's annotated 2D pose (as PG2 does),
  ``joints3d_a/b`` and ``yaw`` are NaN. Pairs come from the pairs CSV or, as PG2 builds them, from the
  annotations (``pairs="annotations"``).
* ``PanopticDataset``: one CMU Panoptic sequence. A pair is the same body in the same frame seen by two
  cameras; each view is cropped to a square around the person and resized, with the camera (and so the
  keypoints) transformed consistently; ``yaw`` is the viewpoint change as a body rotation (``camera.py``).

Bad files never pass silently: ``ImageError`` or ``FormatError`` naming the file (and row), or with
``strict=False`` a warning and the row skipped; images of another size are resized with their keypoints
(``wrong_size="resize"``) or rejected. Every behaviour, with the layouts: docs/datasets.md.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from posegen_lite.data.real.pg2_format import (
    FormatError,
    PG2Annotation,
    person_identity,
    read_pg2_annotations,
    read_pg2_pairs,
)
from posegen_lite.data.sample import make_sample
from posegen_lite.geometry.skeleton import JOINT_INDEX
from posegen_lite.geometry.warp import add_proxy_keys, keypoint_flow
from posegen_lite.images import ImageError, load_image, resize_image

logger = logging.getLogger(__name__)

# --- PG2 layout ------------------------------------------------------------------------------------------

PG2_KINDS = ("market", "fashion")
# Nominal image sizes (height, width). DeepFashion at 176×256 (W×H): pass image_size=(256, 176).
PG2_IMAGE_SIZE = {"market": (128, 64), "fashion": (256, 256)}
# File-name prefixes as the public files spell them ("fasion" sic; PATN's resized files add "-resize").
PG2_PREFIXES = {"market": ("market",), "fashion": ("fasion", "fashion", "fasion-resize")}
# PG2's pair rule: both shoulders and both hips annotated.
PG2_REQUIRED_JOINTS = ("r_shoulder", "l_shoulder", "r_hip", "l_hip")
# Market-1501's junk (-1) and distractor (0000) images have no identity and never form pairs.
MARKET_NON_IDENTITIES = ("-1", "0000")


@dataclass(frozen=True)
class PG2Files:
    """Where a PG2 split lives; a field is ``None`` when nothing was found (``candidates`` lists the tries)."""

    annotations: Path | None
    pairs: Path | None
    image_dir: Path | None
    candidates: dict[str, tuple[Path, ...]]


def find_pg2_files(root: str | Path, kind: str, split: str) -> PG2Files:
    """Locate the annotation CSV, pairs CSV and image folder of ``split`` under ``root``.

    Annotations: ``<prefix>-annotation-<split>.csv``; pairs: ``<prefix>-pairs-<split>.csv`` (prefix
    ``market``, or ``fasion`` / ``fashion`` / ``fasion-resize``); images: the first folder that exists of
    ``<split>/``, ``<prefix>-dataset/<split>/`` (pose-gan's layout) and ``<kind>/``.
    """
    if kind not in PG2_KINDS:
        raise ValueError(f"unknown PG2 dataset kind {kind!r}; expected one of {PG2_KINDS}")
    root = Path(root)
    prefixes = PG2_PREFIXES[kind]
    candidates = {
        "annotations": tuple(root / f"{p}-annotation-{split}.csv" for p in prefixes),
        "pairs": tuple(root / f"{p}-pairs-{split}.csv" for p in prefixes),
        "image_dir": (root / split, *(root / f"{p}-dataset" / split for p in prefixes), root / kind),
    }
    first = {key: next((p for p in paths if p.exists()), None) for key, paths in candidates.items()}
    return PG2Files(first["annotations"], first["pairs"], first["image_dir"], candidates)


def _missing_reason(visible: np.ndarray, required: tuple[str, ...]) -> str | None:
    if not visible.any():
        return "no joints annotated (failed pose detection)"
    absent = [name for name in required if not visible[JOINT_INDEX[name]]]
    return f"missing required joints {absent}" if absent else None


def build_pg2_pairs(
    annotations: dict[str, PG2Annotation], kind: str, required_joints: tuple[str, ...] = PG2_REQUIRED_JOINTS
) -> list[tuple[str, str]]:
    """Pairs from the annotations alone, as PG2 builds them: every ordered pair of distinct images of the same
    identity where both images have all ``required_joints`` (default: both shoulders and both hips).

    Skipped images are logged one by one at INFO with their reason, and summarised in one WARNING.
    """
    for name in required_joints:
        if name not in JOINT_INDEX:
            raise ValueError(f"unknown joint {name!r} in required_joints")
    by_person: dict[str, list[str]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    for name, ann in annotations.items():
        identity = person_identity(name, kind)
        reason = _missing_reason(ann.visible, required_joints)
        if kind == "market" and identity in MARKET_NON_IDENTITIES:
            reason = f"Market junk/distractor identity {identity!r}"
        if reason is not None:
            logger.info("pair building skips %s (%s): %s", name, ann.source, reason)
            reasons[reason.split(" [")[0]] += 1  # count by kind of reason, without the joint list
            continue
        by_person[identity].append(name)
    pairs = [(a, b) for names in by_person.values() for a in names for b in names if a != b]
    if reasons:
        summary = ", ".join(f"{n} × {r}" for r, n in reasons.most_common())
        logger.warning("pair building skipped %d of %d images: %s", sum(reasons.values()), len(annotations), summary)
    return pairs


@dataclass(frozen=True)
class PG2Config:
    """Options of ``PG2Dataset``.

    Attributes:
        root: folder holding the CSVs and the image folder (see ``find_pg2_files`` / docs/datasets.md).
        kind: ``"market"`` or ``"fashion"``.
        split: ``"train"`` or ``"test"`` (any name whose files exist).
        image_size: ``(height, width)`` of the samples; ``None`` = the dataset's nominal size.
        pairs: ``"csv"`` reads the published pairs file; ``"annotations"`` builds pairs with
            ``build_pg2_pairs`` from the annotation file alone.
        required_joints: the joints pair building requires (``pairs="annotations"`` only).
        strict: bad annotation rows raise ``FormatError`` (``True``) or are warned about and skipped.
        wrong_size: ``"resize"`` (resize image and keypoints) or ``"error"`` (raise ``ImageError``).
        pose_kind: pose-map style passed to ``make_sample``.
        extras: add the body-proxy ``flow``/``visibility``/``proxy_parts_b`` (``data/sample.py``) from both
            views' keypoints, lifted to 3D with fitted orthographic cameras (``warp.keypoint_flow``).
    """

    root: str | Path
    kind: str = "market"
    split: str = "train"
    image_size: tuple[int, int] | None = None
    pairs: str = "csv"
    required_joints: tuple[str, ...] = PG2_REQUIRED_JOINTS
    strict: bool = True
    wrong_size: str = "resize"
    pose_kind: str = "disc"
    extras: bool = False


def image_file_size(path: Path) -> tuple[int, int] | None:
    """``(height, width)`` of an image file from its header (no decoding), or None if it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.height, img.width
    except (OSError, UnidentifiedImageError):
        return None  # reported, naming the file, when the image is loaded


def outside_reason(ann: PG2Annotation, size: tuple[int, int], path: Path) -> str | None:
    """Why a row's visible joints do not fit its ``size`` (height, width) image, or None if they all do."""
    kp = ann.keypoints
    outside = ann.visible & ((kp[:, 0] >= size[1]) | (kp[:, 1] >= size[0]))
    if not outside.any():
        return None
    j = int(np.flatnonzero(outside)[0])
    return (
        f"{ann.source}: joint {j} at (x={kp[j, 0]:g}, y={kp[j, 1]:g}) is outside the {size[1]}×{size[0]} image {path}"
    )


def scale_keypoints(keypoints: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Map ``(N, 2)`` (x, y) pixels of a ``from_size`` (H, W) image onto the same image resized to ``to_size``.

    Pixel centres sit at integers, so ``u' = (u + 0.5) · s − 0.5`` (the mapping PIL's resize uses). NaN stays NaN.
    """
    (h0, w0), (h1, w1) = from_size, to_size
    scale = np.array([w1 / w0, h1 / h0], dtype=np.float64)
    return ((np.asarray(keypoints, np.float64) + 0.5) * scale - 0.5).astype(np.float32)


class PG2Dataset(Dataset):
    """Pairs of a PG2-format dataset (Market-1501 or DeepFashion) as pair-sample dicts (``data.sample``)."""

    def __init__(self, config: PG2Config):
        if config.kind not in PG2_KINDS:
            raise ValueError(f"unknown PG2 dataset kind {config.kind!r}; expected one of {PG2_KINDS}")
        if config.pairs not in ("csv", "annotations"):
            raise ValueError(f"pairs must be 'csv' or 'annotations', got {config.pairs!r}")
        if config.wrong_size not in ("resize", "error"):
            raise ValueError(f"wrong_size must be 'resize' or 'error', got {config.wrong_size!r}")
        self.config = config
        self.image_size = config.image_size or PG2_IMAGE_SIZE[config.kind]
        files = find_pg2_files(config.root, config.kind, config.split)
        if files.annotations is None:
            tried = ", ".join(str(p) for p in files.candidates["annotations"])
            raise FileNotFoundError(f"no annotation file for split {config.split!r}; tried {tried}")
        if files.image_dir is None:
            tried = ", ".join(str(p) for p in files.candidates["image_dir"])
            raise FileNotFoundError(f"no image folder for split {config.split!r}; tried {tried}")
        self.image_dir = files.image_dir
        # Coordinates are in each image file's own frame, so each row is range-checked against its file's size.
        annotations = read_pg2_annotations(files.annotations, image_size=None, strict=config.strict)
        self.annotations = self._inside_rows(annotations)
        skipped = set(annotations) - set(self.annotations)
        if config.pairs == "csv":
            if files.pairs is None:
                tried = ", ".join(str(p) for p in files.candidates["pairs"])
                raise FileNotFoundError(
                    f"no pairs file for split {config.split!r}; tried {tried} (or use pairs='annotations')"
                )
            if config.strict:
                self.pairs = read_pg2_pairs(files.pairs, known_names=self.annotations)
            else:
                # A pair naming an image whose row was skipped goes with it (a name never annotated is still
                # an error).
                pairs = read_pg2_pairs(files.pairs, known_names=annotations)
                self.pairs = [p for p in pairs if not skipped.intersection(p)]
                if len(self.pairs) < len(pairs):
                    warnings.warn(
                        f"{files.pairs}: skipping {len(pairs) - len(self.pairs)} pair(s) whose image row was skipped",
                        stacklevel=2,
                    )
        else:
            self.pairs = build_pg2_pairs(self.annotations, config.kind, config.required_joints)

    def _inside_rows(self, annotations: dict[str, PG2Annotation]) -> dict[str, PG2Annotation]:
        """The rows whose visible joints lie inside their image; a row that does not raises ``FormatError``
        (``strict``) or is warned about and left out."""
        kept = {}
        for name, ann in annotations.items():
            path = self.image_dir / name
            size = image_file_size(path) if path.is_file() else None
            reason = outside_reason(ann, size or tuple(self.image_size), path)
            if reason is None:
                kept[name] = ann
            elif self.config.strict:
                raise FormatError(reason)
            else:
                warnings.warn(f"skipping row: {reason}", stacklevel=3)
        return kept

    def __len__(self) -> int:
        return len(self.pairs)

    def load_view(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One image and its keypoints at ``image_size``: ``(uint8 (H, W, 3), (18, 2) float32, (18,) bool)``."""
        ann = self.annotations[name]
        path = self.image_dir / name
        # load_image converts grayscale / RGBA explicitly and raises ImageError naming a bad file; the copy makes
        # the array writable (PIL's arrays are not, and torch warns about those).
        image = load_image(path).copy()
        size = image.shape[:2]
        kp = ann.keypoints
        reason = outside_reason(ann, size, path)  # checked at construction too; the file may have changed since
        if reason is not None:
            raise FormatError(reason)
        if size != tuple(self.image_size):
            if self.config.wrong_size == "error":
                raise ImageError(
                    f"{path}: image is {size[1]}×{size[0]}, expected "
                    f"{self.image_size[1]}×{self.image_size[0]} (wrong_size='error')"
                )
            image = resize_image(image, *self.image_size).copy()  # PIL arrays are read-only
            kp = scale_keypoints(kp, size, self.image_size)
        return image, kp, ann.visible

    def __getitem__(self, index: int) -> dict:
        name_a, name_b = self.pairs[index]
        image_a, kp_a, vis_a = self.load_view(name_a)
        image_b, kp_b, vis_b = self.load_view(name_b)
        sample = make_sample(
            image_a,
            image_b,
            kp_a,
            vis_a,
            kp_b,
            vis_b,
            person_id=person_identity(name_a, self.config.kind),
            name_a=name_a,
            name_b=name_b,
            pose_kind=self.config.pose_kind,
        )
        if self.config.extras:
            h, w = image_b.shape[:2]
            add_proxy_keys(sample, keypoint_flow(kp_a, vis_a, kp_b, vis_b, w, h))
        return sample
