"""The photo methods of ``NovelViewSynthesizer`` (``synthesizer.py``): a photo → its person's novel views.

``prepare_photo`` finds the people (MediaPipe by default), crops and scales one to the model's size
(``photo.prepare_photo``); ``photo_views`` turns that crop with ``synthesize_many`` on its own background.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from posegen_lite.geometry.photo import MediaPipeEstimator, PoseEstimator
from posegen_lite.pipelines.checks import check_angle
from posegen_lite.pipelines.photo import PhotoInput, prepare_photo
from posegen_lite.pipelines.result import SynthesisResult
from posegen_lite.pipelines.unseen import photo_unseen

_S = TypeVar("_S", bound="PhotoViews")  # typing.Self needs Python 3.11; the package supports 3.10


class PhotoViews:
    """The photo half of ``NovelViewSynthesizer``, which sets ``height``, ``width``, ``needs_proxy`` and
    ``synthesize_many``."""

    height: int
    width: int
    _photo_estimator: MediaPipeEstimator | None

    @property
    def photo_estimator(self) -> PoseEstimator:
        """The pose estimator the photo methods use when given none: one ``MediaPipeEstimator`` per synthesizer,
        built on first use (building it costs about as much as one estimate) and freed by ``close()``."""
        if self._photo_estimator is None:
            from posegen_lite.geometry import photo as photo_pose

            self._photo_estimator = photo_pose.MediaPipeEstimator()
        return self._photo_estimator

    def close(self) -> None:
        """Free the photo estimator, if one was built; the synthesizer stays usable (a later photo builds anew)."""
        if self._photo_estimator is not None:
            self._photo_estimator.close()
            self._photo_estimator = None

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare_photo(self, photo: np.ndarray, estimator: PoseEstimator | None = None, person: int = 0) -> PhotoInput:
        """What ``synthesize_photo`` feeds the networks: person ``person``'s crop at the model's size, their
        keypoints and 3D joints, and every person found (``photo.prepare_photo``; ``inp.notice()`` says how many).
        Raises ``NoPersonFoundError`` when there is no person."""
        return prepare_photo(photo, self.height, self.width, estimator or self.photo_estimator, person)

    def synthesize_photo(
        self,
        photo: np.ndarray,
        yaw: float = 0.0,
        pitch: float = 0.0,
        estimator: PoseEstimator | None = None,
        min_joints: int | None = None,
        person: int = 0,
        unseen: str | None = None,
    ) -> SynthesisResult:
        """A novel view of a person in a photo, in one call: pose (MediaPipe's 2D keypoints and 3D landmarks),
        crop and scale around the person (``prepare_photo``), then Stage I–III with the observed keypoints and
        MediaPipe's depth, on the photo's own background (the person's segmentation: ``synthesize_many``'s
        ``silhouette``); what the photo did not show is painted from its own completed texture when G1 uses the
        body proxy (``unseen.PHOTO_UNSEEN``; ``"networks"``: the networks' guess, learned on synthetic people only).
        ``result.input_image`` is the crop the networks saw. With several people in the photo, ``person`` picks
        one (0: the one the estimator finds first in the whole photo); ``result.people_found`` says how many
        there are, and a ``UserWarning`` names them."""
        inp = self.prepare_photo(photo, estimator, person)
        notice = inp.notice()
        if notice is not None:
            warnings.warn(notice, UserWarning, stacklevel=2)
        result = self.photo_views(inp, [check_angle(yaw, "yaw")], pitch, unseen, min_joints)[0]
        result.people_found, result.person = len(inp.people), inp.person
        return result

    def photo_views(
        self,
        inp: PhotoInput,
        yaws: Sequence[float],
        pitch: float = 0.0,
        unseen: str | None = None,
        min_joints: int | None = None,
    ) -> list[SynthesisResult]:
        """``synthesize_photo``'s views of a prepared photo (``prepare_photo``) for each of ``yaws``, one batch."""
        synth: Any = self  # NovelViewSynthesizer, which this class is a part of, has both
        unseen = unseen or photo_unseen(synth.needs_proxy)
        views = synth.synthesize_many(inp.image, inp.keypoints, yaws, pitch, visible=inp.visible, lifted=inp.joints3d,
                                     min_joints=min_joints, silhouette=inp.silhouette, unseen=unseen,
                                     light=None)  # a photo's light stays in its world  # fmt: skip
        for v in views:
            v.input_image = inp.image
        return views
