"""Tests for posegen_lite.models.g1: PG2's G1 U-Net (shapes, ranges, depth rule, checks, learning)."""

from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from posegen_lite.models import cvae as cvae_module
from posegen_lite.models import g1 as g1_module
from posegen_lite.models import g2 as g2_module
from posegen_lite.models.g1 import G1, G1Config, count_parameters, default_levels
from posegen_lite.training.losses import masked_l1


def _inputs(batch: int, height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=gen) * 2 - 1
    pose = torch.rand(batch, 18, height, width, generator=gen) * 2 - 1
    return image, pose


@pytest.mark.parametrize("height, width, levels, bottom", [
    (64, 64, 4, (8, 8)), (128, 64, 5, (8, 4)), (256, 256, 6, (8, 8)),
])  # fmt: skip
def test_depth_rule_matches_pg2(height, width, levels, bottom):
    assert default_levels(height, width) == levels
    model = G1(G1Config(height, width, base_channels=2))
    assert model.levels == levels and model.bottom_size == bottom


def test_depth_rule_stops_at_odd_sides():
    assert default_levels(256, 176) == 5  # 176 → 88 → 44 → 22 → 11 (odd): deepest map 16×11


@pytest.mark.parametrize("height, width, fc_bottleneck", [
    (64, 64, True), (128, 64, True), (256, 256, True), (128, 64, False),
])  # fmt: skip
def test_output_shape_and_range(height, width, fc_bottleneck):
    torch.manual_seed(0)
    model = G1(G1Config(height, width, base_channels=4, fc_bottleneck=fc_bottleneck, z_dim=8))
    image, pose = _inputs(2, height, width)
    with torch.no_grad():
        out = model(image, pose)
    assert out.shape == (2, 3, height, width)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert out.min() >= -1 and out.max() <= 1
    assert out.std() > 0  # not a constant image


def test_channels_last_and_bf16_autocast():
    # 32×32: bf16 convolutions are slow on CPUs without bf16 kernels; the point here is correctness.
    torch.manual_seed(0)
    model = G1(G1Config(32, 32, base_channels=4, z_dim=8))
    image, pose = _inputs(2, 32, 32)
    with torch.no_grad():
        reference = model(image, pose)
    model = model.to(memory_format=torch.channels_last)
    image = image.contiguous(memory_format=torch.channels_last)
    pose = pose.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.allclose(model(image, pose), reference, atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(image, pose)
        loss = masked_l1(out, torch.zeros_like(reference), torch.ones(2, 1, 32, 32))
    loss.backward()
    assert out.shape == (2, 3, 32, 32) and out.min() >= -1 and out.max() <= 1
    assert (out.float() - reference).abs().max() < 0.1  # bf16 keeps ~3 significant digits
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_rejects_wrong_inputs():
    model = G1(G1Config(64, 64, base_channels=2, z_dim=4))
    image, pose = _inputs(2, 64, 64)
    with pytest.raises(ValueError, match="built for 64×64"):
        model(*_inputs(2, 128, 64))
    with pytest.raises(ValueError, match="image_a must be"):
        model(image[:, :1], pose)
    with pytest.raises(ValueError, match="pose_b must be"):
        model(image, pose[:, :17])
    with pytest.raises(ValueError, match="pose_b must be"):
        model(image, pose[0])
    with pytest.raises(ValueError, match="batch sizes differ"):
        model(image, pose[:1])


def test_rejects_impossible_configs():
    with pytest.raises(ValueError, match="not divisible"):
        G1(G1Config(100, 64, levels=5))
    with pytest.raises(ValueError, match="at least 2 levels"):
        G1(G1Config(64, 64, levels=1))
    with pytest.raises(ValueError, match="base_channels"):
        G1(G1Config(64, 64, base_channels=0))


def test_parameter_counts_in_docstring_are_measured():
    for config in (G1Config(64, 64, 16), G1Config(64, 64, 16, fc_bottleneck=False), G1Config(128, 64, 64)):
        assert f"{count_parameters(G1(config)):,}" in (G1.__doc__ or "")


def test_a_few_dozen_adam_steps_reduce_masked_l1():
    # A tiny fixed batch of blocky colour images; the target is a shifted, colour-swapped copy of the input.
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    blocks = torch.rand(4, 3, 4, 4, generator=gen) * 2 - 1
    image = torch.nn.functional.interpolate(blocks, size=(32, 32), mode="nearest")
    target = torch.roll(image, shifts=3, dims=3)[:, [2, 0, 1]]
    pose = torch.rand(4, 18, 32, 32, generator=gen) * 2 - 1
    mask = (torch.rand(4, 1, 32, 32, generator=gen) > 0.5).float()
    model = G1(G1Config(32, 32, base_channels=8, z_dim=16))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(50):
        loss = masked_l1(model(image, pose), target, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("warp", ["skip", "paste"])
def test_warping_g1_shapes_and_needs_the_flow(warp):
    torch.manual_seed(0)
    g1 = G1(G1Config(16, 16, base_channels=4, warp=warp, levels=2))
    a, pose = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 18, 16, 16) * 2 - 1
    flow, vis = torch.zeros(2, 2, 16, 16), torch.ones(2, 1, 16, 16)
    out = g1(a, pose, flow=flow, visibility=vis)
    assert out.shape == (2, 3, 16, 16) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="flow"):
        g1(a, pose)
    with pytest.raises(ValueError, match="flow must be"):
        g1(a, pose, flow=flow[:, :1], visibility=vis)


def test_one_input_s_features_computed_once_give_every_view_the_same_output():
    torch.manual_seed(0)
    g1 = G1(G1Config(16, 16, base_channels=4, warp="paste", levels=2)).eval()
    a, pose = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(3, 18, 16, 16) * 2 - 1
    flow, vis = torch.randn(3, 2, 16, 16), (torch.rand(3, 1, 16, 16) > 0.3).float()
    with torch.no_grad():
        many = a.expand(3, -1, -1, -1)  # one input seen from three views
        anew = g1.coarse_and_paste(many, pose, flow, vis)
        kept = g1.coarse_and_paste(many, pose, flow, vis, source=g1.source_features(a))
        for x, y in zip(anew, kept, strict=True):
            assert torch.equal(x, y)
        with pytest.raises(ValueError, match="one image"):
            g1.source_features(many)
        with pytest.raises(ValueError, match="warp='none'"):
            G1(G1Config(16, 16, base_channels=4, levels=2)).source_features(a)


def test_warping_g1_sees_the_warped_input():
    # With warp="skip" the output depends on what the flow carries; with the visibility at 0 it cannot.
    torch.manual_seed(0)
    g1 = G1(G1Config(16, 16, base_channels=4, warp="skip", levels=2))
    a, pose = torch.rand(1, 3, 16, 16) * 2 - 1, torch.zeros(1, 18, 16, 16)
    flow0, flow1 = torch.zeros(1, 2, 16, 16), torch.full((1, 2, 16, 16), 3.0)
    hidden = torch.zeros(1, 1, 16, 16)
    seen = torch.ones(1, 1, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(g1(a, pose, flow=flow0, visibility=seen), g1(a, pose, flow=flow1, visibility=seen))
        assert torch.allclose(g1(a, pose, flow=flow0, visibility=hidden), g1(a, pose, flow=flow1, visibility=hidden))


def test_paste_takes_the_warped_pixels_only_where_the_input_saw_them():
    torch.manual_seed(0)
    g1 = G1(G1Config(16, 16, base_channels=4, warp="paste", levels=2))
    a, pose = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(1, 18, 16, 16) * 2 - 1
    flow = torch.zeros(1, 2, 16, 16)  # identity flow: W(I_A) = I_A where visible
    vis = torch.zeros(1, 1, 16, 16)
    vis[..., :8] = 1  # the left half was seen
    with torch.no_grad():
        g1.to_paste.bias.fill_(30.0)  # α ≈ 1: paste wherever seen
        pasted = g1(a, pose, flow=flow, visibility=vis)
        g1.to_paste.bias.fill_(-30.0)  # α ≈ 0: generate everywhere
        generated = g1(a, pose, flow=flow, visibility=vis)
    torch.testing.assert_close(pasted[..., :8], a[..., :8], atol=1e-6, rtol=0)
    assert not torch.allclose(generated[..., :8], a[..., :8], atol=1e-2)
    # Unseen pixels never take the warp, whatever α says.
    torch.testing.assert_close(pasted[..., 8:], generated[..., 8:], atol=0, rtol=0)
    with torch.no_grad():
        g1.to_paste.bias.fill_(0.0)  # the initial head: α = ½ wherever seen
        weight = g1.paste_weight(a, pose, flow, vis)
    assert weight.shape == (1, 1, 16, 16)
    assert torch.all(weight[..., :8] == 0.5) and torch.all(weight[..., 8:] == 0)
    with pytest.raises(ValueError, match="paste"):
        G1(G1Config(16, 16, base_channels=4, warp="skip", levels=2)).paste_weight(a, pose, flow, vis)


@pytest.mark.slow
def test_paste_learns_a_shift_the_flow_explains_faster_than_skip():
    # The target is the input moved 3 px right; the flow says exactly that. The paste head only has to learn
    # α → 1, the generator has to reproduce the pixels.
    gen = torch.Generator().manual_seed(1)
    image = torch.nn.functional.interpolate(torch.rand(4, 3, 8, 8, generator=gen) * 2 - 1, size=(32, 32))
    target = torch.roll(image, shifts=3, dims=3)
    pose = torch.rand(4, 18, 32, 32, generator=gen) * 2 - 1
    flow = torch.zeros(4, 2, 32, 32)
    flow[:, 0] = -3.0  # backward flow: target pixel x reads the input at x − 3
    vis = torch.ones(4, 1, 32, 32)
    vis[..., :3] = 0  # the 3 columns that entered from outside the input
    final = {}
    for warp in ("skip", "paste"):
        torch.manual_seed(0)
        model = G1(G1Config(32, 32, base_channels=8, z_dim=16, warp=warp))
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.5, 0.999))
        for _ in range(30):
            loss = masked_l1(model(image, pose, flow=flow, visibility=vis), target, vis)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final[warp] = loss.item()
    assert final["paste"] < 0.5 * final["skip"], final


@pytest.mark.parametrize(
    "retired",
    [
        {"gate_input": True},
        {"latent_channels": 4, "latent_kind": "map"},
        {"latent_channels": 4, "latent_site": "skips"},
        {"latent_channels": 4, "latent_site": "decoder"},
        {"warp": "input"},
    ],
)
def test_a_retired_option_is_refused_with_one_line(retired):
    with pytest.raises(ValueError, match="is retired|did not ship") as caught:
        G1Config(32, 32, **retired)
    assert "\n" not in str(caught.value) and "benchmarks/README.md" in str(caught.value)


def test_a_config_that_names_retired_options_at_their_shipped_values_still_builds():
    # What the shipped checkpoints recorded: the retired names at the values that shipped (and, without a latent,
    # the old defaults, which meant nothing). They are not stored again.
    shipped = dict(warp="paste", latent_channels=4, gate_input=False, latent_kind="vector", latent_site="output")
    cfg = G1Config(32, 32, base_channels=4, z_dim=8, **shipped)
    assert cfg == G1Config(32, 32, base_channels=4, z_dim=8, warp="paste", latent_channels=4)
    assert "latent_kind" not in asdict(cfg) and "gate_input" not in asdict(cfg)
    assert G1Config(32, 32, latent_kind="map", latent_site="skips") == G1Config(32, 32)


def test_the_network_modules_take_tensors_not_stage_one():
    # G1, its latent path and G2 sample with models/warping.py; Stage I's modules are not theirs to import.
    for module in (g1_module, cvae_module, g2_module):
        source = Path(module.__file__).read_text()
        assert "posegen_lite.geometry" not in source, module.__name__


def test_plain_g1_config_loads_without_the_warp_field():
    # Checkpoints written before the warp option have no "warp" key: they are PG2's G1.
    cfg = G1Config(**{k: v for k, v in G1Config(16, 16).__dict__.items() if k != "warp"})
    assert cfg.warp == "none"
    # PG2's G1 reads as PG2's (notebooks print it); a warping one says so.
    assert "warp" not in repr(cfg) and "warp='skip'" in repr(G1Config(16, 16, warp="skip"))
    with pytest.raises(ValueError, match="warp"):
        G1(G1Config(16, 16, warp="bogus"))


@pytest.mark.parametrize("size", [(63, 64), (64, 63), (8, 8)])
def test_a_size_g1_cannot_be_built_for_says_which_sizes_are_valid(size):
    with pytest.raises(ValueError, match=r"multiples of 16, e\.g\. 64x64, 128x64.*the nearest to"):
        G1(G1Config(*size, base_channels=4))


def test_a_checkpoint_of_a_retired_option_is_refused_with_one_line(tmp_path):
    from posegen_lite.models.checkpoints import FORMAT, CheckpointError, save_atomic, state_checksum
    from posegen_lite.models.weights import load_models

    old = {**G1Config(32, 32, base_channels=4).__dict__, "latent_channels": 4, "latent_kind": "map"}
    state = {"format": FORMAT, "stage": 2, "step": 1, "config": {}, "model_configs": {"g1": old}, "models": {"g1": {}}}
    state["checksum"] = state_checksum(state)
    path = save_atomic(state, tmp_path / "map_latent.pt")
    with pytest.raises(CheckpointError, match=r"map_latent.pt: .*latent_kind='map' is retired") as caught:
        load_models(path)  # the file named, then the config's own reason
    assert "\n" not in str(caught.value)
