"""Figures of the body proxy's texture space: a person's partial and completed texture, and views rendered from it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posegen_lite.figures.grids import image_table_figure
from posegen_lite.geometry.camera import Camera, rotate_about_body_axis
from posegen_lite.geometry.proxy import PROXY_PARTS
from posegen_lite.geometry.texture import Texture, render, unwrap, view_surface
from posegen_lite.pipelines.unseen import complete_texture

ATLAS_PARTS = ("head", "chest", "pelvis")  # where a front may differ from its back (a face, a print)


def atlas(texture: Texture, parts: Sequence[str] = ATLAS_PARTS) -> np.ndarray:
    """The textures of ``parts`` one above the other, ``(n·V + n − 1, U, 3)`` uint8, each with ``u`` from −1
    (behind, via the right) to +1 (behind, via the left) left to right — the front in the middle — and ``along``
    upwards; texels without a colour (a partial texture's unseen ones) are mid grey."""
    tiles = []
    for name in parts:
        k = PROXY_PARTS.index(name)
        colour = texture.colour[k].permute(1, 2, 0).flip(0)  # (V, U, 3), along pointing up
        known = (
            torch.ones_like(colour[..., :1], dtype=torch.bool)
            if texture.complete
            else texture.seen[k, 0].flip(0)[..., None]
        )
        tiles.append(torch.where(known, colour, torch.full_like(colour, 128.0)))
        tiles.append(torch.full((1, colour.shape[1], 3), 255.0))  # a white line between parts
    return np.clip(torch.cat(tiles[:-1], 0).numpy() + 0.5, 0, 255).astype(np.uint8)


def texture_views(
    texture: Texture, joints3d: np.ndarray, camera: Camera, yaws: Sequence[float], widths: np.ndarray | None = None
) -> list[np.ndarray]:
    """The proxy of the pose ``joints3d`` ``(18, 3)`` turned by each of ``yaws`` (degrees) and seen by ``camera``,
    painted from ``texture`` alone (no networks) on white: ``(H, W, 3)`` uint8 each."""
    out = []
    for yaw in yaws:
        seen = view_surface(rotate_about_body_axis(joints3d, yaw, camera=camera), camera, widths)
        colour, _ = render(texture, torch.from_numpy(seen.parts), torch.from_numpy(seen.surface))
        image = np.where((seen.parts >= 0)[..., None], colour.numpy(), 255.0)
        out.append(np.clip(image + 0.5, 0, 255).astype(np.uint8))
    return out


def texture_figure(
    image: np.ndarray,
    joints3d: np.ndarray,
    camera: Camera,
    person: np.ndarray,
    yaws: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
    panel_inches: float = 1.4,
    title: str | None = None,
):
    """One person's texture: the input ``image`` ``(H, W, 3)`` uint8, the partial texture it gives (grey: never
    seen), the completed one (``unseen.complete_texture``) and the proxy rendered from it at ``yaws``, each pixel
    of ``person`` ``(H, W)`` bool weighted by how squarely it is seen. Returns a Figure."""
    seen = view_surface(joints3d, camera)
    partial = unwrap(image, seen.parts, seen.surface, seen.facing * person)
    complete = complete_texture(partial)
    views = texture_views(complete, joints3d, camera, yaws)
    rows = [[image, atlas(partial), atlas(complete), *views]]
    titles = ["input", "seen: head,\nchest, pelvis", "completed", *(f"rendered {y:g}°" for y in yaws)]
    return image_table_figure(rows, col_titles=titles, panel_inches=panel_inches, title=title)
