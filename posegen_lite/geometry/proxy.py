"""A coarse 3D body proxy built from the 18 joints, and a batched torch ray caster for it.

Why: two views of one person share their 3D surface. Knowing the 3D joints of both views and both cameras,
a coarse body — capsules for the limbs, rounded ellipsoids for torso and head — tells for every pixel of the
target view *which surface point it shows*, where that point appears in the source view, and whether the
source camera saw it at all (``warp.py`` turns this into a flow field and a visibility mask for G1).

The proxy (``build_proxy``) has one primitive per body part, in ``PROXY_PARTS`` order (the first 16 parts of
the synthetic renderer, ``data/synthetic/body.py``, so part ids mean the same thing in both). Every primitive
is an *ellipsoidal capsule* (the renderer's shape): a segment of half-length ``half`` along the part's local
y axis swept by an ellipsoid with radii ``radii = (rx, ry, rz)``. In its normalised local frame
``l = diag(1/radii) · rotᵀ · (p − centre)`` it is the unit capsule around the y segment ``[−h, h]``,
``h = half / ry``. Local axes: x = the person's left, y = along the bone (up for torso and head), z = front.

Radii are a 1.75 m adult's (the renderer's defaults) times the skeleton's scale: the median ratio of its bone
lengths to ``lifting.BONE_LENGTHS``, so joints in metres, centimetres or any unit work alike; the shoulder
width sets the build (how broad torso and limbs are). Parts whose joints are missing are switched off; missing
hips (a photo cut at the waist) are put under the neck, assuming an upright torso in a y-up frame.

Cameras (``RayCameras``, batched tensors): a pinhole ``x = K·(R·X + t)/z`` (``camera.Camera``, distortion
ignored) or a scaled orthographic ``x = s·X + ox, y = −s·Y + oy`` (``OrthoCamera``, the camera of
``lifting.orthographic_projection`` that 2D keypoints are lifted with). In the camera frame every ray has
direction ``(dx, dy, 1)``, so its parameter is the depth z; a pinhole's rays start at the camera centre, an
orthographic camera's far in front of the body.

All functions are pure: inputs in, tensors out; nothing is cached between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.lifting import BONE_LENGTHS
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


@dataclass(frozen=True)
class OrthoCamera:
    """The scaled orthographic camera of ``lifting.orthographic_projection``: ``x = s·X + ox``,
    ``y = −s·Y + oy`` (pixels, y down), looking along −Z (Z points towards the camera)."""

    scale: float
    offset: tuple[float, float]
    width: int
    height: int

    def __post_init__(self) -> None:
        if not np.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"orthographic scale must be positive, got {self.scale}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"image size must be positive, got {self.width}×{self.height}")


@dataclass(frozen=True)
class RayCameras:
    """A batch of cameras as tensors: ``K (B, 3, 3)``, world→camera ``R (B, 3, 3)`` and ``t (B, 3)``,
    ``ortho (B,)`` bool (True: ``x = K·(R·X + t)`` without the division by z), image ``height × width``."""

    K: torch.Tensor
    R: torch.Tensor
    t: torch.Tensor
    ortho: torch.Tensor
    height: int
    width: int

    def __len__(self) -> int:
        return self.K.shape[0]


def ray_cameras(cameras: Sequence[Camera | OrthoCamera]) -> RayCameras:
    """Stack ``camera.Camera``/``OrthoCamera`` objects of one image size into ``RayCameras`` (float32).

    Raises ``ValueError`` for an empty list, mixed image sizes or a skewed pinhole. Lens distortion is
    ignored (the proxy is coarser than any lens error)."""
    if not cameras:
        raise ValueError("need at least one camera")
    size = (int(cameras[0].height), int(cameras[0].width))
    Ks, Rs, ts, ortho = [], [], [], []
    for cam in cameras:
        if (int(cam.height), int(cam.width)) != size:
            raise ValueError("all cameras of a batch must share one image size")
        if isinstance(cam, OrthoCamera):
            Ks.append([[cam.scale, 0.0, cam.offset[0]], [0.0, cam.scale, cam.offset[1]], [0.0, 0.0, 1.0]])
            Rs.append(np.diag([1.0, -1.0, -1.0]))  # camera x = X, y (down) = −Y, z (forward) = −Z
            ts.append(np.zeros(3))
            ortho.append(True)
        else:
            if abs(cam.K[0, 1]) > 1e-9:
                raise ValueError("the proxy ray caster needs a camera without skew")
            Ks.append(cam.K)
            Rs.append(cam.R)
            ts.append(cam.t)
            ortho.append(False)
    f32 = torch.float32
    return RayCameras(
        torch.tensor(np.array(Ks), dtype=f32),
        torch.tensor(np.array(Rs), dtype=f32),
        torch.tensor(np.array(ts), dtype=f32),
        torch.tensor(ortho),
        *size,
    )


# --- the proxy from joints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Primitives:
    """A batch of bodies made of ``P`` ellipsoidal capsules (world frame, the joints' units).

    ``centre (B, P, 3)``, ``rot (B, P, 3, 3)`` (columns = local axes in world), ``radii (B, P, 3)``,
    ``half (B, P)`` (segment half-length), ``enabled (B, P)`` bool. float32 tensors.
    """

    centre: torch.Tensor
    rot: torch.Tensor
    radii: torch.Tensor
    half: torch.Tensor
    enabled: torch.Tensor

    def __len__(self) -> int:
        return self.centre.shape[0]


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
def _proxy_arrays(joints3d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The body proxies of a batch ``(B, 18, 3)`` float64 as numpy arrays ``(centre (B, P, 3), rot (B, P, 3, 3),
    radii (B, P, 3), half (B, P), enabled (B, P))`` in ``PROXY_PARTS`` order; a part that is off keeps the
    neutral values (centre 0, identity rotation, radii 1, half 0).

    Every part is computed for the whole batch at once (numpy over the batch axis), with an ``on`` mask of the
    bodies whose joints it could use; bodies without a scale or a torso frame get no part at all. The frames
    of the 13 parts that follow a bone are built together at the end, in one call."""
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
    on, centre, radii, half = [None] * P, [None] * P, [None] * P, [None] * P
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

    enabled = np.stack(on, 1) & body[:, None]  # (B, P)
    rot = np.empty((B, P, 3, 3))
    for k, a in axes.items():
        rot[:, k] = a
    along = sorted(bones)
    rot[:, along] = _frame(np.stack([bones[k] for k in along], 1), left[:, None])
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
    return tuple(a[0] for a in _proxy_arrays(j[None]))  # type: ignore[return-value]


def build_proxy(joints3d: np.ndarray | Sequence[np.ndarray]) -> Primitives:
    """The body proxies of a batch of poses ``(B, 18, 3)`` (or one ``(18, 3)``; any unit, NaN = missing joint)
    as ``Primitives``, the whole batch at once."""
    return primitives_from_arrays(*_proxy_arrays(_joints_batch(joints3d)))


def primitives_from_arrays(centre, rot, radii, half, enabled) -> Primitives:
    """``Primitives`` from numpy/torch arrays ``(B, P, 3)``, ``(B, P, 3, 3)``, ``(B, P, 3)``, ``(B, P)``,
    ``(B, P)`` — e.g. the renderer's exact bodies (``body.PosedBody`` fields stacked)."""
    f32 = torch.float32
    return Primitives(
        torch.as_tensor(np.asarray(centre), dtype=f32),
        torch.as_tensor(np.asarray(rot), dtype=f32),
        torch.as_tensor(np.asarray(radii), dtype=f32),
        torch.as_tensor(np.asarray(half), dtype=f32),
        torch.as_tensor(np.asarray(enabled), dtype=torch.bool),
    )


# --- ray casting ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Posed:
    """Primitives in one camera's frame: ``M`` camera→normalised local ``(B, P, 3, 3)``, its inverse
    ``Minv``, ``centre (B, P, 3)``, normalised half-length ``h (B, P)``, ``enabled (B, P)``."""

    M: torch.Tensor
    Minv: torch.Tensor
    centre: torch.Tensor
    h: torch.Tensor
    enabled: torch.Tensor


def _in_camera(prims: Primitives, cams: RayCameras) -> _Posed:
    rot_c = cams.R[:, None] @ prims.rot  # (B, P, 3, 3): local axes in the camera frame
    centre_c = (cams.R[:, None] @ prims.centre[..., None])[..., 0] + cams.t[:, None]
    r = prims.radii.clamp_min(1e-9)
    M = rot_c.transpose(2, 3) / r[..., None]
    Minv = rot_c * r[:, :, None, :]
    return _Posed(M, Minv, centre_c, prims.half / r[..., 1], prims.enabled & (prims.radii > 0).all(-1))


def _ray_origin_z(posed: _Posed, ortho: torch.Tensor) -> torch.Tensor:
    """Start of the rays along z ``(B,)``: 0 (the centre) for a pinhole, in front of every part otherwise."""
    extent = (posed.h + 1.0) * posed.Minv.abs().sum(-1).amax(-1)  # a bound on each part's reach
    front = (posed.centre[..., 2] - extent).masked_fill(~posed.enabled, float("inf")).amin(1)
    front = torch.where(torch.isfinite(front), front, torch.zeros_like(front))
    return torch.where(ortho, front - 1.0 - extent.amax(1), torch.zeros_like(front))


def _capsule_t(o: list[torch.Tensor], d: list[torch.Tensor], h: torch.Tensor) -> torch.Tensor:
    """Ray parameter of the first hit with the unit capsule around the y segment ``[−h, h]`` (inf = miss);
    ``o``/``d``: the three components of ray origins and directions in its normalised local frame."""
    # Infinite cylinder x² + z² = 1, nearest root; a ray that misses it misses the capsule.
    a = d[0] * d[0] + d[2] * d[2]
    bq = o[0] * d[0] + o[2] * d[2]
    cc = o[0] * o[0] + o[2] * o[2] - 1.0
    disc = bq * bq - a * cc
    t = (-bq - disc.clamp_min(0).sqrt()) / a.clamp_min(1e-12)
    y = o[1] + t * d[1]
    # Outside the segment: the sphere at the nearer end of the segment.
    ocy = o[1] - torch.minimum(torch.maximum(y, -h), h)
    bs = bq + ocy * d[1]
    cs = cc + ocy * ocy
    dd = a + d[1] * d[1]
    ds = bs * bs - dd * cs
    ts = (-bs - ds.clamp_min(0).sqrt()) / dd
    inf = torch.full_like(t, float("inf"))
    t = torch.where(y.abs() <= h, t, torch.where(ds > 0, ts, inf))
    return torch.where((disc > 0) & (t > 0), t, inf)


def _screen_boxes(posed: _Posed, cams: RayCameras) -> torch.Tensor:
    """Pixel boxes ``(B, P, 4)`` int64 ``(x0, x1, y0, y1)`` (end-exclusive) that hold each part's image: the
    projections of the 8 corners of its local bounding box (the whole image if a corner is behind a pinhole)."""
    signs = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=torch.float32)
    ext = torch.stack([torch.ones_like(posed.h), 1.0 + posed.h, torch.ones_like(posed.h)], -1)  # (B, P, 3)
    corners = posed.centre[:, :, None] + ((signs * ext[:, :, None]) @ posed.Minv.transpose(2, 3))  # (B, P, 8, 3)
    ortho = cams.ortho[:, None, None]
    z = torch.where(ortho, torch.ones_like(corners[..., 2]), corners[..., 2].clamp_min(1e-6))
    px = cams.K[:, 0, 0, None, None] * corners[..., 0] / z + cams.K[:, 0, 2, None, None]
    py = cams.K[:, 1, 1, None, None] * corners[..., 1] / z + cams.K[:, 1, 2, None, None]
    behind = ~cams.ortho[:, None] & (corners[..., 2] < 1e-3).any(-1)
    W, H = cams.width, cams.height
    # Pixel j covers [j − 0.5, j + 0.5): the box holds every pixel centre that a projected corner hull can reach.
    x0 = torch.where(behind, 0, (px.amin(-1) - 0.5).ceil().clamp(0, W).long())
    x1 = torch.where(behind, W, (px.amax(-1) + 0.5).floor().clamp(-1, W - 1).long() + 1)
    y0 = torch.where(behind, 0, (py.amin(-1) - 0.5).ceil().clamp(0, H).long())
    y1 = torch.where(behind, H, (py.amax(-1) + 0.5).floor().clamp(-1, H - 1).long() + 1)
    return torch.stack([x0, x1, y0, y1], -1)


@dataclass(frozen=True)
class SurfaceHits:
    """What a camera's pixel rays hit: ``depth (B, N)`` camera-frame z (inf = background), ``part (B, N)``
    int64 (−1 = background), ``local (B, N, 3)`` the hit in its part's normalised local frame (0 on
    misses). ``N = H·W`` in row-major pixel order."""

    depth: torch.Tensor
    part: torch.Tensor
    local: torch.Tensor


def _cast_dense(posed: _Posed, cams: RayCameras, z0: torch.Tensor) -> SurfaceHits:
    """``cast_view`` the plain way: every pixel against every part in one go ``(B, P, N)``. About 10× slower
    than ``_cast_packed`` even for one view; kept as the reference the tests check the packed cast against."""
    H, W = cams.height, cams.width
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    px = (xs.reshape(1, -1) - cams.K[:, 0, 2, None]) / cams.K[:, 0, 0, None]  # (B, N)
    py = (ys.reshape(1, -1) - cams.K[:, 1, 2, None]) / cams.K[:, 1, 1, None]
    ortho = cams.ortho.float()[:, None, None]
    px, py = px[:, None], py[:, None]  # (B, 1, N)
    m, c = posed.M[..., None], posed.centre[..., None]  # (B, P, 3, 3, 1), (B, P, 3, 1)
    rel = [ortho * px - c[:, :, 0], ortho * py - c[:, :, 1], z0[:, None, None] - c[:, :, 2]]
    o = [m[:, :, i, 0] * rel[0] + m[:, :, i, 1] * rel[1] + m[:, :, i, 2] * rel[2] for i in range(3)]
    d = [m[:, :, i, 0] * (1 - ortho) * px + m[:, :, i, 1] * (1 - ortho) * py + m[:, :, i, 2] for i in range(3)]
    t = _capsule_t(o, d, posed.h[..., None])
    t = torch.where(posed.enabled[..., None], t, torch.full_like(t, float("inf")))
    t_min, part = t.min(dim=1)  # (B, N)
    hit = torch.isfinite(t_min)
    k = part[:, None]
    local = torch.stack(
        [
            torch.gather(oi.expand_as(t), 1, k)[:, 0] + t_min * torch.gather(di.expand_as(t), 1, k)[:, 0]
            for oi, di in zip(o, d, strict=True)
        ],
        dim=-1,
    )
    depth = t_min + torch.where(cams.ortho, z0, torch.zeros_like(z0))[:, None]
    return SurfaceHits(
        torch.where(hit, depth, torch.full_like(depth, float("inf"))),
        torch.where(hit, part, torch.full_like(part, -1)),
        torch.where(hit[..., None], local, torch.zeros_like(local)),
    )


def _box_rays(boxes: torch.Tensor, on: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pixel of every live screen box, packed into one flat list of rays: for ``boxes (B, P, 4)`` and
    ``on (B, P)`` bool, each ray's box (flat index ``b·P + k``) and its pixel column and row, all ``(R,)``
    int64, ``R`` = the live boxes' total area; the rays of one box are contiguous, row-major."""
    x0, x1, y0, y1 = boxes.reshape(-1, 4).T.contiguous()
    w = (x1 - x0).clamp_min(0)
    area = torch.where(on.reshape(-1), w * (y1 - y0).clamp_min(0), torch.zeros_like(w))
    box = torch.repeat_interleave(torch.arange(len(area)), area)  # (R,)
    # index_select: several times faster than x[index] on CPU.
    i = torch.arange(len(box)) - (area.cumsum(0) - area).index_select(0, box)  # the ray's place in its box
    wb = w.index_select(0, box)
    row = torch.div(i, wb, rounding_mode="floor")
    return box, x0.index_select(0, box) + (i - row * wb), y0.index_select(0, box) + row


def _cast_packed(posed: _Posed, cams: RayCameras, z0: torch.Tensor, surface: bool = True) -> SurfaceHits:
    """``cast_view`` for batches: each part is tested only against the pixels of its own screen box (about 3 %
    of the image per part), all boxes of all bodies packed into one flat list of rays; a z-buffer
    (``scatter_reduce`` min) keeps the nearest part, the lowest part id on ties. ``surface=False``: the depth
    map only (``part`` stays −1 and ``local`` 0)."""
    B, P = posed.h.shape
    H, W = cams.height, cams.width
    box, x, y = _box_rays(_screen_boxes(posed, cams), posed.enabled)
    depth = torch.full((B * H * W,), float("inf"))
    if len(box) == 0 or not surface:
        part, local = torch.full((B * H * W,), -1, dtype=torch.int64), torch.zeros(B * H * W, 3)
    if len(box) == 0:
        return SurfaceHits(depth.view(B, H * W), part.view(B, H * W), local.view(B, H * W, 3))
    # Rays: pinhole from the origin along (px, py, 1); orthographic from (px, py, z0) along (0, 0, 1); in the
    # part's normalised frame o = M·(origin − centre), d = M·direction. Everything a ray needs is one column
    # per (body, part) of a table (F, B·P), gathered once per ray into (F, R).
    m, c = posed.M, posed.centre
    cam = torch.stack([cams.K[:, 0, 2], cams.K[:, 0, 0], cams.K[:, 1, 2], cams.K[:, 1, 1]], -1)[:, None].expand(B, P, 4)
    pinhole = not bool(cams.ortho.any())
    if pinhole:  # every ray starts at the camera centre: o is one vector per (body, part), not one per ray
        rel = [-c[..., 0], -c[..., 1], z0[:, None] - c[..., 2]]
        c = torch.stack([m[..., i, 0] * rel[0] + m[..., i, 1] * rel[1] + m[..., i, 2] * rel[2] for i in range(3)], -1)
        columns = [m.reshape(B, P, 9), c, posed.h[..., None], cam]
    else:
        offset = torch.where(cams.ortho, z0, torch.zeros_like(z0))  # ray parameter → depth
        per_body = torch.stack([cams.ortho.float(), z0, offset], -1)[:, None].expand(B, P, 3)
        columns = [m.reshape(B, P, 9), c, posed.h[..., None], cam, per_body]
    f = torch.cat(columns, -1).view(B * P, -1).T.contiguous().index_select(1, box)  # (F, R)
    m, c, h, (cx, fx, cy, fy) = f[:9].view(3, 3, -1), f[9:12], f[12], f[13:17]
    px, py = (x.float() - cx) / fx, (y.float() - cy) / fy
    if pinhole:
        o, dx, dy = list(c), px, py
    else:
        ortho, z_start, z_offset = f[17:]
        rel = [ortho * px - c[0], ortho * py - c[1], z_start - c[2]]
        o = [m[i, 0] * rel[0] + m[i, 1] * rel[1] + m[i, 2] * rel[2] for i in range(3)]
        dx, dy = (1 - ortho) * px, (1 - ortho) * py
    d = [m[i, 0] * dx + m[i, 1] * dy + m[i, 2] for i in range(3)]
    t = _capsule_t(o, d, h)  # never NaN: a miss is inf
    z = t if pinhole else t + z_offset  # depth of the hit
    b = torch.div(box, P, rounding_mode="floor")
    pix = b * (H * W) + y * W + x
    depth.scatter_reduce_(0, pix, z, "amin")
    if not surface:
        return SurfaceHits(depth.view(B, H * W), part.view(B, H * W), local.view(B, H * W, 3))
    # The part at each pixel: the lowest part id among the rays that reach the pixel's depth.
    k = box - b * P
    at_depth = (z == depth.index_select(0, pix)) & torch.isfinite(z)
    part = torch.full((B * H * W,), P, dtype=torch.int64)
    part.scatter_reduce_(0, pix, torch.where(at_depth, k, torch.full_like(k, P)), "amin")
    win = torch.nonzero(at_depth & (k == part.index_select(0, pix))).squeeze(1)  # one ray per covered pixel
    part.masked_fill_(part == P, -1)
    t = t.index_select(0, win)
    local = torch.zeros(B * H * W, 3)
    local.index_copy_(
        0,
        pix.index_select(0, win),
        torch.stack([o[i].index_select(0, win) + t * d[i].index_select(0, win) for i in range(3)], -1),
    )
    return SurfaceHits(depth.view(B, H * W), part.view(B, H * W), local.view(B, H * W, 3))


# Pixels cast in one go. Larger batches go in slices of bodies: the packed ray arrays then stay around 0.2 MB
# each, which the caches and the allocator handle much better than a few MB (about 10 % faster at batch 64).
_CHUNK_PIXELS = 16 * 128 * 64


def _rows(batch, s: slice):
    """Bodies ``s`` of a batch dataclass (``Primitives``, ``RayCameras``): tensor fields sliced, sizes kept."""
    return type(batch)(
        **{f.name: (v[s] if isinstance(v := getattr(batch, f.name), torch.Tensor) else v) for f in fields(batch)}
    )


def _slices(batch: int, pixels: int) -> list[slice]:
    step = max(1, _CHUNK_PIXELS // pixels)
    return [slice(i, i + step) for i in range(0, batch, step)]


def _cast(prims: Primitives, cams: RayCameras, surface: bool = True) -> SurfaceHits:
    if len(prims) != len(cams):
        raise ValueError(f"{len(prims)} bodies but {len(cams)} cameras")
    if len(chunks := _slices(len(prims), cams.height * cams.width)) > 1:
        hits = [_cast(_rows(prims, s), _rows(cams, s), surface) for s in chunks]
        return SurfaceHits(*(torch.cat([getattr(h, f.name) for h in hits]) for f in fields(SurfaceHits)))
    posed = _in_camera(prims, cams)
    return _cast_packed(posed, cams, _ray_origin_z(posed, cams.ortho), surface)


def cast_view(prims: Primitives, cams: RayCameras) -> SurfaceHits:
    """Ray-cast ``prims`` (world frame) through every pixel centre of ``cams`` (one camera per body).

    Each part is tested only against the pixels of its screen box (``_cast_packed``): about 30× fewer ray
    tests than every pixel against every part (``_cast_dense``, the plain version the tests compare with)."""
    return _cast(prims, cams)


def project(cams: RayCameras, points: torch.Tensor) -> torch.Tensor:
    """Camera-frame points ``(B, N, 3)`` → pixels ``(B, N, 2)`` (x, y) (orthographic: no division by z)."""
    z = torch.where(cams.ortho[:, None], torch.ones_like(points[..., 2]), points[..., 2].clamp_min(1e-9))
    x = cams.K[:, 0, 0, None] * points[..., 0] / z + cams.K[:, 0, 2, None]
    y = cams.K[:, 1, 1, None] * points[..., 1] / z + cams.K[:, 1, 2, None]
    return torch.stack([x, y], -1)


@dataclass(frozen=True)
class Correspondence:
    """Target→source correspondence of a batch (``H × W`` target pixels, row-major):

    * ``source_xy (B, H, W, 2)``: where each target pixel's surface point appears in the source image
      (pixels, x right, y down; 0 on the background);
    * ``visibility (B, H, W)`` bool: the point is on the body, the source camera sees it (no other proxy
      surface in front of it) and it falls inside the source image;
    * ``part (B, H, W)`` int64: the proxy part seen at the pixel (``PROXY_PARTS``), −1 = background;
    * ``depth (B, H, W)``: the target camera's depth of the surface (inf on the background);
    * ``surface (B, H, W, 3)`` float32: where on its part the surface point lies, ``(across, along, outward)``
      in the part's normalised local frame — ``across`` and ``outward`` in [−1, 1] round the bone (x towards
      the body's left, z to the front for the torso), ``along`` in [−1, 1] from the bone's start to its end
      (the chest: hips to neck) — 0 on the background. The same body point has the same coordinates in
      every view: what a texture would be indexed by;
    * ``source_silhouette (B, h, w)`` bool: where the proxy covers the *source* view (its ``h × w`` pixels).
    """

    source_xy: torch.Tensor
    visibility: torch.Tensor
    part: torch.Tensor
    depth: torch.Tensor
    surface: torch.Tensor
    source_silhouette: torch.Tensor


def correspond(
    source: Primitives,
    target: Primitives,
    source_cams: RayCameras,
    target_cams: RayCameras,
    tolerance: float = 0.02,
) -> Correspondence:
    """Where every target pixel's proxy surface point lies in the source view, and whether it was seen there.

    ``source`` and ``target`` are the proxies of the two views' poses (the same for a pure viewpoint change;
    different poses work too: a point keeps its coordinates in its part's local frame, the segment stretched
    to the part's length in the other pose). ``tolerance``: how far (as a fraction of the body's scale, ~1.75
    m) the first surface on the source ray may lie in front of the point and still count as the point itself.
    """
    if len(source) != len(target) or len(source) != len(source_cams) or len(target) != len(target_cams):
        raise ValueError("source, target and both camera batches must have the same length")
    if source.centre.shape[1] != target.centre.shape[1]:
        raise ValueError("source and target proxies must have the same parts")
    B, P, H, W = len(target), target.centre.shape[1], target_cams.height, target_cams.width
    if len(chunks := _slices(B, H * W)) > 1:
        parts = [
            correspond(_rows(source, s), _rows(target, s), _rows(source_cams, s), _rows(target_cams, s), tolerance)
            for s in chunks
        ]
        return Correspondence(*(torch.cat([getattr(c, f.name) for c in parts]) for f in fields(Correspondence)))
    hits = _cast(target, target_cams)
    src = _in_camera(source, source_cams)
    # Only the target's body pixels need the source view: their flat indices into (B·H·W,), picked once.
    # (index_select rather than x[index]: several times faster on CPU.)
    on = torch.nonzero(hits.part.view(-1) >= 0).squeeze(1)  # (n,)
    body = torch.div(on, H * W, rounding_mode="floor")
    bk = body * P + hits.part.view(-1).index_select(0, on)  # (n,) flat (body, part) index
    local = hits.local.view(-1, 3).index_select(0, on)  # (n, 3)
    # Stretch along the bone when the two poses' segments differ in length (the identity if they are alike).
    tgt_h = target.half / target.radii[..., 1].clamp_min(1e-9)
    per_part = torch.cat([src.Minv.reshape(B, P, 9), src.centre, src.h[..., None] + 1.0, tgt_h[..., None] + 1.0], -1)
    f = per_part.view(B * P, -1).T.contiguous().index_select(1, bk)  # (14, n)
    m, c, src_len, tgt_len = f[:9], f[9:12], f[12], f[13]
    ly = local[:, 1] * src_len / tgt_len
    p_src = [m[3 * i] * local[:, 0] + m[3 * i + 1] * ly + m[3 * i + 2] * local[:, 2] + c[i] for i in range(3)]
    scale = source.radii[..., 1].amax(1) / 0.11  # the head's (and pelvis') ry is 0.11 · scale
    cam = torch.stack([source_cams.K[:, 0, 0], source_cams.K[:, 0, 2], source_cams.K[:, 1, 1], source_cams.K[:, 1, 2],
                       source_cams.ortho.float(), scale], 0).index_select(1, body)  # fmt: skip
    fx, cx, fy, cy, scale = cam[0], cam[1], cam[2], cam[3], cam[5]
    ortho = cam[4] > 0
    z = torch.where(ortho, torch.ones_like(p_src[2]), p_src[2].clamp_min(1e-9))
    xy = torch.stack([fx * p_src[0] / z + cx, fy * p_src[1] / z + cy], -1)  # (n, 2) source pixels
    # Visibility, as in shadow mapping: the source view's own depth map must not hold anything in front of
    # the point at the pixel it projects to.
    h, w = source_cams.height, source_cams.width
    depth_map = _cast(source, source_cams, surface=False).depth.reshape(-1)  # (B·h·w,)
    inside = (xy[:, 0] >= -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] < h - 0.5)
    inside &= torch.isfinite(xy).all(-1)
    col = xy[:, 0].nan_to_num(0).round().clamp(0, w - 1).long()
    row = xy[:, 1].nan_to_num(0).round().clamp(0, h - 1).long()
    seen_depth = depth_map.index_select(0, body * (h * w) + row * w + col)
    seen = p_src[2] <= seen_depth + tolerance * scale
    in_front = ortho | (p_src[2] > 1e-6)
    visible = torch.zeros(B * H * W, dtype=torch.bool)
    visible.index_copy_(0, on, seen & inside & in_front)
    source_xy = torch.zeros(B * H * W, 2)
    source_xy.index_copy_(0, on, torch.where(torch.isfinite(xy), xy, torch.zeros_like(xy)))
    # The segment's half-length plus the end cap's radius is 1 + h in normalised units: along ∈ [−1, 1].
    surface = torch.zeros(B * H * W, 3)
    surface.index_copy_(0, on, torch.stack([local[:, 0], local[:, 1] / tgt_len, local[:, 2]], -1).clamp(-1.0, 1.0))
    return Correspondence(
        source_xy.view(B, H, W, 2),
        visible.view(B, H, W),
        hits.part.view(B, H, W),
        hits.depth.view(B, H, W),
        surface.view(B, H, W, 3),
        torch.isfinite(depth_map).view(B, h, w),
    )


def part_regions(part: torch.Tensor) -> torch.Tensor:
    """Part ids (proxy or renderer, −1 = background) → region ids of ``REGION_NAMES`` (0 = background),
    same shape, int64."""
    table = torch.tensor((0, *PART_REGION), dtype=torch.int64, device=part.device)
    return table[(part.long() + 1).clamp(0, len(PART_REGION))]
