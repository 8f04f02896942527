"""Readers and writers of the real datasets' on-disk formats (docs/datasets.md); Panoptic's are in
``panoptic_format.py``.

* **PG2 annotation CSV** (Market-1501, DeepFashion, as PG2 / pose-gan / PATN publish them): ``:``-separated,
  header ``name:keypoints_y:keypoints_x``, each coordinate column a JSON list of 18 ints in OpenPose/COCO-18
  order, ``-1`` = missing. The file stores **(y, x)**; we return **(x, y)** pixels with NaN and
  ``visible=False`` for missing joints, so ``-1`` can never become a coordinate.
* **PG2 pairs CSV**: ``,``-separated, header ``from,to``, one ordered pair of image names per row.

Files are UTF-8. Every problem in a file (a byte that is not UTF-8, a coordinate beyond 2^24 included) raises
``FormatError`` (a ``ValueError``) whose message starts with ``<file>:<line>:`` (or ``<file>:`` when there is
no line), so a user can open the file at the right place. Readers with a ``strict=False`` option instead warn
(``warnings.warn``, same message) and skip the bad row.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegen_lite.geometry.skeleton import NUM_JOINTS

PG2_HEADER = ("name", "keypoints_y", "keypoints_x")
PAIRS_HEADER = ("from", "to")
MISSING = -1  # PG2's marker for a joint the pose detector did not find
# float32 holds every integer below 2^24; no image is that wide, so a larger coordinate is a damaged row.
MAX_COORDINATE = 2**24


class FormatError(ValueError):
    """A dataset file that does not follow its format; the message names the file (and the row)."""


def _where(path: str | Path, line: int | None = None) -> str:
    return f"{path}:{line}" if line is not None else f"{path}"


def _text_lines(path: Path) -> list[str | FormatError]:
    """The lines of a text file (split as text mode splits them), each decoded as UTF-8 on its own, so that one
    bad byte costs one row: an undecodable line comes back as the ``FormatError`` naming its file and line."""
    lines: list[str | FormatError] = []
    for number, raw in enumerate(path.read_bytes().splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            lines.append(
                FormatError(
                    f"{_where(path, number)}: not UTF-8 text (byte 0x{raw[err.start]:02x} at column {err.start + 1}; "
                    "save the file as UTF-8)"
                )
            )
    return lines


def _decoded_or_raise(lines: list[str | FormatError]) -> Iterable[str]:
    """The lines one by one, raising the ``FormatError`` of the first undecodable one when reading reaches it."""
    for line in lines:
        if isinstance(line, FormatError):
            raise line
        yield line


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} characters)"


# --- PG2 annotation CSV ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PG2Annotation:
    """One row of a PG2 annotation file.

    Attributes:
        name: image file name (e.g. ``0001_c1s1_000151_01.jpg``).
        keypoints: ``(18, 2)`` float32 (x, y) pixels in the image file's frame, NaN where missing.
        visible: ``(18,)`` bool.
        source: ``"<csv path>:<line>"`` — where the row came from, for error messages further down.
    """

    name: str
    keypoints: np.ndarray
    visible: np.ndarray
    source: str


def _parse_coordinate_list(text: str, column: str, where: str) -> list[float]:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"{where}: column {column} is not a JSON list ({err.msg}): {text.strip()[:60]!r}") from None
    if not isinstance(values, list) or len(values) != NUM_JOINTS:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise FormatError(f"{where}: column {column} must be a list of {NUM_JOINTS} ints, got {got}")
    for v in values:
        # bool is an int subclass in Python; a `true` in the file is a format error, not joint 1.
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise FormatError(f"{where}: column {column} holds a non-number {_short(v)}")
        # abs() first: float() of a 400-digit int raises OverflowError, and 1e300 would become inf in float32.
        if not abs(v) < MAX_COORDINATE:
            raise FormatError(f"{where}: column {column} holds {_short(v)}, not a pixel coordinate (|v| < 2^24)")
    return [float(v) for v in values]


def parse_pg2_row(line: str, where: str, image_size: tuple[int, int] | None = None) -> PG2Annotation:
    """Parse one data line ``name: [ys…]: [xs…]`` into a ``PG2Annotation``.

    ``image_size`` ``(height, width)``, when given, range-checks the coordinates: a visible joint must lie in
    ``[0, width) × [0, height)``. Negative values other than ``-1`` are always an error. As in PG2's own code,
    a joint is missing when either of its two coordinates is ``-1``.
    """
    fields = line.rstrip("\r\n").split(":")
    if len(fields) != 3:
        raise FormatError(
            f"{where}: expected 3 ':'-separated columns (name:keypoints_y:keypoints_x), got {len(fields)}"
        )
    name = fields[0].strip()
    if not name:
        raise FormatError(f"{where}: empty image name")
    ys = np.array(_parse_coordinate_list(fields[1], "keypoints_y", where))
    xs = np.array(_parse_coordinate_list(fields[2], "keypoints_x", where))
    missing = (ys == MISSING) | (xs == MISSING)
    negative = ~missing & ((ys < 0) | (xs < 0))
    if negative.any():
        j = int(np.flatnonzero(negative)[0])
        raise FormatError(
            f"{where}: joint {j} has negative coordinates (y={ys[j]:g}, x={xs[j]:g}); "
            f"only {MISSING} (missing) is allowed"
        )
    if image_size is not None:
        height, width = image_size
        outside = ~missing & ((ys >= height) | (xs >= width))
        if outside.any():
            j = int(np.flatnonzero(outside)[0])
            raise FormatError(f"{where}: joint {j} at (x={xs[j]:g}, y={ys[j]:g}) is outside the {width}×{height} image")
    keypoints = np.stack([xs, ys], axis=1).astype(np.float32)
    keypoints[missing] = np.nan
    return PG2Annotation(name=name, keypoints=keypoints, visible=~missing, source=where)


def read_pg2_annotations(
    path: str | Path, image_size: tuple[int, int] | None = None, strict: bool = True
) -> dict[str, PG2Annotation]:
    """Read a PG2 annotation CSV into ``{image name: PG2Annotation}`` (in file order).

    Args:
        path: the ``*-annotation-*.csv`` file.
        image_size: ``(height, width)`` to range-check coordinates against (e.g. ``(128, 64)`` for Market);
            ``None`` skips that check (the datasets check each row against its image when they load it).
        strict: raise ``FormatError`` on the first bad row (default); with ``False``, warn and skip bad rows.
            A wrong header (e.g. a ``,``-separated file) is always an error.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: annotation file not found")
    lines = _text_lines(path)
    if not lines:
        raise FormatError(f"{path}: empty file, expected the header {':'.join(PG2_HEADER)}")
    if isinstance(lines[0], FormatError):
        raise lines[0]
    header = tuple(h.strip() for h in lines[0].rstrip("\r\n").split(":"))
    if header != PG2_HEADER:
        hint = " — the separator must be ':'" if "," in lines[0] else ""
        raise FormatError(f"{_where(path, 1)}: header {lines[0].strip()!r} is not {':'.join(PG2_HEADER)!r}{hint}")
    rows: dict[str, PG2Annotation] = {}
    for number, line in enumerate(lines[1:], start=2):
        if isinstance(line, FormatError):
            if strict:
                raise line
            warnings.warn(f"skipping row: {line}", stacklevel=2)
            continue
        if not line.strip():
            continue
        where = _where(path, number)
        try:
            row = parse_pg2_row(line, where, image_size)
            if row.name in rows:
                raise FormatError(f"{where}: image {row.name!r} is annotated twice (first at {rows[row.name].source})")
        except FormatError as err:
            if strict:
                raise
            warnings.warn(f"skipping row: {err}", stacklevel=2)
            continue
        rows[row.name] = row
    return rows


def write_pg2_annotations(path: str | Path, rows: Iterable[tuple[str, np.ndarray, np.ndarray]]) -> Path:
    """Write ``(name, keypoints (18, 2) (x, y), visible (18,))`` rows as a PG2 annotation CSV.

    Coordinates are rounded to ints (the format stores ints) and missing joints written as ``-1``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [":".join(PG2_HEADER)]
    for name, keypoints, visible in rows:
        if ":" in name:
            raise ValueError(f"image name {name!r} contains ':', which the format uses as its separator")
        kp = np.asarray(keypoints, dtype=np.float64)
        vis = np.asarray(visible, dtype=bool)
        if kp.shape != (NUM_JOINTS, 2) or vis.shape != (NUM_JOINTS,):
            raise ValueError(f"{name}: keypoints must be ({NUM_JOINTS}, 2) and visibility ({NUM_JOINTS},)")
        if (vis & ~np.isfinite(kp).all(axis=1)).any() or (vis & (np.round(kp) < 0).any(axis=1)).any():
            raise ValueError(f"{name}: a visible joint has non-finite or negative coordinates")
        xs = [int(round(v)) if ok else MISSING for v, ok in zip(kp[:, 0], vis, strict=True)]
        ys = [int(round(v)) if ok else MISSING for v, ok in zip(kp[:, 1], vis, strict=True)]
        lines.append(f"{name}: {json.dumps(ys)}: {json.dumps(xs)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- PG2 pairs CSV ---------------------------------------------------------------------------------------


def read_pg2_pairs(path: str | Path, known_names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Read a ``from,to`` pairs CSV into a list of ``(name_a, name_b)``.

    ``known_names`` (e.g. the annotation file's names), when given, must contain every name: a pair naming an
    unknown image raises ``FormatError`` naming the file and the row.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: pairs file not found")
    known = None if known_names is None else set(known_names)
    pairs: list[tuple[str, str]] = []
    reader = csv.reader(_decoded_or_raise(_text_lines(path)))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != PAIRS_HEADER:
        raise FormatError(f"{_where(path, 1)}: header {header!r} is not 'from,to'")
    for row in reader:
        where = _where(path, reader.line_num)
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise FormatError(f"{where}: expected two image names 'from,to', got {row!r}")
        a, b = row[0].strip(), row[1].strip()
        if known is not None:
            for name in (a, b):
                if name not in known:
                    raise FormatError(f"{where}: image {name!r} is not in the annotation file")
        pairs.append((a, b))
    return pairs


def write_pg2_pairs(path: str | Path, pairs: Iterable[tuple[str, str]]) -> Path:
    """Write ``(name_a, name_b)`` pairs as a ``from,to`` CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PAIRS_HEADER)
        writer.writerows(pairs)
    return path


# --- Names: identities and DeepFashion view labels -------------------------------------------------------

_VIEW_RE = re.compile(r"_(\d+)([a-z]+)$")


def view_label(name: str) -> str:
    """DeepFashion's view label of an image name, e.g. ``"1front"`` for ``…id0000001201_1front.jpg``.

    The labels (``1front``, ``2side``, ``3back``, ``4full``, ``5…``/``7additional``) are the only viewpoint
    information DeepFashion has. Raises ``ValueError`` for a name without one (e.g. a Market name).
    """
    match = _VIEW_RE.search(Path(name).stem)
    if match is None:
        raise ValueError(f"{name!r} carries no DeepFashion view label (…_<digit><view>.jpg)")
    return match.group(1) + match.group(2)


def view_kind(name: str) -> str:
    """The view label without its number: ``"front"``, ``"side"``, ``"back"``, ``"full"``, ``"additional"``."""
    return view_label(name).lstrip("0123456789")


def person_identity(name: str, kind: str) -> str:
    """Identity of an image name: Market ``0001_c1s1_000151_01.jpg`` → ``"0001"``; DeepFashion
    ``fashionWOMENJackets_Coatsid0000001201_1front.jpg`` → ``"fashionWOMENJackets_Coatsid0000001201"``
    (everything before the view label; categories such as ``Jackets_Coats`` contain ``_`` themselves)."""
    stem = Path(name).stem
    if kind == "market":
        return stem.split("_", 1)[0]
    if kind == "fashion":
        view_label(name)  # raises a clear error for a name that is not DeepFashion's
        return stem.rsplit("_", 1)[0]
    raise ValueError(f"unknown PG2 dataset kind {kind!r}; expected 'market' or 'fashion'")
