"""Tests for posegen_lite.training.losses: PG2's masked L1 and the adversarial losses."""

import math

import pytest
import torch
import torch.nn.functional as F

from posegen_lite.training.losses import discriminator_loss, generator_adversarial_loss, masked_l1


def test_masked_l1_hand_computed():
    # B=1, C=2, H=1, W=2. |diff| = [[1, 2], [3, 4]] per channel; mask = [1, 0] over the two pixels.
    pred = torch.tensor([[[[1.0, -2.0]], [[3.0, 0.0]]]])
    target = torch.tensor([[[[0.0, 0.0]], [[0.0, 4.0]]]])
    mask = torch.tensor([[[[1.0, 0.0]]]])
    # Weighted terms: 1·2, 2·1, 3·2, 4·1 → sum 14 over 4 elements.
    assert masked_l1(pred, target, mask).item() == pytest.approx(14 / 4)


def test_masked_l1_all_zero_mask_is_plain_l1():
    gen = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 3, 5, 4, generator=gen), torch.rand(2, 3, 5, 4, generator=gen)
    loss = masked_l1(pred, target, torch.zeros(2, 1, 5, 4))
    assert loss.item() == pytest.approx(F.l1_loss(pred, target).item(), rel=1e-6)


def test_masked_l1_full_mask_doubles_and_mask_broadcasts_over_channels():
    gen = torch.Generator().manual_seed(1)
    pred, target = torch.rand(2, 3, 4, 4, generator=gen), torch.rand(2, 3, 4, 4, generator=gen)
    assert masked_l1(pred, target, torch.ones(2, 1, 4, 4)).item() == pytest.approx(
        2 * F.l1_loss(pred, target).item(), rel=1e-6
    )
    mask = (torch.rand(2, 1, 4, 4, generator=gen) > 0.5).float()
    expected = ((pred - target).abs() * (1 + mask.expand(2, 3, 4, 4))).mean()
    assert masked_l1(pred, target, mask).item() == pytest.approx(expected.item(), rel=1e-6)


def test_masked_l1_is_float32_and_differentiable_from_bf16():
    pred = torch.zeros(1, 3, 2, 2, dtype=torch.bfloat16, requires_grad=True)
    loss = masked_l1(pred, torch.ones(1, 3, 2, 2), torch.ones(1, 1, 2, 2))
    assert loss.dtype == torch.float32 and loss.item() == pytest.approx(2.0)
    loss.backward()
    assert pred.grad is not None and (pred.grad < 0).all()


@pytest.mark.parametrize("pred_shape, target_shape, mask_shape", [
    ((1, 3, 4, 4), (1, 3, 4, 5), (1, 1, 4, 4)),   # pred/target differ
    ((1, 3, 4, 4), (1, 3, 4, 4), (1, 3, 4, 4)),   # mask with C channels
    ((1, 3, 4, 4), (1, 3, 4, 4), (1, 4, 4)),      # mask without channel axis
    ((2, 3, 4, 4), (2, 3, 4, 4), (1, 1, 4, 4)),   # mask batch differs
    ((3, 4, 4), (3, 4, 4), (1, 4, 4)),            # unbatched
])  # fmt: skip
def test_masked_l1_rejects_bad_shapes(pred_shape, target_shape, mask_shape):
    with pytest.raises(ValueError, match="masked_l1"):
        masked_l1(torch.zeros(pred_shape), torch.zeros(target_shape), torch.zeros(mask_shape))


def test_discriminator_loss_bce_values():
    zeros = torch.zeros(4)
    # A discriminator that cannot tell real from fake: log 2 for each half.
    assert discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    sig = 1 / (1 + math.exp(-2.0))
    expected = -math.log(sig) - math.log(1 - 1 / (1 + math.exp(1.0)))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    # One-sided label smoothing: the real target becomes 0.9, the fake half is unchanged.
    smoothed = -(0.9 * math.log(sig) + 0.1 * math.log(1 - sig)) - math.log(1 - 1 / (1 + math.exp(1.0)))
    assert discriminator_loss(real, fake, real_label=0.9).item() == pytest.approx(smoothed, rel=1e-6)


def test_discriminator_loss_hinge_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    # relu(1 - r) = [0, 0.5] → 0.25; relu(1 + f) = [0, 1] → 0.5
    assert discriminator_loss(real, fake, kind="hinge").item() == pytest.approx(0.75)


def test_generator_adversarial_loss_values():
    assert generator_adversarial_loss(torch.zeros(3)).item() == pytest.approx(math.log(2))
    assert generator_adversarial_loss(torch.tensor([1.0, 3.0]), kind="hinge").item() == pytest.approx(-2.0)
    # Non-saturating: the loss still falls as the fake logit rises from a strongly negative value.
    assert generator_adversarial_loss(torch.tensor([-5.0])) > generator_adversarial_loss(torch.tensor([-4.0]))


def test_adversarial_losses_reject_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        discriminator_loss(torch.zeros(2), torch.zeros(2), kind="wgan")
    with pytest.raises(ValueError, match="kind"):
        generator_adversarial_loss(torch.zeros(2), kind="lsgan")
    with pytest.raises(ValueError, match="hinge"):
        discriminator_loss(torch.zeros(2), torch.zeros(2), kind="hinge", real_label=0.9)
    with pytest.raises(ValueError, match="real_label"):
        discriminator_loss(torch.zeros(2), torch.zeros(2), real_label=1.5)
    with pytest.raises(ValueError, match="empty"):
        discriminator_loss(torch.zeros(0), torch.zeros(2))


def test_part_weighted_l1_hand_computed():
    from posegen_lite.geometry.proxy import REGION_NAMES
    from posegen_lite.training.losses import part_weighted_l1

    # B=1, C=1, H=1, W=3: |diff| = 1, 2, 4; mask on pixels 0 and 1; regions: head, torso, background.
    pred = torch.tensor([[[[1.0, 2.0, 4.0]]]])
    target = torch.zeros_like(pred)
    mask = torch.tensor([[[[1.0, 1.0, 0.0]]]])
    regions = torch.tensor([[[REGION_NAMES.index("head"), REGION_NAMES.index("torso"), 0]]])
    # weights: 1·(1+1+3) + 2·(1+1+0.5) + 4·(1+0+0) = 5 + 5 + 4 = 14 over 3 elements.
    loss = part_weighted_l1(pred, target, mask, regions, {"head": 3.0, "torso": 0.5})
    assert loss.item() == pytest.approx(14 / 3)
    # No weights: exactly PG2's masked L1.
    assert part_weighted_l1(pred, target, mask, regions, {}).item() == masked_l1(pred, target, mask).item()
    with pytest.raises(ValueError, match="unknown regions"):
        part_weighted_l1(pred, target, mask, regions, {"elbow": 1.0})


def test_part_feature_matching_looks_only_at_the_parts():
    from posegen_lite.training.losses import part_feature_matching

    real = [torch.zeros(1, 2, 4, 4)]
    fake = [torch.zeros(1, 2, 4, 4)]
    fake[0][..., :2, :] = 1.0  # differs in the top half only
    top = torch.zeros(1, 1, 8, 8)
    top[..., :4, :] = 1
    bottom = 1 - top
    assert part_feature_matching(fake, real, top).item() == pytest.approx(1.0)
    assert part_feature_matching(fake, real, bottom).item() == pytest.approx(0.0)
    assert part_feature_matching(fake, real, torch.zeros(1, 1, 8, 8)).item() == 0.0
