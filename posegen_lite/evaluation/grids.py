"""Image grids: the pictures training, evaluation and the demo write to disk.

Everything here works on uint8 RGB arrays ``(H, W, 3)`` so that a grid is exactly what a person sees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posegen_lite.images import to_uint8


def image_grid(rows: Sequence[Sequence[np.ndarray]], pad: int = 2, fill: int = 255) -> np.ndarray:
    """Tile ``rows`` of equally sized ``(H, W, 3)`` uint8 images into one image with ``pad`` pixels between."""
    if not rows or not rows[0]:
        raise ValueError("image_grid needs at least one image")
    h, w = rows[0][0].shape[:2]
    n_cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + pad) + pad, n_cols * (w + pad) + pad, 3), fill, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            if img.shape != (h, w, 3):
                raise ValueError(f"grid cell ({i}, {j}) has shape {img.shape}, expected {(h, w, 3)}")
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            out[y : y + h, x : x + w] = img
    return out


def skeleton_images(batch: dict) -> list[np.ndarray]:
    """The target skeletons of a collated batch, drawn on black — what P_B looks like to a person."""
    from posegen_lite.geometry.posemaps import draw_skeleton

    kp = batch["keypoints_b"].cpu().numpy()
    vis = batch["visible_b"].cpu().numpy()
    h, w = batch["image_b"].shape[-2:]
    return [draw_skeleton(kp[i], vis[i], h, w) for i in range(len(kp))]


def comparison_rows(batch: dict, outputs: dict[str, torch.Tensor], limit: int = 8) -> list[list[np.ndarray]]:
    """One row per sample: input I_A, target pose, each model output (in the dict's order), target I_B."""
    n = min(limit, batch["image_a"].shape[0])
    a = to_uint8(batch["image_a"][:n])
    b = to_uint8(batch["image_b"][:n])
    skel = skeleton_images({k: batch[k][:n] for k in ("keypoints_b", "visible_b", "image_b")})
    outs = {name: to_uint8(t[:n].float()) for name, t in outputs.items()}
    return [[a[i], skel[i], *(o[i] for o in outs.values()), b[i]] for i in range(n)]
