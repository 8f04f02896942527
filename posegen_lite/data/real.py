"""Torch datasets over the real datasets as users have them on disk, yielding the pair-sample dict.

* ``PG2Dataset``: Market-1501 (128×64) and DeepFashion (256×256, or the 176×256 crops of later work) in the
  PG2 / pose-gan / PATN layout (``docs/datasets.md``). These datasets only have 2D keypoints: a pair uses the
  target's annotated 2D pose directly (as PG2 does), ``joints3d_a/b`` are NaN and ``yaw`` is NaN.
* ``PanopticDataset``: one CMU Panoptic sequence. A pair is the same body in the same frame seen by two
  cameras; each view is cropped to a square around the person and resized, with the camera (and so the
  keypoints) transformed consistently; ``yaw`` is the viewpoint change as a body rotation (``camera.py``).

Documented behaviours (tests prove them):

* Grayscale / RGBA images are converted to RGB explicitly (``images.load_image``); truncated or non-image
  files raise ``ImageError`` naming the file.
* PG2 keypoints are in the pixel frame of the image file they annotate. An image whose size differs from the
  dataset's ``image_size`` is resized to it with its keypoints scaled by the same factors
  (``wrong_size="resize"``, the default) or rejected with ``ImageError`` (``wrong_size="error"``). A keypoint
  outside its image raises ``FormatError`` naming the CSV and row.
* Pair building from annotations (``pairs="annotations"``) follows PG2: ordered pairs of distinct images of
  the same identity where both images have both shoulders and both hips. Images that fail are skipped with
  their reason logged (``logging``, logger ``posegen_lite.data.real``), never a crash.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ..camera import Camera
from ..images import ImageError, load_image, resize_image
from ..skeleton import JOINT_INDEX, hip_centre
from .formats import (
    FormatError,
    PanopticBody,
    PG2Annotation,
    person_identity,
    read_panoptic_bodies,
    read_panoptic_calibration,
    read_pg2_annotations,
    read_pg2_pairs,
)
from .sample import make_sample

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


def build_pg2_pairs(annotations: dict[str, PG2Annotation], kind: str,
                    required_joints: tuple[str, ...] = PG2_REQUIRED_JOINTS) -> list[tuple[str, str]]:
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
        # Coordinates are range-checked per image when it is loaded: they are in that file's own frame.
        self.annotations = read_pg2_annotations(files.annotations, image_size=None, strict=config.strict)
        if config.pairs == "csv":
            if files.pairs is None:
                tried = ", ".join(str(p) for p in files.candidates["pairs"])
                raise FileNotFoundError(f"no pairs file for split {config.split!r}; tried {tried} "
                                        "(or use pairs='annotations')")
            self.pairs = read_pg2_pairs(files.pairs, known_names=self.annotations)
        else:
            self.pairs = build_pg2_pairs(self.annotations, config.kind, config.required_joints)

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
        outside = ann.visible & ((kp[:, 0] >= size[1]) | (kp[:, 1] >= size[0]))
        if outside.any():
            j = int(np.flatnonzero(outside)[0])
            raise FormatError(f"{ann.source}: joint {j} at (x={kp[j, 0]:g}, y={kp[j, 1]:g}) is outside the "
                              f"{size[1]}×{size[0]} image {path}")
        if size != tuple(self.image_size):
            if self.config.wrong_size == "error":
                raise ImageError(f"{path}: image is {size[1]}×{size[0]}, expected "
                                 f"{self.image_size[1]}×{self.image_size[0]} (wrong_size='error')")
            image = resize_image(image, *self.image_size).copy()  # PIL arrays are read-only
            kp = scale_keypoints(kp, size, self.image_size)
        return image, kp, ann.visible

    def __getitem__(self, index: int) -> dict:
        name_a, name_b = self.pairs[index]
        image_a, kp_a, vis_a = self.load_view(name_a)
        image_b, kp_b, vis_b = self.load_view(name_b)
        return make_sample(image_a, image_b, kp_a, vis_a, kp_b, vis_b,
                           person_id=person_identity(name_a, self.config.kind), name_a=name_a, name_b=name_b,
                           pose_kind=self.config.pose_kind)


# --- CMU Panoptic ----------------------------------------------------------------------------------------

# camera type → (image folder, pose folder) inside a sequence folder
PANOPTIC_FOLDERS = {"hd": ("hdImgs", "hdPose3d_stage1_coco19"), "vga": ("vgaImgs", "vgaPose3d_stage1_coco19")}


def find_panoptic_calibration(root: str | Path) -> Path | None:
    """The ``calibration_<seq>.json`` of a sequence folder (``calibration_<folder name>.json`` preferred)."""
    root = Path(root)
    preferred = root / f"calibration_{root.name}.json"
    if preferred.is_file():
        return preferred
    found = sorted(root.glob("calibration_*.json"))
    return found[0] if found else None


def camera_azimuth(camera: Camera, pivot: np.ndarray) -> float:
    """Azimuth (degrees) of the camera centre around the vertical axis through ``pivot``, measured as
    ``orbit_camera`` does: 0 on the +z side, positive towards +x."""
    d = camera.center - np.asarray(pivot, dtype=np.float64)
    return math.degrees(math.atan2(d[0], d[2]))


def viewpoint_yaw(camera_a: Camera, camera_b: Camera, pivot: np.ndarray) -> float:
    """The body rotation (degrees, in (−180, 180]) that makes camera A's view look like camera B's.

    A camera at azimuth φ sees the body as the φ = 0 camera sees it turned by −φ (``camera.py``), so going
    from A to B turns the body by ``φ_A − φ_B``.
    """
    yaw = camera_azimuth(camera_a, pivot) - camera_azimuth(camera_b, pivot)
    yaw = (yaw + 180.0) % 360.0 - 180.0
    return 180.0 if yaw == -180.0 else yaw


def person_crop_box(keypoints: np.ndarray, visible: np.ndarray, margin: float) -> tuple[int, int, int]:
    """A square box ``(x0, y0, side)`` in integer pixels around the visible keypoints, each side widened by
    ``margin`` × the larger extent (the joints stop short of the head top and the feet). It may extend past the
    image: ``crop_square`` pads."""
    pts = np.asarray(keypoints, np.float64)[np.asarray(visible, bool)]
    if len(pts) == 0:
        raise ValueError("cannot crop around a person with no visible joints")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = max(int(math.ceil(max(hi - lo) * (1.0 + 2.0 * margin))), 8)
    centre = (lo + hi) / 2.0
    x0, y0 = (int(round(c - side / 2.0)) for c in centre)
    return x0, y0, side


def crop_square(image: np.ndarray, x0: int, y0: int, side: int, out_size: int,
                fill: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """Crop ``[x0, x0+side) × [y0, y0+side)`` out of ``(H, W, 3)`` uint8, padding with ``fill`` where the box
    leaves the image, and resize to ``(out_size, out_size, 3)`` — the image ``Camera.cropped`` describes."""
    h, w = image.shape[:2]
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = fill
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return resize_image(canvas, out_size, out_size).copy()  # PIL arrays are read-only


@dataclass(frozen=True)
class PanopticConfig:
    """Options of ``PanopticDataset``.

    Attributes:
        root: the sequence folder (holding ``calibration_<seq>.json``, ``hdPose3d_stage1_coco19/``, ``hdImgs/``).
        camera_type: ``"hd"`` (default) or ``"vga"``.
        cameras: camera names to use (e.g. ``("00_00", "00_05")``); ``None`` = every camera of that type with
            an image folder.
        image_size: side of the square samples.
        margin: crop margin on each side, as a fraction of the person's larger extent.
        min_visible_joints: a view is used only if at least this many joints project inside its image.
        min_confidence: Panoptic joint confidence below which a joint is missing.
        pose_kind: pose-map style passed to ``make_sample``.
    """

    root: str | Path
    camera_type: str = "hd"
    cameras: tuple[str, ...] | None = None
    image_size: int = 256
    margin: float = 0.15
    min_visible_joints: int = 10
    min_confidence: float = 0.1
    pose_kind: str = "disc"


@dataclass(frozen=True)
class _PanopticPair:
    frame: str  # 8-digit frame number
    body: int  # index into that frame's body list
    camera_a: str
    camera_b: str


class PanopticDataset(Dataset):
    """Pairs of one CMU Panoptic sequence: the same body in the same frame seen by two cameras."""

    def __init__(self, config: PanopticConfig):
        if config.camera_type not in PANOPTIC_FOLDERS:
            raise ValueError(f"camera_type must be one of {tuple(PANOPTIC_FOLDERS)}, got {config.camera_type!r}")
        if config.image_size < 8:
            raise ValueError(f"image_size must be at least 8, got {config.image_size}")
        self.config = config
        self.root = Path(config.root)
        calibration = find_panoptic_calibration(self.root)
        if calibration is None:
            raise FileNotFoundError(f"{self.root}: no calibration_<seq>.json")
        self.sequence = calibration.stem.removeprefix("calibration_")
        image_folder, pose_folder = PANOPTIC_FOLDERS[config.camera_type]
        self.image_root, pose_root = self.root / image_folder, self.root / pose_folder
        if not pose_root.is_dir():
            raise FileNotFoundError(f"{pose_root}: pose folder not found")
        all_cameras = read_panoptic_calibration(calibration, config.camera_type)
        names = config.cameras or tuple(n for n in sorted(all_cameras) if (self.image_root / n).is_dir())
        unknown = [n for n in names if n not in all_cameras]
        if unknown:
            raise ValueError(f"{calibration}: no {config.camera_type} cameras named {unknown}")
        self.cameras = {n: all_cameras[n] for n in names}
        # One directory listing per camera instead of a stat per (frame, camera).
        images = {n: set(os.listdir(self.image_root / n)) if (self.image_root / n).is_dir() else set()
                  for n in names}
        self.bodies: dict[str, list[PanopticBody]] = {}
        self.pairs: list[_PanopticPair] = []
        for path in sorted(pose_root.glob("body3DScene_*.json")):
            frame = path.stem.removeprefix("body3DScene_")
            bodies = read_panoptic_bodies(path, config.min_confidence)
            self.bodies[frame] = bodies
            for b, body in enumerate(bodies):
                seen = [n for n in names if f"{n}_{frame}.jpg" in images[n]
                        and self.cameras[n].project(body.joints3d)[1].sum() >= config.min_visible_joints]
                self.pairs += [_PanopticPair(frame, b, a, c) for a in seen for c in seen if a != c]

    def __len__(self) -> int:
        return len(self.pairs)

    def image_path(self, camera: str, frame: str) -> Path:
        return self.image_root / camera / f"{camera}_{frame}.jpg"

    def load_view(self, camera: str, frame: str, joints3d: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                 np.ndarray, Camera]:
        """The cropped view of a body: ``(uint8 (S, S, 3), keypoints (18, 2), visible (18,), cropped Camera)``."""
        cam = self.cameras[camera]
        path = self.image_path(camera, frame)
        image = load_image(path)
        if image.shape[:2] != (cam.height, cam.width):
            raise ImageError(f"{path}: image is {image.shape[1]}×{image.shape[0]}, the calibration says "
                             f"{cam.width}×{cam.height}")
        xy, vis = cam.project(joints3d)
        x0, y0, side = person_crop_box(xy, vis, self.config.margin)
        size = self.config.image_size
        crop_cam = cam.cropped(x0, y0, side, side, size, size)
        keypoints, visible = crop_cam.project(joints3d)
        return crop_square(image, x0, y0, side, size), keypoints, visible, crop_cam

    def __getitem__(self, index: int) -> dict:
        pair = self.pairs[index]
        body = self.bodies[pair.frame][pair.body]
        image_a, kp_a, vis_a, _ = self.load_view(pair.camera_a, pair.frame, body.joints3d)
        image_b, kp_b, vis_b, _ = self.load_view(pair.camera_b, pair.frame, body.joints3d)
        yaw = viewpoint_yaw(self.cameras[pair.camera_a], self.cameras[pair.camera_b], hip_centre(body.joints3d))
        image_folder = PANOPTIC_FOLDERS[self.config.camera_type][0]
        name = f"{image_folder}/{{0}}/{{0}}_{pair.frame}.jpg#body{body.id}"
        return make_sample(image_a, image_b, kp_a, vis_a, kp_b, vis_b,
                           person_id=f"{self.sequence}/{body.id}", name_a=name.format(pair.camera_a),
                           name_b=name.format(pair.camera_b), joints3d_a=body.joints3d, joints3d_b=body.joints3d,
                           yaw=yaw, pose_kind=self.config.pose_kind)

