"""evaluation/samples.py: spread on seen vs unseen pixels, body L1, best of k, seeded draws."""

from __future__ import annotations

import math

import pytest
import torch

from posegen_lite.evaluation.metrics import l1_in_mask
from posegen_lite.evaluation.samples import best_of_k_l1, body_l1, draw_samples, sample_spread
from posegen_lite.images import to_uint8
from posegen_lite.models.g1 import G1, G1Config


def test_spread_separates_seen_from_unseen_pixels():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1  # body: top half
    vis = torch.zeros(1, 1, 4, 4)
    vis[..., 0, :] = 1  # seen: row 0
    samples = torch.zeros(2, 1, 3, 4, 4)
    samples[0, :, :, 1, :] = 0.4  # row 1 (unseen) differs by 0.8 in [-1, 1] between the samples
    samples[1, :, :, 1, :] = -0.4
    samples[:, :, :, 3, :] = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)  # background: ignored
    spread = sample_spread(samples, mask, vis)
    assert spread["std_seen"] == 0.0
    assert spread["std_unseen"] == pytest.approx(0.2)  # std of ±0.4 is 0.4 in [-1, 1] = 0.2 in [0, 1]
    assert math.isnan(sample_spread(samples, mask, torch.ones_like(vis))["std_unseen"])
    with pytest.raises(ValueError, match="K ≥ 2"):
        sample_spread(samples[:1], mask, vis)


def test_body_l1_matches_the_protocol_metric_and_best_of_k_picks_the_nearest():
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 8, 8, generator=gen) * 2 - 1
    pred = torch.rand(2, 3, 8, 8, generator=gen) * 2 - 1
    mask = (torch.rand(2, 1, 8, 8, generator=gen) > 0.4).float()
    ours = body_l1(pred, target, mask)
    for i in range(2):
        ref = l1_in_mask(to_uint8(pred[i]), to_uint8(target[i]), mask[i, 0].numpy() > 0.5)
        assert ours[i].item() == pytest.approx(ref, abs=3e-3)  # the protocol rounds to uint8 first
    samples = torch.stack([pred, target, -target])
    assert torch.equal(best_of_k_l1(samples, target, mask), torch.zeros(2))
    assert body_l1(samples, target, mask).shape == (3, 2)
    assert torch.isnan(body_l1(pred, target, torch.zeros_like(mask))).all()


def test_draw_samples_is_seeded():
    torch.manual_seed(0)
    g1 = G1(G1Config(32, 32, base_channels=4, z_dim=8, latent_channels=2)).eval()
    with torch.no_grad():
        for p in g1.latent.parameters():
            p.normal_(0, 0.3)
    batch = {"image_a": torch.rand(2, 3, 32, 32) * 2 - 1, "pose_b": torch.rand(2, 18, 32, 32)}
    one, two = draw_samples(g1, batch, 3, seed=4), draw_samples(g1, batch, 3, seed=4)
    assert one.shape == (3, 2, 3, 32, 32) and torch.equal(one, two)
    assert not torch.equal(one, draw_samples(g1, batch, 3, seed=5))
