"""Tests for posegen_lite.models.g2: the refiner starts as the identity and can learn from there."""

import pytest
import torch

from posegen_lite.models import g2 as g2_module
from posegen_lite.models.g1 import G1, G1Config, count_parameters
from posegen_lite.models.g2 import G2, G2Config, keep_pasted, straight_through_clamp
from posegen_lite.models.inputs import g2_extras


def _images(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, height, width, generator=gen) * 2 - 1


@pytest.mark.parametrize("height, width, levels", [(64, 64, 2), (128, 64, 3), (256, 256, 4)])
def test_depth_is_g1_depth_minus_two(height, width, levels):
    assert G2Config(height, width).resolved_levels() == levels
    assert G2(G2Config(height, width, base_channels=2)).levels == levels


def test_step_zero_returns_g1_image_exactly():
    torch.manual_seed(0)
    g1 = G1(G1Config(64, 64, base_channels=4, z_dim=8))
    g2 = G2(G2Config(64, 64, base_channels=4))
    image_a = _images(2, 64, 64)
    pose_b = torch.rand(2, 18, 64, 64) * 2 - 1
    with torch.no_grad():
        coarse = g1(image_a, pose_b)
        refined = g2(image_a, coarse)
        difference = g2.difference(image_a, coarse)
    assert torch.equal(difference, torch.zeros_like(coarse))
    assert torch.equal(refined, coarse)


def test_step_zero_identity_holds_at_the_range_bounds():
    g2 = G2(G2Config(32, 32, base_channels=4))
    coarse = torch.tensor([-1.0, 1.0, 0.0, 0.999]).repeat(1, 3, 32, 8)
    with torch.no_grad():
        assert torch.equal(g2(_images(1, 32, 32), coarse), coarse)


def test_refiner_learns_from_the_zero_start():
    # The zero-initialised last layer still receives gradients, so one step moves the output.
    torch.manual_seed(0)
    g2 = G2(G2Config(32, 32, base_channels=4))
    image_a, coarse, target = _images(2, 32, 32, 1), _images(2, 32, 32, 2) * 0.5, _images(2, 32, 32, 3) * 0.5
    optimizer = torch.optim.Adam(g2.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        loss = (g2(image_a, coarse) - target).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert g2.to_difference.weight.abs().sum() > 0
    assert losses[-1] < losses[0]


def test_output_stays_in_range_with_gradient_through_the_clamp():
    x = torch.tensor([-3.0, -1.0, 0.25, 1.0, 1.5], requires_grad=True)
    y = straight_through_clamp(x)
    assert torch.equal(y, torch.tensor([-1.0, -1.0, 0.25, 1.0, 1.0]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(5))


def test_output_shape_and_range_after_training_moves_it():
    torch.manual_seed(0)
    g2 = G2(G2Config(64, 64, base_channels=4))
    torch.nn.init.normal_(g2.to_difference.weight, std=1.0)  # a large difference map, as if trained badly
    with torch.no_grad():
        out = g2(_images(2, 64, 64), _images(2, 64, 64, 1))
    assert out.shape == (2, 3, 64, 64) and out.min() >= -1 and out.max() <= 1


def test_parameter_counts_in_docstring_are_measured():
    assert f"{count_parameters(G2(G2Config(64, 64, 16))):,}" in g2_module.__doc__
    assert f"{count_parameters(G2(G2Config(128, 64, 64))):,}" in g2_module.__doc__


def test_rejects_wrong_inputs():
    g2 = G2(G2Config(64, 64, base_channels=2))
    image = _images(2, 64, 64)
    with pytest.raises(ValueError, match="differ"):
        g2(image, image[:1])
    with pytest.raises(ValueError, match="coarse must be"):
        g2(image, image[:, :1])
    with pytest.raises(ValueError, match="image_a must be"):
        g2(image[0], image)
    with pytest.raises(ValueError, match="not divisible"):
        g2(_images(1, 63, 64), _images(1, 63, 64))
    with pytest.raises(ValueError, match="not divisible"):
        G2(G2Config(100, 64, levels=4))


def test_mask_difference_keeps_the_refinement_inside_the_body():
    torch.manual_seed(0)
    g2 = G2(G2Config(16, 16, base_channels=4, mask_difference=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 that edits everywhere
    a, coarse = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 0.5
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 6:10] = 1
    out = g2(a, coarse, mask)
    grown = torch.nn.functional.max_pool2d(mask, 3, stride=1, padding=1)
    outside = (grown == 0).expand_as(out)
    assert torch.equal(out[outside], coarse[outside])  # the background is exactly G1's
    assert (out - coarse).abs()[~outside].max() > 0  # the body is refined
    with pytest.raises(ValueError, match="body mask"):
        g2(a, coarse)


def test_silhouette_difference_keeps_the_refinement_within_a_pixel_of_the_proxy_silhouette():
    torch.manual_seed(0)
    g2 = G2(G2Config(16, 16, base_channels=4, mask_difference=True, silhouette_difference=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 that edits everywhere
    a, coarse = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 0.5
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 2:14, 3:13] = 1  # PG2's pose mask: fatter than the body
    parts = torch.full((2, 16, 16), -1)
    parts[:, 5:11, 6:10] = 3  # the proxy's silhouette: the body itself
    silhouette = (parts >= 0).float()[:, None]
    out = g2(a, coarse, mask, silhouette)
    allowed = torch.zeros(2, 1, 16, 16, dtype=torch.bool)
    allowed[..., 4:12, 5:11] = True  # the silhouette grown by one pixel (inside the mask, so the mask cuts nothing)
    outside = (~allowed).expand_as(out)
    assert torch.equal(out[outside], coarse[outside])  # the rim between pose mask and body stays G1's
    assert (out - coarse).abs()[~outside].min() > 0  # every pixel of the grown silhouette is refined
    assert torch.equal(out, g2(a, coarse, mask, **g2_extras(g2, {"proxy_parts_b": parts})))
    with pytest.raises(ValueError, match="proxy silhouette"):
        g2(a, coarse, mask)
    with pytest.raises(ValueError, match="proxy silhouette"):
        g2(a, coarse, mask, silhouette[:, :, :8])
    with pytest.raises(ValueError, match="proxy_parts_b"):
        g2_extras(g2, {"image_a": a})
    assert g2_extras(G2(G2Config(16, 16, base_channels=4)), {}) == {}  # PG2's G2 needs nothing


def test_warped_input_reads_only_what_the_proxy_carries_into_the_target_view():
    torch.manual_seed(0)
    g2 = G2(G2Config(16, 16, base_channels=4, warped_input=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 whose output depends on its inputs
    plain = G2(G2Config(16, 16, base_channels=4))
    plain.load_state_dict(g2.state_dict())  # the same weights: the option adds no parameter
    a, coarse = _images(2, 16, 16), _images(2, 16, 16, seed=1)
    zero_flow, seen = torch.zeros(2, 2, 16, 16), torch.ones(2, 1, 16, 16)
    # Flow 0 and everything seen: W(I_A) = I_A, so it answers as PG2's G2 does.
    assert torch.allclose(g2(a, coarse, flow=zero_flow, visibility=seen), plain(a, coarse), atol=1e-6)
    # What the input did not see cannot reach the output: a front print on I_A never lands on a back.
    vis = torch.zeros(2, 1, 16, 16)
    vis[..., :, :8] = 1  # the target's left half was seen, at the same place (flow 0)
    other = a.clone()
    other[..., :, 8:] = -a[..., :, 8:]  # change I_A where no visible target pixel samples it
    out = g2(a, coarse, flow=zero_flow, visibility=vis)
    assert torch.equal(out, g2(other, coarse, flow=zero_flow, visibility=vis))
    assert not torch.equal(out, g2(-a, coarse, flow=zero_flow, visibility=vis))  # what was seen does count
    # A flow moves what G2 reads: one pixel right in the target = one pixel left in the source.
    shift = torch.zeros(2, 2, 16, 16)
    shift[:, 0] = -1.0
    rolled = torch.roll(a, 1, dims=3)
    vis_in = torch.ones(2, 1, 16, 16)
    vis_in[..., 0] = 0  # the first column samples outside the source
    assert torch.allclose(
        g2(a, coarse, flow=shift, visibility=vis_in), g2(rolled, coarse, flow=zero_flow, visibility=vis_in), atol=1e-6
    )
    batch = {"flow": shift, "visibility": vis_in}
    assert torch.equal(g2(a, coarse, **g2_extras(g2, batch)), g2(a, coarse, flow=shift, visibility=vis_in))
    with pytest.raises(ValueError, match="warped by the body proxy"):
        g2(a, coarse)
    with pytest.raises(ValueError, match="flow must be"):
        g2(a, coarse, flow=zero_flow[:, :, :8], visibility=seen)
    with pytest.raises(ValueError, match=r"\['flow', 'visibility'\]"):
        g2_extras(g2, {"image_a": a})


def test_visible_difference_keeps_the_refinement_within_a_pixel_of_what_the_input_saw():
    torch.manual_seed(0)
    g2 = G2(G2Config(16, 16, base_channels=4, visible_difference=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 that edits everywhere it may
    a, coarse = _images(2, 16, 16), _images(2, 16, 16, seed=1) * 0.5
    vis = torch.zeros(2, 1, 16, 16)
    vis[..., 4:10, 5:9] = 1  # the front the input saw; the rest of the body is its unseen side
    out = g2(a, coarse, visibility=vis)
    allowed = torch.zeros(2, 1, 16, 16, dtype=torch.bool)
    allowed[..., 3:11, 4:10] = True  # grown by one pixel
    outside = (~allowed).expand_as(out)
    assert torch.equal(out[outside], coarse[outside])  # the unseen side stays G1's estimate, bit for bit
    assert (out - coarse).abs()[~outside].min() > 0  # what the input saw is refined
    assert torch.equal(out, g2(a, coarse, **g2_extras(g2, {"visibility": vis})))
    with pytest.raises(ValueError, match="proxy visibility"):
        g2(a, coarse)
    with pytest.raises(ValueError, match=r"\['visibility'\]"):
        g2_extras(g2, {"flow": torch.zeros(2, 2, 16, 16)})


def test_options_beyond_pg2_show_in_the_repr_only_when_set():
    assert "difference" not in repr(G2Config(16, 16))
    assert "silhouette_difference=True" in repr(G2Config(16, 16, silhouette_difference=True))
    assert "mask_difference=True" in repr(G2Config(16, 16, mask_difference=True))
    assert "warped_input" not in repr(G2Config(16, 16)) and "warped_input=True" in repr(G2Config(warped_input=True))
    assert not G2Config(16, 16, mask_difference=True).uses_proxy  # PG2's mask comes from the pose, not the proxy
    for option in ("silhouette_difference", "warped_input", "visible_difference"):
        assert G2Config(16, 16, **{option: True}).uses_proxy, option


def test_keep_pasted_keeps_what_g1_pasted_and_refines_what_it_generated():
    g = torch.Generator().manual_seed(3)
    coarse, refined = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1, torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    paste = torch.zeros(2, 1, 8, 8)
    paste[:, :, :4] = 1.0  # G1 copied the input's pixels in the top half
    paste[:, :, 4:6] = 0.25
    out = keep_pasted(coarse, refined, paste)
    assert torch.equal(out[:, :, :4], coarse[:, :, :4])
    assert torch.equal(out[:, :, 6:], refined[:, :, 6:])
    assert torch.allclose(out[:, :, 4:6], 0.25 * coarse[:, :, 4:6] + 0.75 * refined[:, :, 4:6], atol=1e-6)
    assert keep_pasted(coarse, refined, None) is refined  # a G1 that does not paste: G2's view as it is
