"""The procedural person: proportions and appearance (``Person``), and its posed body of primitives.

Every body part is one *ellipsoidal capsule*: a segment of half-length ``half`` (metres) along the part's
local y axis, swept by an ellipsoid with radii ``radii = (rx, ry, rz)``. ``half = 0`` gives an ellipsoid
(head, hands), equal radii a round capsule (limbs). In the part's normalised local frame
``p' = diag(1/radii) · rotᵀ · (p − centre)`` it is the unit-radius capsule around the y segment
``[−half/ry, +half/ry]`` — the renderer ray-casts that one shape for all parts.

Local axes of each part: x = the person's left, y = along the bone (from its first joint to its second;
up for torso and head), z = the person's front. The chest print and the face are drawn in these
coordinates (see ``render``), so the front and back of a person differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posegen_lite.data.synthetic.font import ALPHABET, text_bitmap
from posegen_lite.data.synthetic.poses import Pose
from posegen_lite.geometry.skeleton import JOINT_INDEX, NUM_JOINTS

# Part ids, in the order of the primitive arrays.
PART_NAMES: tuple[str, ...] = (
    "chest", "pelvis", "neck", "head",
    "r_upper_arm", "l_upper_arm", "r_forearm", "l_forearm", "r_hand", "l_hand",
    "r_thigh", "l_thigh", "r_shin", "l_shin", "r_foot", "l_foot", "hair",
)  # fmt: skip
PART = {name: i for i, name in enumerate(PART_NAMES)}
NUM_PARTS = len(PART_NAMES)

# Which parts each joint belongs to (used to decide whether a joint is hidden by *another* part).
JOINT_PARTS: tuple[tuple[int, ...], ...] = tuple(
    tuple(PART[p] for p in parts)
    for parts in (
        ("head",),
        ("chest", "neck", "r_upper_arm", "l_upper_arm"),
        ("chest", "r_upper_arm"),
        ("r_upper_arm", "r_forearm"),
        ("r_forearm", "r_hand"),
        ("chest", "l_upper_arm"),
        ("l_upper_arm", "l_forearm"),
        ("l_forearm", "l_hand"),
        ("pelvis", "r_thigh"),
        ("r_thigh", "r_shin"),
        ("r_shin", "r_foot"),
        ("pelvis", "l_thigh"),
        ("l_thigh", "l_shin"),
        ("l_shin", "l_foot"),
        ("head",),
        ("head",),
        ("head", "hair"),
        ("head", "hair"),
    )
)

BACK_PATTERNS = ("plain", "stripes", "yoke", "band")

# A few skin tones from light to dark; a person's tone is a random mix of two neighbours.
_SKIN = (
    np.array(
        [[250, 215, 190], [235, 190, 160], [210, 160, 120], [170, 115, 80], [120, 80, 55], [85, 55, 40]], np.float32
    )
    / 255.0
)
_HAIR = (
    np.array([[25, 20, 18], [70, 45, 30], [120, 80, 45], [200, 160, 90], [150, 60, 30], [160, 160, 160]], np.float32)
    / 255.0
)


@dataclass(frozen=True)
class Person:
    """A person's proportions and looks. Colours are RGB float32 in [0, 1].

    Attributes:
        height: standing height in metres (1.5–1.95). build: width scale (0.85 slim – 1.2 broad).
        skin, hair, shirt, trousers, shoes: colours ``(3,)``.
        long_hair: hair falls to the shoulders (an extra primitive) instead of short hair.
        long_sleeves / shorts: sleeve and trouser lengths.
        text: 2–3 letters printed on the shirt front; ink / patch: their colours.
        back: the shirt back's pattern (one of ``BACK_PATTERNS``); back_colour: its second colour.
    """

    height: float
    build: float
    skin: np.ndarray
    hair: np.ndarray
    shirt: np.ndarray
    trousers: np.ndarray
    shoes: np.ndarray
    long_hair: bool
    long_sleeves: bool
    shorts: bool
    text: str
    ink: np.ndarray
    patch: np.ndarray
    back: str
    back_colour: np.ndarray

    def print_bitmap(self) -> np.ndarray:
        """The shirt print as a ``(7, n)`` bool bitmap (True = ink)."""
        return text_bitmap(self.text)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (all in [0, 1]) to RGB float32 ``(3,)``."""
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return (v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)).astype(np.float32)


def _luma(c: np.ndarray) -> float:
    return float(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])


def draw_detail(rng: np.random.Generator, shirt: np.ndarray) -> dict:
    """Draw what a single view may hide: the front print (its ``text``, ``ink`` and ``patch`` colours) and the
    shirt back (``back`` pattern, ``back_colour``), for a shirt of colour ``shirt (3,)``. Returns the
    ``Person`` fields of those names. ``sample_person`` draws them with this (in this order), so redrawing
    them for a known person samples the backs and prints the data could have given it."""
    # The print sits on a light or dark patch (or the bare shirt), with ink that contrasts with what is under it.
    patch = (
        shirt
        if rng.random() < 0.4
        else (np.float32([0.95, 0.95, 0.93]) if rng.random() < 0.5 else np.float32([0.1, 0.1, 0.12]))
    )
    ink_hue = _hsv(rng.random(), rng.uniform(0.6, 1.0), 0.9)
    dark_under = _luma(patch) < 0.5
    ink = np.float32([0.97, 0.97, 0.97]) if dark_under else np.float32([0.05, 0.05, 0.08])
    if rng.random() < 0.35 and abs(_luma(ink_hue) - _luma(patch)) > 0.35:
        ink = ink_hue
    letters = 2 if rng.random() < 0.8 else 3  # 3 letters are smaller: legible from 256×256
    text = "".join(rng.choice(list(ALPHABET[:26]), size=letters))
    back = str(rng.choice(BACK_PATTERNS))
    back_colour = _hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.2, 0.95))
    if np.abs(back_colour - shirt).sum() < 0.4:  # keep the back pattern visible
        back_colour = (1.0 - shirt).astype(np.float32)
    return {
        "text": text,
        "ink": ink.astype(np.float32),
        "patch": np.asarray(patch, np.float32),
        "back": back,
        "back_colour": back_colour,
    }


def sample_person(rng: np.random.Generator) -> Person:
    """Draw a random person: proportions, skin, hair, clothes, a front print and a different back."""
    tone = rng.uniform(0, len(_SKIN) - 1)
    i = int(tone)
    skin = (_SKIN[i] * (1 - (tone - i)) + _SKIN[min(i + 1, len(_SKIN) - 1)] * (tone - i)).astype(np.float32)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.1)
    shirt = _hsv(rng.random(), rng.uniform(0.15, 0.85), rng.uniform(0.3, 0.95))
    trousers = _hsv(rng.random(), rng.uniform(0.1, 0.7), rng.uniform(0.15, 0.7))
    shoes = _hsv(rng.random(), rng.uniform(0.0, 0.5), rng.uniform(0.08, 0.9))
    detail = draw_detail(rng, shirt)
    return Person(
        height=float(rng.uniform(1.5, 1.95)),
        build=float(rng.uniform(0.85, 1.2)),
        skin=skin,
        hair=np.clip(hair, 0, 1).astype(np.float32),
        shirt=shirt,
        trousers=trousers,
        shoes=shoes,
        long_hair=bool(rng.random() < 0.35),
        long_sleeves=bool(rng.random() < 0.4),
        shorts=bool(rng.random() < 0.25),
        **detail,
    )


@dataclass(frozen=True)
class PosedBody:
    """A person in a pose: exact 3D joints and the primitives that make its surface (world frame, metres).

    Attributes:
        joints3d: ``(18, 3)`` float32, y up, hip centre on the vertical axis x = z = 0, feet near y = 0.
        centre: ``(P, 3)`` primitive centres. rot: ``(P, 3, 3)`` columns = the part's local axes in world.
        radii: ``(P, 3)`` ellipsoid radii. half: ``(P,)`` half-length of the segment along local y.
        enabled: ``(P,)`` bool, parts this person has (e.g. long hair).
    """

    joints3d: np.ndarray
    centre: np.ndarray
    rot: np.ndarray
    radii: np.ndarray
    half: np.ndarray
    enabled: np.ndarray


def _rx(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


_DOWN = np.array([0.0, -1.0, 0.0])


def _frames_along(directions: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """Rotations ``(n, 3, 3)`` whose y column is ``directions[i]`` and whose x column stays close to the x
    axis of ``hints[i]`` (the parent's frame: the person's left), or to its y axis when the bone lies along x."""
    y = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    x = hints[:, :, 0] - y * (hints[:, :, 0] * y).sum(axis=1, keepdims=True)
    along = (x * x).sum(axis=1) < 1e-12  # bone along the parent's x axis (arm held out sideways)
    x[along] = hints[along, :, 1] - y[along] * (hints[along, :, 1] * y[along]).sum(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.stack([x, y, np.cross(x, y)], axis=2)


def pose_body(person: Person, pose: Pose) -> PosedBody:
    """Forward kinematics: place the person's joints and body primitives for ``pose``."""
    pose.check()
    s, b = person.height / 1.75, person.build
    parts: dict[str, tuple[np.ndarray, np.ndarray | None, tuple[float, float, float], float]] = {}
    bones: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # parts whose frame follows a bone: (direction, hint)

    def capsule(
        name: str,
        a: np.ndarray,
        c: np.ndarray,
        r: float,
        frame: np.ndarray,
        radii: tuple[float, float, float] | None = None,
    ) -> None:
        bones[name] = (c - a, frame)
        parts[name] = ((a + c) / 2, None, radii or (r, r, r), math.sqrt(float((c - a) @ (c - a))) / 2)

    # Pelvis and torso. The hips are fixed facing +z; the torso leans/twists about the hip centre.
    hip_c = np.array([0.0, 0.53 * person.height, 0.0])
    hips = {"r": hip_c + [-0.09 * s * b, 0, 0], "l": hip_c + [0.09 * s * b, 0, 0]}
    torso = _ry(pose.twist) @ _rx(pose.lean) @ _rz(-pose.side)
    spine = torso[:, 1]
    neck = hip_c + spine * 0.30 * person.height
    parts["pelvis"] = (hip_c + spine * 0.03 * s, np.eye(3), (0.165 * s * b, 0.11 * s, 0.105 * s * b), 0.0)
    chest_lo, chest_hi = hip_c + spine * 0.16 * s, neck - spine * 0.09 * s
    parts["chest"] = (
        (chest_lo + chest_hi) / 2,
        torso,
        (0.165 * s * b, 0.10 * s, 0.105 * s * b),
        0.5 * math.sqrt(float((chest_hi - chest_lo) @ (chest_hi - chest_lo))),
    )
    shoulders = {
        "r": neck + torso @ [-0.185 * s * b, -0.035 * s, -0.01],
        "l": neck + torso @ [0.185 * s * b, -0.035 * s, -0.01],
    }

    # Head: turned and nodded relative to the torso.
    head_rot = torso @ _ry(pose.head_yaw) @ _rx(pose.head_nod)
    head_r = np.array([0.078, 0.11, 0.092]) * s
    head_c = neck + torso @ [0, 0.2 * s, 0.0] + head_rot @ [0, 0, 0.015 * s]
    parts["head"] = (head_c, head_rot, tuple(head_r), 0.0)
    capsule("neck", neck - spine * 0.03 * s, head_c - head_rot[:, 1] * 0.05 * s, 0.045 * s * b, torso)
    parts["hair"] = (
        head_c + head_rot @ np.array([0, -0.09, -0.045]) * s,
        head_rot,
        (0.085 * s, 0.15 * s, 0.06 * s),
        0.0,
    )

    def head_point(local: list[float]) -> np.ndarray:
        return head_c + head_rot @ (np.asarray(local) * head_r)

    joints = np.zeros((NUM_JOINTS, 3))
    J = JOINT_INDEX
    joints[J["nose"]] = head_point([0.0, -0.15, 0.99])
    joints[J["l_eye"]], joints[J["r_eye"]] = head_point([0.33, 0.12, 0.94]), head_point([-0.33, 0.12, 0.94])
    joints[J["l_ear"]], joints[J["r_ear"]] = head_point([0.99, 0.0, -0.1]), head_point([-0.99, 0.0, -0.1])
    joints[J["neck"]] = neck

    for side, sign in (("r", -1.0), ("l", 1.0)):
        flex, abd = getattr(pose, f"{side}_flex"), getattr(pose, f"{side}_abd")
        upper = torso @ _rx(-flex) @ _rz(sign * abd) @ _ry(sign * getattr(pose, f"{side}_twist"))
        elbow = shoulders[side] + upper @ _DOWN * 0.17 * person.height
        fore = upper @ _rx(-getattr(pose, f"{side}_elbow"))
        wrist = elbow + fore @ _DOWN * 0.145 * person.height
        capsule(f"{side}_upper_arm", shoulders[side], elbow, 0.047 * s * b, upper)
        capsule(f"{side}_forearm", elbow, wrist, 0.038 * s * b, fore)
        parts[f"{side}_hand"] = (wrist + fore @ _DOWN * 0.07 * s, fore, (0.03 * s, 0.055 * s, 0.045 * s), 0.0)
        joints[J[f"{side}_shoulder"]], joints[J[f"{side}_elbow"]], joints[J[f"{side}_wrist"]] = (
            shoulders[side],
            elbow,
            wrist,
        )

        hip_flex, knee_deg = getattr(pose, f"{side}_hip_flex"), getattr(pose, f"{side}_knee")
        thigh = _rx(-hip_flex) @ _rz(sign * getattr(pose, f"{side}_hip_abd"))
        knee = hips[side] + thigh @ _DOWN * 0.245 * person.height
        shin = thigh @ _rx(knee_deg)
        ankle = knee + shin @ _DOWN * 0.245 * person.height
        capsule(f"{side}_thigh", hips[side], knee, 0.072 * s * b, thigh)
        capsule(f"{side}_shin", knee, ankle, 0.052 * s * b, shin)
        # The ankle bends to keep the sole roughly level.
        foot = shin @ _rx(float(np.clip(hip_flex - knee_deg, -30, 45)) * 0.8)
        heel = ankle - foot[:, 2] * 0.035 * s + foot[:, 1] * -0.045 * s
        toe = ankle + foot[:, 2] * 0.15 * s + foot[:, 1] * -0.045 * s
        capsule(f"{side}_foot", heel, toe, 0.0, foot, (0.045 * s, 0.045 * s, 0.04 * s))
        joints[J[f"{side}_hip"]], joints[J[f"{side}_knee"]], joints[J[f"{side}_ankle"]] = hips[side], knee, ankle

    names = list(bones)
    frames = _frames_along(np.array([bones[n][0] for n in names]), np.array([bones[n][1] for n in names]))
    for name, frame in zip(names, frames, strict=True):
        parts[name] = (parts[name][0], frame, *parts[name][2:])
    centre = np.stack([parts[n][0] for n in PART_NAMES])
    rot = np.stack([parts[n][1] for n in PART_NAMES])
    radii = np.array([parts[n][2] for n in PART_NAMES])
    half = np.array([parts[n][3] for n in PART_NAMES])
    enabled = np.ones(NUM_PARTS, bool)
    enabled[PART["hair"]] = person.long_hair

    # Put the hip centre on the vertical axis and the lowest sole on the ground (y = 0).
    feet = [PART["r_foot"], PART["l_foot"]]
    ground = min(centre[f, 1] - half[f] * abs(rot[f, 1, 1]) - radii[f].max() for f in feet)
    hip_mid = joints[[J["r_hip"], J["l_hip"]]].mean(axis=0)
    shift = np.array([-hip_mid[0], -ground, -hip_mid[2]])
    return PosedBody(
        joints3d=(joints + shift).astype(np.float32),
        centre=(centre + shift).astype(np.float32),
        rot=rot.astype(np.float32),
        radii=radii.astype(np.float32),
        half=half.astype(np.float32),
        enabled=enabled,
    )
