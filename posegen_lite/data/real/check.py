"""Validate a user's dataset folder before training: ``check_dataset(kind, root)`` lists what is missing.

Meant for a one-line check (``posegen check-data market /path/to/market``): it reads every annotation row,
every pairs row and decodes every image (a truncated JPEG only shows when decoded), and reports, without
stopping at the first problem, which files are missing, which rows are bad (file:line), which images are
missing, unreadable or of a size the dataset will resize.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from posegen_lite.data.real.panoptic import PANOPTIC_FOLDERS, find_panoptic_calibration
from posegen_lite.data.real.panoptic_format import read_panoptic_bodies, read_panoptic_calibration
from posegen_lite.data.real.pg2 import PG2_IMAGE_SIZE, PG2_KINDS, find_pg2_files
from posegen_lite.data.real.pg2_format import FormatError, read_pg2_annotations, read_pg2_pairs

DATASET_KINDS = (*PG2_KINDS, "panoptic")
_MAX_LISTED = 5  # name at most this many files per problem; the count says the rest


@dataclass
class DatasetReport:
    """What ``check_dataset`` found. ``ok`` is True when nothing is missing and nothing is wrong.

    Attributes:
        kind, root: what was checked.
        found: one line per thing that is there (with counts).
        missing: one line per expected file/folder that is not there.
        problems: one line per bad row / unreadable file (file:line first).
        notes: things that work but are worth knowing (e.g. images that will be resized).
    """

    kind: str
    root: Path
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems

    def __str__(self) -> str:
        lines = [f"{self.kind} dataset at {self.root}: {'OK' if self.ok else 'PROBLEMS'}"]
        for title, items in (
            ("found", self.found),
            ("missing", self.missing),
            ("problems", self.problems),
            ("notes", self.notes),
        ):
            if items:
                lines += [f"  {title}:"] + [f"    - {item}" for item in items]
        return "\n".join(lines)


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" … (+{len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


def _image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, decoding it fully: a truncated JPEG has a valid header and only
    fails when its pixels are read. Raises ``OSError`` / ``ValueError`` for a broken or non-image file."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return im.size[1], im.size[0]


def _check_pg2(
    report: DatasetReport, kind: str, root: Path, splits: tuple[str, ...], image_size: tuple[int, int] | None
) -> None:
    size = image_size or PG2_IMAGE_SIZE[kind]
    for split in splits:
        files = find_pg2_files(root, kind, split)
        for key, label in (("annotations", "annotation CSV"), ("pairs", "pairs CSV"), ("image_dir", "image folder")):
            path = getattr(files, key)
            if path is None:
                tried = " or ".join(str(p.relative_to(root)) for p in files.candidates[key])
                report.missing.append(f"{split}: {label} ({tried})")
        if files.annotations is None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rows = read_pg2_annotations(files.annotations, strict=False)
            except FormatError as err:  # a wrong header: nothing else in the file can be read
                report.problems.append(str(err))
                continue
        report.problems += [str(w.message).removeprefix("skipping row: ") for w in caught]
        report.found.append(f"{split}: {files.annotations.name} with {len(rows)} annotated images")
        if files.pairs is not None:
            try:
                pairs = read_pg2_pairs(files.pairs, known_names=rows)
                report.found.append(f"{split}: {files.pairs.name} with {len(pairs)} pairs")
            except FormatError as err:
                report.problems.append(str(err))
        if files.image_dir is None:
            continue
        absent, unreadable, resized = [], [], []
        for name, row in rows.items():
            path = files.image_dir / name
            h, w = size  # without a readable image, range-check against the nominal size
            if not path.is_file():
                absent.append(name)
            else:
                try:
                    h, w = _image_size(path)
                except Exception as err:  # PIL raises many exception types for broken files
                    unreadable.append(f"{path} ({type(err).__name__})")
            kp = row.keypoints[row.visible]
            if len(kp) and ((kp[:, 0] >= w) | (kp[:, 1] >= h)).any():
                report.problems.append(f"{row.source}: keypoints outside the {w}×{h} image {path}")
            if path.is_file() and (h, w) != tuple(size):
                resized.append(f"{name} ({w}×{h})")
        report.found.append(
            f"{split}: {files.image_dir.relative_to(root)}/ with "
            f"{len(rows) - len(absent) - len(unreadable)} of {len(rows)} annotated images readable"
        )
        if absent:
            report.missing.append(
                f"{split}: {len(absent)} annotated images not in {files.image_dir}: {_listed(absent)}"
            )
        if unreadable:
            report.problems.append(f"{split}: {len(unreadable)} unreadable images: {_listed(unreadable)}")
        if resized:
            report.notes.append(
                f"{split}: {len(resized)} images are not {size[1]}×{size[0]} and will be resized "
                f"(or rejected with wrong_size='error'): {_listed(resized)}"
            )


def _check_panoptic(report: DatasetReport, root: Path, camera_type: str) -> None:
    calibration = find_panoptic_calibration(root)
    image_folder, pose_folder = PANOPTIC_FOLDERS[camera_type]
    cameras: dict = {}
    if calibration is None:
        report.missing.append(f"calibration_{root.name}.json")
    else:
        try:
            cameras = read_panoptic_calibration(calibration, camera_type)
            report.found.append(f"{calibration.name} with {len(cameras)} {camera_type} cameras")
        except FormatError as err:
            report.problems.append(str(err))
    frames = sorted((root / pose_folder).glob("body3DScene_*.json"))
    if not frames:
        report.missing.append(f"{pose_folder}/body3DScene_XXXXXXXX.json")
    bad_frames = 0
    for path in frames:
        try:
            read_panoptic_bodies(path)
        except FormatError as err:
            bad_frames += 1
            if bad_frames <= _MAX_LISTED:
                report.problems.append(str(err))
    if bad_frames > _MAX_LISTED:
        report.problems.append(f"… and {bad_frames - _MAX_LISTED} more unreadable frames")
    if frames:
        report.found.append(f"{pose_folder}/ with {len(frames)} frames ({len(frames) - bad_frames} readable)")
    with_images = [n for n in sorted(cameras) if (root / image_folder / n).is_dir()]
    if cameras and not with_images:
        report.missing.append(f"{image_folder}/<camera>/ folders (none of the {len(cameras)} cameras has one)")
    elif with_images:
        report.found.append(f"{image_folder}/ for {len(with_images)} cameras: {_listed(with_images)}")
        if len(with_images) < 2:
            report.problems.append("pairs need at least two cameras with images")
    for name in with_images:
        present = set((root / image_folder / name).iterdir())
        absent = [
            f"{name}_{p.stem.removeprefix('body3DScene_')}.jpg"
            for p in frames
            if root / image_folder / name / f"{name}_{p.stem.removeprefix('body3DScene_')}.jpg" not in present
        ]
        if absent:
            report.missing.append(f"{image_folder}/{name}: {len(absent)} frames without an image: {_listed(absent)}")


def check_dataset(
    kind: str,
    root: str | Path,
    splits: tuple[str, ...] = ("train", "test"),
    image_size: tuple[int, int] | None = None,
    camera_type: str = "hd",
) -> DatasetReport:
    """Check that ``root`` holds a ``kind`` dataset (``"market"``, ``"fashion"`` or ``"panoptic"``) in the layout
    the readers expect (docs/datasets.md), and report what is missing or wrong.

    Args:
        kind: dataset kind.
        root: the folder to check (for Panoptic: one sequence folder).
        splits: PG2 splits that must be there (e.g. ``("test",)`` if you only downloaded the test set).
        image_size: PG2 ``(height, width)`` the images should have; default the dataset's nominal size.
        camera_type: Panoptic camera type, ``"hd"`` or ``"vga"``.
    """
    if kind not in DATASET_KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; expected one of {DATASET_KINDS}")
    if camera_type not in PANOPTIC_FOLDERS:
        raise ValueError(f"camera_type must be one of {tuple(PANOPTIC_FOLDERS)}, got {camera_type!r}")
    root = Path(root)
    report = DatasetReport(kind, root)
    if not root.is_dir():
        report.missing.append(f"the folder {root} itself")
        return report
    if kind == "panoptic":
        _check_panoptic(report, root, camera_type)
    else:
        _check_pg2(report, kind, root, tuple(splits), image_size)
    return report
