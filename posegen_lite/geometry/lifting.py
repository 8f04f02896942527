"""Closed-form 2D → 3D lifting of one person (Taylor 2000), for datasets that only have 2D keypoints.

C. J. Taylor, CVPR 2000. Under a **scaled orthographic camera** (scale s) a bone of length L whose 2D length
is l has relative depth ``dz = ±sqrt(L² − (l / s)²)``. s is the second largest ratio l / L over the long,
reliably annotated ``SCALE_BONES`` (``estimate_scale``); a bone longer than its prior (``BONE_LENGTHS`` or
your own) gets dz = 0. Depth signs, the documented rule, one sign per bone in the body's frame (``forward =
up × right``, ``right`` from the left to the right shoulder, else hip): 1. the shoulders face the way the
nose points from the eyes/ears (no face cue: right shoulder towards the camera), the hips turn with them;
2. the nose is in front of the neck, eyes in front of ears; 3. upper arms and thighs swing forward; 4. elbows
and knees bend the natural way; 5. ties: left/right parts stay on their own side, a straight forearm or shin
continues its upper segment, else the child goes **towards the camera** (dz ≥ 0). The rule in full, with
its reasons: docs/architecture.md, "Conventions".

Output frame, camera-aligned: **x right, y up, z towards the camera** (right-handed), metres, hip centre at
the origin; missing joints (and joints whose chain to the neck is broken) are NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posegen_lite.geometry.skeleton import JOINT_INDEX, JOINT_NAMES, LIMBS, NUM_JOINTS, check_keypoints, hip_centre

# Typical adult bone lengths in metres (≈1.7 m tall), one per ``skeleton.LIMBS`` entry, in that order.
BONE_LENGTHS: tuple[float, ...] = (
    0.18, 0.29, 0.25,      # neck→r_shoulder, r_shoulder→r_elbow, r_elbow→r_wrist
    0.18, 0.29, 0.25,      # the same on the left
    0.53, 0.43, 0.42,      # neck→r_hip, r_hip→r_knee, r_knee→r_ankle
    0.53, 0.43, 0.42,      # the same on the left
    0.16,                  # neck→nose
    0.057, 0.10,           # nose→l_eye, l_eye→l_ear
    0.057, 0.10,           # nose→r_eye, r_eye→r_ear
)  # fmt: skip
assert len(BONE_LENGTHS) == len(LIMBS)

_J = JOINT_INDEX
# Long bones whose endpoints annotators place reliably: these set the scale (see module docstring).
SCALE_BONES: tuple[tuple[int, int], ...] = tuple(
    (a, b)
    for a, b in LIMBS
    if not ({a, b} & {_J["nose"], _J["l_eye"], _J["r_eye"], _J["l_ear"], _J["r_ear"]})
    and (a, b) not in ((_J["neck"], _J["r_shoulder"]), (_J["neck"], _J["l_shoulder"]))
)
_UPPER = {(_J["r_shoulder"], _J["r_elbow"]), (_J["l_shoulder"], _J["l_elbow"]),
          (_J["r_hip"], _J["r_knee"]), (_J["l_hip"], _J["l_knee"])}  # fmt: skip
_FOREARMS = {(_J["r_elbow"], _J["r_wrist"]), (_J["l_elbow"], _J["l_wrist"])}
_SHINS = {(_J["r_knee"], _J["r_ankle"]), (_J["l_knee"], _J["l_ankle"])}
_EYES = {(_J["nose"], _J["l_eye"]), (_J["nose"], _J["r_eye"])}
_EARS = {(_J["l_eye"], _J["l_ear"]), (_J["r_eye"], _J["r_ear"])}
_PARENT = {child: parent for parent, child in LIMBS}
_AMBIGUOUS = 1e-3  # metres² of score difference below which a rule cannot decide (→ towards the camera)
_FACE_CUE_MIN = 0.01  # metres: a smaller nose offset is no evidence of a facing direction


def bone_lengths(joints3d: np.ndarray) -> np.ndarray:
    """Bone lengths ``(len(LIMBS),)`` float64 in metres of a 3D pose ``(18, 3)`` (NaN where a joint is
    missing) — e.g. to lift with a known person's own proportions."""
    j = np.asarray(joints3d, dtype=np.float64)
    if j.shape != (NUM_JOINTS, 3):
        raise ValueError(f"3D joints must have shape ({NUM_JOINTS}, 3), got {j.shape}")
    a, b = np.array(LIMBS).T
    return np.linalg.norm(j[b] - j[a], axis=1)


def orthographic_projection(
    joints3d: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """The scaled orthographic camera of this module: ``x = s·X + ox``, ``y = −s·Y + oy`` (pixels, y down).

    Returns ``(xy (18, 2) float32, visible (18,) bool)`` with NaN for missing joints.
    """
    j = np.asarray(joints3d, dtype=np.float64)
    if j.shape != (NUM_JOINTS, 3):
        raise ValueError(f"3D joints must have shape ({NUM_JOINTS}, 3), got {j.shape}")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    xy = np.stack([scale * j[:, 0] + offset[0], -scale * j[:, 1] + offset[1]], axis=1).astype(np.float32)
    visible = np.asarray(np.isfinite(xy).all(axis=1))
    xy[~visible] = np.nan
    return xy, visible


def _lengths(bone_lengths_m: np.ndarray | None) -> np.ndarray:
    lengths = np.asarray(BONE_LENGTHS if bone_lengths_m is None else bone_lengths_m, dtype=np.float64)
    if lengths.shape != (len(LIMBS),):
        raise ValueError(f"bone lengths must have shape ({len(LIMBS)},), one per skeleton.LIMBS, got {lengths.shape}")
    if not (np.isfinite(lengths).all() and (lengths > 0).all()):
        raise ValueError("bone lengths must be positive and finite")
    return lengths


def estimate_scale(
    xy: np.ndarray, visible: np.ndarray | None = None, bone_lengths_m: np.ndarray | None = None
) -> float:
    """The orthographic scale s (pixels per metre) from the ratios l / L of the visible ``SCALE_BONES``.

    Taylor's bound is the largest ratio. We take the **second largest** when there are several: one bone
    that looks too long — annotation noise, perspective enlarging a bone near the camera, a limb longer than
    its prior — would otherwise shrink the whole pose and turn the shrinkage into false depth. Measured on
    the Panoptic fixture's three views (perspective, ~3 m): PA-MPJPE 11.6/10.9/14.5 cm with the largest,
    10.5/10.5/10.3 cm with the second largest. Raises ``ValueError`` when no scale bone is visible.
    """
    coords, vis = check_keypoints(xy, visible)
    lengths = _lengths(bone_lengths_m)
    ratios = [
        np.linalg.norm(coords[b] - coords[a]) / lengths[LIMBS.index((a, b))]
        for a, b in SCALE_BONES
        if vis[a] and vis[b]
    ]
    ratios = sorted(ratios, reverse=True)
    if not ratios or ratios[0] <= 0:
        raise ValueError("too few joints to lift: no limb or torso side has both ends visible")
    return float(ratios[1] if len(ratios) > 1 and ratios[1] > 0 else ratios[0])


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else None


def _pick(candidates: list[np.ndarray], *scores: Callable[[np.ndarray], float]) -> np.ndarray:
    """The candidate preferred by the first score that can tell the two apart (a higher score wins); the
    towards-the-camera candidate (first) when none can."""
    for score in scores:
        a, b = score(candidates[0]), score(candidates[1])
        if abs(a - b) >= _AMBIGUOUS:
            return candidates[0] if a > b else candidates[1]
    return candidates[0]


@dataclass
class _Lift:
    """The lift in progress: image-plane positions in metres and the joints placed so far."""

    uv: np.ndarray  # (18, 2) float64 metres, x right, y up (the neck stands in when missing)
    visible: np.ndarray  # (18,) bool
    lengths: np.ndarray  # (17,) bone lengths in metres, skeleton.LIMBS order
    root_visible: bool  # False: the neck is the shoulders' mid-point and is NaN in the answer
    out: np.ndarray  # (18, 3) float64 metres, camera-aligned; NaN until placed
    placed: np.ndarray  # (18,) bool

    def candidates(self, parent: int, child: int) -> list[np.ndarray]:
        """The child's two possible 3D positions (Taylor's ±dz from its placed parent), towards-the-camera
        first."""
        d = self.uv[child] - self.uv[parent]
        length = self.lengths[LIMBS.index((parent, child))]
        dz = np.sqrt(max(length**2 - float(d @ d), 0.0))
        z = self.out[parent, 2]
        return [np.array([*self.uv[child], z + dz]), np.array([*self.uv[child], z - dz])]

    def place(self, joint: int, position: np.ndarray) -> None:
        self.out[joint] = position
        self.placed[joint] = True


def _start(coords: np.ndarray, vis: np.ndarray, lengths: np.ndarray, scale: float) -> _Lift:
    """Keypoints in pixels → the image plane in metres (y up), with the root (the neck) placed at depth 0.
    Without the neck, the shoulders' mid-point stands in for it."""
    neck, r_sh, l_sh = _J["neck"], _J["r_shoulder"], _J["l_shoulder"]
    uv = np.stack([coords[:, 0], -coords[:, 1]], axis=1).astype(np.float64) / scale
    root_visible = bool(vis[neck])
    if not root_visible:
        if not (vis[r_sh] and vis[l_sh]):
            raise ValueError("too few joints to lift: need the neck or both shoulders")
        uv[neck] = (uv[r_sh] + uv[l_sh]) / 2
    lift = _Lift(uv, vis, lengths, root_visible, np.full((NUM_JOINTS, 3), np.nan), np.zeros(NUM_JOINTS, bool))
    lift.place(neck, np.array([*uv[neck], 0.0]))
    return lift


def _facing_sign(lift: _Lift) -> float:
    """Rule 1's face cue: +1 when the person faces image-right (or no cue), −1 when image-left — the nose lies
    in front of the eyes/ears (else the neck), so its horizontal offset from them points the way they face."""
    uv, vis, nose = lift.uv, lift.visible, _J["nose"]
    face = [i for i in (_J["l_eye"], _J["r_eye"], _J["l_ear"], _J["r_ear"]) if vis[i]]
    cue = 0.0
    if vis[nose]:
        ref = uv[face].mean(axis=0) if face else (uv[_J["neck"]] if lift.root_visible else None)
        if ref is not None and abs(uv[nose, 0] - ref[0]) > _FACE_CUE_MIN:
            cue = float(np.sign(uv[nose, 0] - ref[0]))
    return 1.0 if cue >= 0 else -1.0


def _place_torso(lift: _Lift, toward: float) -> None:
    """Rule 1: the shoulder line's sign from the facing direction, the hips turned like the shoulders.

    forward = up × right has x-component right_z: facing image-right (``toward`` = +1) means the right
    shoulder is nearer the camera."""
    neck, r_sh, l_sh, r_hip, l_hip = _J["neck"], _J["r_shoulder"], _J["l_shoulder"], _J["r_hip"], _J["l_hip"]
    if lift.visible[r_sh] and lift.visible[l_sh]:
        lift.place(r_sh, lift.candidates(neck, r_sh)[0 if toward > 0 else 1])
        lift.place(l_sh, lift.candidates(neck, l_sh)[1 if toward > 0 else 0])
    if not (lift.visible[r_hip] and lift.visible[l_hip]):
        return
    cr, cl = lift.candidates(neck, r_hip), lift.candidates(neck, l_hip)
    if lift.placed[r_sh]:
        shoulder_line = _unit(lift.out[r_sh] - lift.out[l_sh])

        # A torso does not twist by 90°: the hip line most parallel to the shoulders.
        def alignment(pair: tuple[np.ndarray, np.ndarray]) -> float:
            line = _unit(pair[0] - pair[1])
            return -np.inf if line is None else float(line @ shoulder_line)

        best = max([(a, b) for a in cr for b in cl], key=alignment)
    else:
        best = (cr[0], cl[1]) if toward > 0 else (cr[1], cl[0])
    lift.place(r_hip, best[0])
    lift.place(l_hip, best[1])


def _body_frame(lift: _Lift) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The body's ``right`` (left → right shoulder, else hip) and ``forward = up × right`` unit vectors;
    None where the torso is not placed."""
    right = None
    for a, b in ((_J["r_shoulder"], _J["l_shoulder"]), (_J["r_hip"], _J["l_hip"])):
        if lift.placed[a] and lift.placed[b]:
            right = _unit(lift.out[a] - lift.out[b])
            if right is not None:
                break
    forward = None if right is None else _unit(np.cross([0.0, 1.0, 0.0], right))
    return right, forward


def _choose_child(lift: _Lift, parent: int, child: int, right: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Rules 2–5 for one bone: which of the child's two candidates is plausible in the body frame."""
    cands = lift.candidates(parent, child)
    p = lift.out[parent]
    name = JOINT_NAMES[child]
    side = 1.0 if name.startswith("r_") else -1.0 if name.startswith("l_") else 0.0

    def outward(c: np.ndarray) -> float:  # a left/right part lies on its own side of its parent
        return side * float((c - p) @ right)

    if (parent, child) in _FOREARMS or (parent, child) in _SHINS:
        upper = p - lift.out[_PARENT[parent]]
        bend = 1.0 if (parent, child) in _FOREARMS else -1.0  # elbows flex forward, knees backward

        def flexion(c: np.ndarray) -> float:
            return bend * float(np.cross(upper, c - p) @ right)

        def straightness(c: np.ndarray) -> float:  # a straight limb: the straighter candidate
            return float((c - p) @ upper)

        return _pick(cands, flexion, straightness)
    # Eyes sit behind the nose and ears behind the eyes; the nose, upper arms, thighs (and a shoulder or hip
    # without its partner) sit in front of their parent.
    ahead = -1.0 if (parent, child) in _EYES or (parent, child) in _EARS else 1.0

    def in_front(c: np.ndarray) -> float:
        return ahead * float((c - p) @ forward)

    return _pick(cands, in_front, outward)


def _place_limbs(lift: _Lift, right: np.ndarray | None, forward: np.ndarray | None) -> None:
    """Walk the rest of the tree (``LIMBS`` lists parents before children); without a body frame every child
    goes towards the camera."""
    for parent, child in LIMBS:
        if lift.placed[child] or not lift.visible[child] or not lift.placed[parent]:
            continue
        if forward is None or right is None:
            lift.place(child, lift.candidates(parent, child)[0])
        else:
            lift.place(child, _choose_child(lift, parent, child, right, forward))


def lift_pose(
    xy: np.ndarray,
    visible: np.ndarray | None = None,
    bone_lengths_m: np.ndarray | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """Lift 2D keypoints to 3D with Taylor's closed form and the depth-sign rule of the module docstring.

    Args:
        xy, visible: ``(18, 2)`` keypoints (x, y) in pixels (y down) and ``(18,)`` bool visibility.
        bone_lengths_m: ``(17,)`` bone lengths in metres in ``skeleton.LIMBS`` order; default
            ``BONE_LENGTHS``.
        scale: pixels per metre of the orthographic camera; default ``estimate_scale``.
    Returns:
        ``(18, 3)`` float32 metres, camera-aligned (x right, y up, z towards the camera), hip centre at the
        origin, NaN for missing joints.
    Raises:
        ValueError: malformed keypoints, an all-missing pose, or too few joints (the neck — or both
        shoulders standing in for it — and at least one limb or torso side must be visible).
    """
    coords, vis = check_keypoints(xy, visible)
    if not vis.any():
        raise ValueError("cannot lift an all-missing pose")
    lengths = _lengths(bone_lengths_m)
    s = estimate_scale(coords, vis, lengths) if scale is None else float(scale)
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"scale must be positive, got {s}")

    lift = _start(coords, vis, lengths, s)
    _place_torso(lift, _facing_sign(lift))
    _place_limbs(lift, *_body_frame(lift))

    out = lift.out
    if not lift.root_visible:
        out[_J["neck"]] = np.nan
    out[~vis] = np.nan  # joints whose chain to the neck is broken were never placed: NaN already
    return (out - hip_centre(out)).astype(np.float32)


def _align_procrustes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` moved onto ``gt`` by the best similarity (rotation, uniform scale, translation; no reflection),
    Umeyama's closed form."""
    mu_p, mu_g = pred.mean(axis=0), gt.mean(axis=0)
    p, g = pred - mu_p, gt - mu_g
    u, sig, vt = np.linalg.svd(g.T @ p)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0  # keep a proper rotation
    rot = u @ np.diag(d) @ vt
    var = (p**2).sum()
    scale = (sig * d).sum() / var if var > 0 else 1.0
    return scale * p @ rot.T + mu_g


def mpjpe(pred: np.ndarray, gt: np.ndarray, align: str | None = "procrustes") -> float:
    """Mean per-joint position error (same units as the input) over joints present in both poses.

    Args:
        pred, gt: ``(18, 3)`` poses, NaN for missing joints.
        align: ``"procrustes"`` (best similarity transform of ``pred`` onto ``gt`` first — the usual
            PA-MPJPE, which removes the unknown global scale and rotation of a lift), ``"root"`` (both
            translated to their hip centres), or None (raw).
    Raises:
        ValueError: shape mismatch, unknown ``align``, or fewer common joints than the alignment needs.
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.shape != g.shape or p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"poses must both have shape (N, 3), got {p.shape} and {g.shape}")
    if align not in ("procrustes", "root", None):
        raise ValueError(f"align must be 'procrustes', 'root' or None, got {align!r}")
    common = np.isfinite(p).all(axis=1) & np.isfinite(g).all(axis=1)
    needed = 3 if align == "procrustes" else 1
    if common.sum() < needed:
        raise ValueError(f"need at least {needed} joints present in both poses, got {int(common.sum())}")
    if align == "root":
        p, g = p - hip_centre(p), g - hip_centre(g)
    p, g = p[common], g[common]
    if align == "procrustes":
        p = _align_procrustes(p, g)
    return float(np.linalg.norm(p - g, axis=1).mean())
