"""The conditional-VAE G1: KL against hand-computed Gaussians, seeded sampling, the posterior kept out of
inference, the prior mean as the deterministic answer, z confined to the unseen pixels, and training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from posegen_lite.app.cli import main as cli_main
from posegen_lite.app.synthesizer import NovelViewSynthesizer
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.models.checkpoints import resolve_checkpoint
from posegen_lite.models.cvae import Gaussian
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.training.losses import gaussian_kl, kl_weight_at

SIZE = (32, 32)


def _cvae_g1(warp: str = "skip", seed: int = 0) -> G1:
    torch.manual_seed(seed)
    g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp=warp, latent_channels=3))
    # Trained heads and mixers are not zero; untrained ones start at zero (z would change nothing).
    with torch.no_grad():
        for p in g1.latent.parameters():
            if not p.abs().sum():
                p.normal_(0, 0.3)
    return g1.eval()


def _inputs(batch: int = 2, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    image_a = torch.rand(batch, 3, *SIZE, generator=gen) * 2 - 1
    pose_b = torch.rand(batch, 18, *SIZE, generator=gen) * 2 - 1
    flow = torch.randn(batch, 2, *SIZE, generator=gen)
    visibility = (torch.rand(batch, 1, *SIZE, generator=gen) > 0.5).float()
    return image_a, pose_b, flow, visibility


def test_kl_matches_hand_computed_gaussians():
    def kl(mq, sq, mp, sp):
        t = lambda v: torch.tensor([float(v)])  # noqa: E731
        return gaussian_kl(t(mq), t(math.log(sq**2)), t(mp), t(math.log(sp**2))).item()

    # q = N(1, 0.5²), p = N(0, 1): ½(σ² + μ² − 1 − log σ²) = ½(0.25 + 1 − 1 + log 4)
    assert kl(1.0, 0.5, 0.0, 1.0) == pytest.approx(0.5 * (0.25 + math.log(4.0)), rel=1e-6)
    # q = N(0, 1), p = N(2, 2²): log(σp/σq) + (σq² + (μq − μp)²) / (2σp²) − ½ = log 2 + 5/8 − ½
    assert kl(0.0, 1.0, 2.0, 2.0) == pytest.approx(math.log(2.0) + 5 / 8 - 0.5, rel=1e-6)
    assert kl(0.3, 0.7, 0.3, 0.7) == pytest.approx(0.0, abs=1e-7)
    # elementwise, with the shape kept; mismatched shapes are refused
    m, lv = torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    assert gaussian_kl(m + 1, lv, m, lv).shape == (2, 3, 4, 4)
    assert torch.allclose(gaussian_kl(m + 1, lv, m, lv), torch.full_like(m, 0.5))
    with pytest.raises(ValueError, match="shape"):
        gaussian_kl(m, lv, m[:1], lv)


def test_kl_warmup_rises_linearly_to_the_weight():
    assert kl_weight_at(0, 0.01, 100) == pytest.approx(0.0001)
    assert kl_weight_at(49, 0.01, 100) == pytest.approx(0.005)
    assert kl_weight_at(99, 0.01, 100) == pytest.approx(0.01)
    assert kl_weight_at(5000, 0.01, 100) == pytest.approx(0.01)
    assert kl_weight_at(0, 0.01, 0) == 0.01


def test_prior_mean_is_the_deterministic_answer_and_zero_noise_equals_it():
    g1 = _cvae_g1()
    a, p, f, v = _inputs()
    with torch.no_grad():
        mean = g1(a, p, f, v)
        zero = g1(a, p, f, v, noise=torch.zeros(g1.latent_shape(2)))
        drawn = g1(a, p, f, v, noise=torch.randn(g1.latent_shape(2)))
    assert torch.equal(mean, zero)
    assert not torch.equal(mean, drawn)


def test_z_only_changes_pixels_the_input_did_not_see():
    g1 = _cvae_g1()
    a, p, f, _ = _inputs()
    seen = torch.ones(2, 1, *SIZE)  # the input saw every target pixel: z has nothing to say
    with torch.no_grad():
        one = g1(a, p, f, seen, noise=torch.randn(g1.latent_shape(2)))
        two = g1(a, p, f, seen, noise=torch.randn(g1.latent_shape(2)))
        blind = g1(a, p, f, torch.zeros_like(seen), noise=torch.randn(g1.latent_shape(2)))
    assert torch.equal(one, two)
    assert not torch.equal(one, blind)


def test_the_posterior_is_used_in_training_and_never_at_inference(monkeypatch):
    g1 = _cvae_g1()
    a, p, f, v = _inputs()
    out, latents = g1(a, p, f, v, image_b=a, noise=torch.zeros(g1.latent_shape(2)), return_latents=True)
    assert latents.posterior is not None and latents.posterior.mean.shape == g1.latent_shape(2)
    out.mean().backward()
    assert any(q.grad is not None and q.grad.abs().sum() > 0 for q in g1.latent.target_encoder.parameters())

    def refuse(*args, **kwargs):
        raise AssertionError("the posterior was called at inference")

    monkeypatch.setattr(g1.latent, "posterior", refuse)
    monkeypatch.setattr(g1.latent.target_encoder, "forward", refuse)
    with torch.no_grad():
        _, latents = g1(a, p, f, v, noise=torch.randn(g1.latent_shape(2)), return_latents=True)
    assert latents.posterior is None
    scene = Scene.held_out(0, SIZE)
    view = scene.input_view
    synth = NovelViewSynthesizer(g1, G2(G2Config(*SIZE, base_channels=4)), device="cpu")
    assert len(synth.synthesize(view.image, view.joints3d, yaw=120, camera=view.camera, samples=3, seed=1)) == 3


@pytest.fixture(scope="module")
def cvae_synth() -> NovelViewSynthesizer:
    return NovelViewSynthesizer(_cvae_g1(), G2(G2Config(*SIZE, base_channels=4, mask_difference=True)), device="cpu")


def test_seeded_samples_reproduce_bit_for_bit_and_seeds_differ(cvae_synth):
    view = Scene.held_out(0, SIZE).input_view
    kw = dict(yaw=150.0, camera=view.camera)
    first = cvae_synth.synthesize(view.image, view.joints3d, samples=4, seed=7, **kw)
    again = cvae_synth.synthesize(view.image, view.joints3d, samples=4, seed=7, **kw)
    other = cvae_synth.synthesize(view.image, view.joints3d, samples=4, seed=8, **kw)
    assert len(first) == 4 and all(r.yaw == 150.0 for r in first)
    for x, y in zip(first, again, strict=True):
        assert np.array_equal(x.coarse, y.coarse) and np.array_equal(x.image, y.image)
    assert any(not np.array_equal(x.coarse, y.coarse) for x, y in zip(first, other, strict=True))
    assert len({r.coarse.tobytes() for r in first}) > 1  # the samples differ from each other


def test_one_sample_at_temperature_zero_equals_the_deterministic_path(cvae_synth):
    view = Scene.held_out(0, SIZE).input_view
    kw = dict(yaw=90.0, camera=view.camera)
    det = cvae_synth.synthesize(view.image, view.joints3d, **kw)
    (one,) = cvae_synth.synthesize(view.image, view.joints3d, samples=1, seed=3, temperature=0.0, **kw)
    assert np.array_equal(det.coarse, one.coarse) and np.array_equal(det.image, one.image)


def test_samples_need_a_cvae_and_sane_arguments(cvae_synth):
    torch.manual_seed(0)
    deterministic = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, z_dim=8)), device="cpu")
    view = Scene.held_out(0, SIZE).input_view
    assert not deterministic.samples and cvae_synth.samples
    with pytest.raises(ValueError, match="--cvae"):
        deterministic.synthesize(view.image, view.joints3d, camera=view.camera, samples=2)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="samples"):
            cvae_synth.latent_noise(bad)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            cvae_synth.latent_noise(2, temperature=bad)
    g1 = deterministic.g1
    a, p, _, _ = _inputs()
    with pytest.raises(ValueError, match="latent_channels"):
        g1(a, p, noise=torch.zeros(2, 3, 16, 16))
    with pytest.raises(ValueError, match="noise must be"):
        cvae_synth.g1(a, p, *_inputs()[2:], noise=torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="latent_channels"):
        G1Config(*SIZE, latent_channels=-1).validate()


def test_gaussian_sample_is_the_reparameterisation():
    g = Gaussian(torch.tensor([1.0, -2.0]), torch.log(torch.tensor([4.0, 0.25])))
    assert torch.equal(g.sample(None), g.mean)
    assert torch.allclose(g.sample(torch.tensor([1.0, 2.0])), torch.tensor([3.0, -1.0]))


def test_train_cvae_is_one_switch_and_stage_3_reads_it_from_the_g1_checkpoint(tmp_path, capsys):
    common = ["--size", "32x32", "--width", "4", "--people", "3", "--views", "2", "--batch-size", "2"]
    g1_dir, g2_dir = tmp_path / "g1", tmp_path / "g2"
    args = ["train", "--stage", "2", "--run-dir", str(g1_dir), "--steps", "3", "--warp", "skip", "--cvae"]
    assert cli_main([*args, "--kl-warmup", "2", "--checkpoint-every", "3", "--val-every", "3", *common]) == 0
    _, state = resolve_checkpoint(str(g1_dir))
    assert state["model_configs"]["g1"]["latent_channels"] == 8
    assert state["config"]["kl_warmup"] == 2
    stage3 = ["train", "--stage", "3", "--run-dir", str(g2_dir), "--g1-checkpoint", str(g1_dir), "--steps", "2"]
    assert cli_main([*stage3, "--checkpoint-every", "2", "--val-every", "2", "--d-width", "4", *common]) == 0
    _, state = resolve_checkpoint(str(g2_dir))
    assert state["model_configs"]["g1"]["latent_channels"] == 8
    synth = NovelViewSynthesizer.from_checkpoint(g2_dir, device="cpu")
    view = Scene.held_out(0, SIZE).input_view
    results = synth.synthesize(view.image, view.joints3d, yaw=180, camera=view.camera, samples=2, seed=0)
    assert all(r.refined is not None for r in results)  # Stage III refines each sample
