"""The DCGAN discriminator of PG2's Stage III, judging *pairs* (I_A, I_B) — conditioned on the input image.

A real pair is (condition I_A, real target I_B); a fake pair is (I_A, Î_B2). Because D sees I_A next to the
candidate, "a sharp plausible person" is not enough to fool it: the person must be the one in I_A.

Architecture (Radford et al. 2016, as PG2 uses it): the pair ``(B, 6, H, W)`` → 4×4 stride-2 convolutions
of 64 → 128 → 256 → 512 channels (doubling from ``base_channels``, at most 8×), each followed by a norm (none
on the first) and LeakyReLU(0.2) → flatten → linear → one logit per image ``(B,)``. Default depth: 4 levels,
plus one per further halving that leaves the smaller side at least 8 px (256×256: 5 levels). DCGAN's init:
N(0, 0.02) convolutions, N(1, 0.02) norm scales. ``norm``: ``"batch"`` (DCGAN, the default), ``"instance"``
or ``"none"``; batch norm couples a batch's samples (under DDP: docs/architecture.md, "Conventions").
Parameter counts (``count_parameters``, batch norm, base 64): 64×64: 2,768,705; 128×64: 2,776,897;
256×256: 6,988,609.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from posegen_lite.models.blocks import valid_sizes_hint

NORMS = ("batch", "instance", "none")
IMAGE_CHANNELS = 3
DCGAN_LEVELS = 4  # 64-128-256-512
MIN_FINAL_SIDE = 8


def default_levels(height: int, width: int) -> int:
    """4 levels, plus one per halving beyond that which leaves the smaller side at least 8 px."""
    levels = DCGAN_LEVELS
    while (
        min(height, width) // 2 ** (levels + 1) >= MIN_FINAL_SIDE
        and height % 2 ** (levels + 1) == 0
        and width % 2 ** (levels + 1) == 0
    ):
        levels += 1
    return levels


@dataclass
class DiscriminatorConfig:
    """Shape of the discriminator; ``levels=None`` → ``default_levels(height, width)``."""

    height: int = 128
    width: int = 64
    base_channels: int = 64
    levels: int | None = None
    norm: str = "batch"
    spectral_norm: bool = False  # spectral normalisation of every layer (Miyato et al. 2018); use with norm="none"

    def __repr__(self) -> str:
        # An option beyond PG2 shows only when it is set, so PG2's configuration reads as PG2's.
        shown = [f for f in fields(self) if f.name != "spectral_norm" or self.spectral_norm]
        return f"{type(self).__name__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in shown)})"

    def resolved_levels(self) -> int:
        """The number of strided levels actually used."""
        return default_levels(self.height, self.width) if self.levels is None else self.levels

    def validate(self) -> None:
        """Raise ``ValueError`` for settings the network cannot be built with."""
        for name in ("height", "width", "base_channels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"DiscriminatorConfig.{name} must be positive, got {getattr(self, name)}")
        if self.norm not in NORMS:
            raise ValueError(f"DiscriminatorConfig.norm must be one of {NORMS}, got {self.norm!r}")
        levels = self.resolved_levels()
        if levels < 1:
            raise ValueError(f"the discriminator needs at least 1 level, got {levels}")
        factor = 2**levels
        if self.height % factor or self.width % factor:
            raise ValueError(
                f"DiscriminatorConfig: {self.height}×{self.width} is not divisible by 2**levels = "
                f"{factor} ({levels} levels); " + valid_sizes_hint(self.height, self.width)
            )


def _norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)  # affine: a learnable scale/shift like batch norm's
    return nn.Identity()


class Discriminator(nn.Module):
    """DCGAN discriminator on image pairs: ``forward(image_a, image_b) -> (B,)`` logits (real > 0)."""

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        config.validate()
        self.config = config
        levels, c = config.resolved_levels(), config.base_channels
        layers: list[nn.Module] = []
        in_ch = 2 * IMAGE_CHANNELS
        for i in range(levels):
            out_ch = c * 2 ** min(i, 3)
            normed = i > 0 and config.norm != "none"  # DCGAN: no norm on the first layer
            # A conv followed by a norm with its own shift needs no bias.
            layers.append(nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=not normed))
            if normed:
                layers.append(_norm_layer(config.norm, out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        final_h, final_w = config.height // 2**levels, config.width // 2**levels
        self.to_logit = nn.Linear(in_ch * final_h * final_w, 1)
        self.apply(_dcgan_init)
        if config.spectral_norm:
            # Bounds D's Lipschitz constant: D cannot become so sharp that G2's gradients turn into the
            # high-frequency streaks a too-strong discriminator rewards.
            for module in [*self.features, self.to_logit]:
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(module)

    def feature_maps(self, image_a: torch.Tensor, image_b: torch.Tensor) -> list[torch.Tensor]:
        """The activations after each level ``[(B, C_i, H/2^(i+1), W/2^(i+1))]`` (for feature matching)."""
        x = torch.cat([image_a, image_b], dim=1)
        out = []
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                out.append(x)
        return out

    def forward(self, image_a: torch.Tensor, image_b: torch.Tensor) -> torch.Tensor:
        """``image_a`` (condition) and ``image_b`` (real or generated), both ``(B, 3, H, W)`` in [-1, 1]
        → ``(B,)`` logits, positive = "real pair"."""
        cfg = self.config
        for name, t in (("image_a", image_a), ("image_b", image_b)):
            if t.dim() != 4 or t.shape[1] != IMAGE_CHANNELS or tuple(t.shape[2:]) != (cfg.height, cfg.width):
                raise ValueError(
                    f"Discriminator: {name} must be (B, 3, {cfg.height}, {cfg.width}), got {tuple(t.shape)}"
                )
        if image_a.shape[0] != image_b.shape[0]:
            raise ValueError(f"Discriminator: batch sizes differ, {image_a.shape[0]} vs {image_b.shape[0]}")
        x = self.features(torch.cat([image_a, image_b], dim=1))
        return self.to_logit(x.flatten(1)).squeeze(1)


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: N(0, 0.02) weights, N(1, 0.02) norm scales, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
