"""The ray caster of the synthetic renderer (``render.py``, steps 1–4): each body part, an ellipsoidal capsule,
against the rays of its screen box, for a whole batch of cameras at once, into a z-buffer.

In the camera frame every ray starts at the origin with direction ``d = ((x - cx)/f, (y - cy)/f, 1)``, so the
ray parameter ``t`` *is* the depth z, the same in every part's local frame (an affine map keeps it). The test is
analytic: the infinite cylinder, else the sphere cap at the nearer end of the segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegen_lite.data.synthetic.body import PosedBody
from posegen_lite.geometry.camera import Camera


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
