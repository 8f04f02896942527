"""Building blocks shared by G1 and G2: PG2's residual levels, an encoder and a decoder with skips.

PG2's generators are U-Nets made of *levels*. Level ``i`` works at ``1/2**i`` of the image size with
``c * (i + 1)`` channels (``c`` = ``base_channels``; PG2 grows channels linearly, not by doubling):

* encoder level: a residual block (two 3×3 convolutions and a skip connection), then a stride-2 3×3
  convolution down to the next level (except after the deepest level);
* decoder level: concatenate the encoder's features of the same level (the U-Net skip), a residual block,
  then nearest-neighbour upsampling and a 1×1 convolution (PG2's ``upscale`` + 1×1 conv).

No normalisation layers: PG2's generators have none, and it keeps the networks exact under any batch size.
Activation: ReLU (PG2's TensorFlow code offers ELU or ReLU; ReLU is the cheaper of the two on a CPU).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def level_channels(base_channels: int, level: int) -> int:
    """Channels of level ``level`` (0 = full resolution): ``base_channels * (level + 1)``, as PG2."""
    return base_channels * (level + 1)


SIZE_MULTIPLE = 16  # G1, G2 and the discriminator (4 stride-2 levels) can all be built when both sides are one


def valid_sizes_hint(height: int, width: int) -> str:
    """The sentence that says which image sizes work, with the nearest one to ``height × width``."""
    near = [max(SIZE_MULTIPLE, SIZE_MULTIPLE * round(v / SIZE_MULTIPLE)) for v in (height, width)]
    return (
        f"sizes that work for G1, G2 and the discriminator have both sides multiples of {SIZE_MULTIPLE}, e.g. "
        f"64x64, 128x64 (Market), 256x256 (DeepFashion), 256x176; the nearest to {height}x{width} is "
        f"{near[0]}x{near[1]}"
    )


def check_divisible(height: int, width: int, levels: int, name: str) -> None:
    """Raise ``ValueError`` unless ``levels - 1`` halvings of ``height × width`` stay whole numbers."""
    factor = 2 ** (levels - 1)
    if height % factor or width % factor:
        raise ValueError(
            f"{name}: {height}×{width} is not divisible by 2**(levels-1) = {factor} "
            f"({levels} levels); choose fewer levels, or a size that halves evenly: {valid_sizes_hint(height, width)}"
        )


class ResidualBlock(nn.Module):
    """``x + act(conv(act(conv(x))))`` with two 3×3 convolutions; shape ``(B, C, h, w)`` is kept."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Encoder(nn.Module):
    """Stem 3×3 conv ``in_channels → c``, then ``levels`` residual levels with stride-2 convs between them.

    ``forward(x (B, in_channels, H, W)) -> list`` of ``levels`` feature maps; entry ``i`` has shape
    ``(B, c*(i+1), H/2**i, W/2**i)`` (the last one is the deepest, the input of the bottleneck).
    """

    def __init__(self, in_channels: int, base_channels: int, levels: int):
        super().__init__()
        c = base_channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(ResidualBlock(level_channels(c, i)) for i in range(levels))
        self.downs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(level_channels(c, i), level_channels(c, i + 1), 3, stride=2, padding=1), nn.ReLU(inplace=True)
            )
            for i in range(levels - 1)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            features.append(x)
            if i < len(self.downs):
                x = self.downs[i](x)
        return features


class UpConv(nn.Sequential):
    """PG2's ``upscale`` + 1×1 conv + ReLU: ``(B, C_in, h, w)`` → ``(B, C_out, 2h, 2w)``.

    Without autograd (inference) it runs conv, ReLU, then the upsample: both act on each pixel alone, so they
    commute with nearest-neighbour upsampling (the same values; after it they do 4× the work on 4× the memory,
    a decoder's widest tensors). Training keeps PG2's order: there the weight gradient would sum each 2×2 block
    in another order, and that rounding alone moved a short GAN run of the stage-3 assignment
    (benchmarks/notes/2026-12-training-step.md). A ``Sequential`` so that saved weights keep their names."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_channels, out_channels, 1), nn.ReLU(inplace=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return super().forward(x)
        upsample, conv, relu = self
        return upsample(relu(conv(x)))


class Decoder(nn.Module):
    """PG2's decoder: ``levels`` residual levels from the deepest up, with U-Net skips.

    ``forward(bottom, skips)``: ``bottom`` is ``(B, in_channels, H/2**(L-1), W/2**(L-1))`` (whatever the
    generator feeds the deepest level), ``skips`` the encoder's feature list (``skips[i]`` for level ``i``;
    the deepest entry is not used here — the generator decides what ``bottom`` holds). Returns
    ``(B, 2c, H, W)`` (``out_channels``): at each level above the deepest, the upsampled path (``c*(i+1)``
    channels after its 1×1 conv) is concatenated with the encoder's ``c*(i+1)`` channels.
    """

    def __init__(self, in_channels: int, base_channels: int, levels: int):
        super().__init__()
        c = base_channels
        self.levels = levels
        blocks = [ResidualBlock(in_channels)]
        ups = []
        prev = in_channels
        self.block_channels = [in_channels]  # channels of each block's output, deepest first
        for i in reversed(range(levels - 1)):  # level i receives the upsampled output of level i + 1
            ups.append(UpConv(prev, level_channels(c, i)))
            prev = 2 * level_channels(c, i)
            blocks.append(ResidualBlock(prev))
            self.block_channels.append(prev)
        self.blocks = nn.ModuleList(blocks)
        self.ups = nn.ModuleList(ups)
        self.out_channels = prev

    def forward(
        self,
        bottom: torch.Tensor,
        skips: list[torch.Tensor],
        film: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``film(j, x)``, if given, edits block ``j``'s output (``j = 0`` the deepest) before it goes on up."""
        x = self.blocks[0](bottom)
        x = x if film is None else film(0, x)
        for step, (up, block) in enumerate(zip(self.ups, self.blocks[1:], strict=True)):
            level = self.levels - 2 - step
            x = block(torch.cat([up(x), skips[level]], dim=1))
            x = x if film is None else film(step + 1, x)
        return x
