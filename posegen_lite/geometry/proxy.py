"""A coarse 3D body proxy built from the 18 joints: one ellipsoidal capsule per body part.

Why: two views of one person share their 3D surface. Knowing the 3D joints of both views and both cameras, a
coarse body tells for every target pixel *which surface point it shows*, where that point appears in the source
view and whether the source saw it (``correspond.py``; ``warp.py`` turns it into flow and visibility for G1).

The proxy (``build_proxy``) has one primitive per part, in ``PROXY_PARTS`` order (the first 16 parts of the
synthetic renderer, ``data/synthetic/body.py``), each the renderer's ellipsoidal capsule (``raycast.py``). Local
axes: x = the person's left, y = along the bone (up for torso and head), z = front. Radii are a 1.75 m adult's
times the skeleton's scale (the median ratio of its bone lengths to ``lifting.BONE_LENGTHS``: any unit works);
the shoulder width sets the build. Parts whose joints are missing are switched off; missing hips (a photo cut at
the waist) are put under the neck, assuming an upright torso in a y-up frame. Cameras: ``ray_cameras.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posegen_lite.geometry.correspond import Correspondence, correspond
from posegen_lite.geometry.lifting import BONE_LENGTHS
from posegen_lite.geometry.ray_cameras import OrthoCamera, RayCameras, fit_orthographic, project, ray_cameras
from posegen_lite.geometry.raycast import Primitives, SurfaceHits, cast_view, primitives_from_arrays
from posegen_lite.geometry.skeleton import JOINT_INDEX, LIMBS, NUM_JOINTS

PROXY_PARTS: tuple[str, ...] = (
    "chest", "pelvis", "neck", "head",
    "r_upper_arm", "l_upper_arm", "r_forearm", "l_forearm", "r_hand", "l_hand",
    "r_thigh", "l_thigh", "r_shin", "l_shin", "r_foot", "l_foot",
)  # fmt: skip
NUM_PROXY_PARTS = len(PROXY_PARTS)

# Coarse regions for part-aware losses and metrics. Region 0 is the background.
REGION_NAMES: tuple[str, ...] = ("background", "head", "torso", "arms", "hands", "legs", "feet")
# Region of every part id: the 16 proxy parts, then the renderer's extra "hair" part (id 16).
PART_REGION: tuple[int, ...] = (2, 2, 1, 1, 3, 3, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6, 1)

_J = JOINT_INDEX
# Limb bones whose lengths set the scale (arms, legs and the neck–hip sides; the face bones are too short).
_SCALE_LIMBS = tuple(i for i, (a, b) in enumerate(LIMBS) if a not in (0, 14, 15) and b not in (0, 14, 15, 16, 17))

# Names of the proxy's ray casting and cameras, importable from here as before (their modules: raycast.py,
# correspond.py, ray_cameras.py).
__all__ = [
    "PART_REGION", "PROXY_PARTS", "NUM_PROXY_PARTS", "REGION_NAMES", "Correspondence", "OrthoCamera", "Primitives",
    "RayCameras", "SurfaceHits", "build_proxy", "cast_view", "correspond", "fit_orthographic", "part_regions",
    "primitives_from_arrays", "project", "proxy_parts_of", "ray_cameras", "skeleton_scale",
]  # fmt: skip


# --- the proxy from joints --------------------------------------------------------------------------------


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along the last axis of ``v (..., 3)`` and where they are defined ``(...)`` bool (finite,
    length > 1e-9); undefined rows hold garbage that the callers mask out."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = np.isfinite(n[..., 0]) & (n[..., 0] > 1e-9)
    return v / np.where(ok[..., None], n, 1.0), ok


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1, keepdims=True)


def _frame(y_axis: np.ndarray, x_hint: np.ndarray) -> np.ndarray:
    """Rotations ``(..., 3, 3)`` whose y column is ``y_axis (..., 3)`` normalised and whose x column is
    ``x_hint (..., 3)`` made orthogonal to it (the hint's own perpendicular when they are parallel)."""
    y, _ = _unit(y_axis)
    x = x_hint - y * _dot(x_hint, y)
    # Bone along the hint: any perpendicular does.
    alt = np.where(np.abs(y[..., 2:]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    x = np.where(np.linalg.norm(x, axis=-1, keepdims=True) < 1e-6, alt - y * _dot(alt, y), x)
    x, _ = _unit(x)
    # z = x × y, written out: np.cross costs more than the rest of the frame on small batches.
    z = x[..., [1, 2, 0]] * y[..., [2, 0, 1]] - x[..., [2, 0, 1]] * y[..., [1, 2, 0]]
    return np.stack([x, y, z], axis=-1)


_SCALE_FROM = np.array([LIMBS[i][0] for i in _SCALE_LIMBS])
_SCALE_TO = np.array([LIMBS[i][1] for i in _SCALE_LIMBS])
_SCALE_METRES = np.array([BONE_LENGTHS[i] for i in _SCALE_LIMBS])


def _scales(j: np.ndarray) -> np.ndarray:
    """``skeleton_scale`` of a batch ``(B, 18, 3)`` → ``(B,)``, NaN where no limb bone is measurable."""
    length = np.linalg.norm(j[:, _SCALE_TO] - j[:, _SCALE_FROM], axis=-1)  # (B, L)
    ratio = np.where(np.isfinite(length) & (length > 0), length / _SCALE_METRES, np.nan)
    # The median of each row's finite ratios: sorting puts the NaNs last, n counts the others.
    ratio = np.sort(ratio, axis=1)
    n = np.isfinite(ratio).sum(1)
    rows = np.arange(len(j))
    lo, hi = ratio[rows, np.maximum(n - 1, 0) // 2], ratio[rows, n // 2 - (n == 0)]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def skeleton_scale(joints3d: np.ndarray) -> float:
    """The body's size relative to a 1.75 m adult: the median ratio of its limb bone lengths to
    ``lifting.BONE_LENGTHS`` (so it is in the joints' units per metre). Raises ``ValueError`` without any
    measurable limb bone."""
    s = float(_scales(np.asarray(joints3d, np.float64)[None])[0])
    if not np.isfinite(s):
        raise ValueError("no limb bone with both joints present: cannot size the body proxy")
    return s


def _finite(x: np.ndarray) -> np.ndarray:
    """Whether every coordinate of the points ``x (..., 3)`` is finite → ``(...)`` bool."""
    return np.isfinite(x).all(-1)


def _complete_hips(j: np.ndarray, s: np.ndarray) -> np.ndarray:
    """A copy of the joints ``(B, 18, 3)`` with missing hips put under the neck (a photo cut off at the waist):
    the torso is assumed upright (world +y up) and of default length (``s (B,)`` the scales), so the chest and
    arms still get a body. With one hip known, the other is put beside it along the shoulder line."""
    hips = j[:, [_J["r_hip"], _J["l_hip"]]]  # (B, 2, 3)
    sh = j[:, [_J["r_shoulder"], _J["l_shoulder"]]]
    neck = j[:, _J["neck"]]
    known = _finite(hips)  # (B, 2)
    left, ok_left = _unit(sh[:, 1] - sh[:, 0])
    up, ok_up = _unit(np.array([0.0, 1.0, 0.0]) - left * left[:, 1:2])
    fill = ~known.all(1) & _finite(sh).all(1) & _finite(neck) & ok_left & ok_up
    s = s[:, None]
    hip_c = neck - up * 0.53 * s
    hip_c = np.where((known[:, 0] & ~known[:, 1])[:, None], hips[:, 0] + left * (0.09 * s), hip_c)
    hip_c = np.where((known[:, 1] & ~known[:, 0])[:, None], hips[:, 1] + left * (-0.09 * s), hip_c)
    out = j.copy()
    out[fill, _J["r_hip"]] = (hip_c - left * 0.09 * s)[fill]
    out[fill, _J["l_hip"]] = (hip_c + left * 0.09 * s)[fill]
    return out


def _body_frame(j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Torso frames ``(B, 3, 3)`` (x = the person's left, y = up the spine, z = front), hip centres ``(B, 3)``
    and where both are defined ``(B,)`` bool (hips and neck known, spine and shoulder/hip line not degenerate)."""
    hips = j[:, [_J["r_hip"], _J["l_hip"]]]
    neck = j[:, _J["neck"]]
    hip_c = hips.mean(1)
    left = j[:, _J["l_shoulder"]] - j[:, _J["r_shoulder"]]
    left = np.where(_finite(left)[:, None], left, hips[:, 1] - hips[:, 0])
    up, ok_up = _unit(neck - hip_c)
    _, ok_left = _unit(left)
    ok = _finite(hips).all(1) & _finite(neck) & ok_up & ok_left
    return _frame(up, left), hip_c, ok


@np.errstate(invalid="ignore", divide="ignore")  # missing joints are NaN: their parts are masked off
def _proxy_arrays(
    joints3d: np.ndarray, radius_scale: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The body proxies of a batch ``(B, 18, 3)`` float64 as numpy arrays ``(centre (B, P, 3), rot (B, P, 3, 3),
    radii (B, P, 3), half (B, P), enabled (B, P))`` in ``PROXY_PARTS`` order; a part that is off keeps the
    neutral values (centre 0, identity rotation, radii 1, half 0).

    Every part is computed for the whole batch at once (numpy over the batch axis), with an ``on`` mask of the
    bodies whose joints it could use; bodies without a scale or a torso frame get no part at all. The frames
    of the 13 parts that follow a bone are built together at the end, in one call. ``radius_scale`` ``(B, P)``
    (default 1) widens each part: its cross-section (x, z radii), and the head in every direction (hair)."""
    B, P = len(joints3d), NUM_PROXY_PARTS
    s = _scales(joints3d)  # ≈ height / 1.75 m: the renderer's person of height h has s = h / 1.75
    j = _complete_hips(joints3d, s)
    torso, hip_c, body = _body_frame(j)
    body &= np.isfinite(s)
    shoulders = j[:, [_J["r_shoulder"], _J["l_shoulder"]]]
    width = np.linalg.norm(shoulders[:, 1] - shoulders[:, 0], axis=-1)
    b = np.where(np.isfinite(width), np.clip(width / (0.37 * s), 0.8, 1.25), 1.0)  # the build
    s1, b1 = s[:, None], b[:, None]  # (B, 1): to scale (B, 3) vectors
    left, up, front = torso[..., 0], torso[..., 1], torso[..., 2]
    neck = j[:, _J["neck"]]
    # Per part (index into PROXY_PARTS): on (B,), centre (B, 3), radii (B, 3), half (B,), and either its axes
    # (B, 3, 3) or the bone (B, 3) its y axis follows (x towards the torso's left).
    missing = np.zeros(0)  # a placeholder: every part is put below
    on, centre, radii, half = [missing] * P, [missing] * P, [missing] * P, [missing] * P
    axes: dict[int, np.ndarray] = {}
    bones: dict[int, np.ndarray] = {}

    def put(name: str, ok: np.ndarray, c: np.ndarray, r: np.ndarray, h: np.ndarray, frame: np.ndarray) -> None:
        k = PROXY_PARTS.index(name)
        on[k], centre[k], radii[k], half[k] = ok, c, r, h
        (axes if frame.ndim == 3 else bones)[k] = frame

    def capsule(name: str, a: np.ndarray, c: np.ndarray, r: np.ndarray) -> None:
        length = np.linalg.norm(c - a, axis=-1)
        ok = _finite(a) & _finite(c) & (length > 1e-9)
        put(name, ok, (a + c) / 2, np.repeat(r[:, None], 3, 1), length / 2, c - a)

    def sized(radii_m: tuple[float, float, float], build: bool = False) -> np.ndarray:
        """Radii in metres of a 1.75 m adult → ``(B, 3)`` in the joints' units (x and z times the build)."""
        r = np.array(radii_m) * np.ones((B, 1))
        if build:
            r[:, [0, 2]] *= b1
        return r * s1

    # Torso: chest and pelvis as in the renderer, along the spine.
    everyone, flat = np.ones(B, bool), np.zeros(B)
    chest_lo, chest_hi = hip_c + up * 0.16 * s1, neck - up * 0.09 * s1
    chest_half = np.maximum(_dot(chest_hi - chest_lo, up)[:, 0] / 2, 0.0)
    put("chest", everyone, (chest_lo + chest_hi) / 2, sized((0.165, 0.10, 0.105), build=True), chest_half, torso)
    put("pelvis", everyone, hip_c + up * 0.03 * s1, sized((0.165, 0.11, 0.105), build=True), flat, torso)

    # Head: centred between the ears when both are known (they sit on its sides), else behind the nose.
    ears, nose = j[:, [_J["r_ear"], _J["l_ear"]]], j[:, _J["nose"]]
    head_x, by_ears = _unit(ears[:, 1] - ears[:, 0])
    head_axes = np.where(by_ears[:, None, None], _frame(up, head_x), torso)
    head_c = np.where(_finite(nose)[:, None], nose - front * 0.091 * s1 + up * 0.0165 * s1, neck + up * 0.2 * s1)
    head_c = np.where(by_ears[:, None], ears.mean(1) + head_axes[..., 2] * 0.009 * s1, head_c)
    put("head", everyone, head_c, sized((0.078, 0.11, 0.092)), flat, head_axes)
    capsule("neck", neck - up * 0.03 * s1, head_c - head_axes[..., 1] * 0.05 * s1, 0.045 * s * b)

    for side in ("r", "l"):
        sh, el, wr = (j[:, _J[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist"))
        capsule(f"{side}_upper_arm", sh, el, 0.047 * s * b)
        capsule(f"{side}_forearm", el, wr, 0.038 * s * b)
        along, ok = _unit(wr - el)
        put(f"{side}_hand", ok, wr + along * 0.07 * s1, sized((0.03, 0.055, 0.045)), flat, along)
        hip, kn, an = (j[:, _J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        capsule(f"{side}_thigh", hip, kn, 0.072 * s * b)
        capsule(f"{side}_shin", kn, an, 0.052 * s * b)
        # The foot points forward, perpendicular to the shin; heel and toe 4.5 cm below the ankle.
        leg_up, ok_leg = _unit(kn - an)
        fwd, ok_fwd = _unit(front - leg_up * _dot(front, leg_up))
        heel = an - fwd * 0.035 * s1 - leg_up * 0.045 * s1
        toe = an + fwd * 0.15 * s1 - leg_up * 0.045 * s1
        put(f"{side}_foot", ok_leg & ok_fwd, (heel + toe) / 2, sized((0.045, 0.045, 0.04)),
            np.linalg.norm(toe - heel, axis=-1) / 2, toe - heel)  # fmt: skip

    if radius_scale is not None:
        widen = np.ones((B, P, 3))
        widen[..., [0, 2]] = radius_scale[..., None]
        widen[:, PROXY_PARTS.index("head")] = radius_scale[:, PROXY_PARTS.index("head"), None]
        radii = [r * widen[:, k] for k, r in enumerate(radii)]
    enabled = np.stack(on, 1) & body[:, None]  # (B, P)
    rot = np.empty((B, P, 3, 3))
    for k, a in axes.items():
        rot[:, k] = a
    bone_parts = sorted(bones)
    rot[:, bone_parts] = _frame(np.stack([bones[k] for k in bone_parts], 1), left[:, None])
    # Parts that are off get neutral values (not NaN), so the casters can use them without masking first.
    e3 = enabled[..., None]
    return (
        np.where(e3, np.stack(centre, 1), 0.0),
        np.where(e3[..., None], rot, np.eye(3)),
        np.where(e3, np.stack(radii, 1), 1.0),
        np.where(enabled, np.stack(half, 1), 0.0),
        enabled,
    )


def _joints_batch(joints3d: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    arr = np.asarray(joints3d, np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"3D joints must have shape (B, {NUM_JOINTS}, 3) or ({NUM_JOINTS}, 3), got {arr.shape}")
    return arr


def proxy_parts_of(joints3d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The body proxy of one pose ``(18, 3)`` as numpy arrays ``(centre (P, 3), rot (P, 3, 3), radii (P, 3),
    half (P,), enabled (P,))`` in ``PROXY_PARTS`` order. Without hips and neck the whole proxy is disabled
    (an empty body: every ray misses, nothing is warped)."""
    j = np.asarray(joints3d, np.float64)
    if j.shape != (NUM_JOINTS, 3):
        raise ValueError(f"3D joints must have shape ({NUM_JOINTS}, 3), got {j.shape}")
    centre, rot, radii, half, enabled = _proxy_arrays(j[None])
    return centre[0], rot[0], radii[0], half[0], enabled[0]


def build_proxy(joints3d: np.ndarray | Sequence[np.ndarray], radius_scale: np.ndarray | None = None) -> Primitives:
    """The body proxies of a batch of poses ``(B, 18, 3)`` (or one ``(18, 3)``; any unit, NaN = missing joint)
    as ``Primitives``, the whole batch at once; ``radius_scale`` ``(P,)`` or ``(B, P)`` widens the parts (a
    person's fitted silhouette, ``fit.fit_radius_scale``; default: the adult of the renderer)."""
    joints = _joints_batch(joints3d)
    scale = None if radius_scale is None else np.broadcast_to(radius_scale, (len(joints), NUM_PROXY_PARTS))
    return primitives_from_arrays(*_proxy_arrays(joints, scale))


def part_regions(part: torch.Tensor) -> torch.Tensor:
    """Part ids (proxy or renderer, −1 = background) → region ids of ``REGION_NAMES`` (0 = background),
    same shape, int64."""
    table = torch.tensor((0, *PART_REGION), dtype=torch.int64, device=part.device)
    return table[(part.long() + 1).clamp(0, len(PART_REGION))]
