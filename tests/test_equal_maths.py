"""The training step's restructurings keep the maths: each one against the formula it replaced (PG2's order, the
two output layers, the FiLM with its slice, the per-bin loop), then the shipped G1 and G2 and the demo recipe's
training losses with every restructuring swapped back for its reference (benchmarks/notes/2026-12-training-step.md)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import default_collate

from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.data.synthetic.pairs import SyntheticConfig
from posegen_lite.models import cvae
from posegen_lite.models.cvae import SURFACE_BINS, LatentPath, _weighted_mean, surface_features
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.inputs import g1_extras, g2_extras
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.losses import DEFAULT_PART_WEIGHTS
from posegen_lite.training.steps import Stage2

TOL = 1e-5


# --- the formulas the restructurings replaced -------------------------------------------------------------------
def reference_image_and_paste(g1: G1, x: torch.Tensor, pasting: bool):
    paste = g1.to_paste(x) if pasting and g1.to_paste is not None else None
    return g1.to_image(x), paste


def reference_modulate(path: LatentPath, x, z, visibility, surface=None):
    gamma, beta = path.film(z.to(x.dtype)).chunk(2, dim=1)
    gate = torch.ones_like(x[:, :1]) if visibility is None else 1.0 - visibility.to(x.dtype)
    if surface is None:
        x = x + gate * (gamma * x + beta)
        return x + gate * path.refine(x)
    surface = surface.to(x.dtype)
    gate = gate * surface[:, :1]
    y = torch.cat([x, surface_features(surface)], dim=1)
    y = y + gate * (gamma * y + beta)
    return y[:, : x.shape[1]] + gate * path.refine(y)


def reference_chest_texture(colours, surface, where):
    n_along, n_across = SURFACE_BINS
    along = ((surface[:, 3:4] + 1) / 2 * n_along).floor().clamp(0, n_along - 1)
    across = ((surface[:, 2:3] + 1) / 2 * n_across).floor().clamp(0, n_across - 1)
    on_chest = surface[:, 1:2] * where
    fallback = _weighted_mean(colours, where)
    out = []
    for i in range(n_along):
        for j in range(n_across):
            weight = on_chest * ((along == i) & (across == j)).to(colours.dtype)
            total = weight.sum(dim=(2, 3), keepdim=True)
            out.append(torch.where(total > 1e-6, _weighted_mean(colours, weight), fallback))
    return torch.cat(out, dim=1)


def use_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(G1, "_image_and_paste", reference_image_and_paste)
    monkeypatch.setattr(LatentPath, "modulate", reference_modulate)
    monkeypatch.setattr(cvae, "chest_texture", reference_chest_texture)


def randomised(module: nn.Module, seed: int) -> nn.Module:
    """Every weight random (the zero-initialised layers too, so that they count in the comparison)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return module


def surface_map(b: int, h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    on = (torch.rand(b, 1, h, w, generator=g) > 0.3).float()
    chest = on * (torch.rand(b, 1, h, w, generator=g) > 0.5).float()
    return torch.cat([on, chest, (torch.rand(b, 3, h, w, generator=g) * 2 - 1) * on], dim=1)


def grads(module: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in module.parameters() if p.grad is not None]


def close(a: list[torch.Tensor], b: list[torch.Tensor], rtol: float = 1e-4) -> bool:
    """Same number of tensors, each equal to ``rtol`` of its largest value (sums in another order round apart)."""
    if len(a) != len(b):
        return False
    return all(torch.allclose(x, y, rtol=rtol, atol=rtol * float(y.abs().max())) for x, y in zip(a, b, strict=True))


# --- one restructuring at a time --------------------------------------------------------------------------------
def test_image_and_paste_in_one_convolution_equal_the_two_layers():
    g1 = randomised(G1(G1Config(32, 32, base_channels=4, z_dim=8, warp="paste")), 1)
    x = torch.randn(2, g1.decoder.out_channels, 32, 32, requires_grad=True)
    image, paste = g1._image_and_paste(x, True)
    ref_image, ref_paste = reference_image_and_paste(g1, x, True)
    assert paste is not None and ref_paste is not None
    assert (image - ref_image).abs().max() <= TOL and (paste - ref_paste).abs().max() <= TOL
    (image.sum() + 2 * paste.sum()).backward()
    fast = grads(g1) + [x.grad.clone()]
    g1.zero_grad()
    x.grad = None
    (ref_image.sum() + 2 * ref_paste.sum()).backward()
    assert close(fast, grads(g1) + [x.grad.clone()])
    assert g1._image_and_paste(x, False)[1] is None  # no paste weight where the G1 does not paste


@pytest.mark.parametrize("surface", [False, True])
def test_modulate_equals_the_film_it_replaced(surface):
    path = randomised(LatentPath(8, 4, 3, 21, 16, surface=surface), 2)
    x = torch.randn(2, 16, 32, 16, requires_grad=True)
    z = torch.randn(2, 3, 1, 1)
    visibility = (torch.rand(2, 1, 32, 16) > 0.5).float()
    coords = surface_map(2, 32, 16, 3) if surface else None
    fast = path.modulate(x, z, visibility, coords)
    ref = reference_modulate(path, x, z, visibility, coords)
    assert (fast - ref).abs().max() <= TOL
    weights = torch.randn_like(fast)
    (fast * weights).sum().backward()
    fast_grads = grads(path) + [x.grad.clone()]
    path.zero_grad()
    x.grad = None
    (ref * weights).sum().backward()
    assert close(fast_grads, grads(path) + [x.grad.clone()])


def test_chest_texture_in_one_product_equals_the_per_bin_means():
    g = torch.Generator().manual_seed(4)
    colours = torch.rand(3, 3, 32, 16, generator=g) * 2 - 1
    coords = surface_map(3, 32, 16, 5)
    where = torch.rand(3, 1, 32, 16, generator=g)
    where[2] = 0  # an image whose unseen body is empty: every bin takes the fallback
    fast = cvae.chest_texture(colours, coords, where)
    ref = reference_chest_texture(colours, coords, where)
    assert fast.shape == ref.shape == (3, 3 * SURFACE_BINS[0] * SURFACE_BINS[1], 1, 1)
    assert (fast - ref).abs().max() <= TOL


def test_one_input_for_many_views_is_encoded_once_with_the_same_output():
    g1 = randomised(G1(G1Config(32, 32, base_channels=4, z_dim=8, warp="paste")), 6).eval()
    g = torch.Generator().manual_seed(7)
    image = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    pose = torch.rand(4, 18, 32, 32, generator=g) * 2 - 1
    flow = torch.randn(4, 2, 32, 32, generator=g) * 3
    visibility = (torch.rand(4, 1, 32, 32, generator=g) > 0.4).float()
    batches: list[int] = []
    assert g1.source_encoder is not None
    g1.source_encoder.register_forward_hook(lambda m, args, out: batches.append(args[0].shape[0]))
    with torch.no_grad():
        once = g1(image.expand(4, -1, -1, -1), pose, flow, visibility)  # one image for four views: stride 0
        each = g1(image.expand(4, -1, -1, -1).contiguous(), pose, flow, visibility)
    assert batches == [1, 4]
    assert close([once], [each])  # the convolutions of 1 and 4 images round apart


# --- the shipped networks and the demo recipe ---------------------------------------------------------------------
def demo_batch(size: tuple[int, int], n: int) -> dict:
    config = SyntheticConfig(size=size, train_people=n, views_per_person=1)
    return default_collate(SyntheticPairs(config, "train", extras=True).__getitems__(list(range(n))))


@pytest.mark.slow
def test_the_shipped_g1_and_g2_paint_the_same_pictures_as_the_reference_formulas(monkeypatch):
    from posegen_lite.models.weights import load_models
    from posegen_lite.resources import demo_weights

    models = load_models(demo_weights(), device=torch.device("cpu"))
    g1, g2 = models["g1"].eval(), models["g2"].eval()
    batch = demo_batch((g1.config.height, g1.config.width), 4)
    noise = torch.randn(g1.latent_shape(4), generator=torch.Generator().manual_seed(6))

    def run() -> list[torch.Tensor]:
        with torch.no_grad():
            a, pose, mask = batch["image_a"], batch["pose_b"], batch["mask_b"]
            extras = g1_extras(g1, batch)
            coarse = g1(a, pose, **extras)
            sampled = g1(a, pose, **extras, noise=noise)
            posterior = g1(a, pose, **extras, noise=noise, image_b=batch["image_b"], mask_b=mask)
            return [coarse, sampled, posterior, g2(a, coarse, mask, **g2_extras(g2, batch))]

    fast = run()
    use_references(monkeypatch)
    ref = run()
    for f, r in zip(fast, ref, strict=True):
        assert (f - r).abs().max() <= TOL


def recipe_losses(steps: int) -> list[dict[str, float]]:
    """The demo recipe's first training steps (G1 of 64×64, its add-ons; fresh weights, seed 0)."""
    torch.manual_seed(0)
    g1 = G1(G1Config(64, 64, base_channels=8, warp="paste", latent_channels=16, latent_surface=True))
    recipe = {"kl_weight": 2e-4, "kl_warmup": 300, "kl_free_bits": 0.25, "latent_lr_scale": 10, "noise_warmup": 300}
    ctx = DistContext(device=torch.device("cpu"))
    stage = Stage2(g1, 2e-4, (0.5, 0.999), ctx, "fp32", True, dict(DEFAULT_PART_WEIGHTS), **recipe)
    stage.train()
    batch = demo_batch((64, 64), 4)
    torch.manual_seed(0)
    return [stage.train_step(batch, i) for i in range(steps)]


@pytest.mark.slow
def test_the_demo_recipes_training_losses_equal_the_reference_formulas(monkeypatch):
    fast = recipe_losses(4)
    use_references(monkeypatch)
    ref = recipe_losses(4)
    assert [set(f) for f in fast] == [set(r) for r in ref]
    for f, r in zip(fast, ref, strict=True):
        for key in f:
            assert f[key] == pytest.approx(r[key], rel=1e-4, abs=1e-6), key
