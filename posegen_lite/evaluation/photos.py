"""Measures of novel views of a real photo, which has no ground truth for any other view (docs/evaluation.md).

* ``yaw0_difference`` — the largest difference, in grey levels, between the view at yaw 0 and the photo's crop
  (0: the observed view comes back as observed).
* ``cycle_l1`` — turn by θ, then turn that view back by −θ: the mean absolute difference in [0, 1] to the input
  on the pixels of the person the input showed. What the input saw should survive the round trip.
* ``faces_at`` — the scores of the faces MediaPipe's detector finds in a view (``MediaPipeFaceDetector``): at
  180° a head shows its back, so a face found there was carried over from the front.

The synthesizer is passed in (anything with ``photo_views`` as ``NovelViewSynthesizer`` has it) and the photo
as its prepared input (``prepare_photo``): this layer sits below the pipelines.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np


def _views(synth: Any, inp: Any, yaws: Sequence[float], unseen: str | None = None) -> list:
    if unseen is None:  # what synthesize_photo shows
        return synth.photo_views(inp, list(yaws))
    return synth.photo_views(inp, list(yaws), unseen=unseen)


def yaw0_difference(synth: Any, inp: Any, unseen: str | None = None) -> int:
    """The largest absolute difference, in grey levels (0–255), between the yaw-0 view and ``inp.image``
    (``unseen``: who paints the unseen side, as ``photo_views`` takes it; None: its default)."""
    view = _views(synth, inp, [0.0], unseen)[0].image
    return int(np.abs(view.astype(np.int16) - inp.image.astype(np.int16)).max())


def cycle_l1(synth: Any, inp: Any, yaw: float, unseen: str | None = None) -> float:
    """Mean absolute difference in [0, 1] between ``inp.image`` and the view turned by ``yaw`` and back by
    ``-yaw`` (the first view, its keypoints, turned 3D joints and body, is the input of the second), on the seen
    pixels: the person's (``inp.silhouette``) whose body point the turned view also saw (the way back's
    ``seen``). The input's own pixels elsewhere are a guess in the turned view."""
    if inp.silhouette is None or not inp.silhouette.any():
        raise ValueError("cycle_l1 needs the person's silhouette (prepare_photo gives it)")
    there = _views(synth, inp, [yaw], unseen)[0]
    body = inp.silhouette if there.body is None else there.body
    turned = copy.copy(inp)  # the turned view as a prepared photo
    turned.image, turned.keypoints, turned.visible = there.image, there.keypoints, there.visible
    turned.joints3d, turned.silhouette = there.joints3d, body
    back = _views(synth, turned, [-yaw], unseen)[0]
    seen = inp.silhouette if back.seen is None else inp.silhouette & back.seen
    if not seen.any():
        return float("nan")
    diff = np.abs(back.image.astype(np.float64) - inp.image.astype(np.float64)) / 255.0
    return float(diff[seen].mean())


def faces_at(
    synth: Any, inp: Any, yaws: Sequence[float], detector: Any, unseen: str | None = None
) -> dict[float, list[float]]:
    """For each of ``yaws``, the scores of the faces ``detector`` (``MediaPipeFaceDetector``) finds in the view."""
    return {float(r.yaw): detector.scores(r.image) for r in _views(synth, inp, yaws, unseen)}
