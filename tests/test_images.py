"""posegen_lite.images: pull-push filling of image holes (the conversions are tested where they are used)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from posegen_lite.images import max_filter, pull_push_fill


def _ramp(h: int = 32, w: int = 16) -> torch.Tensor:
    ys = torch.linspace(-1.0, 1.0, h)[:, None].expand(h, w)
    return torch.stack([ys, -ys, 0.5 * ys])[None]  # (1, 3, H, W), a linear ramp down the image


def test_pixels_outside_the_hole_are_returned_unchanged():
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 32, 16, generator=gen) * 2 - 1
    hole = (torch.rand(2, 1, 32, 16, generator=gen) > 0.7).float()
    out = pull_push_fill(image, hole)
    keep = (hole == 0).expand_as(image)
    assert torch.equal(out[keep], image[keep])
    assert not torch.equal(out[~keep], image[~keep])


def test_a_hole_in_a_linear_ramp_is_filled_with_the_ramp():
    image = _ramp()
    hole = torch.zeros(1, 1, 32, 16)
    hole[..., 10:22, 3:13] = 1.0
    out = pull_push_fill(image, hole)
    err = (out - image).abs()[hole.expand_as(image) > 0]
    # Measured: mean 0.020, max 0.052 on a ramp whose range is 2: within a few percent of it.
    assert err.mean() < 0.03 and err.max() < 0.1


def test_only_source_pixels_feed_the_fill():
    image = torch.zeros(1, 3, 32, 16)
    image[:, 0, :, 8:] = 1.0  # the right half is red ...
    hole = torch.zeros(1, 1, 32, 16)
    hole[..., 12:20, 4:8] = 1.0  # ... next to a hole in the left half
    everywhere = pull_push_fill(image, hole)
    left_only = pull_push_fill(image, hole, source=(torch.arange(16) < 8).float().expand(1, 1, 32, 16))
    hole3 = hole.expand_as(image) > 0
    assert everywhere[hole3].abs().max() > 0.1  # red bleeds in from the right half when it may
    assert left_only[hole3].abs().max() == 0  # and not at all when only the (black) left half may feed it
    # no source pixel at all: the image comes back as it was
    assert torch.equal(pull_push_fill(image, hole, source=torch.zeros_like(hole)), image)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="hole"):
        pull_push_fill(torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match="hole"):
        pull_push_fill(torch.zeros(3, 8, 8), torch.zeros(1, 1, 8, 8))


@pytest.mark.parametrize("pixels", [1, 2, 3, 6])
def test_max_filter_is_max_pool_bit_for_bit(pixels):
    g = torch.Generator().manual_seed(pixels)
    x = torch.randn(3, 1, 17, 11, generator=g)  # negative values too: the edges are clipped, not zero-padded
    x[0] = (x[0] > 0.8).float()  # and a sparse mask, the case it serves
    expected = F.max_pool2d(x, 2 * pixels + 1, stride=1, padding=pixels)
    assert torch.equal(max_filter(x, pixels), expected)


def test_max_filter_of_zero_pixels_is_the_input_and_negative_is_refused():
    x = torch.rand(1, 1, 4, 4)
    assert max_filter(x, 0) is x
    with pytest.raises(ValueError, match="pixels"):
        max_filter(x, -1)
