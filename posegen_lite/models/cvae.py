"""The unseen side as a guess: G1 as a conditional VAE (Sohn et al. 2015; Esser et al. 2018 for pose).

Where the target shows a side the input never saw (a back with its own pattern), L1 teaches a deterministic G1
to paint the *average* back: a smear. A conditional VAE paints one of them, chosen by a latent vector ``z``
``(B, k, 1, 1)`` — one code per image, so a back is one coherent choice (pattern and colour):

* a **posterior** ``q(z | I_B, P_B, I_A)`` reads the answer (training only);
* a learned **prior** ``p(z | I_A, P_B)`` proposes plausible backs (inference samples it; its mean is one answer);
* the loss adds ``β · KL(q ‖ p)`` (``training/losses.gaussian_kl``), so ``z`` carries only what the input can't tell.

``z`` *modulates* the decoder's last features (FiLM, Perez et al. 2018) only where the body proxy says the input
was blind; with ``surface`` it works in the proxy's texture space (``LatentPath``). At the start the prior's mean
``z = 0`` answers exactly as the same G1 without the latent path. ``Gaussian`` holds ``(B, k, 1, 1)`` float32
mean and log-variance, clamped to ``[LOGVAR_MIN, LOGVAR_MAX]`` so that ``exp`` stays finite.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from posegen_lite.models.blocks import Encoder, level_channels

LOGVAR_MIN, LOGVAR_MAX = -8.0, 6.0
FILM_INIT_STD = 0.01  # initial weights of the 1×1 convolution that maps z to γ and β
# Initial weights of the posterior's mean: from the first step its z differs from image to image (by about 0.3
# from the learned features alone, for a vector at 128×64), so the decoder has something to read. With a mean of
# exactly zero, decoder and posterior each wait for the other to start (a saddle that short runs never left:
# benchmarks/README.md); with small weights, the L1 loss shrinks z's variation (noise to a decoder that cannot
# read it yet) before the decoder learns to read it.
POSTERIOR_INIT_STD = 1.0
COLOUR_CHANNELS = 3  # the target's first channels in the posterior's input are I_B's colours
# Texture space (``surface=True``): Fourier features of the proxy's surface coordinates (Tancik et al. 2020), so
# that a few layers can paint a stripe every eighth of the chest; and the bins (along × across the chest) in
# which the posterior averages I_B's colours.
SURFACE_FREQUENCIES = (1, 2, 4, 8)
SURFACE_BINS = (8, 3)
# The proxy's surface map (``geometry/warp.surface_map``): on the body, on the chest, across, along, outward.
SURFACE_CHANNELS = 5


class Gaussian(NamedTuple):
    """A diagonal Gaussian over the latent vector: ``mean`` and ``logvar`` (log σ²), both ``(B, k, 1, 1)``."""

    mean: torch.Tensor
    logvar: torch.Tensor

    def sample(self, noise: torch.Tensor | None) -> torch.Tensor:
        """``mean + σ · noise`` (the reparameterisation trick); ``noise=None`` gives the mean."""
        if noise is None:
            return self.mean
        return self.mean + torch.exp(0.5 * self.logvar) * noise.to(self.mean.dtype)


class Latents(NamedTuple):
    """What ``G1(..., return_latents=True)`` returns beside the image: the prior, the posterior (``None``
    when no target image was given, i.e. at inference), and with ``regress_latent=True`` (training) the pair
    ``(z, read)``: a ``z`` drawn from the prior (detached) and the posterior's mean read back from the image
    that ``z`` gave (the latent regression of Zhu et al. 2017's BicycleGAN: ``|read − z|`` is small only if
    different ``z`` give visibly different images, so the decoder cannot ignore ``z``)."""

    prior: Gaussian
    posterior: Gaussian | None
    regression: tuple[torch.Tensor, torch.Tensor] | None = None


def latent_level(levels: int) -> int:
    """The U-Net level whose features the prior and posterior read: one above the deepest (16×8 at 128×64)."""
    return max(levels - 2, 0)


def _head(in_channels: int, hidden: int, latent_channels: int, mean_std: float = 0.0) -> nn.Sequential:
    """3×3 conv, ReLU, global average pooling, then a 1×1 conv to ``2k`` channels (mean and log-variance). The last
    layer's log-variance part starts at zero (σ = 1), its mean part at zero too (``mean_std = 0``, the prior: its
    mean z = 0 gives a plain G1's answer) or at random weights (the posterior, ``POSTERIOR_INIT_STD``)."""
    out = nn.Conv2d(hidden, 2 * latent_channels, 1)
    assert out.bias is not None  # built with one
    nn.init.zeros_(out.weight)
    nn.init.zeros_(out.bias)
    if mean_std:
        nn.init.normal_(out.weight[:latent_channels], std=mean_std)
    layers = [nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), out)


def _weighted_mean(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x`` ``(B, C, h, w)`` averaged over space with ``weight`` ``(B, 1, h, w)`` ≥ 0 → ``(B, C, 1, 1)``; an
    image whose weights are all zero gets the plain average."""
    total = weight.sum(dim=(2, 3), keepdim=True)
    uniform = torch.full_like(weight, 1.0 / weight[0, 0].numel())
    weight = torch.where(total > 1e-6, weight / total.clamp_min(1e-6), uniform)
    return (x * weight).sum(dim=(2, 3), keepdim=True)


def _gaussian(params: torch.Tensor) -> Gaussian:
    mean, logvar = params.float().chunk(2, dim=1)
    return Gaussian(mean, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX))


def surface_features(surface: torch.Tensor) -> torch.Tensor:
    """The proxy's surface map ``(B, 5, H, W)`` (``geometry/warp.surface_map``: on, chest, across, along,
    outward) → ``(B, SURFACE_FEATURES, H, W)``: the map itself, then ``sin(π f c)`` and ``cos(π f c)`` of each
    coordinate ``c`` for every frequency ``f`` of ``SURFACE_FREQUENCIES``, 0 off the body. A stripe across the
    back is then one feature, not a function a few ReLUs would have to build."""
    on, coords = surface[:, :1], surface[:, 2:]
    angles = torch.cat([math.pi * f * coords for f in SURFACE_FREQUENCIES], dim=1)
    return torch.cat([surface, torch.sin(angles) * on, torch.cos(angles) * on], dim=1)


SURFACE_FEATURES = SURFACE_CHANNELS + 2 * 3 * len(SURFACE_FREQUENCIES)


def chest_texture(colours: torch.Tensor, surface: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """I_B's colours unwrapped onto the chest: the mean colour in each of ``SURFACE_BINS`` (along × across)
    bins of the chest's surface coordinates, over the pixels ``where`` says (the unseen body) →
    ``(B, 3·along·across, 1, 1)``. A bin no such pixel falls in takes the mean over all of ``where``. Whether the
    back is striped, has a yoke or a band is then a pattern in these numbers, wherever the back sits in the
    image. ``colours (B, 3, H, W)``, ``surface (B, 5, H, W)``, ``where (B, 1, H, W)`` ≥ 0."""
    n_along, n_across = SURFACE_BINS
    along = ((surface[:, 3] + 1) / 2 * n_along).floor().clamp(0, n_along - 1)
    across = ((surface[:, 2] + 1) / 2 * n_across).floor().clamp(0, n_across - 1)
    bins = (along * n_across + across).long()  # (B, H, W): bin (i, j) is i·across + j, the output's order
    # Every bin's weighted sum in one product (bin-major, colour-minor channels): the same sums as one weighted
    # mean per bin, without 24 passes over the image.
    weight = surface[:, 1:2] * where * F.one_hot(bins, n_along * n_across).permute(0, 3, 1, 2).to(colours.dtype)
    total = weight.sum(dim=(2, 3)).unsqueeze(-1)  # (B, bins, 1)
    sums = torch.einsum("bchw,bkhw->bkc", colours, weight)  # (B, bins, 3)
    fallback = _weighted_mean(colours, where).flatten(1).unsqueeze(1)  # (B, 1, 3)
    means = torch.where(total > 1e-6, sums / total.clamp_min(1e-6), fallback)
    return means.flatten(1)[:, :, None, None]


class LatentPath(nn.Module):
    """Prior, posterior and the modulation of G1's last features by ``z`` (module docstring).

    Args: ``base_channels`` and ``levels`` of G1, ``latent_channels`` k, ``target_channels`` of the posterior's
    extra input (I_B and P_B: 3 + 18), ``out_channels`` of the decoder's last features, ``surface``: work in the
    body proxy's texture space.

    Where ``z`` enters: the decoder's last features ``x`` (full size), just before the layer that turns them into
    colours: ``x ← x + g · (γ(z) ⊙ x + β(z))``, then a small residual block ``x ← x + g · r(x)``, with the gate
    ``g = 1 − visibility``. The path from ``z`` to a colour is one layer long, and G1 uses the modulated colours
    only where ``g = 1`` (``G1._colours``), so ``z`` has no say in a pixel the input saw.

    **Texture space** (``surface=True``, the shipped G1): what the input cannot tell about a back is a pattern on
    the body, and the proxy knows where on its part every target pixel lies (``geometry/warp.surface_map``: the
    same for a body point in every view). So the posterior also reads I_B's colours unwrapped onto the chest
    (``chest_texture``, ``texture_head``); ``z`` modulates the surface coordinates' Fourier features
    (``surface_features``; Tancik et al. 2020) beside the decoder's, and ``r`` paints from both; the gate is also
    closed off the proxy's body, so ``z`` does not tint the studio.
    """

    def __init__(
        self,
        base_channels: int,
        levels: int,
        latent_channels: int,
        target_channels: int,
        out_channels: int,
        surface: bool = False,
    ) -> None:
        super().__init__()
        if out_channels <= 0:
            raise ValueError(f"the latent path needs the decoder's out_channels > 0, got {out_channels}")
        self.surface = surface
        self.level = latent_level(levels)
        self.latent_channels = latent_channels
        feat = level_channels(base_channels, self.level)
        # The prior reads G1's features one level above the deepest; the posterior also encodes (I_B, P_B) with a
        # narrower encoder down to that level.
        small = max(base_channels // 2, 4)
        self.target_encoder = Encoder(target_channels, small, self.level + 1)
        self.prior_head = _head(feat, feat, latent_channels)
        self.posterior_head = _head(feat + level_channels(small, self.level), feat, latent_channels, POSTERIOR_INIT_STD)
        self.colour_head = _colour_head(2 * COLOUR_CHANNELS, latent_channels, POSTERIOR_INIT_STD)
        self.texture_head = _texture_head(latent_channels) if surface else None
        extra = SURFACE_FEATURES if surface else 0  # with surface coordinates, z modulates them too
        self.film = _film(latent_channels, out_channels + extra)
        self.refine = _refine(out_channels + extra, out_channels)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # A latent vector saved before the posterior read colour statistics has no colour_head: zeros read
        # none, and the prior (all that inference uses) is untouched, so such a checkpoint answers as it did.
        key = prefix + "colour_head.weight"
        if key not in state_dict:
            state_dict[key] = torch.zeros_like(self.colour_head.weight)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def prior(self, features: list[torch.Tensor]) -> Gaussian:
        """``p(z | I_A, P_B)`` from G1's encoder features (the list of ``Encoder.forward``)."""
        return _gaussian(self.prior_head(features[self.level]))

    def posterior(
        self,
        features: list[torch.Tensor],
        target: torch.Tensor,
        where: torch.Tensor | None = None,
        surface: torch.Tensor | None = None,
    ) -> Gaussian:
        """``q(z | I_B, P_B, I_A)``: ``target`` is ``(B, 3 + 18, H, W)`` = (I_B, P_B).

        ``where`` ``(B, 1, H, W)`` ≥ 0 (G1 passes ``mask_B · (1 − visibility)``: the target body the input
        never saw): the posterior averages its features over those pixels only. ``z`` has a say only there, so
        that is all it needs to describe; a global average is mostly background and pose, which the decoder can
        only learn to ignore. A pair whose target the input saw all of falls back to the global average. The mean
        also reads the mean and spread of I_B's colours over the same pixels (``colour_head``), and with
        ``surface`` (``(B, 5, H, W)``, a path built with ``surface=True``) I_B's colours unwrapped onto the chest
        (``chest_texture``, ``texture_head``)."""
        self._check_surface(surface)
        encoded = self.target_encoder(target)[-1]
        x = torch.cat([features[self.level], encoded], dim=1)
        if where is None:
            where = torch.ones_like(target[:, :1])
        conv, act, _, out = self.posterior_head
        h = act(conv(x))
        params = out(_weighted_mean(h, F.adaptive_avg_pool2d(where.to(h.dtype), h.shape[-2:])))
        # The colours' mean and spread over the same pixels. A learned encoder can learn to give every image
        # the same features before the decoder has learned to read them (in short runs it did: the posterior
        # collapsed within 100 steps); these statistics cannot, so z keeps describing the unseen body.
        colours = target[:, :COLOUR_CHANNELS].float()
        weight = where.float()
        mean = _weighted_mean(colours, weight)
        spread = (_weighted_mean((colours - mean) ** 2, weight) + 1e-6).sqrt()
        shift = self.colour_head(torch.cat([mean, spread], dim=1).to(params.dtype))
        if surface is not None and self.texture_head is not None:
            shift = shift + self.texture_head(chest_texture(colours, surface.float(), weight).to(params.dtype))
        return _gaussian(params + torch.cat([shift, torch.zeros_like(shift)], dim=1))

    def modulate(
        self,
        x: torch.Tensor,
        z: torch.Tensor,
        visibility: torch.Tensor | None,
        surface: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The decoder's last features ``x`` ``(B, C, H, W)`` modulated by ``z`` ``(B, k, 1, 1)`` where the input
        was blind: ``x + g·(γ(z)⊙x + β(z))``, then ``+ g·r(·)``, ``g = 1 − visibility`` (1 without a visibility).
        Same shape and dtype as ``x``. With ``surface`` ``(B, 5, H, W)``: ``z`` modulates the features and the
        surface's Fourier features together, ``r`` reads both, and ``g`` is also 0 off the proxy's body."""
        self._check_surface(surface)
        gamma, beta = self.film(z.to(x.dtype)).chunk(2, dim=1)  # (B, C, 1, 1): broadcast over the image
        gate = torch.ones_like(x[:, :1]) if visibility is None else 1.0 - visibility.to(x.dtype)
        if surface is None:
            x = _gated_film(x, gamma, beta, gate)
            return x + gate * self.refine(x)
        surface = surface.to(x.dtype)
        gate = gate * surface[:, :1]
        # y = [x, surface features] is modulated in its two parts and joined once, for r: γ and β act on each
        # channel alone, so splitting them by channel is exact, and x's part is then not sliced back out of y.
        c = x.shape[1]
        x = _gated_film(x, gamma[:, :c], beta[:, :c], gate)
        features = _gated_film(surface_features(surface), gamma[:, c:], beta[:, c:], gate)
        return x + gate * self.refine(torch.cat([x, features], dim=1))

    def _check_surface(self, surface: torch.Tensor | None) -> None:
        if self.surface and surface is None:
            raise ValueError(
                "this latent path works in the body proxy's texture space: pass surface (B, 5, H, W) "
                "(geometry.warp.surface_map, the dataset key proxy_surface_b)"
            )
        if not self.surface and surface is not None:
            raise ValueError("surface coordinates are for a latent path built with surface=True")


def _colour_head(in_channels: int, latent_channels: int, std: float) -> nn.Conv2d:
    """The mean and spread of I_B's colours where ``z`` has a say, straight into the posterior's mean (random
    weights from the start: measured, ``benchmarks/README.md``)."""
    conv = nn.Conv2d(in_channels, latent_channels, 1, bias=False)
    nn.init.normal_(conv.weight, std=std)
    return conv


def _texture_head(latent_channels: int) -> nn.Conv2d:
    """The chest's unwrapped colours into the posterior's mean; weights scaled so that their sum varies as much as
    ``_colour_head``'s."""
    bins = SURFACE_BINS[0] * SURFACE_BINS[1]
    return _colour_head(COLOUR_CHANNELS * bins, latent_channels, POSTERIOR_INIT_STD / math.sqrt(bins))


def _gated_film(y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """FiLM where the gate is open: ``y + gate·(γ⊙y + β)`` for ``y (B, C, H, W)``, ``γ, β (B, C, 1, 1)``, ``gate
    (B, 1, H, W)``. Written as the formula: fused multiply-adds (``addcmul``) would save two passes over the image
    but round differently, and the shipped weights' pictures would change in their last bits."""
    return y + gate * (gamma * y + beta)


def _film(latent_channels: int, channels: int) -> nn.Conv2d:
    """γ and β in one 1×1 convolution, no bias: z = 0 gives γ = β = 0. Small, not zero, weights: with zero
    weights z changes nothing, the posterior gets no gradient and the KL term folds it onto the prior."""
    conv = nn.Conv2d(latent_channels, 2 * channels, 1, bias=False)
    nn.init.normal_(conv.weight, std=FILM_INIT_STD)
    return conv


def _refine(in_channels: int, out_channels: int) -> nn.Sequential:
    """``r``: ends without an activation and starts at zero, so it can paint with the modulated features (a
    pattern, not only a colour) and still leaves a fresh latent path's z = 0 answer unchanged."""
    refine = nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
    )  # fmt: skip
    last = refine[-1]
    assert isinstance(last, nn.Conv2d) and last.bias is not None
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return refine


def blind_body(visibility: torch.Tensor | None, mask_b: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Where the posterior looks: the target body the input never saw, ``mask_B · (1 − visibility)``
    ``(B, 1, H, W)`` (either factor alone when the other is missing; None without both)."""
    where = None if visibility is None else 1.0 - visibility
    if mask_b is not None:
        where = mask_b.to(dtype) if where is None else where * mask_b.to(dtype)
    return where
