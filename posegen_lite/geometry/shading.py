"""How a light fixed to the camera shades the body proxy: Lambert's cosine plus an ambient term, per pixel.

A surface lit from the world keeps its shade when the camera moves (Lambert's law has no view direction), so a
warp may carry a pixel's colour to another view unchanged. The embedded people are lit by a light that moves
with the camera (``data/synthetic/shading.py``: every view lit alike), so a point's shade changes with the view:
``colour = albedo · shade``, ``shade = ambient + diffuse · max(n · l, 0)`` with ``n`` the unit surface normal
and ``l`` the light's direction, both in the camera frame (x right, y down, z forward). Dividing an input's
pixels by their shade gives the albedo, which a texture can carry to any view and the target's shade re-light
(docs/unseen-side.md). ``shading_maps`` does this for the proxy: ``(B, H, W)`` float32, 1 off the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.proxy import build_proxy
from posegen_lite.geometry.ray_cameras import OrthoCamera, ray_cameras
from posegen_lite.geometry.raycast import Primitives, _cast, _in_camera, hit_normals


@dataclass(frozen=True)
class Light:
    """A light fixed to the camera: ``direction`` towards the light in the camera frame (normalised on use),
    ``ambient`` and ``diffuse`` ≥ 0 (a point facing the light has shade ``ambient + diffuse``)."""

    direction: tuple[float, float, float]
    ambient: float
    diffuse: float

    def __post_init__(self) -> None:
        d = np.asarray(self.direction, np.float64)
        if d.shape != (3,) or not np.isfinite(d).all() or np.linalg.norm(d) == 0:
            raise ValueError(f"light direction must be 3 finite numbers, not all 0, got {self.direction}")
        if not (self.ambient >= 0 and self.diffuse >= 0 and self.ambient + self.diffuse > 0):
            raise ValueError(f"ambient and diffuse must be ≥ 0 and not both 0, got {self.ambient}, {self.diffuse}")


# The light the embedded people are rendered with (data/synthetic/shading.py), up-left-front of the camera: here, so
# that the pipelines re-light a texture as the renderer lit it without importing the renderer.
RENDER_LIGHT = Light((-0.35, -0.55, -0.75), 0.42, 0.62)


def lambert(normal: torch.Tensor, light: Light) -> torch.Tensor:
    """The shade of surface points with camera-frame normals ``normal`` ``(..., 3)`` (any length > 0):
    ``ambient + diffuse · max(n̂ · l̂, 0)``, shape ``(...)`` float32."""
    d = torch.tensor(light.direction, dtype=torch.float32)
    n = normal.float()
    cos = (n @ (d / d.norm())) / n.norm(dim=-1).clamp_min(1e-12)
    return light.ambient + light.diffuse * cos.clamp_min(0.0)


def proxy_normals(
    joints3d: np.ndarray, cameras: Sequence[Camera | OrthoCamera], radius_scale: np.ndarray | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The proxy of each pose ``joints3d`` ``(B, 18, 3)`` as its camera sees it (one camera per pose, one image
    size): ``(parts (B, H, W) int64, −1 = background; normals (B, H, W, 3) float32)``, each normal the capsule's
    outward normal in the camera frame (0 off the body). The unit capsule's normal at a hit ``l`` is
    ``(x, y − clamp(y, −h, h), z)``; in the camera frame it is ``Mᵀ`` times that (``raycast.hit_normals``)."""
    cams = ray_cameras(cameras)
    with torch.no_grad():
        prims = build_proxy(np.asarray(joints3d, np.float64), radius_scale)
        hits = _cast(prims, cams)
        posed = _in_camera(prims, cams)
    B, H, W = len(cams), cams.height, cams.width
    return hits.part.view(B, H, W), hit_normals(posed, hits.part, hits.local).view(B, H, W, 3)


def surface_normals(
    joints3d: np.ndarray,
    cameras: Sequence[Camera | OrthoCamera],
    parts: torch.Tensor,
    surface: torch.Tensor,
    radius_scale: np.ndarray | None = None,
    proxy: Primitives | None = None,
) -> torch.Tensor:
    """``proxy_normals``' normals ``(B, H, W, 3)`` without casting again, for views whose ``parts`` ``(B, H, W)`` and
    ``surface`` ``(B, H, W, 3)`` are known (``ProxyMaps``: ``(across, along, outward)``, ``along`` the hit's
    normalised ``y`` over ``h + 1``): only each part's pose in each camera is computed (``proxy``: the poses'
    proxy when already built)."""
    cams = ray_cameras(cameras)
    with torch.no_grad():
        prims = build_proxy(np.asarray(joints3d, np.float64), radius_scale) if proxy is None else proxy
        posed = _in_camera(prims, cams)
    B = len(cams)
    part = parts.reshape(B, -1).long()
    half = torch.gather(posed.h, 1, part.clamp_min(0))  # each pixel's part's normalised half-length
    x, along, z = surface.reshape(B, -1, 3).float().unbind(-1)
    local = torch.stack([x, along * (half + 1.0), z], -1)
    return hit_normals(posed, part, local).view(*parts.shape, 3)


def shading_maps(
    joints3d: np.ndarray,
    cameras: Sequence[Camera | OrthoCamera],
    light: Light,
    radius_scale: np.ndarray | None = None,
    seen: tuple[torch.Tensor, torch.Tensor] | None = None,
    proxy: Primitives | None = None,
) -> torch.Tensor:
    """How ``light`` shades the proxy of each pose ``joints3d`` ``(B, 18, 3)`` seen by its camera: ``(B, H, W)``
    float32 (``lambert`` on the body, 1 on the background, where nothing is shaded). ``seen``: the views' ``(parts,
    surface)`` when they are already cast (``surface_normals``, with the poses' ``proxy`` when already built), else
    they are cast here (``proxy_normals``)."""
    if seen is None:
        parts, normal = proxy_normals(joints3d, cameras, radius_scale)
    else:
        parts, normal = seen[0], surface_normals(joints3d, cameras, *seen, radius_scale, proxy)
    return torch.where(parts >= 0, lambert(normal, light), torch.ones(()))
