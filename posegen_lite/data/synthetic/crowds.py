"""Embedded crowd scenes: 2–6 procedural people on one ground plane, seen from cameras on an orbit around the group.

A scene is drawn from ``SeedSequence([seed, split, 104729, index])``: how many people, *which* people of the
split (the single-person data's people, so train / val / test stay person-disjoint), their poses, headings and
places on the ground (far enough apart not to walk into each other, close enough to overlap in most views),
the camera elevation and azimuth and the studio background. The camera orbits the vertical axis through the
group centre (the mean hip centre, ``geometry.scene.group_pivot``) at the distance that fits the whole group
at every azimuth, so ``CrowdScene.render(yaw)`` — the scene turned by ``yaw`` degrees, i.e. the camera moved
by −yaw — always shows everyone.

Rendering is exact multi-person ray casting: every person is ray-cast alone by ``render.render_fragments``
(one batch for all people and views), and the foreground sub-pixels of all people of a view are merged by
depth before the sub-pixels are averaged — so occlusion between people is per sub-pixel, like within a body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from posegen_lite.data.synthetic.body import Person, PosedBody, pose_body
from posegen_lite.data.synthetic.framing import FOV_Y, MARGIN, body_cylinder, check_elevation, check_size
from posegen_lite.data.synthetic.pairs import _SPLIT_CODE, SyntheticConfig, check_split, person_of
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.data.synthetic.render import (
    centre_samples,
    check_backgrounds,
    compose,
    joint_occlusion,
    render_fragments,
)
from posegen_lite.geometry.camera import Camera, orbit_camera, rotation_y
from posegen_lite.geometry.scene import back_to_front, cylinder_distance

_CROWD_KEY = 104729  # keeps crowd scenes' random streams apart from the pair samples'


@dataclass(frozen=True)
class CrowdConfig:
    """What crowd scenes to draw.

    Attributes:
        size: ``(height, width)`` of the scene images in pixels.
        people_range: ``(low, high)`` number of people per scene, inclusive (at least 1).
        elevation_range: camera elevation in degrees (within ``framing.ELEVATION_RANGE``).
        spacing: minimum distance between two people's axes as a fraction of the sum of their body radii
            (below 1 lets out-stretched arms pass each other). spread: metres of group radius per √person.
        people: the single-person config whose people (and splits) the scenes draw from; its seed is used.
        supersample: sub-pixels per pixel side.
    """

    size: tuple[int, int] = (192, 256)
    people_range: tuple[int, int] = (2, 6)
    elevation_range: tuple[float, float] = (0.0, 20.0)
    spacing: float = 0.8
    spread: float = 0.55
    people: SyntheticConfig = dataclasses.field(default_factory=SyntheticConfig)
    supersample: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", check_size(*self.size))
        lo, hi = (int(v) for v in self.people_range)
        if lo < 1 or hi < lo:
            raise ValueError(f"people_range must satisfy 1 <= low <= high, got {self.people_range}")
        object.__setattr__(self, "people_range", (lo, hi))
        for e in self.elevation_range:
            check_elevation(e)
        if not self.spacing > 0 or not self.spread > 0:
            raise ValueError("spacing and spread must be positive")


@dataclass(frozen=True)
class CrowdRender:
    """One view of a crowd scene with ``N`` people: the image and every person's ground truth.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        person_map: ``(H, W)`` int8 — who is seen at each pixel centre (index into the scene's people), −1 = none.
        masks: ``(N, H, W)`` bool visible masks (the pixels where the person is in front).
        full_masks: ``(N, H, W)`` bool silhouettes as if each person were alone (amodal masks).
        joints3d: ``(N, 18, 3)`` float32 world joints (metres, y up).
        keypoints: ``(N, 18, 2)`` float32 pixels, NaN where outside the image; visible: ``(N, 18)`` bool.
        occluded: ``(N, 18)`` bool — the joint's pixel shows another part or another person in front of it.
        depths: ``(N,)`` camera z of each hip centre (metres). order: indices back to front.
        camera: the ``Camera`` of this view.
    """

    image: np.ndarray
    person_map: np.ndarray
    masks: np.ndarray
    full_masks: np.ndarray
    joints3d: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    occluded: np.ndarray
    depths: np.ndarray
    order: list[int]
    camera: Camera


def place_body(body: PosedBody, heading_deg: float, position: Sequence[float]) -> PosedBody:
    """``body`` turned by ``heading_deg`` about its vertical axis (camera.py's yaw) and moved to ``position``
    ``(x, z)`` on the ground (metres)."""
    R = rotation_y(heading_deg)
    shift = np.array([position[0], 0.0, position[1]])
    return PosedBody(
        joints3d=(body.joints3d @ R.T + shift).astype(np.float32),
        centre=(body.centre @ R.T + shift).astype(np.float32),
        rot=np.einsum("ij,pjk->pik", R, body.rot).astype(np.float32),
        radii=body.radii,
        half=body.half,
        enabled=body.enabled,
    )


def _ground_positions(rng: np.random.Generator, radii: np.ndarray, spacing: float, spread: float) -> np.ndarray:
    """``(N, 2)`` places on the ground, each pair at least ``spacing · (r_i + r_j)`` apart, in a disc that
    grows until they fit (rejection sampling; deterministic given ``rng``)."""
    n = len(radii)
    disc = spread * np.sqrt(n)
    for _ in range(50):
        placed: list[np.ndarray] = []
        for k in range(n):
            for _try in range(200):
                r, a = disc * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
                p = np.array([r * np.cos(a), r * np.sin(a)])
                if all(np.linalg.norm(p - q) >= spacing * (radii[k] + radii[i]) for i, q in enumerate(placed)):
                    placed.append(p)
                    break
            else:
                break
        if len(placed) == n:
            return np.stack(placed)
        disc *= 1.15
    raise RuntimeError("could not place the people apart from each other")  # unreachable in practice


@dataclass(frozen=True)
class CrowdScene:
    """Several people on a ground plane and an input camera on the orbit around the group."""

    people: tuple[Person, ...]
    bodies: tuple[PosedBody, ...]
    size: tuple[int, int]
    azimuth: float
    elevation: float
    background: np.ndarray  # (2, 3) top and bottom colour in [0, 1]
    person_ids: tuple[str, ...] = ()
    name: str = "crowd"
    supersample: int = 2
    headings: tuple[float, ...] = ()  # degrees each body was turned by (``place_body``), when known
    positions: tuple[tuple[float, float], ...] = ()  # (x, z) metres where each body was placed, when known

    def __post_init__(self) -> None:
        if len(self.bodies) == 0:
            raise ValueError("a crowd scene needs at least one person")
        if len(self.people) != len(self.bodies):
            raise ValueError(f"{len(self.people)} people but {len(self.bodies)} bodies")

    @classmethod
    def sample(cls, config: CrowdConfig, split: str, index: int) -> CrowdScene:
        """Scene ``index`` of ``split``: deterministic, drawn from that split's people only."""
        check_split(split)
        if index < 0:
            raise ValueError(f"scene index must be ≥ 0, got {index}")
        pool = config.people.people_in(split)
        lo, hi = config.people_range
        if pool < lo:
            raise ValueError(f"split {split!r} has {pool} people; scenes need at least {lo}")
        rng = np.random.default_rng(np.random.SeedSequence([config.people.seed, _SPLIT_CODE[split], _CROWD_KEY, index]))
        n = int(rng.integers(lo, min(hi, pool) + 1))
        who = sorted(int(i) for i in rng.choice(pool, n, replace=False))
        people = [person_of(config.people, split, i) for i in who]
        bodies = [pose_body(p, sample_pose(rng)) for p in people]
        radii = np.array([body_cylinder(b)[0] for b in bodies])
        positions = _ground_positions(rng, radii, config.spacing, config.spread)
        headings = rng.uniform(-180.0, 180.0, n)
        placed = [place_body(b, h, pos) for b, h, pos in zip(bodies, headings, positions, strict=True)]
        azimuth = float(rng.uniform(0.0, 360.0))
        elevation = float(rng.uniform(*config.elevation_range))
        grey = rng.uniform(0.55, 0.92)
        tint = rng.normal(0.0, 0.03, size=3)
        background = np.stack(
            [np.clip(grey + tint + 0.05, 0, 1), np.clip(grey + tint - rng.uniform(0.05, 0.15), 0, 1)]
        ).astype(np.float32)
        return cls(
            tuple(people),
            tuple(placed),
            config.size,
            azimuth,
            elevation,
            background,
            tuple(f"{split}-{i:05d}" for i in who),
            name=f"crowd-{split}-{index:05d}",
            supersample=config.supersample,
            headings=tuple(float(h) for h in headings),
            positions=tuple((float(x), float(z)) for x, z in positions),
        )

    @classmethod
    def held_out(cls, index: int, size: tuple[int, int] = (192, 256), seed: int = 0) -> CrowdScene:
        """Test scene ``index`` (people never seen in training)."""
        return cls.sample(CrowdConfig(size=size, people=SyntheticConfig(seed=seed)), "test", index)

    def unplaced(self, k: int) -> PosedBody:
        """Person ``k``'s body back on the origin's axis, facing +z (as the single-person data poses it)."""
        if len(self.headings) != len(self.bodies):
            raise ValueError("this scene does not record where its people were placed")
        x, z = self.positions[k]
        moved = place_body(self.bodies[k], 0.0, (-x, -z))
        return place_body(moved, -self.headings[k], (0.0, 0.0))

    @property
    def joints(self) -> list[np.ndarray]:
        """Every person's ``(18, 3)`` world joints."""
        return [b.joints3d for b in self.bodies]

    @cached_property
    def _orbit(self) -> tuple[float, np.ndarray]:
        """Distance and look-at target of the orbit: the cylinder around the group's axis holding everyone."""
        cyl = [body_cylinder(b) for b in self.bodies]  # heights only: the radius is about the origin's axis
        axes = np.array([[b.joints3d[[8, 11], 0].mean(), b.joints3d[[8, 11], 2].mean()] for b in self.bodies])
        centre = axes.mean(axis=0)
        rb = [float(np.hypot(*(axes[k] - centre))) + _own_radius(self.bodies[k], axes[k]) for k in range(len(cyl))]
        y_lo, y_hi = min(c[1] for c in cyl), max(c[2] for c in cyl)
        h, w = self.size
        dist = cylinder_distance(max(rb), y_lo, y_hi, self.elevation, h, w, FOV_Y, MARGIN)
        return dist, np.array([centre[0], (y_lo + y_hi) / 2, centre[1]])

    def camera(self, yaw: float = 0.0) -> Camera:
        """The camera that sees the scene turned by ``yaw`` about the group's axis (the input camera moved by −yaw)."""
        dist, target = self._orbit
        h, w = self.size
        return orbit_camera((self.azimuth - yaw) % 360.0, self.elevation, dist, target, w, h, FOV_Y)

    def render(self, yaw: float = 0.0) -> CrowdRender:
        """The ground truth of the scene turned by ``yaw``."""
        return self.render_many([yaw])[0]

    def render_many(self, yaws: Sequence[float]) -> list[CrowdRender]:
        """Several viewpoints in one batched render call."""
        return render_crowd(self.people, self.bodies, [self.camera(y) for y in yaws], self.background, self.supersample)

    @cached_property
    def input_view(self) -> CrowdRender:
        """The view at yaw 0: the one photo the crowd synthesizer gets."""
        return self.render(0.0)


def _own_radius(body: PosedBody, axis_xz: np.ndarray) -> float:
    """The radius of the vertical cylinder about ``axis_xz`` holding a placed body (``framing.body_cylinder``
    of the body moved back onto the origin axis)."""
    moved = dataclasses.replace(
        body,
        joints3d=body.joints3d - np.float32([axis_xz[0], 0, axis_xz[1]]),
        centre=body.centre - np.float32([axis_xz[0], 0, axis_xz[1]]),
    )
    return body_cylinder(moved)[0]


def render_crowd(
    people: Sequence[Person],
    bodies: Sequence[PosedBody],
    cameras: Sequence[Camera],
    background: np.ndarray | None = None,
    supersample: int = 2,
) -> list[CrowdRender]:
    """Render all ``people`` (in ``bodies``, world frame) together in each of ``cameras`` (one image size).

    Every person is cast alone (image ``v·N + k`` of one batch is person ``k`` in view ``v``); per view, the
    nearest sub-pixel over all people wins, then sub-pixels are averaged as in ``render_views``.
    """
    N, V = len(bodies), len(cameras)
    if N == 0 or V == 0:
        raise ValueError(f"need at least one person and one camera, got {N} and {V}")
    frags = render_fragments(
        [p for _ in cameras for p in people],
        [b for _ in cameras for b in bodies],
        [c for c in cameras for _ in bodies],
        supersample,
    )
    _, H, W, ss = frags.shape
    Hs, Ws = H * ss, W * ss
    view, person = frags.img // N, frags.img % N
    key = (view * Hs + frags.row) * Ws + frags.col
    # Nearest first within each sub-pixel; keep the first of every key.
    order = np.lexsort((frags.depth, key))
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    win = np.sort(order[first])  # back in casting order: the sub-pixel sums add up as in render_views
    bgs = check_backgrounds(None if background is None else np.tile(np.asarray(background), (V, 1, 1)), V)
    shape = (V, H, W, ss)
    images, _ = compose(view[win], frags.row[win], frags.col[win], frags.colour[:, win], bgs, shape)
    # Dense per-view buffers of the merged result: who, which part and how deep at every sub-pixel.
    owner = np.full(V * Hs * Ws, -1, np.int8)
    owner[key[win]] = person[win]
    depth = np.full(V * Hs * Ws, np.inf, np.float32)
    depth[key[win]] = frags.depth[win]
    owner_map, depth_map = centre_samples(owner, shape), centre_samples(depth, shape)
    own_parts = centre_samples(frags.ids, frags.shape).reshape(V, N, H, W)
    own_depth = centre_samples(frags.zbuf, frags.shape).reshape(V, N, H, W)
    inv = 1.0 / (ss * ss)
    full_cov = np.bincount((frags.img * H + frags.row // ss) * W + frags.col // ss, minlength=V * N * H * W) * inv
    vis_pix = (((view[win] * N + person[win]) * H + frags.row[win] // ss) * W) + frags.col[win] // ss
    vis_cov = np.bincount(vis_pix, minlength=V * N * H * W) * inv
    out = []
    for v, cam in enumerate(cameras):
        kps, vis, occ, depths = [], [], [], []
        for k, body in enumerate(bodies):
            xy, ok, self_occ = joint_occlusion(body.joints3d, cam, own_parts[v, k], own_depth[v, k])
            # Another person in front of the joint: the merged pixel belongs to someone else and is nearer.
            safe = np.where(ok[:, None], xy, 0.0)
            r = np.clip(np.rint(safe[:, 1]), 0, H - 1).astype(np.int64)
            c = np.clip(np.rint(safe[:, 0]), 0, W - 1).astype(np.int64)
            jd = body.joints3d @ cam.R[2].astype(np.float32) + np.float32(cam.t[2])
            other = ok & (owner_map[v, r, c] >= 0) & (owner_map[v, r, c] != k) & (depth_map[v, r, c] < jd)
            kps.append(xy), vis.append(ok), occ.append(self_occ | other)
            hips = body.joints3d[[8, 11]].mean(axis=0)
            depths.append(float(cam.to_camera(hips[None])[0, 2]))
        out.append(
            CrowdRender(
                image=images[v],
                person_map=owner_map[v].copy(),
                masks=vis_cov.reshape(V, N, H, W)[v] >= 0.5,
                full_masks=full_cov.reshape(V, N, H, W)[v] >= 0.5,
                joints3d=np.stack([b.joints3d for b in bodies]),
                keypoints=np.stack(kps),
                visible=np.stack(vis),
                occluded=np.stack(occ),
                depths=np.array(depths),
                order=back_to_front(depths),
                camera=cam,
            )
        )
    return out
