"""A held-out synthetic person in one pose that can be rendered from any viewpoint — the ground truth the
demo, the widget and the notebooks compare novel views against.

``Scene.render(yaw)`` shows the body turned by ``yaw`` degrees (camera.py's convention), i.e. the camera moved
by −yaw on its orbit; ``yaw = 0`` is the input view.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from posegen_lite.data.synthetic.body import Person, PosedBody, pose_body
from posegen_lite.data.synthetic.framing import person_camera
from posegen_lite.data.synthetic.pairs import SyntheticConfig, person_of
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.data.synthetic.render import Render, render_views
from posegen_lite.geometry.camera import Camera


@dataclass(frozen=True)
class Scene:
    """One person, one pose, an input camera at ``azimuth`` and ``elevation`` degrees, images of ``size``."""

    person: Person
    body: PosedBody
    size: tuple[int, int]
    azimuth: float = 0.0
    elevation: float = 5.0
    name: str = "scene"

    @classmethod
    def held_out(
        cls,
        index: int,
        size: tuple[int, int] = (64, 64),
        seed: int = 0,
        azimuth: float = 0.0,
        elevation: float = 5.0,
        split: str = "test",
    ) -> Scene:
        """Person ``index`` of the synthetic ``split`` (never seen in training) in a seeded everyday pose."""
        if index < 0:
            raise ValueError(f"person index must be ≥ 0, got {index}")
        config = SyntheticConfig(
            size=tuple(size), test_people=index + 1, hard_people=index + 1, val_people=index + 1, seed=seed
        )
        person = person_of(config, split, index)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 7919, index]))
        return cls(
            person, pose_body(person, sample_pose(rng)), tuple(size), azimuth, elevation, name=f"{split}-{index:05d}"
        )

    def camera(self, yaw: float = 0.0) -> Camera:
        """The camera that sees the body turned by ``yaw`` (the input camera moved by −yaw)."""
        h, w = self.size
        return person_camera(self.body, self.azimuth - yaw, self.elevation, h, w)

    def render(self, yaw: float = 0.0) -> Render:
        """The ground-truth image, mask, joints and camera of the body turned by ``yaw``."""
        return self.render_many([yaw])[0]

    def render_many(self, yaws: list[float]) -> list[Render]:
        """Several viewpoints in one batched render call."""
        n = len(yaws)
        return render_views([self.person] * n, [self.body] * n, [self.camera(y) for y in yaws])

    @cached_property
    def input_view(self) -> Render:
        """The view at yaw 0: the one photo the synthesizer gets."""
        return self.render(0.0)
