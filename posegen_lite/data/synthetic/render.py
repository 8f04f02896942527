"""A batched, vectorised numpy ray caster for the procedural people of ``body``.

How it works (read top to bottom):

1. Every body part is an ellipsoidal capsule; in its normalised local frame it is the unit-radius capsule
   around the y segment ``[-h, h]`` (see ``body``). For each camera the parts are moved into the camera frame,
   where every ray starts at the origin with direction ``d = ((x - cx)/f, (y - cy)/f, 1)`` — so the ray
   parameter ``t`` *is* the depth z, the same in every part's local frame (an affine map keeps it).
2. Each part is tested only against the rays inside its screen-space bounding box (the projected corners
   of its local box), for the whole batch at once: the box size is the batch maximum, its corner is per image.
   The analytic ray–capsule test (infinite cylinder, else the sphere cap at the nearer end) gives ``t``; a
   z-buffer keeps the nearest part per sub-pixel.
3. Only foreground sub-pixels are shaded: the hit point goes back into its part's local frame, which gives
   the normal (Lambert + ambient, light fixed relative to the camera so every view is lit alike) and the
   texture coordinates — shirt print and back pattern on the chest, face and hair on the head, sleeve /
   trouser lengths along the limbs.
4. The image is rendered at ``supersample``× the size and area-averaged down (anti-aliased edges); the
   foreground mask is "at least half the sub-pixels hit the body".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegen_lite.data.synthetic.body import BACK_PATTERNS, JOINT_PARTS, NUM_PARTS, PART, Person, PosedBody
from posegen_lite.data.synthetic.font import text_bitmap
from posegen_lite.geometry.camera import Camera

_LIGHT = np.array([-0.35, -0.55, -0.75], np.float32)  # camera frame (x right, y down, z forward): up-left-front
_LIGHT /= np.linalg.norm(_LIGHT)
_AMBIENT, _DIFFUSE = np.float32(0.42), np.float32(0.62)
_PRINT_ROWS = 9  # 7 glyph rows + a 1-texel patch border above and below
_PRINT_COLS = 19  # 3 glyphs of 5 + 2 gaps + 2 border columns
_PRINT_HALF_WIDTH = 0.9  # the patch spans local x in [-0.9, 0.9] of the chest's half-width
_PRINT_TOP = 0.86  # the patch's top edge, as a fraction of the chest's length from the bottom
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


# Palette slots of a person and the slot each part is drawn with (before / after its split point).
_SKIN, _SHIRT, _TROUSERS, _SHOES, _HAIR = range(5)
_BASE_SLOT = np.array(
    [
        _SHIRT,
        _TROUSERS,
        _SKIN,
        _SKIN,
        _SHIRT,
        _SHIRT,
        _SKIN,
        _SKIN,
        _SKIN,
        _SKIN,
        _TROUSERS,
        _TROUSERS,
        _TROUSERS,
        _TROUSERS,
        _SHOES,
        _SHOES,
        _HAIR,
    ]
)
_UPPER_ARMS = [PART["r_upper_arm"], PART["l_upper_arm"]]
_FOREARMS = [PART["r_forearm"], PART["l_forearm"]]
_THIGHS = [PART["r_thigh"], PART["l_thigh"]]
_SHINS = [PART["r_shin"], PART["l_shin"]]


@functools.lru_cache(maxsize=4096)
def _print_texture(text: str) -> tuple[np.ndarray, int]:
    """The text bitmap on a ``(_PRINT_ROWS, _PRINT_COLS)`` canvas with a 1-texel border, and its used width."""
    bitmap = text_bitmap(text)
    tex = np.zeros((_PRINT_ROWS, _PRINT_COLS), bool)
    tex[1:8, 1 : 1 + bitmap.shape[1]] = bitmap
    return tex, bitmap.shape[1] + 2


def _materials(people: Sequence[Person], bodies: Sequence[PosedBody]) -> dict[str, np.ndarray]:
    """Per-image, per-part colours (flattened to ``(B·P, 3)``) before/after a split point along the bone, and
    the per-image data of the chest print, back pattern and hair."""
    B, P = len(people), NUM_PARTS
    palette = np.stack([np.stack([p.skin, p.shirt, p.trousers, p.shoes, p.hair]) for p in people])  # (B, 5, 3)
    sleeves = np.array([p.long_sleeves for p in people])[:, None]
    shorts = np.array([p.shorts for p in people])[:, None]
    slot_a = np.tile(_BASE_SLOT, (B, 1))
    slot_a[:, _FOREARMS] = np.where(sleeves, _SHIRT, _SKIN)
    slot_a[:, _SHINS] = np.where(shorts, _SKIN, _TROUSERS)
    slot_b = slot_a.copy()
    split = np.full((B, P), 2.0, np.float32)  # fraction along the bone where colour b starts (2 = never)
    # Short sleeves end part-way down the upper arm; shorts part-way down the thigh.
    slot_b[:, _UPPER_ARMS] = np.where(sleeves, _SHIRT, _SKIN)
    split[:, _UPPER_ARMS] = 0.55
    slot_b[:, _THIGHS] = np.where(shorts, _SKIN, _TROUSERS)
    split[:, _THIGHS] = 0.7
    rows = np.arange(B)[:, None]
    textures = [_print_texture(p.text) for p in people]
    tex_cols = np.array([t[1] for t in textures], np.float32)
    k = PART["chest"]
    radii = np.stack([body.radii[k] for body in bodies])
    chest_len = 2 * np.array([body.half[k] for body in bodies]) + 2 * radii[:, 1]
    return {
        "ca": palette[rows, slot_a].reshape(-1, 3),
        "cb": palette[rows, slot_b].reshape(-1, 3),
        "split": split.reshape(-1),
        "tex": np.stack([t[0] for t in textures]),
        "tex_cols": tex_cols,
        # Square texels: a texel's height (as a fraction of the chest length) matches its width in metres.
        "texel_v": (2 * _PRINT_HALF_WIDTH / tex_cols) * radii[:, 0] / chest_len,
        "back": np.array([BACK_PATTERNS.index(p.back) for p in people]),
        "ink": np.stack([p.ink for p in people]),
        "patch": np.stack([p.patch for p in people]),
        "back_colour": np.stack([p.back_colour for p in people]),
        "hair": palette[:, _HAIR],
        "long_hair": np.array([p.long_hair for p in people]),
    }


def _chest_colours(colour: np.ndarray, img: np.ndarray, local: np.ndarray, f: np.ndarray, mat: dict) -> None:
    """Front: the text print on its patch. Back: the person's back pattern. Edits ``colour (N, 3)`` in place."""
    u, front = local[:, 0], local[:, 2] > 0
    du = 2 * _PRINT_HALF_WIDTH / mat["tex_cols"][img]
    tx = np.floor((u + du * mat["tex_cols"][img] / 2) / du).astype(np.int64)
    ty = np.floor((_PRINT_TOP - f) / mat["texel_v"][img]).astype(np.int64)
    on_patch = front & (tx >= 0) & (tx < mat["tex_cols"][img]) & (ty >= 0) & (ty < _PRINT_ROWS)
    ink = np.zeros_like(on_patch)
    ink[on_patch] = mat["tex"][img[on_patch], ty[on_patch], tx[on_patch]]
    colour[on_patch] = mat["patch"][img[on_patch]]
    colour[ink] = mat["ink"][img[ink]]
    kind = mat["back"][img]
    pattern = (
        ((kind == 1) & (np.floor(f * 8) % 2 == 1) & (f < 0.9))  # horizontal stripes
        | ((kind == 2) & (f > 0.68))  # a yoke across the shoulders
        | ((kind == 3) & (np.abs(u) < 0.28))  # a vertical band
    )
    back = ~front & pattern
    colour[back] = mat["back_colour"][img[back]]


# Unit directions (head's normalised local frame) of the eyes; the mouth is a small box on the front.
_EYES = np.array([[0.33, 0.12, 0.94], [-0.33, 0.12, 0.94]], np.float32)
_EYES /= np.linalg.norm(_EYES, axis=1, keepdims=True)


def _head_colours(colour: np.ndarray, img: np.ndarray, n: np.ndarray, mat: dict) -> None:
    """Hair over the top and back of the head (lower at the back for long hair), eyes and a mouth in front."""
    back = np.clip(-n[:, 2], 0.0, 1.0)
    hairline = np.where(mat["long_hair"][img], 0.42 - 1.6 * back, 0.42 - 0.75 * back)
    hair = n[:, 1] > hairline - 0.08 * np.abs(n[:, 0])
    colour[hair] = mat["hair"][img[hair]]
    eyes = np.maximum(_dot(n, _EYES[0]), _dot(n, _EYES[1])) > 0.988
    colour[eyes] = np.float32([0.08, 0.06, 0.06])
    mouth = (n[:, 2] > 0.7) & (np.abs(n[:, 0]) < 0.24) & (np.abs(n[:, 1] + 0.45) < 0.07)
    colour[mouth] = colour[mouth] * np.float32([0.55, 0.25, 0.25]) + np.float32([0.25, 0.02, 0.03])


def _mat_vec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``m @ v`` for stacks ``(..., 3, 3)`` and ``(..., 3)``, summed in a fixed order so that every image's
    result is bit-identical whatever batch it is rendered in (BLAS-backed paths may reorder sums)."""
    return m[..., :, 0] * v[..., None, 0] + m[..., :, 1] * v[..., None, 1] + m[..., :, 2] * v[..., None, 2]


def _dot(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Row-wise dot product of ``(N, 3)`` with one ``(3,)`` vector. Not ``v @ w``: BLAS would start threads
    for large N (oversubscribing DataLoader workers) and may change the summation order."""
    return v[:, 0] * w[0] + v[:, 1] * w[1] + v[:, 2] * w[2]


def _mat_mat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for stacks of ``(3, 3)`` matrices, in a fixed summation order (see ``_mat_vec``)."""
    return (
        a[..., :, 0, None] * b[..., None, 0, :]
        + a[..., :, 1, None] * b[..., None, 1, :]
        + a[..., :, 2, None] * b[..., None, 2, :]
    )


_GROUP = 16  # images cast together per part: larger groups mean fewer numpy calls but larger shared windows


def _cast_part(
    k: int,
    bi: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    M: np.ndarray,
    origin: np.ndarray,
    h: np.ndarray,
    ray_x: np.ndarray,
    ray_y: np.ndarray,
    zbuf: np.ndarray,
    ids: np.ndarray,
    base: np.ndarray,
    Hs: int,
    Ws: int,
) -> None:
    """Cast the rays of a window around part ``k``'s box in images ``bi`` (G of them) and update the z-buffer.

    ``M (G, 3, 3)``, ``origin (G, 3)``, ``h (G,)``: the part in each image's camera (see ``render_views``);
    ``ray_x (G, Ws)``, ``ray_y (G, Hs)``: ray direction components; ``zbuf``/``ids``: flat buffers of the batch.
    """
    ww = int((x1 - x0).max())
    wh = int((y1 - y0).max())
    # One window size for the group; shift each image's window to stay inside the image.
    wx = np.minimum(x0, Ws - ww)
    wy = np.minimum(y0, Hs - wh)
    X = np.take_along_axis(ray_x, wx[:, None] + np.arange(ww), 1)[:, None, :]  # (G, 1, ww)
    Y = np.take_along_axis(ray_y, wy[:, None] + np.arange(wh), 1)[:, :, None]  # (G, wh, 1)
    m = M[:, :, :, None, None]  # (G, 3, 3, 1, 1)
    # Ray directions in the part's local frame: d' = M · (x, y, 1), one full-size op per component.
    dx = m[:, 0, 0] * X + (m[:, 0, 1] * Y + m[:, 0, 2])
    dy = m[:, 1, 0] * X + (m[:, 1, 1] * Y + m[:, 1, 2])
    dz = m[:, 2, 0] * X + (m[:, 2, 1] * Y + m[:, 2, 2])
    ox, oy, oz = (origin[:, i, None, None] for i in range(3))
    hk = h[:, None, None]
    # Infinite cylinder x² + z² = 1 (local), nearest root. Rays that miss it miss the capsule.
    a = dx * dx + dz * dz
    bq = ox * dx + oz * dz
    c = ox * ox + oz * oz - 1.0
    disc = bq * bq - a * c
    t = (-bq - np.sqrt(np.maximum(disc, 0.0))) / np.maximum(a, 1e-12)
    y = oy + t * dy
    # Outside the segment's span: the sphere cap centred at the nearer end of the segment.
    cap = np.clip(y, -hk, hk)
    ocy = oy - cap
    bs = bq + ocy * dy
    cs = c + ocy * ocy
    dd = a + dy * dy
    ds = bs * bs - dd * cs
    ts = (-bs - np.sqrt(np.maximum(ds, 0.0))) / dd
    t = np.where(np.abs(y) <= hk, t, np.where(ds > 0, ts, np.inf))
    t = np.where(disc > 0, t, np.inf).astype(np.float32, copy=False)
    idx = base[:, None, None] + (wy[:, None, None] + np.arange(wh)[:, None]) * Ws + (wx[:, None, None] + np.arange(ww))
    cur = zbuf.take(idx)
    nearer = t < cur
    zbuf.put(idx, np.where(nearer, t, cur))
    ids.put(idx, np.where(nearer, np.int8(k), ids.take(idx)))


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
class _CameraParts:
    """Every body part of every image in its camera's frame (``B`` images, ``P`` parts).

    ``M (B, P, 3, 3)``: camera → the part's normalised local frame; ``origin (B, P, 3)``: the camera centre in
    that frame; ``h (B, P)``: local half-length; ``centre (B, P, 3)`` and ``axes (B, P, 3, 3)`` (columns): the
    part's centre and local axes in camera coordinates; ``radii (B, P, 3)``; ``enabled (B, P)``.
    """

    M: np.ndarray
    origin: np.ndarray
    h: np.ndarray
    centre: np.ndarray
    axes: np.ndarray
    radii: np.ndarray
    enabled: np.ndarray


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


def _parts_in_camera(bodies: Sequence[PosedBody], cameras: Sequence[Camera]) -> _CameraParts:
    """Step 1: move every part into its image's camera frame."""
    Rc = np.stack([c.R for c in cameras]).astype(np.float32)  # (B, 3, 3)
    tc = np.stack([c.t for c in cameras]).astype(np.float32)  # (B, 3)
    centre = np.stack([b.centre for b in bodies])  # (B, P, 3)
    rot = np.stack([b.rot for b in bodies])
    radii = np.stack([b.radii for b in bodies])
    half_len = np.stack([b.half for b in bodies])
    centre_c = _mat_vec(Rc[:, None], centre) + tc[:, None, :]  # (B, P, 3)
    rot_c = _mat_mat(Rc[:, None], rot)  # (B, P, 3, 3) columns: part axes in camera frame
    M = np.swapaxes(rot_c, 2, 3) / radii[..., None]  # (B, P, 3, 3) camera → normalised local
    h = (half_len / radii[..., 1]).astype(np.float32)  # (B, P) local half-length
    origin = -_mat_vec(M, centre_c)  # (B, P, 3) the camera centre in local coordinates
    return _CameraParts(M, origin, h, centre_c, rot_c, radii, np.stack([b.enabled for b in bodies]))


def _ray_directions(cameras: Sequence[Camera], Hs: int, Ws: int, ss: int) -> tuple[np.ndarray, ...]:
    """Step 2: sub-pixel ray directions, x-component per column ``(B, Ws)`` and y-component per row ``(B, Hs)``
    (z = 1), and the intrinsics ``fx, fy, cx, cy`` ``(B,)`` they come from."""
    fx = np.array([c.K[0, 0] for c in cameras], np.float32)
    fy = np.array([c.K[1, 1] for c in cameras], np.float32)
    cx = np.array([c.K[0, 2] for c in cameras], np.float32)
    cy = np.array([c.K[1, 2] for c in cameras], np.float32)
    sub_x = (np.arange(Ws, dtype=np.float32) + 0.5) / ss - 0.5
    sub_y = (np.arange(Hs, dtype=np.float32) + 0.5) / ss - 0.5
    ray_x = (sub_x[None, :] - cx[:, None]) / fx[:, None]  # (B, Ws)
    ray_y = (sub_y[None, :] - cy[:, None]) / fy[:, None]  # (B, Hs)
    return ray_x, ray_y, fx, fy, cx, cy


def _part_boxes(parts: _CameraParts, intrinsics: tuple[np.ndarray, ...], Hs: int, Ws: int, ss: int):
    """Step 3: each part's screen-space box in sub-pixels, ``x0, x1, y0, y1 (B, P)`` int64, from the 8
    projected corners of its local box, and ``live (B, P)``: the part exists and its box is not empty."""
    fx, fy, cx, cy = intrinsics
    h, radii = parts.h, parts.radii
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32)  # (8, 3)
    extent = radii[:, :, None, :] * np.stack([np.ones_like(h), 1 + h, np.ones_like(h)], -1)[:, :, None, :]
    corners = parts.centre[:, :, None, :] + _mat_vec(parts.axes[:, :, None], signs * extent)  # (B, P, 8, 3)
    z = np.maximum(corners[..., 2], 1e-3)
    px = (corners[..., 0] / z * fx[:, None, None] + cx[:, None, None] + 0.5) * ss - 0.5
    py = (corners[..., 1] / z * fy[:, None, None] + cy[:, None, None] + 0.5) * ss - 0.5
    behind = (corners[..., 2] < 1e-2).any(axis=2)
    x0 = np.where(behind, 0, np.clip(np.floor(px.min(2)), 0, Ws)).astype(np.int64)
    x1 = np.where(behind, Ws, np.clip(np.ceil(px.max(2)) + 1, 0, Ws)).astype(np.int64)
    y0 = np.where(behind, 0, np.clip(np.floor(py.min(2)), 0, Hs)).astype(np.int64)
    y1 = np.where(behind, Hs, np.clip(np.ceil(py.max(2)) + 1, 0, Hs)).astype(np.int64)
    live = parts.enabled & (x1 > x0) & (y1 > y0)
    return x0, x1, y0, y1, live


def _cast(parts: _CameraParts, boxes, ray_x: np.ndarray, ray_y: np.ndarray, Hs: int, Ws: int):
    """Step 4: ray-cast every part into a z-buffer: ``(zbuf (B·Hs·Ws,) float32, ids (B·Hs·Ws,) int8)``."""
    x0, x1, y0, y1, live = boxes
    B, P = live.shape
    HWs = Hs * Ws
    zbuf = np.full(B * HWs, np.inf, np.float32)
    ids = np.full(B * HWs, -1, np.int8)
    for k in range(P):
        on = np.flatnonzero(live[:, k])
        # Images whose boxes for this part are alike share a window: sort by box area, cast in groups.
        area = (x1[on, k] - x0[on, k]) * (y1[on, k] - y0[on, k])
        on = on[np.argsort(area, kind="stable")]
        for start in range(0, len(on), _GROUP):
            bi = on[start : start + _GROUP]
            _cast_part(
                k,
                bi,
                x0[bi, k],
                x1[bi, k],
                y0[bi, k],
                y1[bi, k],
                parts.M[bi, k],
                parts.origin[bi, k],
                parts.h[bi, k],
                ray_x[bi],
                ray_y[bi],
                zbuf,
                ids,
                bi * HWs,
                Hs,
                Ws,
            )
    return zbuf, ids


def _shade(
    people: Sequence[Person],
    bodies: Sequence[PosedBody],
    parts: _CameraParts,
    zbuf: np.ndarray,
    ids: np.ndarray,
    ray_x: np.ndarray,
    ray_y: np.ndarray,
    Hs: int,
    Ws: int,
) -> tuple[np.ndarray, ...]:
    """Step 5: shade the foreground sub-pixels only: ``(img, row, col, part, depth, colour (3, N))``."""
    P = NUM_PARTS
    HWs = Hs * Ws
    fg = np.flatnonzero(ids >= 0)
    img = fg // HWs
    pix = fg - img * HWs
    row = pix // Ws
    col = pix - row * Ws
    part = ids[fg].astype(np.int64)
    g = img * P + part
    depth = zbuf[fg]
    # Per-(image, part) constants as rows of one table, gathered once: 9 of M, 3 of the centre, h.
    # Working on contiguous 1-D rows is several times faster than gathering (N, 3, 3) matrices.
    table = np.concatenate(
        [parts.M.reshape(-1, 9), parts.centre.reshape(-1, 3), parts.h.reshape(-1, 1)], axis=1
    ).T.copy()
    m = table.take(g, axis=1)  # (13, N)
    qx = ray_x.ravel().take(img * Ws + col) * depth - m[9]  # hit point minus part centre, camera frame
    qy = ray_y.ravel().take(img * Hs + row) * depth - m[10]
    qz = depth - m[11]
    lx = m[0] * qx + m[1] * qy + m[2] * qz  # the hit point in the part's normalised local frame
    ly = m[3] * qx + m[4] * qy + m[5] * qz
    lz = m[6] * qx + m[7] * qy + m[8] * qz
    hg = m[12]
    ny_local = ly - np.clip(ly, -hg, hg)  # local normal: from the nearest point of the segment
    nx = m[0] * lx + m[3] * ny_local + m[6] * lz  # normals transform with Mᵀ
    ny = m[1] * lx + m[4] * ny_local + m[7] * lz
    nz = m[2] * lx + m[5] * ny_local + m[8] * lz
    cos_light = (nx * _LIGHT[0] + ny * _LIGHT[1] + nz * _LIGHT[2]) / (np.sqrt(nx * nx + ny * ny + nz * nz) + 1e-12)
    light = _AMBIENT + _DIFFUSE * np.maximum(cos_light, 0.0)
    local = np.stack([lx, ly, lz], axis=1)

    mat = _materials(people, bodies)
    f = (ly + hg + 1.0) / (2.0 * hg + 2.0)  # 0 at the bone's first end, 1 at its second
    # Colours as (3, N) rows (contiguous gathers, see above); the textured parts edit their (n, 3) subsets.
    before = f < mat["split"].take(g)
    colour = np.where(before, mat["ca"].T.take(g, axis=1), mat["cb"].T.take(g, axis=1))
    sel = np.flatnonzero(part == PART["chest"])
    if len(sel):
        sub = colour[:, sel].T.copy()
        _chest_colours(sub, img[sel], local[sel], f[sel], mat)
        colour[:, sel] = sub.T
    sel = np.flatnonzero(part == PART["head"])
    if len(sel):
        sub = colour[:, sel].T.copy()
        n_unit = local[sel] / (np.linalg.norm(local[sel], axis=1, keepdims=True) + 1e-12)
        _head_colours(sub, img[sel], n_unit, mat)
        colour[:, sel] = sub.T
    colour *= light
    return img, row, col, part, depth, colour


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
