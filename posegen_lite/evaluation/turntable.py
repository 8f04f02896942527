"""Turntable consistency on the embedded synthetic people: one input, two target views ``step`` degrees apart.

For a pair of the synthetic dataset (``plan_pair``: person, pose, input camera A, target azimuth), the target
is rendered at its azimuth and at ``step`` degrees further round the orbit; both targets come as pair samples
with the dataset's extras (and ``proxy_parts_a``), so every predictor runs on them unchanged. The body proxy's
flow from view 1 to view 2 says where each surface point of view 1 lies in view 2 and whether view 2 shows it;
``unseen.turntable_ratio`` then compares the predictions' disagreement with the true images' (docs/evaluation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import default_collate

from posegen_lite.evaluation.baselines import source_view_parts
from posegen_lite.evaluation.predictors import Predictor
from posegen_lite.evaluation.unseen import turntable_ratio
from posegen_lite.images import to_uint8


@dataclass(frozen=True)
class TurntablePair:
    """Two target views of one input. ``batch``: the collated pair samples (input → view 1, input → view 2);
    ``flow (2, H, W)`` px, view 1 → view 2; ``both (H, W)`` bool: view-1 body pixels (the renderer's exact
    parts) whose proxy surface point view 2 also shows; ``unseen (H, W)`` bool: those the input never saw."""

    batch: dict
    flow: np.ndarray
    both: np.ndarray
    unseen: np.ndarray


def turntable_pair(config, split: str, index: int, step: float = 5.0) -> TurntablePair:
    """Sample ``index`` of ``split`` (a ``SyntheticConfig``) with its target seen at azimuth ``az_b`` and
    ``az_b + step`` degrees (the same person, pose, elevation, background and input view)."""
    from posegen_lite.data.sample import make_sample
    from posegen_lite.data.synthetic.detail import pair_extras
    from posegen_lite.data.synthetic.framing import person_cameras
    from posegen_lite.data.synthetic.pairs import plan_pair, wrap_degrees
    from posegen_lite.data.synthetic.render import render_views
    from posegen_lite.geometry.warp import proxy_maps

    plan = plan_pair(config, split, index)
    azimuths = [plan.azimuth_a, plan.azimuth_b, (plan.azimuth_b + step) % 360.0]
    cams = person_cameras(plan.body, azimuths, plan.elevation, *config.size)
    views = render_views(
        [plan.person] * 3,
        [plan.body] * 3,
        cams,
        supersample=config.supersample,
        backgrounds=np.stack([plan.background] * 3).astype(np.float32),
    )
    plans = [plan._replace(cameras=[cams[0], cams[k]], azimuth_b=azimuths[k]) for k in (1, 2)]
    parts_a = source_view_parts(plan.body.joints3d[None], cams[:1])[0]
    samples = []
    for k, extra in zip((1, 2), pair_extras(plans), strict=True):
        a, b = views[0], views[k]
        sample = make_sample(
            a.image, b.image, a.keypoints, a.visible, b.keypoints, b.visible,
            person_id=plan.person_id, name_a=f"{plan.person_id}_turn_a", name_b=f"{plan.person_id}_turn_{k}",
            joints3d_a=a.joints3d, joints3d_b=b.joints3d, yaw=wrap_degrees(-(azimuths[k] - plan.azimuth_a)),
        )  # fmt: skip
        samples.append(sample | extra | {"proxy_parts_a": parts_a})
    joints = plan.body.joints3d[None]
    between = proxy_maps(joints, joints, [cams[2]], [cams[1]])  # target = view 1, source = view 2
    both = (between.visibility[0, 0].numpy() > 0.5) & (views[1].parts >= 0)
    unseen = both & ~(samples[0]["visibility"][0].numpy() > 0.5)
    return TurntablePair(default_collate(samples), between.flow[0].numpy(), both, unseen)


def turntable_scores(predictors: dict[str, Predictor], pairs: list[TurntablePair]) -> dict[str, dict[str, np.ndarray]]:
    """``{model: {"turntable": (N,), "turntable_unseen": (N,)}}``: ``turntable_ratio`` of each pair on the
    surface points both target views show, and on those of them the input never saw (NaN where empty)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, predict in predictors.items():
        scores = {"turntable": np.empty(len(pairs)), "turntable_unseen": np.empty(len(pairs))}
        for n, pair in enumerate(pairs):
            with torch.no_grad():
                pred = predict(pair.batch).detach().float().cpu().clamp(-1.0, 1.0)
            p1, p2 = to_uint8(pred)
            t1, t2 = to_uint8(pair.batch["image_b"])
            scores["turntable"][n] = turntable_ratio(p1, p2, t1, t2, pair.flow, pair.both)
            scores["turntable_unseen"][n] = turntable_ratio(p1, p2, t1, t2, pair.flow, pair.unseen)
        out[name] = scores
    return out
