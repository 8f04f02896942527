"""Pose maps P_B, the body mask M_B, and skeleton drawings: 2D keypoints → images.

Conventions (stated here once; details of the mask: docs/architecture.md, "Conventions"):

* Input keypoints follow ``skeleton``: ``(18, 2)`` (x, y) pixels, pixel (i, j) centred at x = j, y = i, plus
  a ``(18,)`` bool visibility, validated by ``skeleton.check_keypoints``. A joint is *drawn* only if visible
  and inside ``[-0.5, W - 0.5) × [-0.5, H - 0.5)`` (as ``camera.Camera.project``); limbs are clipped to it.
* Pose maps: ``(18, H, W)`` float32 in **[-1, 1]**, one channel per joint in skeleton order, background
  −1. ``kind="disc"`` is PG2's: a solid disc of radius r → +1. ``kind="gaussian"``: ``2·exp(-d²/2σ²) − 1``.
  A missing (or off-image) joint gives an empty channel, all −1.
* Body mask: ``(1, H, W)`` float32 with values in **{0, 1}**, PG2's recipe: limbs, torso and head drawn
  thin, thickened by a disc of radius ``thickness``, morphologically closed. No joints → an all-zero mask.
* Sizes scale with the image height: PG2 used r = 4 px at 128 px high; ``default_radius``,
  ``default_sigma`` and ``default_thickness`` give the values for any height.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from posegen_lite.geometry.skeleton import JOINT_INDEX, LIMBS, TORSO_SEGMENTS, check_keypoints

# scikit-image (and the SciPy it loads, ~0.5 s) is imported inside the drawing functions, so that
# `import posegen_lite` stays light; Python caches the module after the first call.

# Sizes at PG2's 128-pixel-high Market-1501 images; everything scales linearly with the height.
_REFERENCE_HEIGHT = 128.0
DISC_RADIUS_AT_128 = 4.0  # PG2's pose-map disc radius
GAUSSIAN_SIGMA_AT_128 = 3.0  # 6 px at 256 px high, as in later pose-transfer work (PATN)
MASK_THICKNESS_AT_128 = 4.0  # PG2 thickens the limbs with discs of radius 4

# The face joints whose region is filled by the head disc.
_FACE = tuple(JOINT_INDEX[n] for n in ("nose", "l_eye", "r_eye", "l_ear", "r_ear"))
# Torso quadrilateral, in drawing order around its boundary.
_TORSO = tuple(JOINT_INDEX[n] for n in ("r_shoulder", "l_shoulder", "l_hip", "r_hip"))

# OpenPose's colours (RGB), one per limb: the i-th colour goes with OpenPose's i-th limb and with joint i.
OPENPOSE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip
_OPENPOSE_LIMB_ORDER = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)  # fmt: skip
LIMB_COLOURS: dict[tuple[int, int], tuple[int, int, int]] = {
    limb: OPENPOSE_COLOURS[i] for i, limb in enumerate(_OPENPOSE_LIMB_ORDER)
}
assert set(LIMB_COLOURS) == set(LIMBS)  # the skeleton and the colour table name the same limbs


# --- sizes --------------------------------------------------------------------------------------------------
def default_radius(height: int) -> float:
    """PG2's disc radius scaled to ``height`` (4 px at 128 px), at least 1 px."""
    return max(1.0, DISC_RADIUS_AT_128 * height / _REFERENCE_HEIGHT)


def default_sigma(height: int) -> float:
    """Gaussian σ scaled to ``height`` (3 px at 128 px), at least 0.75 px."""
    return max(0.75, GAUSSIAN_SIGMA_AT_128 * height / _REFERENCE_HEIGHT)


def default_thickness(height: int) -> int:
    """Mask limb thickening radius scaled to ``height`` (4 px at 128 px), at least 1 px."""
    return max(1, round(MASK_THICKNESS_AT_128 * height / _REFERENCE_HEIGHT))


def closing_radius(thickness: int) -> int:
    """Radius of the closing disc for a given thickening radius: half of it, at least 1 px (PG2 closes with a
    5×5 square, radius 2, after thickening by 4)."""
    return max(1, round(thickness / 2))


# --- validation and small geometry helpers ------------------------------------------------------------------
def _check_size(height: int, width: int) -> tuple[int, int]:
    if int(height) != height or int(width) != width or height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive integers, got {height}×{width}")
    return int(height), int(width)


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _prepare(
    xy: np.ndarray, visible: np.ndarray | None, height: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Validate; return ``(coords (18, 2) float32 NaN where missing, visible (18,), inside (18,), H, W)``."""
    height, width = _check_size(height, width)
    coords, vis = check_keypoints(xy, visible)
    with np.errstate(invalid="ignore"):  # NaN compares False: missing joints are never inside
        inside = vis & (coords[:, 0] >= -0.5) & (coords[:, 0] < width - 0.5)
        inside &= (coords[:, 1] >= -0.5) & (coords[:, 1] < height - 0.5)
    return coords, vis, inside, height, width


@lru_cache(maxsize=32)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(ys (H, 1), xs (1, W))`` float32, cached per size (read-only)."""
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys.flags.writeable = False
    xs.flags.writeable = False
    return ys, xs


@lru_cache(maxsize=32)
def _disk(radius: int) -> np.ndarray:
    """A cached ``skimage.morphology.disk`` footprint (bool, read-only)."""
    from skimage import morphology

    fp = morphology.disk(radius).astype(bool)
    fp.flags.writeable = False
    return fp


def _clip_segments(
    p0: np.ndarray, p1: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip segments ``p0[k] → p1[k]`` (``(S, 2)`` (x, y) pixels) to the pixel-centre rectangle
    ``[0, W-1] × [0, H-1]`` — Liang–Barsky, vectorized over segments.

    Returns ``(q0 (S, 2), q1 (S, 2), keep (S,) bool)``; ``keep`` is False for segments that miss the image.
    """
    p0 = np.asarray(p0, np.float64)
    d = np.asarray(p1, np.float64) - p0
    # The segment p0 + t·d (t in [0, 1]) is inside where p_i·t <= q_i for the four edges.
    p = np.stack([-d[:, 0], d[:, 0], -d[:, 1], d[:, 1]], axis=1)
    q = np.stack([p0[:, 0], width - 1 - p0[:, 0], p0[:, 1], height - 1 - p0[:, 1]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = q / p
    t0 = np.max(np.where(p < 0, t, 0.0), axis=1, initial=0.0)  # entering: the latest of the lower bounds
    t1 = np.min(np.where(p > 0, t, 1.0), axis=1, initial=1.0)  # leaving: the earliest of the upper bounds
    parallel_outside = ((p == 0) & (q < 0)).any(axis=1)
    keep = (t0 <= t1) & ~parallel_outside
    return p0 + t0[:, None] * d, p0 + t1[:, None] * d, keep


def _draw_segments(canvas: np.ndarray, coords: np.ndarray, segments: list[tuple[int, int]]) -> None:
    """Set the pixels of the 1-px lines ``coords[a] → coords[b]`` (clipped to the image) on a bool canvas."""
    from skimage import draw

    if not segments:
        return
    a, b = np.array(segments).T
    q0, q1, keep = _clip_segments(coords[a], coords[b], *canvas.shape)
    q0, q1 = np.rint(q0[keep]).astype(int), np.rint(q1[keep]).astype(int)
    for (x0, y0), (x1, y1) in zip(q0.tolist(), q1.tolist(), strict=True):
        rr, cc = draw.line(y0, x0, y1, x1)
        canvas[rr, cc] = True


def head_circle(xy: np.ndarray, visible: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """The disc that covers the face: ``(centre (x, y), radius)`` in pixels, or None without face joints.

    Centre: mean of the visible nose/eyes/ears. Radius: the farthest face joint from it, and at least half
    the neck–nose distance (a head is about that big), so a profile or a lone nose still gets a head.
    """
    coords, vis = check_keypoints(xy, visible)
    face = [i for i in _FACE if vis[i]]
    if not face:
        return None
    pts = coords[face].astype(np.float64)
    centre = pts.mean(axis=0)
    radius = float(np.max(np.linalg.norm(pts - centre, axis=1)))
    neck, nose = JOINT_INDEX["neck"], JOINT_INDEX["nose"]
    if vis[neck] and vis[nose]:
        radius = max(radius, 0.5 * float(np.linalg.norm(coords[neck] - coords[nose])))
    return centre, radius


# --- pose maps ----------------------------------------------------------------------------------------------
def pose_maps(
    xy: np.ndarray,
    visible: np.ndarray | None,
    height: int,
    width: int,
    kind: str = "disc",
    radius: float | None = None,
    sigma: float | None = None,
) -> np.ndarray:
    """Keypoint maps ``(18, H, W)`` float32 in [-1, 1] (background −1; see the module docstring).

    Args:
        xy, visible: ``(18, 2)`` keypoints (x, y) in pixels and ``(18,)`` bool visibility.
        height, width: output size in pixels (> 0).
        kind: ``"disc"`` (PG2's solid discs, +1 inside) or ``"gaussian"`` (``2·exp(-d²/2σ²) − 1``).
        radius: disc radius in pixels, default ``default_radius(height)``. The pixel nearest to the keypoint
            is always lit, so a tiny radius never empties the channel of a visible joint.
        sigma: Gaussian σ in pixels, default ``default_sigma(height)``.
    Raises:
        ValueError: malformed keypoints, a non-positive size/radius/σ, or an unknown ``kind``.
    """
    coords, _, inside, height, width = _prepare(xy, visible, height, width)
    if kind not in ("disc", "gaussian"):
        raise ValueError(f"kind must be 'disc' or 'gaussian', got {kind!r}")
    ys, xs = _grid(height, width)
    # A joint that is not drawn sits "infinitely far": its channel comes out empty with no special case.
    cx = np.where(inside, coords[:, 0], np.inf).astype(np.float32)
    cy = np.where(inside, coords[:, 1], np.inf).astype(np.float32)
    # Squared distances separate into a column part (18, W) and a row part (18, H); they are combined by
    # one broadcast into (18, H, W) — no Python loop over joints or pixels.
    dx2 = (xs - cx[:, None]) ** 2
    dy2 = (ys[:, 0] - cy[:, None]) ** 2
    if kind == "disc":
        r = _check_positive("radius", default_radius(height) if radius is None else radius)
        # 0.5 px² is the farthest a point can be from its nearest pixel centre: that pixel is always lit.
        lit = (dy2[:, :, None] + dx2[:, None, :]) <= max(r * r, 0.5)
        return np.where(lit, np.float32(1.0), np.float32(-1.0))
    s = _check_positive("sigma", default_sigma(height) if sigma is None else sigma)
    k = np.float32(-0.5 / (s * s))
    maps = np.exp(dy2 * k)[:, :, None] * np.exp(dx2 * k)[:, None, :]  # exp(a + b) = exp(a)·exp(b)
    maps *= 2.0
    maps -= 1.0
    return maps


# --- body mask ----------------------------------------------------------------------------------------------
def _skeleton_canvas(coords: np.ndarray, vis: np.ndarray, inside: np.ndarray, height: int, width: int) -> np.ndarray:
    """The thin skeleton, bool ``(H, W)``: segments, torso quadrilateral, head disc and lone joints."""
    from skimage import draw

    canvas = np.zeros((height, width), bool)
    _draw_segments(canvas, coords, [(a, b) for a, b in LIMBS + TORSO_SEGMENTS if vis[a] and vis[b]])
    if vis[list(_TORSO)].all():
        rr, cc = draw.polygon(coords[list(_TORSO), 1], coords[list(_TORSO), 0], shape=canvas.shape)
        canvas[rr, cc] = True
    head = head_circle(coords, vis)
    if head is not None:
        (cx, cy), r = head
        rr, cc = draw.disk((cy, cx), max(r, 0.5), shape=canvas.shape)
        canvas[rr, cc] = True
    # Every drawn joint is on the body even when its limb partner is missing (e.g. a wrist without elbow).
    pts = np.rint(coords[inside]).astype(int)
    canvas[np.clip(pts[:, 1], 0, height - 1), np.clip(pts[:, 0], 0, width - 1)] = True
    return canvas


def body_mask(
    xy: np.ndarray, visible: np.ndarray | None, height: int, width: int, thickness: int | None = None
) -> np.ndarray:
    """PG2's body mask M_B: ``(1, H, W)`` float32 with values in {0, 1}.

    The thin skeleton (limbs, torso segments and quadrilateral, head disc, lone joints) is thickened by a
    disc of radius ``thickness`` (default ``default_thickness(height)``) and closed with a disc of radius
    ``closing_radius(thickness)`` (``skimage.morphology``). Segments with a missing endpoint are skipped; an
    all-missing pose gives an all-zero mask.

    Raises:
        ValueError: malformed keypoints, a non-positive size or thickness.
    """
    from skimage import morphology

    coords, vis, inside, height, width = _prepare(xy, visible, height, width)
    t = default_thickness(height) if thickness is None else thickness
    if int(t) != t or t <= 0:
        raise ValueError(f"thickness must be a positive integer number of pixels, got {t}")
    t = int(t)
    out = np.zeros((1, height, width), np.float32)
    canvas = _skeleton_canvas(coords, vis, inside, height, width)
    rows, cols = np.nonzero(canvas.any(axis=1))[0], np.nonzero(canvas.any(axis=0))[0]
    if rows.size == 0:
        return out
    # Work on the skeleton's bounding box grown by the reach of both operations (+1 so the crop edges stay
    # empty): the result is the same as on the full image, and cheaper when the person is small.
    c = closing_radius(t)
    pad = t + c + 1
    r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, height)
    c0, c1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, width)
    crop = canvas[r0:r1, c0:c1]
    # isotropic_dilation is skimage's exact disc dilation via a distance transform (same result as
    # dilation(crop, disk(t)), about twice as fast at these sizes).
    thick = morphology.isotropic_dilation(crop, t)
    closed = morphology.closing(thick, _disk(c))
    out[0, r0:r1, c0:c1] = closed
    return out


def pose_maps_and_mask(
    xy: np.ndarray, visible: np.ndarray | None, height: int, width: int, kind: str = "disc"
) -> tuple[np.ndarray, np.ndarray]:
    """``(pose_maps (18, H, W) in [-1, 1], body_mask (1, H, W) in {0, 1})`` with default sizes."""
    return pose_maps(xy, visible, height, width, kind=kind), body_mask(xy, visible, height, width)


# --- drawing ------------------------------------------------------------------------------------------------
def draw_skeleton(
    xy: np.ndarray,
    visible: np.ndarray | None,
    height: int,
    width: int,
    image: np.ndarray | None = None,
    thickness: int | None = None,
) -> np.ndarray:
    """An OpenPose-style drawing ``(H, W, 3)`` uint8: a coloured bar per limb and a dot per joint, over
    ``image`` (``(H, W, 3)`` uint8, not modified) or black.

    ``thickness`` is the bar's half-width in pixels (default: 1 px per 64 px of height, at least 1); joint
    dots have radius ``thickness + 1``.
    """
    from skimage import draw

    coords, vis, inside, height, width = _prepare(xy, visible, height, width)
    if image is None:
        canvas = np.zeros((height, width, 3), np.uint8)
    else:
        img = np.asarray(image)
        if img.shape != (height, width, 3) or img.dtype != np.uint8:
            raise ValueError(f"image must be ({height}, {width}, 3) uint8, got {img.shape} {img.dtype}")
        canvas = img.copy()
    half = max(1.0, height / 64.0) if thickness is None else _check_positive("thickness", thickness)
    limbs = [(a, b) for a, b in LIMBS if vis[a] and vis[b]]
    ends = np.array(limbs, dtype=int).reshape(-1, 2)
    q0, q1, keep = _clip_segments(coords[ends[:, 0]], coords[ends[:, 1]], height, width)
    for (a, b), p0, p1 in zip(ends[keep].tolist(), q0[keep], q1[keep], strict=True):
        d = p1 - p0
        n = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-9) * half  # normal, half-width long
        quad = np.array([p0 + n, p1 + n, p1 - n, p0 - n])
        rr, cc = draw.polygon(quad[:, 1], quad[:, 0], shape=(height, width))
        canvas[rr, cc] = LIMB_COLOURS[(a, b)]
    for j in np.flatnonzero(inside):
        rr, cc = draw.disk((coords[j, 1], coords[j, 0]), half + 1.0, shape=(height, width))
        canvas[rr, cc] = OPENPOSE_COLOURS[j]
    return canvas
