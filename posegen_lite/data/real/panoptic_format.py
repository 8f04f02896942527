"""CMU Panoptic's on-disk formats: ``calibration_<seq>.json`` (cameras) and
``hdPose3d_stage1_coco19/body3DScene_*.json`` (bodies, ``joints19`` in centimetres, world **y down**).

We convert at the reader to our world frame: metres, **y up**, still right-handed — a 180° rotation about x,
``X' = diag(1, -1, -1) · X / 100`` — and convert every camera consistently (``R' = R · diag(1, -1, -1)``,
``t' = t / 100``), so projecting the converted joints with the converted camera gives exactly Panoptic's pixels.
A problem raises ``FormatError`` naming the file and the camera or body (``<file>: bodies[<i>]: …``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegen_lite.data.real.pg2_format import FormatError
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.skeleton import from_panoptic19

# Panoptic world (cm, y down) → ours (m, y up): a 180° turn about x keeps the frame right-handed.
PANOPTIC_FLIP = np.diag([1.0, -1.0, -1.0])
PANOPTIC_UNITS_PER_METRE = 100.0


def panoptic_points_to_world(points_cm: np.ndarray) -> np.ndarray:
    """Panoptic world points ``(N, 3)`` in cm, y down → ours ``(N, 3)`` in metres, y up (NaN stays NaN)."""
    pts = np.asarray(points_cm, dtype=np.float64)
    return (pts @ PANOPTIC_FLIP.T) / PANOPTIC_UNITS_PER_METRE


def panoptic_camera(entry: dict, where: str = "camera") -> Camera:
    """One camera of a Panoptic calibration file, converted to our world frame (see module docstring).

    Panoptic's ``R, t`` map its world (cm) to camera coordinates; with ``X_pan = 100 · F · X`` (F = the flip)
    that is ``R·F·X·100 + t``, and dividing by 100 leaves the projection unchanged: ``R' = R·F, t' = t/100``.
    """
    try:
        K = np.asarray(entry["K"], dtype=np.float64)
        R = np.asarray(entry["R"], dtype=np.float64)
        t = np.asarray(entry["t"], dtype=np.float64).reshape(-1)
        dist = np.asarray(entry.get("distCoef", [0.0] * 5), dtype=np.float64).reshape(-1)
        width, height = (int(v) for v in entry["resolution"])
        return Camera(K, R @ PANOPTIC_FLIP, t / PANOPTIC_UNITS_PER_METRE, width, height, dist)
    except (KeyError, TypeError, ValueError) as err:
        raise FormatError(f"{where}: bad camera entry ({type(err).__name__}: {err})") from None


def _load_json(path: Path) -> object:
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise FormatError(f"{path}:{err.lineno}: not valid JSON ({err.msg}; truncated file?)") from None
    except UnicodeDecodeError as err:
        raise FormatError(f"{path}: not a text JSON file ({err})") from None


def read_panoptic_calibration(path: str | Path, camera_type: str | None = "hd") -> dict[str, Camera]:
    """Read ``calibration_<seq>.json`` into ``{camera name (e.g. "00_05"): Camera}`` in our world frame.

    ``camera_type`` keeps only ``"hd"`` (default), ``"vga"`` or ``"kinect-color"`` cameras; ``None`` keeps all.
    """
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), list):
        raise FormatError(f"{path}: expected an object with a 'cameras' list")
    cameras: dict[str, Camera] = {}
    for i, entry in enumerate(data["cameras"]):
        where = f"{path}: cameras[{i}]"
        if not isinstance(entry, dict) or "name" not in entry:
            raise FormatError(f"{where}: camera entry without a name")
        if camera_type is not None and entry.get("type") != camera_type:
            continue
        cameras[str(entry["name"])] = panoptic_camera(entry, f"{where} ({entry['name']})")
    if not cameras:
        raise FormatError(f"{path}: no cameras of type {camera_type!r}")
    return cameras


@dataclass(frozen=True)
class PanopticBody:
    """One body of a ``body3DScene`` frame, converted to our 18 joints.

    Attributes:
        id: Panoptic's body id (stable across frames of a sequence).
        joints3d: ``(18, 3)`` float32 metres, y up, NaN where missing or below the confidence threshold.
        valid: ``(18,)`` bool.
    """

    id: int
    joints3d: np.ndarray
    valid: np.ndarray


def read_panoptic_bodies(path: str | Path, min_confidence: float = 0.1) -> list[PanopticBody]:
    """Read ``body3DScene_XXXXXXXX.json`` into a list of ``PanopticBody`` (our joints, metres, y up)."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("bodies"), list):
        raise FormatError(f"{path}: expected an object with a 'bodies' list")
    bodies = []
    for i, body in enumerate(data["bodies"]):
        where = f"{path}: bodies[{i}]"
        if not isinstance(body, dict) or "joints19" not in body or "id" not in body:
            raise FormatError(f"{where}: body without 'id' and 'joints19'")
        body_id = _body_id(body["id"], where)
        try:
            joints19 = np.asarray(body["joints19"], dtype=np.float64)
            _check_magnitudes(joints19, where)
            joints, valid = from_panoptic19(joints19, min_confidence)
        except (ValueError, TypeError) as err:
            raise FormatError(f"{where}: {err}") from None
        bodies.append(PanopticBody(body_id, panoptic_points_to_world(joints).astype(np.float32), valid))
    return bodies


def _body_id(value: object, where: str) -> int:
    """A body's ``id`` as an int; ``null``, a string, ``true`` or ``1.5`` is a ``FormatError`` naming the body."""
    whole_float = isinstance(value, float) and value.is_integer()
    if not (isinstance(value, int) and not isinstance(value, bool)) and not whole_float:
        raise FormatError(f"{where}: body id {value!r} is not an integer")
    return int(value)


def _check_magnitudes(joints19: np.ndarray, where: str) -> None:
    """Refuse numbers float32 cannot hold (a damaged file: ``1e300`` would become ``inf`` silently); NaN, which
    Panoptic does not write, is left to ``from_panoptic19`` to mark the joint missing."""
    too_big = ~np.isnan(joints19) & ~(np.abs(joints19) <= np.finfo(np.float32).max)
    if too_big.any():
        raise FormatError(f"{where}: joints19 holds {joints19[too_big][0]:g}, beyond float32 (a damaged file?)")
