"""A batched, vectorised numpy renderer for the procedural people of ``body``, read top to bottom:

1. Every body part is an ellipsoidal capsule (``body``). For each camera the parts are moved into the camera frame,
   where the ray parameter *is* the depth (``capsule_cast.py``).
2. Each part is tested only against the rays inside its screen-space bounding box, for the whole batch at once
   (the box size is the batch maximum, its corner per image); a z-buffer keeps the nearest part per sub-pixel.
3. Only foreground sub-pixels are shaded (``shading.py``): the hit point in its part's local frame gives the
   normal (Lambert + ambient, light fixed to the camera) and the texture coordinates (print, back pattern, face,
   hair, sleeve and trouser lengths).
4. The image is rendered at ``supersample``× the size and area-averaged down (anti-aliased edges); the
   foreground mask is "at least half the sub-pixels hit the body" (``compose``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegen_lite.data.synthetic.body import JOINT_PARTS, NUM_PARTS, Person, PosedBody
from posegen_lite.data.synthetic.capsule_cast import _cast, _part_boxes, _parts_in_camera, _ray_directions
from posegen_lite.data.synthetic.shading import _PRINT_HALF_WIDTH as _PRINT_HALF_WIDTH  # detail.py reads the patch
from posegen_lite.data.synthetic.shading import _PRINT_ROWS as _PRINT_ROWS
from posegen_lite.data.synthetic.shading import _PRINT_TOP as _PRINT_TOP
from posegen_lite.data.synthetic.shading import _shade
from posegen_lite.geometry.camera import Camera

_JOINT_PART_TABLE = np.zeros((len(JOINT_PARTS), NUM_PARTS), bool)  # [joint, part]: the joint belongs to the part
for _j, _parts in enumerate(JOINT_PARTS):
    _JOINT_PART_TABLE[_j, list(_parts)] = True


@dataclass(frozen=True)
class Render:
    """One rendered view.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        mask: ``(H, W)`` bool foreground (person) mask.
        parts: ``(H, W)`` int8 id of the body part seen at each pixel centre (``body.PART_NAMES``), −1 = background.
        joints3d: ``(18, 3)`` float32 world joints (metres, y up).
        keypoints: ``(18, 2)`` float32 (x, y) pixels, NaN where not visible. visible: ``(18,)`` bool, inside the image.
        occluded: ``(18,)`` bool, the joint's pixel shows another body part in front of it (still "visible").
        camera: the ``Camera`` used.
    """

    image: np.ndarray
    mask: np.ndarray
    parts: np.ndarray
    joints3d: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    occluded: np.ndarray
    camera: Camera


def _check_batch(people, bodies, cameras) -> tuple[int, int]:
    if not (len(people) == len(bodies) == len(cameras)) or not people:
        raise ValueError(
            f"need equal, non-zero numbers of people, bodies and cameras; got "
            f"{len(people)}, {len(bodies)}, {len(cameras)}"
        )
    size = (cameras[0].height, cameras[0].width)
    for cam in cameras:
        if (cam.height, cam.width) != size:
            raise ValueError("all cameras of a batch must share one image size")
        if np.any(cam.dist != 0):
            raise ValueError("the renderer supports pinhole cameras only (zero distortion)")
        if abs(cam.K[0, 1]) > 1e-9:
            raise ValueError("the renderer needs a camera without skew")
    return size


@dataclass(frozen=True)
class Fragments:
    """The foreground sub-pixels of a batch after ray casting and shading (``N`` of them).

    Attributes:
        img, row, col: ``(N,)`` int64 image index and sub-pixel row / column (in the ``ss``× grid).
        part: ``(N,)`` int64 body part hit. depth: ``(N,)`` float32 camera z of the hit (metres).
        colour: ``(3, N)`` float32 shaded RGB in [0, 1] (before compositing over the background).
        zbuf: ``(B·Hs·Ws,)`` float32 nearest depth per sub-pixel (inf = background).
        ids: ``(B·Hs·Ws,)`` int8 part per sub-pixel (−1 = background).
        shape: ``(B, H, W, ss)`` batch size, image size and supersampling.
    """

    img: np.ndarray
    row: np.ndarray
    col: np.ndarray
    part: np.ndarray
    depth: np.ndarray
    colour: np.ndarray
    zbuf: np.ndarray
    ids: np.ndarray
    shape: tuple[int, int, int, int]


def render_fragments(
    people: Sequence[Person], bodies: Sequence[PosedBody], cameras: Sequence[Camera], supersample: int = 2
) -> Fragments:
    """Steps 1–5 for a batch (person ``i`` in body ``i`` seen by camera ``i``): the shaded foreground
    sub-pixels, before they are composed over a background — what ``crowds`` merges across people."""
    H, W = _check_batch(people, bodies, cameras)
    if int(supersample) != supersample or supersample < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample}")
    ss = int(supersample)
    Hs, Ws = H * ss, W * ss
    parts = _parts_in_camera(bodies, cameras)
    ray_x, ray_y, *intr = _ray_directions(cameras, Hs, Ws, ss)
    zbuf, ids = _cast(parts, _part_boxes(parts, tuple(intr), Hs, Ws, ss), ray_x, ray_y, Hs, Ws)
    img, row, col, part, depth, colour = _shade(people, bodies, parts, zbuf, ids, ray_x, ray_y, Hs, Ws)
    return Fragments(img, row, col, part, depth, colour, zbuf, ids, (len(cameras), H, W, ss))


def check_backgrounds(backgrounds: np.ndarray | None, B: int) -> np.ndarray:
    """``(B, 2, 3)`` float32 top and bottom gradient colours; a light grey when None."""
    if backgrounds is None:
        backgrounds = np.tile(np.float32([[0.86, 0.86, 0.84], [0.74, 0.74, 0.72]]), (B, 1, 1))
    backgrounds = np.asarray(backgrounds, np.float32)
    if backgrounds.shape != (B, 2, 3):
        raise ValueError(f"backgrounds must have shape ({B}, 2, 3), got {backgrounds.shape}")
    return backgrounds


def compose(
    img: np.ndarray,
    row: np.ndarray,
    col: np.ndarray,
    colour: np.ndarray,
    backgrounds: np.ndarray,
    shape: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Step 6: compose foreground sub-pixels (``img, row, col (N,)``, ``colour (3, N)``) over each image's
    vertical-gradient background and average the sub-pixels: ``(images (B, H, W, 3) uint8, coverage (B, H, W)
    float32 in [0, 1])``. ``colour`` is modified in place."""
    B, H, W, ss = shape
    Hs = H * ss
    # The background is a vertical gradient; its pixel average is the gradient at the pixel's centre row, so
    # only the foreground sub-pixels need pooling: each adds (colour − background) / ss² to its pixel.
    ramp_sub = np.arange(Hs, dtype=np.float32) / max(Hs - 1, 1)
    ramp_px = ramp_sub.reshape(H, ss).mean(axis=1)
    top, bottom = backgrounds[:, 0], backgrounds[:, 1]
    ramp = ramp_sub.take(row)
    colour -= top.T.take(img, axis=1) * (1 - ramp) + bottom.T.take(img, axis=1) * ramp
    out_pix = (img * H + row // ss) * W + col // ss
    canvas = (
        top[:, None, None, :] * (1 - ramp_px[None, :, None, None])
        + bottom[:, None, None, :] * ramp_px[None, :, None, None]
    )
    canvas = np.broadcast_to(canvas, (B, H, W, 3)).reshape(-1, 3).copy()
    inv = np.float32(1.0 / (ss * ss))
    for ch in range(3):
        canvas[:, ch] += np.bincount(out_pix, weights=colour[ch], minlength=B * H * W).astype(np.float32) * inv
    images = np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(B, H, W, 3)
    coverage = np.bincount(out_pix, minlength=B * H * W).reshape(B, H, W) * inv
    return images, coverage


def centre_samples(buffer: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """The sub-pixel nearest each pixel's centre of a flat ``(B·Hs·Ws,)`` buffer: ``(B, H, W)``."""
    B, H, W, ss = shape
    c = ss // 2
    return buffer.reshape(B, H, ss, W, ss)[:, :, c, :, c]


def joint_occlusion(
    joints3d: np.ndarray, cam: Camera, parts_map: np.ndarray, depth_map: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 7: project a body's joints ``(18, 3)``: ``(keypoints (18, 2), visible (18,), occluded (18,))``.
    A joint is occluded when its pixel shows a part it does not belong to, nearer than the joint
    (``parts_map`` ``(H, W)`` int8, −1 = background; ``depth_map`` ``(H, W)`` camera z)."""
    H, W = parts_map.shape
    xy, vis = cam.project(joints3d)
    safe = np.where(vis[:, None], xy, 0.0)
    r = np.clip(np.rint(safe[:, 1]), 0, H - 1).astype(np.int64)
    c = np.clip(np.rint(safe[:, 0]), 0, W - 1).astype(np.int64)
    seen = parts_map[r, c].astype(np.int64)
    joint_depth = joints3d @ cam.R[2].astype(np.float32) + np.float32(cam.t[2])
    foreign = (seen >= 0) & ~_JOINT_PART_TABLE[np.arange(len(seen)), np.maximum(seen, 0)]
    occluded = vis & foreign & (depth_map[r, c] < joint_depth)
    return xy, vis, occluded


def render_views(
    people: Sequence[Person],
    bodies: Sequence[PosedBody],
    cameras: Sequence[Camera],
    supersample: int = 2,
    backgrounds: np.ndarray | None = None,
) -> list[Render]:
    """Render person ``i`` in posed body ``i`` seen by camera ``i``, all at once (one image size per call).

    Args:
        people, bodies, cameras: equal-length sequences; all cameras must have the same ``width × height``.
        supersample: sub-pixels per pixel along each axis (2 = 4 rays per pixel).
        backgrounds: ``(B, 2, 3)`` float in [0, 1], top and bottom colour of a vertical gradient per image;
            a light grey when None.
    Returns:
        one ``Render`` per camera.
    """
    _check_batch(people, bodies, cameras)
    backgrounds = check_backgrounds(backgrounds, len(cameras))
    frags = render_fragments(people, bodies, cameras, supersample)
    images, coverage = compose(frags.img, frags.row, frags.col, frags.colour, backgrounds, frags.shape)
    parts_map = centre_samples(frags.ids, frags.shape)
    depth_map = centre_samples(frags.zbuf, frags.shape)
    out = []
    for i, (body, cam) in enumerate(zip(bodies, cameras, strict=True)):
        xy, vis, occluded = joint_occlusion(body.joints3d, cam, parts_map[i], depth_map[i])
        out.append(
            Render(
                image=images[i],
                mask=coverage[i] >= 0.5,
                parts=parts_map[i].copy(),
                joints3d=body.joints3d.copy(),
                keypoints=xy,
                visible=vis,
                occluded=occluded,
                camera=cam,
            )
        )
    return out
