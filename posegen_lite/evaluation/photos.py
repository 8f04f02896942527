"""Measures of novel views of a real photo, which has no ground truth for any other view (docs/evaluation.md).

* ``yaw0_difference`` — the largest difference, in grey levels, between the view at yaw 0 and the photo's crop
  (0: the observed view comes back as observed).
* ``cycle_l1`` — turn by θ, then turn that view back by −θ: the mean absolute difference in [0, 1] to the input
  on the pixels of the person the input showed. What the input saw should survive the round trip.
* ``faces_at`` — the scores of the faces MediaPipe's detector finds in a view (``MediaPipeFaceDetector``): at
  180° a head shows its back, so a face found there was carried over from the front.

The synthesizer is passed in (anything with ``photo_views``, ``synthesize_many`` and ``proxy_flow`` as
``NovelViewSynthesizer`` has them) and the photo as its prepared input (``prepare_photo``): this layer sits
below the pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _views(synth: Any, inp: Any, yaws: Sequence[float]) -> list:
    return synth.photo_views(inp, list(yaws))  # what synthesize_photo shows


def yaw0_difference(synth: Any, inp: Any) -> int:
    """The largest absolute difference, in grey levels (0–255), between the yaw-0 view and ``inp.image``."""
    view = _views(synth, inp, [0.0])[0].image
    return int(np.abs(view.astype(np.int16) - inp.image.astype(np.int16)).max())


def cycle_l1(synth: Any, inp: Any, yaw: float) -> float:
    """Mean absolute difference in [0, 1] between ``inp.image`` and the view turned by ``yaw`` and back by
    ``-yaw`` (the first view is the input of the second, with its keypoints and turned 3D joints), on the seen
    pixels: the person's (``inp.silhouette``) whose body point the turned view also saw (the body proxy's
    visibility of the way back). The input's own pixels elsewhere are a guess in the turned view."""
    person = inp.silhouette
    if person is None or not person.any():
        raise ValueError("cycle_l1 needs the person's silhouette (prepare_photo gives it)")
    there = _views(synth, inp, [yaw])[0]
    back = synth.synthesize_many(there.image, there.keypoints, [-yaw], visible=there.visible, lifted=there.joints3d)
    way_back = synth.proxy_flow(there.keypoints, [back[0].joints3d], visible=there.visible, lifted=there.joints3d)
    seen = person & (way_back.visibility[0, 0].cpu().numpy() > 0.5)
    if not seen.any():
        return float("nan")
    diff = np.abs(back[0].image.astype(np.float64) - inp.image.astype(np.float64)) / 255.0
    return float(diff[seen].mean())


def faces_at(synth: Any, inp: Any, yaws: Sequence[float], detector: Any) -> dict[float, list[float]]:
    """For each of ``yaws``, the scores of the faces ``detector`` (``MediaPipeFaceDetector``) finds in the view."""
    return {float(r.yaw): detector.scores(r.image) for r in _views(synth, inp, yaws)}
