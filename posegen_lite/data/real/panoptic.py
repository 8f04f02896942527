"""CMU Panoptic as pair samples: same person, same frame, two HD cameras; crops around the person."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from posegen_lite.data.real.panoptic_format import PanopticBody, read_panoptic_bodies, read_panoptic_calibration
from posegen_lite.data.sample import make_sample
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.skeleton import hip_centre
from posegen_lite.geometry.warp import add_proxy_keys, proxy_maps
from posegen_lite.images import ImageError, load_image, resize_image

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


def crop_square(
    image: np.ndarray, x0: int, y0: int, side: int, out_size: int, fill: tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    """Crop ``[x0, x0+side) × [y0, y0+side)`` out of ``(H, W, 3)`` uint8, padding with ``fill`` where the box
    leaves the image, and resize to ``(out_size, out_size, 3)`` — the image ``Camera.cropped`` describes."""
    h, w = image.shape[:2]
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = fill
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
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
        extras: add the body-proxy ``flow``/``visibility``/``proxy_parts_b`` (``data/sample.py``) from the 3D
            joints and both cropped cameras (lens distortion ignored), for a G1 that warps.
    """

    root: str | Path
    camera_type: str = "hd"
    cameras: tuple[str, ...] | None = None
    image_size: int = 256
    margin: float = 0.15
    min_visible_joints: int = 10
    min_confidence: float = 0.1
    pose_kind: str = "disc"
    extras: bool = False


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
        images = {n: set(os.listdir(self.image_root / n)) if (self.image_root / n).is_dir() else set() for n in names}
        self.bodies: dict[str, list[PanopticBody]] = {}
        self.pairs: list[_PanopticPair] = []
        for path in sorted(pose_root.glob("body3DScene_*.json")):
            frame = path.stem.removeprefix("body3DScene_")
            bodies = read_panoptic_bodies(path, config.min_confidence)
            self.bodies[frame] = bodies
            for b, body in enumerate(bodies):
                seen = [
                    n
                    for n in names
                    if f"{n}_{frame}.jpg" in images[n]
                    and self.cameras[n].project(body.joints3d)[1].sum() >= config.min_visible_joints
                ]
                self.pairs += [_PanopticPair(frame, b, a, c) for a in seen for c in seen if a != c]

    def __len__(self) -> int:
        return len(self.pairs)

    def image_path(self, camera: str, frame: str) -> Path:
        return self.image_root / camera / f"{camera}_{frame}.jpg"

    def load_view(
        self, camera: str, frame: str, joints3d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Camera]:
        """The cropped view of a body: ``(uint8 (S, S, 3), keypoints (18, 2), visible (18,), cropped Camera)``."""
        cam = self.cameras[camera]
        path = self.image_path(camera, frame)
        image = load_image(path)
        if image.shape[:2] != (cam.height, cam.width):
            raise ImageError(
                f"{path}: image is {image.shape[1]}×{image.shape[0]}, the calibration says {cam.width}×{cam.height}"
            )
        xy, vis = cam.project(joints3d)
        x0, y0, side = person_crop_box(xy, vis, self.config.margin)
        size = self.config.image_size
        crop_cam = cam.cropped(x0, y0, side, side, size, size)
        keypoints, visible = crop_cam.project(joints3d)
        return crop_square(image, x0, y0, side, size), keypoints, visible, crop_cam

    def __getitem__(self, index: int) -> dict:
        pair = self.pairs[index]
        body = self.bodies[pair.frame][pair.body]
        image_a, kp_a, vis_a, cam_a = self.load_view(pair.camera_a, pair.frame, body.joints3d)
        image_b, kp_b, vis_b, cam_b = self.load_view(pair.camera_b, pair.frame, body.joints3d)
        yaw = viewpoint_yaw(self.cameras[pair.camera_a], self.cameras[pair.camera_b], hip_centre(body.joints3d))
        image_folder = PANOPTIC_FOLDERS[self.config.camera_type][0]
        name = f"{image_folder}/{{0}}/{{0}}_{pair.frame}.jpg#body{body.id}"
        sample = make_sample(
            image_a,
            image_b,
            kp_a,
            vis_a,
            kp_b,
            vis_b,
            person_id=f"{self.sequence}/{body.id}",
            name_a=name.format(pair.camera_a),
            name_b=name.format(pair.camera_b),
            joints3d_a=body.joints3d,
            joints3d_b=body.joints3d,
            yaw=yaw,
            pose_kind=self.config.pose_kind,
        )
        if self.config.extras:
            j3 = body.joints3d[None]
            add_proxy_keys(sample, proxy_maps(j3, j3, [cam_a], [cam_b]))
        return sample
