"""The side of a person the input never showed, painted from the input's own colours, part by part.

The shipped networks learned the unseen side from the embedded synthetic people only; on a real photo they
paint it as a mottle of the synthetic garments' colours, and put the front's face on the back of the head
(docs/unseen-side.md). ``part_colours`` reads one colour per body-proxy part from the input's pixels of the
person (the median, so a print on the front does not leak onto the back); the head's from its pixels that are
not the face (the sides and top the input saw: hair, a cap, or skin where there is none), and a part the input
does not show takes its left/right partner's (a sleeve stays a sleeve), else the whole person's.
``paint_unseen`` gives every target pixel the proxy says the input did not see its part's colour.
"""

from __future__ import annotations

import numpy as np

from posegen_lite.geometry.fit import proxy_view
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS
from posegen_lite.images import ensure_rgb
from posegen_lite.pipelines.stage1 import SourcePose

UNSEEN = ("networks", "part_colours")  # who paints what the input did not see
FACE_FRONT = 0.5  # a head pixel whose local z (front) is above this is the face
MIN_PIXELS = 6  # fewer of a part's pixels than this say nothing about its colour
HEAD = PROXY_PARTS.index("head")
PARTNER = np.array([
    PROXY_PARTS.index(n.replace("r_", "l_", 1) if n.startswith("r_") else n.replace("l_", "r_", 1))
    for n in PROXY_PARTS
])  # fmt: skip


def part_colours(image: np.ndarray, person: np.ndarray, parts: np.ndarray, local: np.ndarray) -> np.ndarray:
    """``(P, 3)`` float32 colours (0–255) of the proxy's parts from the input ``image`` ``(H, W, 3)`` uint8:
    the median of the ``person`` ``(H, W)`` bool pixels each part covers (``parts`` ``(H, W)`` int, −1 =
    background; ``local`` ``(H, W, 3)`` where on the part, ``geometry.fit.proxy_view``), the head's without the
    face; a part not shown takes its partner's, else the whole person's colour."""
    colours = np.full((NUM_PROXY_PARTS, 3), np.nan, np.float32)
    on_person = person & (parts >= 0)
    for k in range(NUM_PROXY_PARTS):
        mine = on_person & (parts == k)
        if k == HEAD and (mine & (local[..., 2] < FACE_FRONT)).sum() >= MIN_PIXELS:
            mine &= local[..., 2] < FACE_FRONT  # the back of a head is its hair, not its face
        if mine.sum() >= MIN_PIXELS:
            colours[k] = np.median(image[mine], axis=0)
    missing = np.isnan(colours[:, 0])
    colours[missing] = colours[PARTNER[missing]]
    everyone = np.median(image[on_person], axis=0) if on_person.any() else np.full(3, 128.0)
    return np.where(np.isnan(colours), everyone, colours).astype(np.float32)


def paint_unseen(views: np.ndarray, parts: np.ndarray, visibility: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """``views`` ``(N, H, W, 3)`` uint8 with every body pixel the input did not see (``parts`` ``(N, H, W)`` ≥ 0
    and not ``visibility`` ``(N, H, W)`` bool) painted its part's colour (``colours`` ``(P, 3)``)."""
    unseen = (parts >= 0) & ~visibility
    painted = np.clip(colours[np.maximum(parts, 0)] + 0.5, 0, 255).astype(np.uint8)
    return np.where(unseen[..., None], painted, views)


def check_unseen(unseen: object, can_paint: bool) -> None:
    """``unseen`` is one of ``UNSEEN``; ``"part_colours"`` needs the person's silhouette and a body proxy."""
    if unseen not in UNSEEN:
        raise ValueError(f"unseen must be one of {', '.join(map(repr, UNSEEN))}, got {unseen!r}")
    if unseen == "part_colours" and not can_paint:
        raise ValueError("unseen='part_colours' needs the person's silhouette and a G1 that uses the body proxy")


def unseen_colours(
    image: np.ndarray, person: np.ndarray, source: SourcePose, size: tuple[int, int], widths: np.ndarray | None
) -> np.ndarray:
    """``part_colours`` of the input ``image`` for the ``source`` pose's proxy (parts widened by ``widths``) seen
    by its camera in images of ``size``; ``person`` ``(H, W)`` bool."""
    parts, local = proxy_view(source.joints3d, source.proxy_camera(*size), widths)
    return part_colours(ensure_rgb(image, convert=True), person, parts, local)
