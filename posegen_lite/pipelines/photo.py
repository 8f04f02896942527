"""The photo path behind ``NovelViewSynthesizer.synthesize_photo``: a photo of any size → the networks' input.

Find the people (MediaPipe by default, ``geometry.photo``; every person and a retry at smaller scales,
``geometry.people``), crop a box of the model's aspect ratio around the chosen one (padded by repeating the
border where it leaves the photo) and scale crop and keypoints to the model's size; the person's silhouette in
the crop (the estimator's segmentation, else the keypoints' body mask) tells the synthesizer which pixels are
the photo's own background. The synthesizer then runs Stage I–III with the observed keypoints and the
estimator's depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from posegen_lite.geometry.people import find_people, person_extent
from posegen_lite.geometry.photo import NoPersonFoundError, PhotoPose, PoseEstimator
from posegen_lite.images import ensure_rgb, resize_image
from posegen_lite.pipelines.compositing import people_masks, resize_float

PeopleFinder = Callable[[np.ndarray, PoseEstimator], list[PhotoPose]]  # geometry.people's searches
PERSON_MARGIN = 0.2  # of the keypoints' extent, added on each side: joints are not the silhouette (head, feet)


@dataclass
class PhotoInput:
    """A photo made ready for the networks: ``image`` ``(H, W, 3)`` uint8 at the model's size, ``keypoints``
    ``(18, 2)`` pixels of it (NaN where missing), ``visible`` ``(18,)``, ``joints3d`` ``(18, 3)`` metres;
    ``people`` every pose found in the photo (its pixels), ``person`` the index of the one cropped;
    ``silhouette`` ``(H, W)`` bool, where that person is in ``image`` (``person_silhouette``)."""

    image: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    joints3d: np.ndarray
    people: list[PhotoPose] = field(default_factory=list)
    person: int = 0
    silhouette: np.ndarray | None = None

    def notice(self) -> str | None:
        """One line saying how many people the photo holds and which one was used, or ``None`` for one."""
        if len(self.people) < 2:
            return None
        where = ", ".join(f"{k}: x≈{_centre_x(p):.0f} px" for k, p in enumerate(self.people))
        return (
            f"{len(self.people)} people found in the photo; used person {self.person} ({where}). Pass person=k "
            "for another, or give every one to CrowdSynthesizer (crowd.people_from_photo)"
        )


def _centre_x(pose: PhotoPose) -> float:
    x0, _, x1, _ = person_extent(pose)
    return (x0 + x1) / 2


def person_box(keypoints: np.ndarray, height: int, width: int, margin: float = PERSON_MARGIN) -> tuple[int, ...]:
    """``(top, left, box_height, box_width)`` pixels: a box of aspect ``height : width`` around ``(N, 2)``
    keypoints with ``margin`` of their extent on each side (it may reach past the photo's border)."""
    lo, hi = keypoints.min(axis=0), keypoints.max(axis=0)
    centre = (lo + hi) / 2
    extent = np.maximum(hi - lo, 1.0) * (1 + 2 * margin)
    box_h = max(extent[1], extent[0] * height / width)
    box_w = box_h * width / height
    top, left = round(centre[1] - box_h / 2), round(centre[0] - box_w / 2)
    return top, left, max(1, round(box_h)), max(1, round(box_w))


def crop_padded(image: np.ndarray, top: int, left: int, box_h: int, box_w: int) -> np.ndarray:
    """``image[top:top+box_h, left:left+box_w]``, padded by repeating the border where the box leaves it."""
    h, w = image.shape[:2]
    pad = ((max(0, -top), max(0, top + box_h - h)), (max(0, -left), max(0, left + box_w - w)), (0, 0))
    padded = np.pad(image, pad, mode="edge")
    t, lft = top + pad[0][0], left + pad[1][0]
    return padded[t : t + box_h, lft : lft + box_w]


def photo_people(
    photo: np.ndarray, estimator: PoseEstimator | None = None, finder: PeopleFinder = find_people
) -> list[PhotoPose]:
    """Every person's ``PhotoPose`` in ``photo`` ``(H, W, 3)``: ``finder(photo, estimator)`` (a fresh
    ``MediaPipeEstimator``, closed afterwards, if none is given). ``find_people`` blanks each person found and
    searches again (``[0]`` is the one the estimator finds first in the whole photo); ``find_people_tiled``
    searches overlapping strips, finds more people in groups and takes twice the time (docs/photos.md).
    Raises ``NoPersonFoundError`` when there is nobody."""
    from posegen_lite.geometry import photo as photo_pose

    rgb = ensure_rgb(photo, convert=True)
    if estimator is not None:
        return finder(rgb, estimator)
    with photo_pose.MediaPipeEstimator() as default:
        return finder(rgb, default)


def prepare_photo(
    photo: np.ndarray,
    height: int,
    width: int,
    estimator: PoseEstimator | None = None,
    person: int = 0,
    people: list[PhotoPose] | None = None,
) -> PhotoInput:
    """Find the people in ``photo`` (any size; MediaPipe by default; ``photo_people``), crop a box of aspect
    ``height : width`` around person ``person`` and scale it to ``height × width``; ``silhouette`` from the
    estimator's segmentation. ``people``: the photo's people already found (``PhotoInput.people``), so another
    person of the same photo costs no new search. Raises ``NoPersonFoundError`` when there is no person,
    ``IndexError`` when there is no person ``person``."""
    if estimator is None:  # one MediaPipe estimator for the search and the segmentation, closed afterwards
        from posegen_lite.geometry import photo as photo_pose

        with photo_pose.MediaPipeEstimator() as default:
            return prepare_photo(photo, height, width, default, person, people)
    rgb = ensure_rgb(photo, convert=True)
    people = photo_people(rgb, estimator) if people is None else people
    if not -len(people) <= person < len(people):
        raise IndexError(f"person {person} asked for, but {len(people)} found in the photo")
    pose = people[person]
    vis = pose.visible & np.isfinite(pose.keypoints).all(axis=1)
    if vis.sum() < 2:
        raise NoPersonFoundError(f"only {int(vis.sum())} joint(s) of a person found in the photo; need 2")
    top, left, box_h, box_w = person_box(pose.keypoints[vis], height, width)
    crop = crop_padded(rgb, top, left, box_h, box_w)
    image = resize_image(crop, height, width).copy()
    scale = np.array([width / box_w, height / box_h])
    kp = ((pose.keypoints - [left, top] + 0.5) * scale - 0.5).astype(np.float32)
    kp[~vis] = np.nan
    joints3d = np.where(vis[:, None], pose.joints3d, np.nan).astype(np.float32)
    silhouette = person_silhouette(crop, kp, vis, height, width, estimator)
    return PhotoInput(image, kp, vis, joints3d, people, person % len(people), silhouette)


def prepare_everyone(
    photo: np.ndarray, height: int, width: int, estimator: PoseEstimator | None = None
) -> list[PhotoInput]:
    """``prepare_photo`` for every person in ``photo``, one search for all (``[0]`` as ``prepare_photo``)."""
    if estimator is None:
        from posegen_lite.geometry import photo as photo_pose

        with photo_pose.MediaPipeEstimator() as default:
            return prepare_everyone(photo, height, width, default)
    first = prepare_photo(photo, height, width, estimator)
    rest = [prepare_photo(photo, height, width, estimator, k, first.people) for k in range(1, len(first.people))]
    return [first, *rest]


KEYPOINT_SILHOUETTE_GROW = 2  # px at the model's size: PG2's body mask is a little tighter than a clothed body


def person_silhouette(
    crop: np.ndarray,
    keypoints: np.ndarray,
    visible: np.ndarray,
    height: int,
    width: int,
    estimator: PoseEstimator | None = None,
) -> np.ndarray:
    """``(height, width)`` bool: where the person of a ``crop`` (any size, the person centred) is, at the model's
    size. The estimator's person segmentation of the crop when it has one (``MediaPipeEstimator.segment``: hair,
    coats and skirts included) and finds the person; else PG2's body mask of the model-size ``keypoints``
    ``(18, 2)`` / ``visible`` ``(18,)``, grown by ``KEYPOINT_SILHOUETTE_GROW`` pixels."""
    segment = getattr(estimator, "segment", None)
    mask = None if segment is None else segment(crop)
    if mask is not None and (mask > 0.5).any():
        return resize_float(mask, height, width) > 0.5
    return people_masks([keypoints], [visible], height, width, KEYPOINT_SILHOUETTE_GROW)[0]
