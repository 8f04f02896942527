"""How synthesized people are put back into their picture: the background behind them and their mattes.

``plain_background`` fits a per-row gradient to the input's background pixels, ``inpaint_background`` fills the
people in from their row neighbours; ``soft_matte`` says where a synthesized crop is pasted, ``paste`` blends it
into the scene (``crowd.CrowdSynthesizer``). ``over_input_background`` keeps one person's input background,
sharp, around each novel view, and fills only what the person covered (``NovelViewSynthesizer``, photos);
``soften_views`` antialiases a view's outline from the body proxy's sub-pixel coverage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy import ndimage

from posegen_lite.geometry.outline import soften_outline
from posegen_lite.geometry.posemaps import body_mask
from posegen_lite.geometry.scene import Window
from posegen_lite.geometry.texture import Texture
from posegen_lite.geometry.warp import ProxyMaps
from posegen_lite.images import ensure_rgb, pull_push_fill, to_tensor, to_uint8
from posegen_lite.pipelines.unseen import paint_from_texture, paint_unseen


def people_masks(keypoints: Sequence[np.ndarray], visible: Sequence[np.ndarray], height: int, width: int, grow: int):
    """``(N, H, W)`` bool PG2 body masks of every person's 2D keypoints, dilated by ``grow`` pixels."""
    masks = np.stack([body_mask(k, v, height, width)[0] > 0.5 for k, v in zip(keypoints, visible, strict=True)])
    if grow > 0:
        masks = np.stack([ndimage.binary_dilation(m, iterations=grow) for m in masks])
    return masks


def plain_background(image: np.ndarray, people: np.ndarray) -> np.ndarray:
    """A vertical gradient fitted to the pixels outside ``people`` ``(H, W)`` bool: each row's mean colour,
    rows without background pixels interpolated from their neighbours. ``(H, W, 3)`` uint8."""
    H, W, _ = image.shape
    free = ~people
    rows = np.flatnonzero(free.any(axis=1))
    if rows.size == 0:  # nothing but people: a mid grey is the honest guess
        return np.full_like(image, 128)
    means = np.stack([image[r][free[r]].mean(axis=0) for r in rows])
    col = np.stack([np.interp(np.arange(H), rows, means[:, c]) for c in range(3)], axis=1)
    return np.repeat(np.clip(col + 0.5, 0, 255).astype(np.uint8)[:, None], W, axis=1)


def inpaint_background(image: np.ndarray, people: np.ndarray) -> np.ndarray:
    """The input with the ``people`` pixels filled row by row, linearly between the nearest background pixels
    left and right (the plain gradient where a row has none). ``(H, W, 3)`` uint8."""
    out = plain_background(image, people).astype(np.float64)
    x = np.arange(image.shape[1])
    for r in range(image.shape[0]):
        free = ~people[r]
        if free.sum() >= 2:
            for c in range(3):
                out[r, :, c] = np.interp(x, x[free], image[r, free, c])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def resize_float(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a ``(h, w)`` float array."""
    from PIL import Image

    if a.shape == (height, width):
        return a
    return np.asarray(
        Image.fromarray(a.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BILINEAR)
    )


def soft_matte(
    generated: np.ndarray, background: np.ndarray, keypoints: np.ndarray, visible: np.ndarray, feather: float = 1.0
) -> np.ndarray:
    """``(h, w)`` float32 in [0, 1]: where to paste a synthesized crop. Inside the (feathered) body mask of the
    target keypoints, the pixels that differ from the background; the thin skeleton core always."""
    h, w, _ = generated.shape
    mask = body_mask(keypoints, visible, h, w)[0]
    core = body_mask(keypoints, visible, h, w, thickness=1)[0]
    diff = np.abs(generated.astype(np.float32) - background.astype(np.float32)).max(axis=2) / 255.0
    matte = np.clip((diff - 0.03) / 0.06, 0.0, 1.0)
    alpha = np.maximum(matte, core) * mask
    return np.clip(ndimage.gaussian_filter(alpha, feather), 0.0, 1.0).astype(np.float32)


def paste(canvas: np.ndarray, alpha_out: np.ndarray, patch: np.ndarray, alpha: np.ndarray, window: Window) -> None:
    """Blend a window-size ``patch`` with ``alpha`` into ``canvas`` (float, in place), clipped to the image;
    records the pasted alpha in ``alpha_out`` ``(H, W)``."""
    H, W, _ = canvas.shape
    x0, y0 = max(window.x0, 0), max(window.y0, 0)
    x1, y1 = min(window.x0 + window.width, W), min(window.y0 + window.height, H)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - window.y0 : y1 - window.y0, x0 - window.x0 : x1 - window.x0, None]
    p = patch[y0 - window.y0 : y1 - window.y0, x0 - window.x0 : x1 - window.x0]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - a) + p * a
    alpha_out[y0:y1, x0:x1] = a[..., 0]


PERSON_GROW = 2  # px: a segmentation's edge is soft; what lies just outside it is the person's halo, not background


def without_person(image: np.ndarray, person: np.ndarray, grow: int = PERSON_GROW) -> np.ndarray:
    """``image`` ``(H, W, 3)`` uint8 with its ``person`` ``(H, W)`` bool (grown by ``grow`` pixels) filled smoothly
    from the background around it (``images.pull_push_fill``); every other pixel unchanged."""
    hole = ndimage.binary_dilation(person, iterations=grow) if grow > 0 else person
    filled = pull_push_fill(to_tensor(image)[None], torch.from_numpy(hole)[None, None])
    return np.where(hole[..., None], to_uint8(filled)[0], image)


def over_input_background(views: np.ndarray, image: np.ndarray, person: np.ndarray, bodies: np.ndarray) -> np.ndarray:
    """Novel ``views`` ``(N, H, W, 3)`` uint8 of the person in ``image`` ``(H, W, 3)`` uint8, each kept only inside
    its target body ``bodies`` ``(N, H, W)`` bool; elsewhere the input's own background: the input's pixels, sharp,
    where the input's ``person`` ``(H, W)`` bool was not, and where it was — the only background a turn uncovers —
    a smooth fill from the background around it (``without_person``)."""
    if person.shape != image.shape[:2] or bodies.shape != views.shape[:3]:
        raise ValueError(f"person {person.shape} / bodies {bodies.shape} do not match the images' size")
    background = without_person(image, person)
    return np.where(bodies[..., None], views, background[None])


def on_input_background(
    views: np.ndarray,
    image: np.ndarray,
    person: np.ndarray,
    warp: ProxyMaps | None,
    masks: np.ndarray,
    colours: np.ndarray | Texture | None = None,
) -> np.ndarray:
    """A batch of novel ``views`` ``(N, H, W, 3)`` uint8 on the input ``image``'s own background
    (``over_input_background``). The target bodies are the body proxy's silhouettes (``warp``; PG2's body
    ``masks`` ``(N, 1, H, W)`` for a G1 without the proxy); the input's person is ``person`` ``(H, W)`` bool and
    the proxy's silhouette, so no part of the body is taken for background. ``colours`` ``(P, 3)``: paint what
    the input did not see with them first (``unseen.paint_unseen``); a completed ``Texture``: paint it from the
    texture (``unseen.paint_from_texture``)."""
    observed = ensure_rgb(image, convert=True)
    if warp is None:
        return over_input_background(views, observed, person, masks[:, 0] > 0.5)
    if isinstance(colours, Texture):
        views = paint_from_texture(views, warp.to("cpu"), colours)
    elif colours is not None:
        views = paint_unseen(views, warp.parts.cpu().numpy(), warp.visibility[:, 0].cpu().numpy() > 0.5, colours)
    person = person | (warp.source_silhouette[0, 0].cpu().numpy() > 0.5)
    return over_input_background(views, observed, person, warp.silhouette[:, 0].cpu().numpy() > 0.5)


def soften_views(views: np.ndarray, silhouette: torch.Tensor, coverage: torch.Tensor) -> np.ndarray:
    """``views`` ``(N, H, W, 3)`` uint8 with their outline antialiased (``geometry.outline.soften_outline``): the
    target proxy's silhouette at pixel centres ``(N, 1, H, W)`` and its sub-pixel ``coverage``."""
    images = torch.from_numpy(np.ascontiguousarray(views)).permute(0, 3, 1, 2).float()
    soft = soften_outline(images, silhouette.float().cpu(), coverage.cpu())
    return soft.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
