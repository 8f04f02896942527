"""Every person in a photo, with an estimator that finds one person per call (``geometry.photo.PoseEstimator``).

``estimate_multiscale`` retries a photo at smaller scales before giving up: MediaPipe Pose misses people in a
large photo that it finds in the same photo scaled down (docs/photos.md). ``find_people`` searches, blanks the
box of the person found (a flat grey over their joints' extent plus a margin) and searches again, until nobody
is left — in the whole photo, then (``strip_counts``) in overlapping vertical strips. ``find_people_tiled``
searches strips without blanking. All are measured in ``benchmarks/bench_photo_people.py``. Pure functions:
the estimator is passed in, never built here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from posegen_lite.geometry.photo import NoPersonFoundError, PhotoPose, PoseEstimator
from posegen_lite.images import ensure_rgb, resize_image

SCALES = (1.0, 0.5, 0.25)  # of the photo's size; 1 first, so a photo found at full size is found as before
MIN_SIDE = 96  # px: a scale whose shorter side would fall below this is skipped (nobody is found that small)
MAX_PEOPLE = 8
BLANK_MARGIN = 0.15  # of a person's joint extent, on each side: joints are not the silhouette (hair, hands, feet)
BLANK_VALUE = 127  # the flat grey a found person is blanked with
LEFTOVER_OVERLAP = 1 / 3  # a pose this much inside a person already found is what their blanking left over
VERIFY_MARGIN = 0.5  # of a candidate's joint extent, each side: the wider view a candidate is checked in
STRIP_COUNTS = (1, 2, 3)  # the whole photo, then 2 and 3 overlapping strips: the most thorough search measured


def estimate_multiscale(
    image: np.ndarray, estimator: PoseEstimator, scales: Sequence[float] = SCALES, min_side: int = MIN_SIDE
) -> PhotoPose:
    """The first person ``estimator`` finds in ``image`` ``(H, W, 3)`` uint8, trying each of ``scales`` in turn.

    Keypoints come back in pixels of ``image`` (pixel centres at integers), whatever scale found them. Raises
    ``NoPersonFoundError`` naming the scales tried when none finds anybody.
    """
    rgb = ensure_rgb(image, convert=True)
    height, width = rgb.shape[:2]
    tried: list[float] = []
    for scale in scales:
        h, w = round(height * scale), round(width * scale)
        if tried and min(h, w) < min_side:
            continue
        tried.append(scale)
        try:
            pose = estimator.estimate(rgb if (h, w) == (height, width) else resize_image(rgb, h, w))
        except NoPersonFoundError:
            continue
        return _rescaled(pose, width / w, height / h)
    raise NoPersonFoundError(
        f"no person found in the {width}×{height} image at scale(s) {', '.join(f'{s:g}' for s in tried)}"
    )


def _rescaled(pose: PhotoPose, sx: float, sy: float) -> PhotoPose:
    """``pose`` with its keypoints taken from an image scaled by ``(1/sx, 1/sy)`` back to the original's pixels."""
    if sx == 1.0 and sy == 1.0:
        return pose
    kp = ((pose.keypoints + 0.5) * np.array([sx, sy], np.float32) - 0.5).astype(np.float32)
    return PhotoPose(joints3d=pose.joints3d, keypoints=kp, visible=pose.visible)


def person_extent(pose: PhotoPose, margin: float = 0.0) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` pixels: the box of ``pose``'s visible keypoints, widened by ``margin`` of its extent on
    each side (at least 8 px, so a person of one or two joints still covers something)."""
    kp = pose.keypoints[pose.visible & np.isfinite(pose.keypoints).all(axis=1)]
    if len(kp) == 0:
        raise ValueError("the pose has no visible keypoint")
    lo, hi = kp.min(axis=0), kp.max(axis=0)
    pad = np.maximum((hi - lo) * margin, 8.0)
    return float(lo[0] - pad[0]), float(lo[1] - pad[1]), float(hi[0] + pad[0]), float(hi[1] + pad[1])


def blank_person(image: np.ndarray, pose: PhotoPose, margin: float = BLANK_MARGIN) -> np.ndarray:
    """A copy of ``image`` ``(H, W, 3)`` uint8 with ``pose``'s box (``person_extent``) filled with flat grey."""
    out = image.copy()
    x0, y0, x1, y1 = person_extent(pose, margin)
    h, w = image.shape[:2]
    top, left = max(0, int(np.floor(y0))), max(0, int(np.floor(x0)))
    bottom, right = min(h, int(np.ceil(y1)) + 1), min(w, int(np.ceil(x1)) + 1)
    out[top:bottom, left:right] = BLANK_VALUE
    return out


def _overlap(box: tuple[float, ...], other: tuple[float, ...]) -> float:
    """The fraction of ``box`` ``(x0, y0, x1, y1)`` that ``other`` covers."""
    w = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
    h = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
    return w * h / max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)


def _seen(pose: PhotoPose, boxes: Sequence[tuple[float, ...]]) -> bool:
    """Whether ``pose`` is the rest of a person already found: a third of its box lies in one of ``boxes``."""
    return any(_overlap(person_extent(pose), box) > LEFTOVER_OVERLAP for box in boxes)


def _shifted(pose: PhotoPose, left: int) -> PhotoPose:
    kp = pose.keypoints + np.array([left, 0], np.float32)
    return PhotoPose(joints3d=pose.joints3d, keypoints=kp, visible=pose.visible)


def _confirmed(
    image: np.ndarray, pose: PhotoPose, estimator: PoseEstimator, scales: Sequence[float], min_side: int
) -> bool:
    """Whether the estimator, shown ``pose``'s surroundings (its box widened by half its size each side, out of
    ``image`` as blanked so far), finds a person there whose box covers most of ``pose``'s: a person seen in a
    wider view, not a fragment seen through a strip or beside a blanked box."""
    x0, y0, x1, y1 = person_extent(pose, VERIFY_MARGIN)
    h, w = image.shape[:2]
    top, left = max(0, int(y0)), max(0, int(x0))
    bottom, right = min(h, int(np.ceil(y1))), min(w, int(np.ceil(x1)))
    try:
        found = estimate_multiscale(np.ascontiguousarray(image[top:bottom, left:right]), estimator, scales, min_side)
    except NoPersonFoundError:
        return False
    kp = found.keypoints + np.array([left, top], np.float32)
    again = PhotoPose(joints3d=found.joints3d, keypoints=kp, visible=found.visible)
    return _overlap(person_extent(pose), person_extent(again)) > 0.5


def find_people(
    image: np.ndarray,
    estimator: PoseEstimator,
    max_people: int = MAX_PEOPLE,
    scales: Sequence[float] = SCALES,
    min_side: int = MIN_SIDE,
    strip_counts: Sequence[int] = (1,),
    verify: bool = False,
) -> list[PhotoPose]:
    """Every person in ``image`` ``(H, W, 3)`` uint8, one ``estimate_multiscale`` call each: find one, blank their
    box, search again; then the same in each of 2, 3… overlapping vertical strips (``strip_counts`` after the
    first; the blanking carries over), where people are larger relative to what the estimator sees.
    ``people[0]`` is the person the estimator finds first in the whole photo.

    A pose whose box lies a third or more in a box already blanked (the rest of a person the blanking missed:
    legs below the box, say) is not a new person: it is blanked too, without being counted; two such in a row
    end the search of that strip. Raises ``NoPersonFoundError`` when nobody is found; stops at ``max_people``.
    """
    rgb = ensure_rgb(image, convert=True)
    people: list[PhotoPose] = []
    boxes: list[tuple[float, float, float, float]] = []
    for count in strip_counts:
        for left, right in strips(rgb.shape[1], count):
            repeats = 0
            while len(people) < max_people and repeats < 2:  # two repeats in a row: only leftovers are found
                try:
                    strip = np.ascontiguousarray(rgb[:, left:right])
                    pose = _shifted(estimate_multiscale(strip, estimator, scales, min_side), left)
                except NoPersonFoundError:
                    break
                seen = _seen(pose, boxes) or (
                    verify and people and not _confirmed(rgb, pose, estimator, scales, min_side)
                )
                rgb = blank_person(rgb, pose)
                if seen:
                    repeats += 1
                    continue
                repeats = 0
                people.append(pose)
                boxes.append(person_extent(pose, BLANK_MARGIN))
    if not people:
        raise NoPersonFoundError(f"no person found in the {rgb.shape[1]}×{rgb.shape[0]} image")
    return people


def strips(width: int, count: int, overlap: float = 0.5) -> list[tuple[int, int]]:
    """``count`` vertical strips ``(left, right)`` pixels covering ``width``, each overlapping its neighbour by
    ``overlap`` of a strip's width (so a person cut by one strip's edge is whole in the next)."""
    if count == 1:
        return [(0, width)]
    strip = width / (count - (count - 1) * overlap)
    step = strip * (1 - overlap)
    return [(round(k * step), min(width, round(k * step + strip))) for k in range(count)]


def find_people_tiled(
    image: np.ndarray,
    estimator: PoseEstimator,
    counts: Sequence[int] = (1, 2, 3),
    scales: Sequence[float] = SCALES,
    min_side: int = MIN_SIDE,
) -> list[PhotoPose]:
    """Every person in ``image``, by tiles: the whole photo, then 2 and 3 overlapping vertical strips (``counts``),
    one ``estimate_multiscale`` per tile. A pose a third or more inside a person already found is that person.
    Raises ``NoPersonFoundError`` when no tile holds anybody."""
    rgb = ensure_rgb(image, convert=True)
    people: list[PhotoPose] = []
    for count in counts:
        for left, right in strips(rgb.shape[1], count):
            try:
                pose = estimate_multiscale(np.ascontiguousarray(rgb[:, left:right]), estimator, scales, min_side)
            except NoPersonFoundError:
                continue
            pose = _shifted(pose, left)
            if not _seen(pose, [person_extent(p, BLANK_MARGIN) for p in people]):
                people.append(pose)
    if not people:
        raise NoPersonFoundError(f"no person found in any tile of the {rgb.shape[1]}×{rgb.shape[0]} image")
    return people
