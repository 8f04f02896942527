"""Body poses as joint angles within human limits, and a sampler of everyday poses.

A ``Pose`` holds angles in **degrees**; ``body.pose_body`` turns it into 3D joints and body primitives.
Conventions (the person stands facing +z, y up, their left towards +x):

* shoulder ``flex`` raises the arm forwards, ``abd`` raises it sideways, ``twist`` turns it about its own
  axis (positive = outwards, so a bent forearm of an arm held out sideways points up), ``elbow`` bends it;
* hip ``flex`` swings the leg forwards, ``abd`` sideways, ``knee`` bends the shank backwards;
* ``lean`` bends the torso forwards, ``side`` sideways, ``twist`` turns the shoulders; ``head_yaw`` turns the
  head to its left, ``head_nod`` tilts it down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

# (low, high) in degrees: roughly the active range of motion of an adult.
LIMITS: dict[str, tuple[float, float]] = {
    "lean": (-10.0, 25.0), "side": (-12.0, 12.0), "twist": (-30.0, 30.0),
    "head_yaw": (-45.0, 45.0), "head_nod": (-20.0, 30.0),
    "r_flex": (-40.0, 175.0), "l_flex": (-40.0, 175.0),
    "r_abd": (0.0, 175.0), "l_abd": (0.0, 175.0),
    "r_twist": (-60.0, 90.0), "l_twist": (-60.0, 90.0),
    "r_elbow": (0.0, 145.0), "l_elbow": (0.0, 145.0),
    "r_hip_flex": (-25.0, 100.0), "l_hip_flex": (-25.0, 100.0),
    "r_hip_abd": (-8.0, 40.0), "l_hip_abd": (-8.0, 40.0),
    "r_knee": (0.0, 130.0), "l_knee": (0.0, 130.0),
}  # fmt: skip

POSE_KINDS: tuple[str, ...] = ("standing", "walking", "arms_raised", "reaching", "waving", "arms_out")


@dataclass(frozen=True)
class Pose:
    """Joint angles in degrees (see the module docstring for their meaning); all zero = standing, arms down."""

    lean: float = 0.0
    side: float = 0.0
    twist: float = 0.0
    head_yaw: float = 0.0
    head_nod: float = 0.0
    r_flex: float = 0.0
    l_flex: float = 0.0
    r_abd: float = 5.0
    l_abd: float = 5.0
    r_twist: float = 0.0
    l_twist: float = 0.0
    r_elbow: float = 5.0
    l_elbow: float = 5.0
    r_hip_flex: float = 0.0
    l_hip_flex: float = 0.0
    r_hip_abd: float = 2.0
    l_hip_abd: float = 2.0
    r_knee: float = 0.0
    l_knee: float = 0.0
    kind: str = "standing"

    def check(self) -> Pose:
        """Raise ``ValueError`` if an angle is not finite or outside ``LIMITS``; return ``self``."""
        for f in fields(self):
            if f.name == "kind":
                continue
            value = getattr(self, f.name)
            lo, hi = LIMITS[f.name]
            if not math.isfinite(value) or not lo - 1e-6 <= value <= hi + 1e-6:
                raise ValueError(f"pose angle {f.name}={value} is outside the human range [{lo}, {hi}] degrees")
        return self

    def clipped(self) -> Pose:
        """This pose with every angle clipped into ``LIMITS``."""
        return replace(self, **{k: min(max(float(getattr(self, k)), lo), hi) for k, (lo, hi) in LIMITS.items()})


def sample_pose(rng: np.random.Generator, kind: str | None = None) -> Pose:
    """Draw an everyday pose of ``kind`` (one of ``POSE_KINDS``; random when None), clipped to ``LIMITS``."""
    if kind is None:
        kind = str(rng.choice(POSE_KINDS, p=[0.22, 0.30, 0.12, 0.14, 0.12, 0.10]))
    if kind not in POSE_KINDS:
        raise ValueError(f"unknown pose kind {kind!r}; expected one of {POSE_KINDS}")
    u = rng.uniform

    def jitter(scale: float) -> float:
        return float(rng.normal(0.0, scale))

    a: dict[str, float] = {
        "lean": u(-3, 8),
        "side": jitter(3),
        "twist": jitter(6),
        "head_yaw": jitter(15),
        "head_nod": u(-8, 12),
        "r_flex": jitter(8),
        "l_flex": jitter(8),
        "r_abd": u(3, 18),
        "l_abd": u(3, 18),
        "r_twist": jitter(10),
        "l_twist": jitter(10),
        "r_elbow": u(3, 25),
        "l_elbow": u(3, 25),
        "r_hip_flex": jitter(4),
        "l_hip_flex": jitter(4),
        "r_hip_abd": u(0, 8),
        "l_hip_abd": u(0, 8),
        "r_knee": u(0, 8),
        "l_knee": u(0, 8),
    }
    right, left = ("r", "l") if rng.random() < 0.5 else ("l", "r")  # which arm does the one-armed actions
    if kind == "walking":
        swing = u(15, 32)
        phase = np.sin(u(0, 2 * np.pi))
        a["r_hip_flex"], a["l_hip_flex"] = swing * phase, -swing * phase
        # the leg behind bends its knee as it pushes off
        a["r_knee"] = u(5, 15) + max(0.0, -swing * phase) * u(0.6, 1.4)
        a["l_knee"] = u(5, 15) + max(0.0, swing * phase) * u(0.6, 1.4)
        a["r_flex"], a["l_flex"] = -0.9 * a["r_hip_flex"] + jitter(5), -0.9 * a["l_hip_flex"] + jitter(5)
        a["r_elbow"], a["l_elbow"] = u(10, 45), u(10, 45)
    elif kind == "arms_raised":
        for side in ("r", "l") if rng.random() < 0.6 else (right,):
            a[f"{side}_abd"] = u(120, 170)
            a[f"{side}_flex"] = u(0, 30)
            a[f"{side}_elbow"] = u(0, 40)
    elif kind == "reaching":
        a[f"{right}_flex"] = u(60, 110)
        a[f"{right}_abd"] = u(0, 35)
        a[f"{right}_elbow"] = u(0, 30)
        a["lean"] = u(0, 20)
        a[f"{right[0]}_hip_flex"] = u(-5, 25)
    elif kind == "waving":
        a[f"{right}_abd"] = u(70, 110)
        a[f"{right}_twist"] = u(60, 90)
        a[f"{right}_elbow"] = u(60, 120)
    elif kind == "arms_out":
        a["r_abd"], a["l_abd"] = u(70, 100), u(70, 100)
        a["r_flex"], a["l_flex"] = u(-10, 30), u(-10, 30)
        a["r_elbow"], a["l_elbow"] = u(0, 30), u(0, 30)
    return Pose(**{k: float(v) for k, v in a.items()}, kind=kind).clipped()
