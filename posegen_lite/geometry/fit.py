"""The body proxy fitted to a person's silhouette in the input view: one width per part.

The proxy's capsules are the renderer's adult, scaled by the skeleton (``proxy.py``); a coat, a skirt, loose
trousers or long hair are wider than that, and a photo's person is rarely the renderer's build. Where the
proxy is too thin, what the input shows beyond it is taken for background, and every novel view cuts the person
to capsules. ``fit_radius_scale`` widens (or narrows) each part until its share of the silhouette — the
silhouette's pixels nearest to it — is about what it covers: for a capsule seen from the side the area grows
with its radius, so the ratio of the two areas is the factor. Shapes: ``silhouette (H, W)`` bool; the factors
``(P,)`` in ``PROXY_PARTS`` order, 1 for a part the view does not show.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, build_proxy
from posegen_lite.geometry.ray_cameras import OrthoCamera, ray_cameras
from posegen_lite.geometry.raycast import cast_view

SCALE_RANGE = (0.8, 2.5)  # a part is never cut below 80 %, nor widened past a coat's 2.5 times the body
MIN_PART_PIXELS = 12  # a part showing fewer pixels than this (hidden, or tiny) keeps its width


def proxy_view(
    joints3d: np.ndarray, camera: Camera | OrthoCamera, radius_scale: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """What ``camera`` sees of the proxy of the pose ``joints3d`` ``(18, 3)`` (its world frame): the part at each
    pixel ``(H, W)`` int64 (−1 = background) and where on it, ``(H, W, 3)`` float32 in the part's normalised
    local frame (x left, y along the bone, z front; 0 on the background)."""
    with torch.no_grad():
        hits = cast_view(build_proxy(joints3d, radius_scale), ray_cameras([camera]))
    h, w = int(camera.height), int(camera.width)
    return hits.part[0].reshape(h, w).numpy(), hits.local[0].reshape(h, w, 3).numpy()


def proxy_part_map(
    joints3d: np.ndarray, camera: Camera | OrthoCamera, radius_scale: np.ndarray | None = None
) -> np.ndarray:
    """``(H, W)`` int64: the proxy part seen at each pixel of ``camera``'s image (−1 = background)."""
    return proxy_view(joints3d, camera, radius_scale)[0]


def fit_radius_scale(
    joints3d: np.ndarray, camera: Camera | OrthoCamera, silhouette: np.ndarray, iterations: int = 2
) -> np.ndarray:
    """``(P,)`` float64 width factors of the proxy's parts (``SCALE_RANGE``) that make its outline in
    ``camera``'s view follow ``silhouette`` ``(H, W)`` bool: each pass gives every silhouette pixel to the
    nearest part the proxy shows and scales each part by (its pixels of the silhouette) / (the pixels it shows)."""
    if silhouette.shape != (int(camera.height), int(camera.width)):
        raise ValueError(f"silhouette is {silhouette.shape}, the camera sees {camera.height}×{camera.width}")
    scale = np.ones(NUM_PROXY_PARTS)
    for _ in range(iterations):
        parts = proxy_part_map(joints3d, camera, scale)
        if not (parts >= 0).any():
            break
        # every pixel's nearest proxy pixel, and so its part
        _, (iy, ix) = ndimage.distance_transform_edt(parts < 0, return_indices=True)
        nearest = parts[iy, ix]
        shown = np.bincount(parts[parts >= 0], minlength=NUM_PROXY_PARTS)
        claimed = np.bincount(nearest[silhouette], minlength=NUM_PROXY_PARTS)
        ok = shown >= MIN_PART_PIXELS
        ratio = np.where(ok, claimed / np.maximum(shown, 1), 1.0)
        scale = np.clip(scale * ratio, *SCALE_RANGE)
    return scale
