"""Shading and textures of the synthetic renderer (``render.py``, step 5): Lambert + ambient light fixed to the
camera (every view lit alike), and the texture coordinates of each hit — the shirt's print and back pattern on the
chest, face and hair on the head, sleeve and trouser lengths along the limbs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from posegen_lite.data.synthetic.body import BACK_PATTERNS, NUM_PARTS, PART, Person, PosedBody
from posegen_lite.data.synthetic.capsule_cast import _CameraParts, _dot
from posegen_lite.data.synthetic.font import text_bitmap
from posegen_lite.geometry.shading import RENDER_LIGHT

# The light, fixed to the camera (x right, y down, z forward): up-left-front (geometry/shading.py holds it, as the
# pipelines re-light a texture with it).
_LIGHT = np.array(RENDER_LIGHT.direction, np.float32)
_LIGHT /= np.linalg.norm(_LIGHT)
_AMBIENT, _DIFFUSE = np.float32(RENDER_LIGHT.ambient), np.float32(RENDER_LIGHT.diffuse)
_PRINT_ROWS = 9  # 7 glyph rows + a 1-texel patch border above and below
_PRINT_COLS = 19  # 3 glyphs of 5 + 2 gaps + 2 border columns
_PRINT_HALF_WIDTH = 0.9  # the patch spans local x in [-0.9, 0.9] of the chest's half-width
_PRINT_TOP = 0.86  # the patch's top edge, as a fraction of the chest's length from the bottom


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
