"""The unseen side as a guess: G1 as a conditional VAE (Sohn et al. 2015; Esser et al. 2018 for pose).

Where the target view shows a side the input never saw (a back with its own pattern), the L1 loss teaches a
deterministic G1 to paint the *average* of all possible backs: a smear. A conditional VAE paints one of
them instead, chosen by a latent code ``z``:

* a **posterior** encoder ``q(z | I_B, P_B, I_A)`` looks at the answer and says which back it is — used only
  in training, where the answer exists;
* a learned **prior** ``p(z | I_A, P_B)`` says which backs are plausible for this input — what inference
  samples from (its *mean* gives one deterministic answer);
* the loss adds ``β · KL(q ‖ p)`` (``training/losses.gaussian_kl``), so ``z`` carries only what the input
  cannot tell, and the prior learns to propose it.

``z`` comes in two kinds (``LATENT_KINDS``):

* ``"map"``: a *spatial* map ``(B, k, H/2^l, W/2^l)`` at level ``l = levels − 2`` of G1's U-Net (16×8 at
  128×64), one Gaussian per cell, so it can say "this patch of the back is striped". Its cells are
  independent under the prior, so a sample's patches do not agree with each other: samples come out as
  blotches.
* ``"vector"``: one code per image ``(B, k, 1, 1)``, read from the whole feature map (global average
  pooling) and broadcast over the image where it enters. A back is one choice — its pattern and its colour —
  so one code per image can draw a *coherent* back (the trained one's figures: ``benchmarks/README.md``).

Where ``z`` enters the decoder (``LATENT_SITES``), always multiplied by a gate that is zero where G1's 3D body
proxy says the input saw the surface (there the warped pixels are the answer and ``z`` has no say, so the
variation goes where the input is blind):

* ``"skips"``: G1's skip connections at every level but the deepest (resized, through a 1×1 convolution with
  small initial weights). The map's gate is ``1 − avg_pool(visibility)`` (a cell half seen takes half of
  ``z``); the vector's is ``1 − max_pool(visibility)`` (a cell takes ``z`` only if the input saw none of it,
  so ``z`` cannot bleed into the seen pixels next to unseen ones at the coarse levels). The decoder has
  several levels of convolutions between ``z`` and a colour, and in short runs it learns to ignore ``z``.
* ``"output"``: the decoder's last features ``x`` (full size), just before the layer that turns them into
  colours. ``z`` *modulates* them (FiLM, Perez et al. 2018): ``x ← x + g · (γ(z) ⊙ x + β(z))``, then a small
  residual block ``x ← x + g · r(x)``, with ``g = 1 − visibility`` at full size. ``γ`` scales the features
  the decoder already has ("this is the back of the shirt"), so one coordinate of ``z`` can recolour exactly
  that region: the path from ``z`` to a colour is one layer long. G1 uses the colours of the modulated
  features only where ``g = 1`` (``G1._colours``), so ``z`` has no say at all in a pixel the input saw.
* ``"decoder"``: as ``"output"``, but the modulated features come from a second pass through the decoder in
  which ``z`` also modulates every level's output (FiLM, ``x ← x + γ_j(z) ⊙ x + β_j(z)``, no gate inside). The
  last features alone can only recolour what the decoder already drew, and a 3×3 block cannot draw a stripe
  or a yoke across a back; the coarse levels know where the back is and can. The colours of the second pass
  are still used only where the input was blind, so seen pixels stay exactly ``z``-free; the price is a
  second decoder pass (training and sampling).

**Texture space** (``surface=True``, a vector at site ``"output"`` or ``"decoder"``; ``G1Config.latent_surface``).
What the input cannot tell about a back is a *pattern on the body* — stripes across the back, a yoke
across the shoulders, a band — and the image shows it wherever the pose puts the back. The body proxy knows,
for every target pixel, where on its part the point lies (``geometry/warp.surface_map``: across, along,
outward; the same for a body point in every view), so the latent path works there, not in image coordinates:

* the posterior also reads I_B's colours *unwrapped onto the chest*: their mean in ``SURFACE_BINS`` bins of
  (along × across) over the unseen chest (``chest_texture``), so "striped" or "yoke" is a pattern in a few
  numbers, whatever the pose (``texture_head``);
* ``z`` modulates the surface coordinates' Fourier features (``surface_features``; Tancik et al. 2020) beside
  the decoder's features, and ``r`` paints from both, so one layer can turn "stripes, this colour" into stripes
  on the back;
* the gate also closes off the proxy's body (``1 − visibility`` times "on the body"): ``z`` has nothing to say
  about the studio, and no longer tints it.

At the start ``γ``, ``β`` and the mixers are small and ``r`` is zero, so ``z = 0`` answers exactly as the
same G1 without the latent path.

Shapes: ``prior``/``posterior`` return ``Gaussian(mean, logvar)`` with both ``(B, k, h, w)`` float32
(``h = w = 1`` for ``"vector"``); ``logvar`` is clamped to ``[LOGVAR_MIN, LOGVAR_MAX]`` so that ``exp`` stays
finite.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from posegen_lite.models.blocks import Encoder, level_channels

LOGVAR_MIN, LOGVAR_MAX = -8.0, 6.0
LATENT_KINDS = ("map", "vector")
LATENT_SITES = ("skips", "output", "decoder")
MIXER_INIT_STD = 0.01  # initial weights of the 1×1 convolutions that map z into the decoder
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


class Gaussian(NamedTuple):
    """A diagonal Gaussian over the latent map: ``mean`` and ``logvar`` (log σ²), both ``(B, k, h, w)``."""

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
    """The U-Net level the latent map lives at: one above the deepest (16×8 at 128×64, 16×16 at 64×64)."""
    return max(levels - 2, 0)


def _head(in_channels: int, hidden: int, latent_channels: int, kind: str, mean_std: float = 0.0) -> nn.Sequential:
    """3×3 conv, ReLU, then to ``2k`` channels (mean and log-variance): a 3×3 conv per cell for ``"map"``,
    global average pooling and a 1×1 conv for ``"vector"``. The last layer's log-variance part starts at zero
    (σ = 1), its mean part at zero too (``mean_std = 0``, the prior: its mean z = 0 gives a plain G1's answer)
    or at random weights (a vector's posterior, ``POSTERIOR_INIT_STD``)."""
    pool = kind == "vector"
    out = nn.Conv2d(hidden, 2 * latent_channels, 1 if pool else 3, padding=0 if pool else 1)
    nn.init.zeros_(out.weight)
    nn.init.zeros_(out.bias)
    if mean_std:
        nn.init.normal_(out.weight[:latent_channels], std=mean_std)
    layers = [nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, *([nn.AdaptiveAvgPool2d(1)] if pool else []), out)


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


SURFACE_FEATURES = 5 + 2 * 3 * len(SURFACE_FREQUENCIES)


def chest_texture(colours: torch.Tensor, surface: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """I_B's colours unwrapped onto the chest: the mean colour in each of ``SURFACE_BINS`` (along × across)
    bins of the chest's surface coordinates, over the pixels ``where`` says (the unseen body) →
    ``(B, 3·along·across, 1, 1)``. A bin no such pixel falls in takes the mean over all of ``where``. Whether the
    back is striped, has a yoke or a band is then a pattern in these numbers, wherever the back sits in the
    image. ``colours (B, 3, H, W)``, ``surface (B, 5, H, W)``, ``where (B, 1, H, W)`` ≥ 0."""
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


class LatentPath(nn.Module):
    """Prior, posterior and the injection of ``z`` into G1's skips (module docstring).

    Args: ``base_channels`` and ``levels`` of G1, ``latent_channels`` k, ``target_channels`` of the
    posterior's extra input (I_B and P_B: 3 + 18), ``kind`` one of ``LATENT_KINDS``, ``site`` one of
    ``LATENT_SITES``, ``out_channels`` the channels of the decoder's last features (sites ``"output"`` and
    ``"decoder"``), ``decoder_channels`` those of each decoder block's output, deepest first (``"decoder"``),
    ``surface``: the path works in the body proxy's texture space (module docstring; a vector at site
    ``"output"`` or ``"decoder"``).
    """

    def __init__(
        self,
        base_channels: int,
        levels: int,
        latent_channels: int,
        target_channels: int,
        kind: str = "map",
        site: str = "skips",
        out_channels: int = 0,
        decoder_channels: tuple[int, ...] = (),
        surface: bool = False,
    ) -> None:
        super().__init__()
        if surface and (kind != "vector" or site == "skips"):
            raise ValueError("surface coordinates are for a latent vector at site 'output' or 'decoder'")
        self.surface = surface
        if kind not in LATENT_KINDS:
            raise ValueError(f"latent kind must be one of {LATENT_KINDS}, got {kind!r}")
        if site not in LATENT_SITES:
            raise ValueError(f"latent site must be one of {LATENT_SITES}, got {site!r}")
        self.level = latent_level(levels)
        self.latent_channels = latent_channels
        self.kind, self.site = kind, site
        feat = level_channels(base_channels, self.level)
        # The posterior encodes (I_B, P_B) with a narrower encoder down to the latent level and reads I_A
        # through G1's own features there.
        small = max(base_channels // 2, 4)
        self.target_encoder = Encoder(target_channels, small, self.level + 1)
        self.prior_head = _head(feat, feat, latent_channels, kind)
        # A vector's posterior mean starts at random weights (measured: benchmarks/README.md); a map's at zero,
        # as the map cVAE was trained and measured.
        mean_std = POSTERIOR_INIT_STD if kind == "vector" else 0.0
        self.posterior_head = _head(feat + level_channels(small, self.level), feat, latent_channels, kind, mean_std)
        if kind == "vector":
            # The mean and spread of I_B's colours where z has a say, straight into the posterior's mean.
            self.colour_head = nn.Conv2d(2 * COLOUR_CHANNELS, latent_channels, 1, bias=False)
            nn.init.normal_(self.colour_head.weight, std=POSTERIOR_INIT_STD)
        if surface:
            # The chest's unwrapped colours too; weights scaled so that their sum varies as much as the above.
            bins = SURFACE_BINS[0] * SURFACE_BINS[1]
            self.texture_head = nn.Conv2d(COLOUR_CHANNELS * bins, latent_channels, 1, bias=False)
            nn.init.normal_(self.texture_head.weight, std=POSTERIOR_INIT_STD / math.sqrt(bins))
        # Skips at every level but the deepest (that one feeds the fully connected bottleneck, which would
        # spread z over the whole image, visible parts included).
        skip_levels = range(levels - 1) if site == "skips" else range(0)
        self.mixers = nn.ModuleList(
            nn.Conv2d(latent_channels, level_channels(base_channels, i), 1) for i in skip_levels
        )
        if site in ("output", "decoder"):
            if out_channels <= 0:
                raise ValueError(f"site={site!r} needs the decoder's out_channels > 0, got {out_channels}")
            # With surface coordinates, z modulates them too and r reads them beside the features.
            extra = SURFACE_FEATURES if surface else 0
            # γ and β in one 1×1 convolution, no bias: z = 0 gives γ = β = 0.
            self.film = nn.Conv2d(latent_channels, 2 * (out_channels + extra), 1, bias=False)
            nn.init.normal_(self.film.weight, std=MIXER_INIT_STD)
            # r ends without an activation and starts at zero: it can paint with the modulated features (a
            # pattern, not only a colour) and still leaves a fresh latent path's z = 0 answer unchanged.
            self.refine = nn.Sequential(
                nn.Conv2d(out_channels + extra, out_channels, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(out_channels, out_channels, 3, padding=1),
            )  # fmt: skip
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)
        if site == "decoder":
            if not decoder_channels:
                raise ValueError("site='decoder' needs the channels of the decoder's blocks")
            # γ_j and β_j for every decoder block, as ``film`` above: no bias (z = 0: no change), and weights
            # smaller than ``film``'s, since the levels' changes add up on the way to the colours.
            self.level_films = nn.ModuleList(
                nn.Conv2d(latent_channels, 2 * ch, 1, bias=False) for ch in decoder_channels
            )
            for conv in self.level_films:
                nn.init.normal_(conv.weight, std=MIXER_INIT_STD / len(decoder_channels))
        for mixer in self.mixers:
            # Small, not zero: with zero weights z changes nothing, so the posterior gets no gradient and the
            # KL term folds it onto the prior before anything breaks the tie (posterior collapse). The bias
            # is zero and both heads start at N(0, 1), so the prior's mean (z = 0) still answers exactly as
            # the same G1 without the latent path.
            nn.init.normal_(mixer.weight, std=MIXER_INIT_STD)
            nn.init.zeros_(mixer.bias)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # A latent vector saved before the posterior read colour statistics has no colour_head: zeros read
        # none, and the prior (all that inference uses) is untouched, so such a checkpoint answers as it did.
        key = prefix + "colour_head.weight"
        if self.kind == "vector" and key not in state_dict:
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
        never saw): a latent *vector* averages its features over those pixels only, not over the whole image.
        ``z`` has a say only there, so that is all it needs to describe; a global average is mostly background
        and pose, and a fresh posterior's ``z`` would vary with those, which the decoder can only learn to
        ignore. A pair whose target the input saw all of falls back to the global average. A vector's mean also
        reads the mean and spread of I_B's colours over the same pixels directly (``colour_head``), and with
        ``surface`` (``(B, 5, H, W)``, a path built with ``surface=True``) I_B's colours unwrapped onto the chest
        (``chest_texture``, ``texture_head``)."""
        self._check_surface(surface)
        encoded = self.target_encoder(target)[-1]
        x = torch.cat([features[self.level], encoded], dim=1)
        if self.kind != "vector":
            return _gaussian(self.posterior_head(x))
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
        if surface is not None:
            shift = shift + self.texture_head(chest_texture(colours, surface.float(), weight).to(params.dtype))
        return _gaussian(params + torch.cat([shift, torch.zeros_like(shift)], dim=1))

    def _check_surface(self, surface: torch.Tensor | None) -> None:
        if self.surface and surface is None:
            raise ValueError(
                "this latent path works in the body proxy's texture space: pass surface (B, 5, H, W) "
                "(geometry.warp.surface_map, the dataset key proxy_surface_b)"
            )
        if not self.surface and surface is not None:
            raise ValueError("surface coordinates are for a latent path built with surface=True")

    def inject(
        self, features: list[torch.Tensor], z: torch.Tensor, visibility: torch.Tensor | None
    ) -> list[torch.Tensor]:
        """Add ``mixer_i(resize(z) · gate_i)`` to skip ``i`` (all but the deepest level); ``gate_i`` is
        ``1 − pool(visibility)`` at that level's size (module docstring), 1 without a visibility."""
        out = list(features)
        for i, mixer in enumerate(self.mixers):
            size = features[i].shape[-2:]
            if self.kind == "vector":
                zi = z.expand(-1, -1, *size)
            else:
                zi = F.interpolate(z, size=size, mode="bilinear", align_corners=False) if z.shape[-2:] != size else z
            if visibility is not None:
                zi = zi * (1.0 - self.pool_visibility(visibility.to(zi.dtype), size))
            out[i] = features[i] + mixer(zi.to(features[i].dtype))
        return out

    def film_level(self, j: int, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``site="decoder"``: decoder block ``j``'s output ``x`` ``(B, C, h, w)`` modulated by ``z``:
        ``x + γ_j(z) ⊙ x + β_j(z)`` (``Decoder.forward``'s ``film``). Same shape and dtype as ``x``."""
        if z.shape[-2:] != x.shape[-2:] and self.kind == "map":
            z = F.interpolate(z, size=x.shape[-2:], mode="bilinear", align_corners=False)
        gamma, beta = self.level_films[j](z.to(x.dtype)).chunk(2, dim=1)
        return x + gamma * x + beta

    def modulate(
        self,
        x: torch.Tensor,
        z: torch.Tensor,
        visibility: torch.Tensor | None,
        surface: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``site="output"``: the decoder's last features ``x`` ``(B, C, H, W)`` modulated by ``z`` where the
        input was blind (module docstring): ``x + g·(γ(z)⊙x + β(z))``, then ``+ g·r(·)``, ``g = 1 − visibility``
        (1 without a visibility). Same shape and dtype as ``x``.

        With ``surface`` ``(B, 5, H, W)`` (a path built with ``surface=True``): ``z`` modulates the features and
        the surface's Fourier features together (``surface_features``), ``r`` reads both, and the gate is also
        closed off the proxy's body (``g = (1 − visibility) · on``): the studio is not part of the guess."""
        self._check_surface(surface)
        size = x.shape[-2:]
        if z.shape[-2:] != size and self.kind == "map":
            z = F.interpolate(z, size=size, mode="bilinear", align_corners=False)
        gamma, beta = self.film(z.to(x.dtype)).chunk(2, dim=1)  # (B, C, 1, 1) for a vector: broadcast
        gate = torch.ones_like(x[:, :1]) if visibility is None else 1.0 - visibility.to(x.dtype)
        if surface is None:
            x = x + gate * (gamma * x + beta)
            return x + gate * self.refine(x)
        surface = surface.to(x.dtype)
        gate = gate * surface[:, :1]
        y = torch.cat([x, surface_features(surface)], dim=1)
        y = y + gate * (gamma * y + beta)
        return y[:, : x.shape[1]] + gate * self.refine(y)

    def pool_visibility(self, visibility: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """``visibility`` ``(B, 1, H, W)`` resized to ``size`` for the gate: average for ``"map"``, maximum for
        ``"vector"`` (a cell counts as seen if any of its pixels was)."""
        if tuple(visibility.shape[-2:]) == tuple(size):
            return visibility
        if self.kind == "vector":
            return F.adaptive_max_pool2d(visibility, size)
        return F.adaptive_avg_pool2d(visibility, size)
