"""Tests for posegen_lite.evaluation.baselines: the mirror and the per-part median-colour baselines."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from posegen_lite.evaluation.baselines import (
    MirrorBaseline,
    PartMedianBaseline,
    SourceParts,
    part_median_image,
    source_view_parts,
)

H, W = 32, 16


def test_mirror_flips_left_and_right() -> None:
    image = torch.zeros(1, 3, H, W)
    image[0, 0, 5, 2] = 1.0  # a red dot near the left edge
    image[0, 2, 20, :4] = -1.0  # a stripe along the left edge, blue channel
    out = MirrorBaseline()({"image_a": image})
    assert out.shape == image.shape
    assert out[0, 0, 5, W - 1 - 2] == 1.0 and out[0, 0, 5, 2] == 0.0
    assert (out[0, 2, 20, W - 4 :] == -1.0).all() and (out[0, 2, 20, : W - 4] == 0.0).all()
    assert torch.equal(MirrorBaseline()({"image_a": out}), image)  # twice is the identity


def _two_part_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Input: part 0 in rows 0–9 with red values {−0.5, 0.1, 0.3} (median 0.1), part 1 in rows 10–19 with
    green values {0.8, 0.2, 0.2} (median 0.2); the rest background. Target: part 1 above, part 0 below."""
    image = torch.full((1, 3, H, W), -1.0)
    parts_a = torch.full((1, H, W), -1, dtype=torch.int64)
    parts_a[0, 0:3, :3] = 0
    parts_a[0, 10:13, :3] = 1
    for col, value in enumerate((-0.5, 0.1, 0.3)):
        image[0, 0, 0:3, col] = value
    for col, value in enumerate((0.8, 0.2, 0.2)):
        image[0, 1, 10:13, col] = value
    image[0, :, 25:, :] = 0.9  # background the target should keep
    parts_b = torch.full((1, H, W), -1, dtype=torch.int64)
    parts_b[0, 2:8, 4:12] = 1
    parts_b[0, 14:20, 4:12] = 0
    return image, parts_a, parts_b


def test_part_median_paints_each_part_its_input_median() -> None:
    image, parts_a, parts_b = _two_part_case()
    out = part_median_image(image, parts_a, parts_b)
    assert torch.allclose(out[0, :, 14:20, 4:12], torch.tensor([0.1, -1.0, -1.0])[:, None, None])
    assert torch.allclose(out[0, :, 2:8, 4:12], torch.tensor([-1.0, 0.2, -1.0])[:, None, None])
    background = parts_b[0] < 0
    assert torch.equal(out[0][:, background], image[0][:, background])  # the input where the target has no body


def test_part_median_falls_back_to_the_whole_body_for_a_part_the_input_does_not_show() -> None:
    image, parts_a, parts_b = _two_part_case()
    parts_b[0, 22:24, 0:4] = 7  # a part the input view does not show
    out = part_median_image(image, parts_a, parts_b)
    on_body = parts_a[0] >= 0
    expected = torch.from_numpy(np.median(image[0][:, on_body].numpy(), axis=1))
    assert torch.allclose(out[0, :, 22, 0], expected)


def test_part_median_baseline_reads_the_batch_and_asks_for_the_parts() -> None:
    image, parts_a, parts_b = _two_part_case()
    batch = {"image_a": image, "proxy_parts_a": parts_a, "proxy_parts_b": parts_b}
    assert torch.equal(PartMedianBaseline()(batch), part_median_image(image, parts_a, parts_b))
    with pytest.raises(ValueError, match="proxy_parts_a"):
        PartMedianBaseline()({"image_a": image, "proxy_parts_b": parts_b})
    with pytest.raises(ValueError, match="parts_b"):
        part_median_image(image, parts_a, parts_b[:, :-1])


def test_source_parts_match_the_target_parts_of_a_pair_seen_from_the_same_camera() -> None:
    """The input view's parts come from the same proxy as the dataset's target parts: for a pair whose
    target camera is the input's, both must agree exactly."""
    from posegen_lite.data.synthetic.dataset import SyntheticPairs
    from posegen_lite.data.synthetic.pairs import SyntheticConfig, plan_pair
    from posegen_lite.geometry.warp import proxy_maps

    config = SyntheticConfig(size=(H, W), train_people=1, val_people=1, test_people=1, hard_people=1,
                             views_per_person=2)  # fmt: skip
    plan = plan_pair(config, "test", 1)
    joints = plan.body.joints3d[None]
    parts = source_view_parts(joints, plan.cameras[:1])
    same_view = proxy_maps(joints, joints, plan.cameras[:1], plan.cameras[:1]).parts
    assert parts.shape == (1, H, W) and (parts >= 0).any()
    assert torch.equal(parts, same_view)
    batch = next(iter(DataLoader(SourceParts(SyntheticPairs(config, "test", extras=True)), batch_size=2)))
    assert torch.equal(batch["proxy_parts_a"][1], parts[0])
    assert PartMedianBaseline()(batch).shape == batch["image_b"].shape
