"""The people a viewpoint widget turns: a held-out synthetic person (with the scene that renders the truth) or a
photo's person (2D keypoints, a silhouette), and the one call that synthesizes their views for the widget, the app
and the shared server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import Camera
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer, SynthesisResult
from posegen_lite.pipelines.unseen import photo_unseen


@dataclass(frozen=True)
class ViewpointPerson:
    """One input person: their image at the input view and either its 3D joints (world frame) and camera, or
    — for a photo — its 2D keypoints, which the synthesizer lifts to 3D; ``scene`` (optional) renders the
    ground truth at any yaw."""

    name: str
    image: np.ndarray  # (H, W, 3) uint8
    joints3d: np.ndarray | None  # (18, 3) metres, y up; None for a 2D (photo) person
    camera: Camera | None  # the camera of ``image``; None for a 2D person
    scene: Scene | None = None
    keypoints: np.ndarray | None = None  # (18, 2) pixels of ``image``, NaN where missing (2D person)
    visible: np.ndarray | None = None  # (18,) bool (2D person)
    silhouette: np.ndarray | None = None  # (H, W) bool, where the person is in ``image`` (a photo's segmentation)
    lifted: np.ndarray | None = None  # (18, 3) metres: a photo's 3D joints from its estimator (else lifted here)

    def __post_init__(self) -> None:
        if self.camera is None and self.keypoints is None:
            raise ValueError(f"{self.name}: a person needs 3D joints and a camera, or 2D keypoints")
        if self.camera is not None and self.joints3d is None:
            raise ValueError(f"{self.name}: a camera without 3D joints")

    @classmethod
    def from_scene(cls, scene: Scene) -> ViewpointPerson:
        view = scene.input_view  # cached on the scene: rendered once per person
        return cls(scene.name, view.image, view.joints3d, view.camera, scene)


def synthesize_person(
    synth: NovelViewSynthesizer, p: ViewpointPerson, yaw: float, pitch: float, seed: int | None = None
) -> SynthesisResult:
    """One view of ``p`` as the widget and the shared server show it: a photo (2D keypoints, lifted) on its own
    background with its colours on the unseen side; ``seed``: one sample of a conditional-VAE G1 (``None``: the
    prior's mean)."""
    if seed is None:
        return person_views(synth, p, [yaw], pitch)[0]
    image, keypoints, kw = _person_input(synth, p)
    return synth.synthesize(image, keypoints, yaw=yaw, pitch=pitch, samples=1, seed=seed, **kw)[0]


def person_views(
    synth: NovelViewSynthesizer, p: ViewpointPerson, yaws: Sequence[float], pitch: float
) -> list[SynthesisResult]:
    """``synthesize_person``'s prior-mean views of ``p`` at each of ``yaws``, in ``synth.batch``-view passes."""
    image, keypoints, kw = _person_input(synth, p)
    return synth.synthesize_many(image, keypoints, list(yaws), pitch=pitch, **kw)


def _person_input(synth: NovelViewSynthesizer, p: ViewpointPerson) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(image, keypoints, keyword arguments)`` of ``p`` for ``synthesize`` / ``synthesize_many``."""
    kw: dict = {}
    if p.silhouette is not None:  # a photo: its own background around the person, its colours on the unseen side
        kw = {"silhouette": p.silhouette, "unseen": photo_unseen(synth.needs_proxy), "light": None}
    if p.camera is None:  # a photo: 2D keypoints with the estimator's depth (or lifted inside synthesize)
        return p.image, p.keypoints, {"visible": p.visible, "lifted": p.lifted, **kw}
    return p.image, p.joints3d, {"camera": p.camera, **kw}


def held_out_people(n: int, size: tuple[int, int] = (64, 64), seed: int = 0) -> list[ViewpointPerson]:
    """The first ``n`` held-out synthetic test people (never seen in training), each at azimuth 0."""
    if n < 1:
        raise ValueError(f"need at least one person, got {n}")
    return [ViewpointPerson.from_scene(Scene.held_out(i, size, seed=seed)) for i in range(n)]


__all__ = ["ViewpointPerson", "held_out_people", "person_views", "synthesize_person"]
