"""G1: PG2's Stage II generator (Ma et al. 2017, §3.1), a U-Net from (I_A, P_B) to the coarse view, plus add-ons.

PG2's G1 (``warp="none"``, ``latent_channels=0``) is the ``G1`` docstring's U-Net. The add-ons, each named by its
``G1Config`` option, in the order ``G1._run`` reads them (the networks take tensors: ``geometry/warp.ProxyMaps``):

* **the proxy warp** (``warp="skip"``): the input warped into the target view by Stage I's body proxy, W(I_A), and
  the visibility are four more input channels, and I_A's own features, warped the same way, are added to the skips
  (Siarohin et al. 2018's deformable skips, driven by the 3D proxy: a back can never copy the front's print);
* **the paste** (``warp="paste"``): ``"skip"`` plus a learned weight α: the output is ``v·α·W(I_A) + (1 − v·α)·G``
  (Zhou et al. 2016; the proxy is coarse at silhouettes, so α is learned, not fixed);
* **the unseen side** (``latent_channels > 0``): a conditional-VAE latent vector that paints what the input never
  saw (``models/cvae.py``), in the proxy's texture space with ``latent_surface``.

Options of unshipped experiments are retired (``RETIRED``); ``benchmarks/README.md`` records them.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from posegen_lite.models.blocks import Decoder, Encoder, check_divisible, level_channels, valid_sizes_hint
from posegen_lite.models.cvae import Gaussian, LatentPath, Latents, blind_body
from posegen_lite.models.g1_checks import check_latent, check_surface, check_warp
from posegen_lite.models.warping import warp_features, warp_image

IMAGE_CHANNELS = 3
WARP_MODES = ("none", "skip", "paste")
MIN_DEEPEST_HEIGHT = 8  # PG2's min_fea_map_H: stop halving when the feature map is 8 px high
# Options of unshipped experiments, by the value each took when it was off or as it shipped. A config (or an old
# checkpoint's) may still name them at that value; any other value is refused (``G1Config.__post_init__``).
RETIRED: dict[str, tuple[object, str]] = {
    "gate_input": (False, "the gated input (I_A only through its warped features) did not ship"),
    "latent_kind": ("vector", "the latent map did not ship: the latent is one vector per image"),
    "latent_site": ("output", "the latent at the skips or in a second decoder pass did not ship: it modulates "
                    "the decoder's last features"),
}  # fmt: skip
RETIRED_WARPS = {"input": "warp='input' (W(I_A) as input channels only) did not ship: use 'skip' or 'paste'"}


def default_levels(height: int, width: int) -> int:
    """PG2's depth for an image size: halvings while height > 8 px and both sides are even, plus one.

    64×64 → 4, 128×64 → 5, 256×256 → 6 (256×176 → 5: 176 stops halving at 11).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}×{width}")
    levels = 1
    while height > MIN_DEEPEST_HEIGHT and height % 2 == 0 and width % 2 == 0:
        height, width, levels = height // 2, width // 2, levels + 1
    return levels


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@dataclass
class G1Config:
    """Shape of G1. ``levels=None`` picks PG2's depth for the size (see ``default_levels``).

    ``base_channels`` is PG2's ``conv_hidden_num`` (128 in the paper; 16 is the CPU demo width);
    ``z_dim`` is the width of the FC bottleneck (PG2: 64), unused when ``fc_bottleneck`` is False;
    ``pose_channels`` is the number of pose maps (18 joints). The add-ons (module docstring): ``warp`` one of
    ``WARP_MODES`` (``"none"`` = PG2's G1, whose forward needs no flow); ``latent_channels`` > 0 makes G1 a
    conditional VAE with a ``(k, 1, 1)`` latent vector (``models/cvae.py``; 0 = deterministic);
    ``latent_surface`` lets it work in the body proxy's texture space (``forward`` then needs ``surface``).

    ``gate_input``, ``latent_kind`` and ``latent_site`` are retired (``RETIRED``): accepted only at the value the
    shipped weights recorded, so their checkpoints still load; not stored.
    """

    height: int = 128
    width: int = 64
    base_channels: int = 16
    levels: int | None = None
    fc_bottleneck: bool = True
    z_dim: int = 64
    pose_channels: int = 18
    warp: str = "none"
    latent_channels: int = 0
    latent_surface: bool = False
    gate_input: InitVar[bool | None] = None
    latent_kind: InitVar[str | None] = None
    latent_site: InitVar[str | None] = None

    def __post_init__(self, gate_input: bool | None, latent_kind: str | None, latent_site: str | None) -> None:
        given = {"gate_input": gate_input, "latent_kind": latent_kind, "latent_site": latent_site}
        for name, value in given.items():
            # A latent's kind and site meant nothing without a latent (old checkpoints stored the defaults).
            meaningless = name != "gate_input" and not self.latent_channels
            if value is not None and value != RETIRED[name][0] and not meaningless:
                raise ValueError(f"G1Config.{name}={value!r} is retired ({RETIRED[name][1]}); see benchmarks/README.md")
        if self.warp in RETIRED_WARPS:
            raise ValueError(f"G1Config: {RETIRED_WARPS[self.warp]}; see benchmarks/README.md")

    def __repr__(self) -> str:
        # An add-on shows only when it is set, so PG2's configuration reads as PG2's.
        beyond = {"warp": "none", "latent_channels": 0, "latent_surface": False}
        shown = [f for f in fields(self) if f.name not in beyond or getattr(self, f.name) != beyond[f.name]]
        return f"{type(self).__name__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in shown)})"

    def resolved_levels(self) -> int:
        """The number of levels actually used (``levels`` or the default for the size)."""
        return default_levels(self.height, self.width) if self.levels is None else self.levels

    def validate(self) -> None:
        """Raise ``ValueError`` for sizes/widths the network cannot be built with."""
        for name in ("height", "width", "base_channels", "z_dim", "pose_channels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"G1Config.{name} must be positive, got {getattr(self, name)}")
        k = self.latent_channels
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"G1Config.latent_channels must be an integer ≥ 0, got {self.latent_channels!r}")
        if self.latent_surface and k == 0:
            raise ValueError("G1Config.latent_surface applies to a conditional-VAE G1: set latent_channels > 0")
        if self.warp not in WARP_MODES:
            raise ValueError(f"G1Config.warp must be one of {WARP_MODES}, got {self.warp!r}")
        levels = self.resolved_levels()
        if levels < 2:
            raise ValueError(
                f"G1 needs at least 2 levels, got {levels} for {self.height}×{self.width} (it must halve the image "
                f"at least once: height above {MIN_DEEPEST_HEIGHT} px, both sides even); "
                + valid_sizes_hint(self.height, self.width)
            )
        check_divisible(self.height, self.width, levels, "G1Config")


class G1(nn.Module):
    """PG2's G1 plus the add-ons its config names. ``forward(image_a, pose_b, ...) -> coarse`` ``(B, 3, H, W)``.

    PG2's U-Net (Ma et al. 2017 and their TensorFlow code)::

        (I_A, P_B)  (B, 3+18, H, W)
          └─ stem 3×3 conv → c channels
          └─ encoder: L residual levels, level i has c·(i+1) channels at H/2^i × W/2^i
          └─ bottleneck: deepest features → fully connected → z (z_dim) → fully connected → (c, H/2^(L-1), W/2^(L-1))
                         [fc_bottleneck=True: a global view — a left arm may need colour from the right side]
                         or a 1×1 conv to c channels [fc_bottleneck=False: fully convolutional]
          └─ decoder: concat with the deepest encoder features, residual level, then per level up:
                      nearest ×2 + 1×1 conv, concat the encoder's skip, residual level
          └─ 3×3 conv → 3 channels → tanh            Î_B1 (B, 3, H, W) in [-1, 1]

    Depth rule (``levels=None``): PG2's ``repeat_num = log2(H) - 2`` (``default_levels``). The FC layer fixes the
    image size. Parameter counts (measured, ``count_parameters(G1(cfg))``, z_dim = 64): 64×64 c16 (4 levels):
    899,283; 64×64 c16 without the FC bottleneck: 571,555; 128×64 c64 (5 levels): 18,104,259; 128×64 c128 (PG2):
    70,795,075; 256×256 c128 (6 levels): 122,103,235.

    Works with ``channels_last`` and under ``torch.autocast`` (the output is autocast's dtype); bf16 on a CPU pays
    off only with oneDNN bf16 kernels (``benchmarks/README.md``).
    """

    def __init__(self, config: G1Config):
        super().__init__()
        config.validate()
        self.config = config
        c, levels = config.base_channels, config.resolved_levels()
        self.levels = levels
        self.bottom_size = (config.height // 2 ** (levels - 1), config.width // 2 ** (levels - 1))
        deep = level_channels(c, levels - 1)  # channels of the deepest encoder level
        warped_channels = 0 if config.warp == "none" else IMAGE_CHANNELS + 1  # W(I_A) and the visibility
        self.encoder = Encoder(IMAGE_CHANNELS + config.pose_channels + warped_channels, c, levels)
        self.source_encoder: Encoder | None = None
        self.skip_mixers: nn.ModuleList | None = None
        if config.warp != "none":
            # I_A's own features, warped per level; a 1×1 conv (zero at the start) adds them to the skips.
            self.source_encoder = Encoder(IMAGE_CHANNELS, c, levels)
            widths = [level_channels(c, i) for i in range(levels)]
            self.skip_mixers = nn.ModuleList(_zero_conv(ch, ch, 1) for ch in widths)
        if config.fc_bottleneck:
            h, w = self.bottom_size
            # Linear layers, no activation, as in PG2: z is a linear code of the whole feature map.
            self.to_z = nn.Linear(deep * h * w, config.z_dim)
            self.from_z = nn.Linear(config.z_dim, c * h * w)
        else:
            self.to_bottom = nn.Conv2d(deep, c, 1)
        # The decoder's deepest level sees the bottleneck output (c channels) next to the encoder's deepest
        # features (skip), so fine detail can bypass the bottleneck.
        decoder = Decoder(c + deep, c, levels)
        self.latent: LatentPath | None = None
        if config.latent_channels:
            target_channels = IMAGE_CHANNELS + config.pose_channels  # the posterior reads (I_B, P_B)
            self.latent = LatentPath(
                c, levels, config.latent_channels, target_channels, decoder.out_channels, config.latent_surface
            )
        self.decoder = decoder  # registered after the latent path: the shipped weights' order
        self.to_image = nn.Conv2d(decoder.out_channels, IMAGE_CHANNELS, 3, padding=1)
        # Zero weights, zero bias: α starts at 0.5 everywhere the proxy saw, so both the warped pixels and the
        # generated ones receive gradient from the first step.
        self.to_paste = _zero_conv(decoder.out_channels, 1, 3) if config.warp == "paste" else None

    # --- the forward pass, as the paper reads -------------------------------------------------------------------
    def forward(
        self,
        image_a: torch.Tensor,
        pose_b: torch.Tensor,
        flow: torch.Tensor | None = None,
        visibility: torch.Tensor | None = None,
        *,
        noise: torch.Tensor | None = None,
        image_b: torch.Tensor | None = None,
        mask_b: torch.Tensor | None = None,
        surface: torch.Tensor | None = None,
        regress_latent: bool = False,
        return_latents: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, Latents | None]:
        """``image_a (B, 3, H, W)`` in [-1, 1], ``pose_b (B, 18, H, W)`` in [-1, 1] (and, when the config
        warps, ``flow (B, 2, H, W)`` px and ``visibility (B, 1, H, W)`` in {0, 1}, ``geometry/warp.py``)
        → coarse target view ``(B, 3, H, W)`` in [-1, 1].

        Conditional-VAE G1 only: ``noise`` ``latent_shape(B)`` standard normal draws ``z`` from the prior
        (``None``: its mean); ``image_b`` (training) takes ``z`` from the posterior instead (``noise`` then
        reparameterises the posterior; ``None`` draws it); ``mask_b (B, 1, H, W)`` in [0, 1], the target body
        mask, tells the posterior where to look (``LatentPath.posterior``); ``surface (B, 5, H, W)``, the proxy's
        surface map (``geometry/warp.surface_map``), for ``latent_surface``; ``regress_latent`` (training) also
        fills ``Latents.regression``. ``return_latents``: also return ``Latents`` (``None`` for a deterministic G1).
        """
        out, latents, _ = self._run(image_a, pose_b, flow, visibility, noise, image_b, mask_b, regress_latent, surface)
        return (out, latents) if return_latents else out

    def coarse_and_paste(
        self,
        image_a: torch.Tensor,
        pose_b: torch.Tensor,
        flow: torch.Tensor | None = None,
        visibility: torch.Tensor | None = None,
        *,
        noise: torch.Tensor | None = None,
        surface: torch.Tensor | None = None,
        source: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward``'s coarse view (inference: ``z`` from the prior) and, for a pasting G1 (``warp="paste"``)
        given the proxy's maps, its weight on the warped input ``(B, 1, H, W)`` in [0, 1] (0 where the input never
        saw the point; else None): where the output copies I_A's pixels and where it generates. Stage III keeps
        what G1 pasted (``g2.keep_pasted``). Same inputs as ``forward``; ``source``: the ``source_features`` of the one
        input every row of ``image_a`` repeats, if known (a synthesizer keeps them across a slider's moves)."""
        return self._run(image_a, pose_b, flow, visibility, noise, None, surface=surface, source=source)[::2]

    def paste_weight(
        self,
        image_a: torch.Tensor,
        pose_b: torch.Tensor,
        flow: torch.Tensor,
        visibility: torch.Tensor,
        *,
        noise: torch.Tensor | None = None,
        surface: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """A pasting G1's weight on the warped input (``coarse_and_paste``'s second half)."""
        if self.to_paste is None:
            raise ValueError(f"only a G1 with warp='paste' pastes; this one has warp={self.config.warp!r}")
        alpha = self.coarse_and_paste(image_a, pose_b, flow, visibility, noise=noise, surface=surface)[1]
        assert alpha is not None  # to_paste is set
        return alpha

    def _run(
        self,
        image_a: torch.Tensor,
        pose_b: torch.Tensor,
        flow: torch.Tensor | None,
        visibility: torch.Tensor | None,
        noise: torch.Tensor | None,
        image_b: torch.Tensor | None,
        mask_b: torch.Tensor | None = None,
        regress_latent: bool = False,
        surface: torch.Tensor | None = None,
        source: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, Latents | None, torch.Tensor | None]:
        """``forward``'s work: (output, ``Latents`` or None, paste weight or None)."""
        self._check_inputs(image_a, pose_b, flow, visibility, noise, image_b, mask_b, surface, regress_latent)
        warp = self._proxy_warp(image_a, flow, visibility)  # add-on: (W(I_A), flow, visibility) or None
        features = self._encode(image_a, pose_b, warp, source)  # PG2's encoder (+ the warped input and skips)
        # The cVAE's z is drawn before the decoder runs: autograd then sums the gradients reaching the features in
        # the order the shipped recipe was trained with (another order changes the last bits, not the maths).
        draw = None if self.latent is None else self._draw(features, pose_b, warp, noise, image_b, mask_b, surface)
        x = self.decoder(self._bottom(features), features)  # PG2's bottleneck and decoder
        if draw is None:
            out, alpha = self._colours(x, warp)
            return out, None, alpha
        return self._unseen_side(x, features, pose_b, warp, draw, surface, regress_latent)

    def _proxy_warp(
        self, image_a: torch.Tensor, flow: torch.Tensor | None, visibility: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """The proxy warp add-on: ``(W(I_A) (B, 3, H, W), flow, visibility)`` in I_A's dtype; None for PG2."""
        if self.config.warp == "none" or flow is None or visibility is None:
            return None
        flow, visibility = flow.to(image_a.dtype), visibility.to(image_a.dtype)
        return warp_image(image_a, flow, visibility), flow, visibility

    def _encode(
        self,
        image_a: torch.Tensor,
        pose_b: torch.Tensor,
        warp: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        source: list[torch.Tensor] | None = None,
    ) -> list[torch.Tensor]:
        """PG2's encoder on ``(I_A, P_B)`` (and ``W(I_A)``, visibility); I_A's own features (``source`` when given,
        one input's), warped by the proxy and gated by the visibility, added to every skip (the deformable skips)."""
        if warp is None:
            return self.encoder(torch.cat([image_a, pose_b], dim=1))
        warped, flow, visibility = warp
        features = self.encoder(torch.cat([image_a, pose_b, warped, visibility], dim=1))
        assert self.skip_mixers is not None  # built for every warp mode
        n = len(image_a)
        source = self._source_features(image_a) if source is None else [f.expand(n, -1, -1, -1) for f in source]
        return [
            f + mix(warp_features(s, flow, visibility))
            for f, s, mix in zip(features, source, self.skip_mixers, strict=True)
        ]

    def source_features(self, image_a: torch.Tensor) -> list[torch.Tensor]:
        """I_A's own features for the deformable skips, one map ``(1, C_l, H_l, W_l)`` per level, of one input image
        ``image_a`` ``(1, 3, H, W)`` in [-1, 1]: they depend on the input alone, so every view of it can share them
        (``coarse_and_paste``'s ``source``). Only a G1 that warps has them."""
        if self.source_encoder is None or image_a.dim() != 4 or image_a.shape[0] != 1:
            raise ValueError(f"source_features: one image (1, 3, H, W) for a G1 that warps, got "
                             f"{tuple(image_a.shape)} for warp={self.config.warp!r}")  # fmt: skip
        return self.source_encoder(image_a)

    def _source_features(self, image_a: torch.Tensor) -> list[torch.Tensor]:
        """I_A's own features, one map per level. A batch that is one image repeated (``image.expand(B, ...)``,
        stride 0: a turntable, one input seen from many views) is encoded once and the features repeated the same
        way: the same maths for 1/B of the work."""
        assert self.source_encoder is not None  # built for every warp mode
        if image_a.shape[0] > 1 and image_a.stride(0) == 0:
            return [f.expand(image_a.shape[0], -1, -1, -1) for f in self.source_encoder(image_a[:1])]
        return self.source_encoder(image_a)

    def _bottom(self, features: list[torch.Tensor]) -> torch.Tensor:
        """PG2's bottleneck: the decoder's deepest input, the bottleneck's output beside the deepest features."""
        deepest = features[-1]
        if self.config.fc_bottleneck:
            h, w = self.bottom_size
            bottom = self.from_z(self.to_z(deepest.flatten(1))).view(-1, self.config.base_channels, h, w)
            if deepest.is_contiguous(memory_format=torch.channels_last):
                bottom = bottom.contiguous(memory_format=torch.channels_last)  # keep one memory format
        else:
            bottom = self.to_bottom(deepest)
        return torch.cat([bottom, deepest], dim=1)

    def _draw(
        self,
        features: list[torch.Tensor],
        pose_b: torch.Tensor,
        warp: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        noise: torch.Tensor | None,
        image_b: torch.Tensor | None,
        mask_b: torch.Tensor | None,
        surface: torch.Tensor | None,
    ) -> tuple[Latents, torch.Tensor, torch.Tensor | None]:
        """The cVAE add-on's ``z``: from the prior (inference) or the posterior (training, ``image_b``), which looks
        only where the input was blind → ``(Latents, z, where)`` (``models/cvae.py``)."""
        assert self.latent is not None
        prior = self.latent.prior(features)
        if image_b is None:  # inference: the posterior path is never touched
            return Latents(prior, None), prior.sample(noise), None
        where = blind_body(None if warp is None else warp[2], mask_b, image_b.dtype)
        posterior = self.latent.posterior(features, torch.cat([image_b, pose_b], dim=1), where, surface)
        z = posterior.sample(torch.randn_like(posterior.mean) if noise is None else noise)
        return Latents(prior, posterior), z, where

    def _unseen_side(
        self,
        x: torch.Tensor,
        features: list[torch.Tensor],
        pose_b: torch.Tensor,
        warp: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        draw: tuple[Latents, torch.Tensor, torch.Tensor | None],
        surface: torch.Tensor | None,
        regress_latent: bool,
    ) -> tuple[torch.Tensor, Latents, torch.Tensor | None]:
        """``z`` modulates the decoder's last features ``x`` where the input was blind (``models/cvae.py``)."""
        assert self.latent is not None
        latents, z, where = draw
        visibility = None if warp is None else warp[2]
        on = None if surface is None else surface[:, :1].to(x.dtype)
        out, alpha = self._colours(x, warp, self.latent.modulate(x, z, visibility, surface), on)
        if regress_latent:
            read = self._regression(x, features, pose_b, warp, latents.prior, where, surface, on)
            latents = latents._replace(regression=read)
        return out, latents, alpha

    def _regression(
        self,
        x: torch.Tensor,
        features: list[torch.Tensor],
        pose_b: torch.Tensor,
        warp: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        prior: Gaussian,
        where: torch.Tensor | None,
        surface: torch.Tensor | None,
        on: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent regression (training): another ``z`` from the prior, painted from the same z-free features and
        read back by the posterior → ``(z, read)``, both ``latent_shape(B)``."""
        assert self.latent is not None
        visibility = None if warp is None else warp[2]
        drawn = prior.sample(torch.randn_like(prior.mean)).detach()
        painted, _ = self._colours(x, warp, self.latent.modulate(x, drawn, visibility, surface), on)
        read = self.latent.posterior(features, torch.cat([painted, pose_b], dim=1), where, surface).mean
        return drawn, read

    def _colours(
        self,
        x: torch.Tensor,
        warp: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        modulated: torch.Tensor | None = None,
        on: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The decoder's last features ``x`` → (image ``(B, 3, H, W)`` in [-1, 1], paste weight or None).

        ``modulated`` (a cVAE G1): the features as ``z`` changes them; their colours are used only where the input
        was blind (``1 − visibility``) and ``x``'s elsewhere, so not even the 3×3 convolutions after the modulation
        carry ``z`` into a pixel the input saw; ``on`` ``(B, 1, H, W)`` (the proxy's body, ``latent_surface``)
        also keeps them off the background. The paste weight is read from ``x``: ``z`` does not decide where the
        input's own pixels go."""
        pasting = self.to_paste is not None and warp is not None
        image, paste = self._image_and_paste(x, pasting)
        out = torch.tanh(image)
        visibility = None if warp is None else warp[2]
        if modulated is not None:
            blind: torch.Tensor | float = 1.0 if visibility is None else 1.0 - visibility
            if on is not None:
                blind = blind * on
            out = out + blind * (torch.tanh(self.to_image(modulated)) - out)
        if paste is None or warp is None:
            return out, None
        alpha = torch.sigmoid(paste) * warp[2]  # 0 wherever I_A never saw the point
        return alpha * warp[0] + (1 - alpha) * out, alpha

    def _image_and_paste(self, x: torch.Tensor, pasting: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``to_image(x)`` ``(B, 3, H, W)`` and, when ``pasting``, ``to_paste(x)`` ``(B, 1, H, W)`` (logits).

        Both in one convolution whose filters are the two layers' filters side by side: every output channel of a
        convolution is its own filter over the same input, so stacking them is exact; one pass over ``x`` instead
        of two, and the thin 32 → 3 and 32 → 1 convolutions are the slowest per FLOP (the notes of
        ``benchmarks/notes/2026-12-training-step.md``). The layers and their weights' names stay as they were."""
        if not pasting or self.to_paste is None:
            return self.to_image(x), None
        assert self.to_image.bias is not None and self.to_paste.bias is not None  # built with them
        weight = torch.cat([self.to_image.weight, self.to_paste.weight])
        bias = torch.cat([self.to_image.bias, self.to_paste.bias])
        both = F.conv2d(x, weight, bias, padding=1)
        return both[:, :IMAGE_CHANNELS], both[:, IMAGE_CHANNELS:]

    # --- checks and shapes -------------------------------------------------------------------------------------
    def latent_shape(self, batch: int) -> tuple[int, int, int, int]:
        """Shape of the noise a conditional-VAE G1 takes: ``(batch, k, 1, 1)`` (``models/cvae.py``)."""
        if self.latent is None:
            raise ValueError("this G1 is deterministic (G1Config.latent_channels = 0): it has no latent")
        return (batch, self.config.latent_channels, 1, 1)

    def _check_inputs(
        self,
        image_a: torch.Tensor,
        pose_b: torch.Tensor,
        flow: torch.Tensor | None,
        visibility: torch.Tensor | None,
        noise: torch.Tensor | None,
        image_b: torch.Tensor | None,
        mask_b: torch.Tensor | None,
        surface: torch.Tensor | None,
        regress_latent: bool,
    ) -> None:
        """``ValueError`` naming the input whose shape or presence does not fit this G1."""
        cfg = self.config
        for name, channels, t in (("image_a", IMAGE_CHANNELS, image_a), ("pose_b", cfg.pose_channels, pose_b)):
            if t.dim() != 4 or t.shape[1] != channels:
                raise ValueError(f"G1: {name} must be (B, {channels}, H, W), got {tuple(t.shape)}")
            if tuple(t.shape[2:]) != (cfg.height, cfg.width):
                raise ValueError(
                    f"G1: {name} is {t.shape[2]}×{t.shape[3]} but this G1 was built for "
                    f"{cfg.height}×{cfg.width} (the FC bottleneck fixes the size)"
                )
        if image_a.shape[0] != pose_b.shape[0]:
            raise ValueError(f"G1: batch sizes differ, image_a {image_a.shape[0]} vs pose_b {pose_b.shape[0]}")
        if cfg.warp != "none":
            check_warp(image_a, flow, visibility, cfg.warp)
        if self.latent is None:
            if noise is not None or image_b is not None or mask_b is not None:
                raise ValueError("noise/image_b/mask_b are for a conditional-VAE G1 (G1Config.latent_channels > 0)")
        else:
            check_latent(image_a, noise, image_b, mask_b, self.latent_shape(image_a.shape[0]))
        check_surface(image_a, surface, cfg.latent_surface)
        if regress_latent and (self.latent is None or image_b is None):
            raise ValueError("regress_latent is for training (image_b given) a conditional-VAE G1")


def _zero_conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    """A ``kernel × kernel`` convolution (same size) whose weights and bias start at zero."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)
    assert conv.bias is not None  # built with one
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv
