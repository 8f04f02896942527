"""models/blocks.py: the decoder's upsampling step runs in a cheaper order at inference, with the same values and
the same weight names; training keeps PG2's order."""

from __future__ import annotations

import torch
from torch import nn

from posegen_lite.models.blocks import UpConv


def test_upconv_at_inference_is_pg2s_upsample_then_conv():
    torch.manual_seed(0)
    up = UpConv(6, 4)
    x = torch.randn(2, 6, 5, 3)
    as_written = nn.Sequential.forward(up, x)  # PG2's order: upsample, 1×1 conv, ReLU
    with torch.no_grad():
        out = up(x)
    assert out.shape == (2, 4, 10, 6)
    torch.testing.assert_close(out, as_written, rtol=0, atol=1e-6)
    assert sorted(up.state_dict()) == ["1.bias", "1.weight"]  # saved decoders load unchanged


def test_upconv_in_training_is_pg2s_order_exactly():
    torch.manual_seed(1)
    up = UpConv(3, 2)
    x = torch.randn(1, 3, 4, 4, requires_grad=True)
    out = up(x)
    assert torch.equal(out, nn.Sequential.forward(up, x))
    out.square().sum().backward()
    assert up[1].weight.grad is not None
