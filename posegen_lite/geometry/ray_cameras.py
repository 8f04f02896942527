"""The cameras the body proxy is seen with: the scaled orthographic ``OrthoCamera`` (and fitting it to keypoints),
and ``RayCameras``, a batch of pinhole or orthographic cameras as tensors for the ray caster (``raycast.py``).

A pinhole is ``x = K·(R·X + t)/z`` (``camera.Camera``, distortion ignored); the scaled orthographic camera is
``x = s·X + ox, y = −s·Y + oy`` (``lifting.orthographic_projection``, the camera 2D keypoints are lifted with).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from posegen_lite.geometry.camera import Camera


@dataclass(frozen=True)
class OrthoCamera:
    """The scaled orthographic camera of ``lifting.orthographic_projection``: ``x = s·X + ox``,
    ``y = −s·Y + oy`` (pixels, y down), looking along −Z (Z points towards the camera)."""

    scale: float
    offset: tuple[float, float]
    width: int
    height: int

    def __post_init__(self) -> None:
        if not np.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"orthographic scale must be positive, got {self.scale}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"image size must be positive, got {self.width}×{self.height}")


@dataclass(frozen=True)
class RayCameras:
    """A batch of cameras as tensors: ``K (B, 3, 3)``, world→camera ``R (B, 3, 3)`` and ``t (B, 3)``,
    ``ortho (B,)`` bool (True: ``x = K·(R·X + t)`` without the division by z), image ``height × width``."""

    K: torch.Tensor
    R: torch.Tensor
    t: torch.Tensor
    ortho: torch.Tensor
    height: int
    width: int

    def __len__(self) -> int:
        return self.K.shape[0]

    def rows(self, s: slice) -> RayCameras:
        """Cameras ``s`` of the batch (one image size for all)."""
        return RayCameras(self.K[s], self.R[s], self.t[s], self.ortho[s], self.height, self.width)

    def finer(self, n: int) -> RayCameras:
        """The same cameras seeing ``n × n`` sub-pixels per pixel (an ``n``-times larger image): a point at pixel
        ``x`` lands at ``n·x + (n − 1)/2``, so sub-pixel centres sit evenly inside each pixel (pixel centres at
        integers, ``camera.py``)."""
        if n < 1:
            raise ValueError(f"sub-pixels per side must be ≥ 1, got {n}")
        K = self.K.clone()
        K[:, :2, :2] *= n
        K[:, :2, 2] = n * K[:, :2, 2] + (n - 1) / 2
        return RayCameras(K, self.R, self.t, self.ortho, self.height * n, self.width * n)


def ray_cameras(cameras: Sequence[Camera | OrthoCamera]) -> RayCameras:
    """Stack ``camera.Camera``/``OrthoCamera`` objects of one image size into ``RayCameras`` (float32).

    Raises ``ValueError`` for an empty list, mixed image sizes or a skewed pinhole. Lens distortion is
    ignored (the proxy is coarser than any lens error)."""
    if not cameras:
        raise ValueError("need at least one camera")
    size = (int(cameras[0].height), int(cameras[0].width))
    Ks: list[np.ndarray | list[list[float]]] = []
    Rs: list[np.ndarray] = []
    ts: list[np.ndarray] = []
    ortho: list[bool] = []
    for cam in cameras:
        if (int(cam.height), int(cam.width)) != size:
            raise ValueError("all cameras of a batch must share one image size")
        if isinstance(cam, OrthoCamera):
            Ks.append([[cam.scale, 0.0, cam.offset[0]], [0.0, cam.scale, cam.offset[1]], [0.0, 0.0, 1.0]])
            Rs.append(np.diag([1.0, -1.0, -1.0]))  # camera x = X, y (down) = −Y, z (forward) = −Z
            ts.append(np.zeros(3))
            ortho.append(True)
        else:
            if abs(cam.K[0, 1]) > 1e-9:
                raise ValueError("the proxy ray caster needs a camera without skew")
            Ks.append(cam.K)
            Rs.append(cam.R)
            ts.append(cam.t)
            ortho.append(False)
    f32 = torch.float32
    return RayCameras(
        torch.tensor(np.array(Ks), dtype=f32),
        torch.tensor(np.array(Rs), dtype=f32),
        torch.tensor(np.array(ts), dtype=f32),
        torch.tensor(ortho),
        *size,
    )


def fit_orthographic(
    joints3d: np.ndarray, keypoints: np.ndarray, visible: np.ndarray, width: int, height: int
) -> OrthoCamera:
    """The scaled orthographic camera (``x = s·X + ox``, ``y = −s·Y + oy``) that maps lifted, camera-aligned joints
    ``(18, 3)`` onto their 2D keypoints ``(18, 2)`` px in the least-squares sense, for ``width × height`` images.

    Computed in the inputs' own precision (float32 joints give float32 sums), so every caller gets the bits it
    always got. ``ValueError`` with fewer than two joints that have both positions, or a degenerate fit."""
    j, xy = np.asarray(joints3d), np.asarray(keypoints)
    ok = np.asarray(visible, bool) & np.isfinite(j).all(axis=1) & np.isfinite(xy).all(axis=1)
    if ok.sum() < 2:
        raise ValueError("need at least two joints with 2D and 3D positions to fit an orthographic camera")
    P = np.stack([j[ok, 0], -j[ok, 1]], axis=1)  # orthographic image directions (y down)
    Pc, xc = P - P.mean(0), xy[ok] - xy[ok].mean(0)
    scale = float((Pc * xc).sum() / max((Pc**2).sum(), 1e-12))
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError("could not fit an orthographic camera to the keypoints (degenerate pose)")
    offset = xy[ok].mean(0) - scale * P.mean(0)
    return OrthoCamera(scale, (float(offset[0]), float(offset[1])), width, height)


def project(cams: RayCameras, points: torch.Tensor) -> torch.Tensor:
    """Camera-frame points ``(B, N, 3)`` → pixels ``(B, N, 2)`` (x, y) (orthographic: no division by z)."""
    z = torch.where(cams.ortho[:, None], torch.ones_like(points[..., 2]), points[..., 2].clamp_min(1e-9))
    x = cams.K[:, 0, 0, None] * points[..., 0] / z + cams.K[:, 0, 2, None]
    y = cams.K[:, 1, 1, None] * points[..., 1] / z + cams.K[:, 1, 2, None]
    return torch.stack([x, y], -1)
