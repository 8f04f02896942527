"""Tests for posegen_lite.models.discriminator: shapes, configuration, and that it learns to separate."""

import pytest
import torch

from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig, default_levels
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.training.losses import discriminator_loss


@pytest.mark.parametrize("height, width, levels", [(64, 64, 4), (128, 64, 4), (256, 256, 5)])
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_output_is_one_logit_per_pair(height, width, levels, norm):
    assert default_levels(height, width) == levels
    disc = Discriminator(DiscriminatorConfig(height, width, base_channels=4, norm=norm))
    images = torch.rand(3, 3, height, width) * 2 - 1
    logits = disc(images, images.flip(0))
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == levels


def test_channels_follow_dcgan():
    disc = Discriminator(DiscriminatorConfig(256, 256))
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 512]
    assert convs[0].in_channels == 6  # the pair: condition image + candidate
    first_norm = next(m for m in disc.features if not isinstance(m, torch.nn.Conv2d))
    assert isinstance(first_norm, torch.nn.LeakyReLU)  # no norm on the first layer


def test_judges_the_pair_not_only_the_candidate():
    torch.manual_seed(0)
    disc = Discriminator(DiscriminatorConfig(64, 64, base_channels=4, norm="none")).eval()
    a, b = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    assert not torch.allclose(disc(a, b), disc(a.flip(0), b))


def test_rejects_bad_config_and_inputs():
    with pytest.raises(ValueError, match="norm"):
        Discriminator(DiscriminatorConfig(64, 64, norm="layer"))
    with pytest.raises(ValueError, match="not divisible"):
        Discriminator(DiscriminatorConfig(100, 64))
    disc = Discriminator(DiscriminatorConfig(64, 64, base_channels=2))
    x = torch.zeros(2, 3, 64, 64)
    with pytest.raises(ValueError, match="image_b must be"):
        disc(x, torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="image_a must be"):
        disc(torch.zeros(2, 6, 64, 64), x)
    with pytest.raises(ValueError, match="batch sizes differ"):
        disc(x, x[:1])


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_short_run_separates_real_from_generated_pairs(norm):
    # Real pairs (I_A, I_B) against pairs with a (frozen, untrained) G1's output: D's loss must fall from
    # the chance level and real logits must end above generated ones.
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    size = 32
    blocks = torch.rand(4, 3, 4, 4, generator=gen) * 2 - 1
    image_a = torch.nn.functional.interpolate(blocks, size=(size, size), mode="nearest")
    image_b = torch.roll(image_a, shifts=4, dims=3)
    with torch.no_grad():
        fake_b = G1(G1Config(size, size, base_channels=4, z_dim=8))(image_a, torch.zeros(4, 18, size, size))
    disc = Discriminator(DiscriminatorConfig(size, size, base_channels=8, levels=3, norm=norm))
    optimizer = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(20):
        loss = discriminator_loss(disc(image_a, image_b), disc(image_a, fake_b))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():  # still in train mode: batch norm uses the batch statistics it was trained with
        real, fake = disc(image_a, image_b), disc(image_a, fake_b)
        final = discriminator_loss(real, fake).item()
    assert losses[0] > 1.3  # chance level is 2·log 2 ≈ 1.386
    assert final < 0.5, (losses, final)
    assert real.min() > fake.max()


def test_spectral_norm_discriminator_runs_and_exposes_features():
    d = Discriminator(DiscriminatorConfig(32, 32, base_channels=4, norm="none", spectral_norm=True))
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert d(a, b).shape == (2,)
    feats = d.feature_maps(a, b)
    assert len(feats) == d.config.resolved_levels()
    assert feats[0].shape == (2, 4, 16, 16)
    assert any("parametrizations" in name for name, _ in d.named_parameters())


def test_a_size_the_discriminator_cannot_be_built_for_names_valid_sizes():
    with pytest.raises(ValueError, match=r"multiples of 16.*the nearest to 30x30 is 32x32"):
        Discriminator(DiscriminatorConfig(30, 30, base_channels=4))
