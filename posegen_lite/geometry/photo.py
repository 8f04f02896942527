"""3D pose from a photo: the first step of Stage I when the user brings only an image.

``PoseEstimator`` is the interface (anything with ``estimate(image) -> PhotoPose``); ``MediaPipeEstimator``
implements it with MediaPipe Pose, an optional extra (``pip install posegen-lite[photo]``).

Why exactly ``mediapipe==0.10.14`` with the legacy ``solutions.pose.Pose(model_complexity=1)``: that wheel ships
the complexity-1 model inside it, so it runs offline. Complexities 0 and 2, and every newer mediapipe release,
download their models at run time — this module refuses them.

MediaPipe's ``pose_world_landmarks`` are metres, centred between the hips, with axes aligned to the camera:
x to the image's right, **y down**, z away from the camera. We turn them 180° about x — ``(x, −y, −z)`` — to
get our convention (y up, right-handed, a person facing the camera faces +z), the same turn the Panoptic
reader uses.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from posegen_lite.geometry.skeleton import from_mediapipe33
from posegen_lite.images import ensure_rgb

MEDIAPIPE_VERSION = "0.10.14"
_INSTALL_HINT = (
    "the photo pose estimator needs mediapipe: pip install 'posegen-lite[photo]' "
    f"(mediapipe=={MEDIAPIPE_VERSION} is installed with --no-deps; see docs/datasets.md)"
)


class NoPersonFoundError(ValueError):
    """The estimator found no person in the image."""


@dataclass(frozen=True)
class PhotoPose:
    """A pose estimated from one photo.

    Attributes:
        joints3d: ``(18, 3)`` float32 metres, y up, right-handed, origin at the hip centre; NaN where missing.
        keypoints: ``(18, 2)`` float32 (x, y) pixels of the input image; NaN where missing.
        visible: ``(18,)`` bool — the joint was found with enough confidence (same for 2D and 3D).
    """

    joints3d: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray


class PoseEstimator(Protocol):
    """Anything that estimates an 18-joint ``PhotoPose`` from an ``(H, W, 3)`` uint8 RGB image."""

    def estimate(self, image: np.ndarray) -> PhotoPose: ...


# MediaPipe world (y down, z away from the camera) → ours (y up, z towards the camera): 180° about x.
_MEDIAPIPE_TO_WORLD = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class MediaPipeConfig:
    """Options of ``MediaPipeEstimator``.

    Attributes:
        min_detection_confidence: MediaPipe's person detection threshold.
        min_visibility: landmarks whose MediaPipe visibility is below this are reported missing.
    """

    min_detection_confidence: float = 0.5
    min_visibility: float = 0.5


@contextlib.contextmanager
def _quiet_mediapipe() -> Iterator[None]:
    """Silence what MediaPipe 0.10.14 prints that is no news to a user: its C++ graph's start-up lines (TFLite's
    "XNNPACK delegate", absl's "Feedback manager" warnings, written straight to file descriptor 2, so only a
    redirect of that descriptor stops them) and protobuf's deprecation warning for MediaPipe's own call. Errors
    still raise as exceptions; only the two MediaPipe calls below run inside."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated")
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _mediapipe() -> Any:
    """The ``mediapipe`` module at ``MEDIAPIPE_VERSION``, or an ``ImportError`` saying how to install it."""
    try:
        import mediapipe as mp
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    if getattr(mp, "__version__", None) != MEDIAPIPE_VERSION:
        raise ImportError(
            f"found mediapipe {getattr(mp, '__version__', '?')}; {_INSTALL_HINT}. Newer releases "
            "download their models at run time, which this package does not allow."
        )
    return mp


class MediaPipeEstimator:
    """``PoseEstimator`` backed by MediaPipe Pose (legacy solution API, static images, model complexity 1).

    Use as a context manager, or call ``close()``, to free the graph; ``estimate`` works either way.
    """

    def __init__(self, config: MediaPipeConfig | None = None):
        mp = _mediapipe()
        self.config = config or MediaPipeConfig()
        self._mp = mp
        self._segmenter: Any = None  # a second graph, with the person segmentation, built on the first ``segment``
        # model_complexity=1 is the only model the 0.10.14 wheel ships: 0 and 2 would be downloaded.
        with _quiet_mediapipe():
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=True,
                model_complexity=1,
                min_detection_confidence=self.config.min_detection_confidence,
            )

    def estimate(self, image: np.ndarray) -> PhotoPose:
        """Estimate the pose of the (most prominent) person in ``image`` ``(H, W, 3)`` uint8 RGB.

        Grayscale / RGBA images are converted to RGB first. Raises ``NoPersonFoundError`` when no person is found.
        """
        rgb = ensure_rgb(image, convert=True)
        height, width = rgb.shape[:2]
        with _quiet_mediapipe():
            result = self._pose.process(rgb)
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            raise NoPersonFoundError(f"no person found in the {width}×{height} image")
        image_lm = np.array([[lm.x, lm.y] for lm in result.pose_landmarks.landmark], np.float64)
        world_lm = np.array([[lm.x, lm.y, lm.z] for lm in result.pose_world_landmarks.landmark], np.float64)
        visibility = np.array([lm.visibility for lm in result.pose_landmarks.landmark], np.float64)
        # MediaPipe's image landmarks are normalized to [0, 1] by the image size (pixel-edge convention);
        # ours put pixel centres at integers, hence the −0.5.
        xy, vis2d = from_mediapipe33(image_lm * [width, height] - 0.5, visibility, self.config.min_visibility)
        xyz, vis3d = from_mediapipe33(world_lm @ _MEDIAPIPE_TO_WORLD.T, visibility, self.config.min_visibility)
        visible = vis2d & vis3d
        if not visible.any():
            raise NoPersonFoundError(
                f"a person was detected in the {width}×{height} image but no joint is "
                f"visible with confidence ≥ {self.config.min_visibility}"
            )
        xy[~visible] = np.nan
        xyz[~visible] = np.nan
        return PhotoPose(joints3d=xyz.astype(np.float32), keypoints=xy.astype(np.float32), visible=visible)

    def segment(self, image: np.ndarray) -> np.ndarray | None:
        """Where the (most prominent) person in ``image`` ``(H, W, 3)`` uint8 is: ``(H, W)`` float32 in [0, 1]
        (MediaPipe Pose's segmentation; hair, coats and skirts included), or ``None`` when it finds nobody."""
        rgb = ensure_rgb(image, convert=True)
        if self._segmenter is None:
            with _quiet_mediapipe():
                self._segmenter = self._mp.solutions.pose.Pose(
                    static_image_mode=True,
                    model_complexity=1,
                    enable_segmentation=True,
                    min_detection_confidence=self.config.min_detection_confidence,
                )
        with _quiet_mediapipe():
            result = self._segmenter.process(rgb)
        if result.segmentation_mask is None:
            return None
        return np.clip(np.asarray(result.segmentation_mask, np.float32), 0.0, 1.0)

    def close(self) -> None:
        self._pose.close()
        if self._segmenter is not None:
            self._segmenter.close()
            self._segmenter = None

    def __enter__(self) -> MediaPipeEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MediaPipeFaceDetector:
    """MediaPipe's face detector (legacy solution, the short-range model the 0.10.14 wheel ships): the scores of
    the faces in an image. A measure, not a pipeline step: ``evaluation.photos`` asks it whether the back of a
    generated head shows a face."""

    def __init__(self, min_confidence: float = 0.5, upscale: int = 4) -> None:
        mp = _mediapipe()
        self.upscale = upscale  # the detector looks for faces of 20 px and more; a 128×64 view's head is ~12 px
        with _quiet_mediapipe():
            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=min_confidence
            )

    def scores(self, image: np.ndarray) -> list[float]:
        """The confidence of every face found in ``image`` ``(H, W, 3)`` uint8 (scaled up ``upscale`` times
        first), highest first; ``[]`` when there is none."""
        from PIL import Image

        rgb = ensure_rgb(image, convert=True)
        h, w = rgb.shape[:2]
        big = np.asarray(Image.fromarray(rgb).resize((w * self.upscale, h * self.upscale), Image.Resampling.BICUBIC))
        with _quiet_mediapipe():
            result = self._detector.process(big)
        found = result.detections or []
        return sorted((float(d.score[0]) for d in found), reverse=True)

    def close(self) -> None:
        self._detector.close()

    def __enter__(self) -> MediaPipeFaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def estimate_pose(image: np.ndarray, estimator: PoseEstimator | None = None) -> PhotoPose:
    """One-call helper: estimate the pose in ``image`` with ``estimator`` (a fresh ``MediaPipeEstimator`` if
    none is given, closed afterwards)."""
    if estimator is not None:
        return estimator.estimate(image)
    with MediaPipeEstimator() as default:
        return default.estimate(image)
