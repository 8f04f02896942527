"""G1: PG2's Stage II generator, a U-Net from (condition image I_A, target pose maps P_B) to the coarse view.

Architecture (Ma et al. 2017, "Pose Guided Person Image Generation", §3.1 and their TensorFlow code)::

    (I_A, P_B)  (B, 3+18, H, W)
      └─ stem 3×3 conv → c channels
      └─ encoder: L residual levels, level i has c·(i+1) channels at H/2^i × W/2^i
                  (two 3×3 convs + skip, then a stride-2 3×3 conv to the next level)
      └─ bottleneck: flatten the deepest features → fully connected → z (z_dim) → fully connected
                  → (c, H/2^(L-1), W/2^(L-1))            [fc_bottleneck=True: a *global* view of the body]
                  or a 1×1 conv to c channels            [fc_bottleneck=False: fully convolutional]
      └─ decoder: concat with the deepest encoder features, residual level, then per level up:
                  nearest ×2 + 1×1 conv, concat the encoder's skip, residual level
      └─ 3×3 conv → 3 channels → tanh                    Î_B1 (B, 3, H, W) in [-1, 1]

Warping (``warp``, beyond PG2): with 3D joints of both views and both cameras, the body proxy
(``geometry/proxy.py``) says where every target pixel's surface point sits in I_A and whether I_A saw it —
a backward flow and a visibility mask (``geometry/warp.py``). ``warp="input"`` gives G1 the warped input
W(I_A) (zero where not visible) and the visibility as 4 more input channels; ``warp="skip"`` also encodes
I_A on its own and adds its features, warped by the flow and gated by the visibility, to the U-Net skips at
every level (the deformable skip connections of Siarohin et al. 2018, here driven by the 3D proxy, so the
front's print can never be copied onto a back: the back was not visible in I_A). ``warp="paste"`` is
``"skip"`` plus a learned paste: a second head predicts a weight α (B, 1, H, W) in [0, 1], and the output is
``v·α·W(I_A) + (1 − v·α)·generated`` with v the visibility — the input's own pixels where the proxy saw them
and the network trusts the warp, generated pixels elsewhere (appearance flow blended with generation, as in
Zhou et al. 2016 and Park et al. 2017). Pasting the raw warp is worse than generating (the proxy is coarse
at silhouettes and the head), so α is learned by the same loss, not fixed. ``warp="none"`` is PG2.

``gate_input`` (with ``"skip"`` or ``"paste"``): the main encoder no longer sees I_A itself, only P_B, W(I_A)
and the visibility; I_A reaches the decoder through its warped, visibility-gated features at the skips and,
for the colours of the parts it never showed, through the FC bottleneck, which also reads I_A's deepest
features (a global code, 8 px high). Without it, the U-Net's first skip carries I_A pixel-aligned to the
output, and pieces of the input (its arms, the front's print) can reappear where they were in I_A.

The unseen side (``latent_channels > 0``, beyond PG2): G1 becomes a conditional VAE whose latent ``z`` (a
map, or one code per image) enters the decoder where the input was blind, at the skips or at its last
features (``models/cvae.py``);
``forward(..., noise=...)`` draws a sample from the learned prior, ``noise=None`` gives the prior's mean (one
deterministic answer), and in training ``image_b=I_B`` takes ``z`` from the posterior instead.

Why the fully connected bottleneck: a target view may need colour or texture from the opposite side of
the image (a left arm that moves to the right); convolutions only see locally, the FC layer sees all of it.
The cost is that the image size is fixed by the config (the FC layer's input size depends on it).

Depth rule (``levels=None``): halve the image while its height is above 8 px and both sides are even;
``levels`` = halvings + 1. This is PG2's rule (``repeat_num = log2(H) - 2``, deepest map 8 px high):
4 levels at 64×64 (deepest 8×8), 5 at 128×64 (8×4), 6 at 256×256 (8×8).

Parameter counts (measured with this code, ``count_parameters(G1(cfg))``, z_dim = 64):

=================  ======  ==============  =================
size               levels  base_channels   parameters
=================  ======  ==============  =================
64×64              4       16              899,283
64×64 (no FC)      4       16              571,555
128×64             5       64              18,104,259
128×64 (PG2)       5       128             70,795,075
256×256 (PG2)      6       128             122,103,235
=================  ======  ==============  =================

Works with ``channels_last`` inputs/weights and under ``torch.autocast`` (bf16 on the CPU, fp16/bf16 on
CUDA); the output is whatever dtype autocast produces (the losses cast to float32 themselves).
bf16 on a CPU only pays off where oneDNN has bf16 kernels (AVX512-BF16 / AMX;
``torch.ops.mkldnn._is_mkldnn_bf16_supported()``). Elsewhere PyTorch falls back to a reference
convolution that is many times *slower* in bf16 than float32 (figures in benchmarks/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from posegen_lite.geometry.warp import SURFACE_CHANNELS, warp_features, warp_image
from posegen_lite.models.blocks import Decoder, Encoder, check_divisible, level_channels, valid_sizes_hint
from posegen_lite.models.cvae import LATENT_KINDS, LATENT_SITES, LatentPath, Latents

IMAGE_CHANNELS = 3
WARP_MODES = ("none", "input", "skip", "paste")
MIN_DEEPEST_HEIGHT = 8  # PG2's min_fea_map_H: stop halving when the feature map is 8 px high


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
    ``pose_channels`` is the number of pose maps (18 joints); ``warp`` is one of ``WARP_MODES`` (module
    docstring; ``"none"`` = PG2's G1, whose forward needs no flow); ``latent_channels`` > 0 makes G1 a
    conditional VAE with a ``(k, H/2^l, W/2^l)`` latent map, or one ``(k, 1, 1)`` code per image with
    ``latent_kind="vector"`` (``models/cvae.py``; 0 = deterministic), entering the decoder at the skips,
    with ``latent_site="output"`` at its last features, with ``"decoder"`` at every level of a second pass;
    ``gate_input`` keeps the raw I_A out of the main encoder (module docstring; needs ``"skip"``/``"paste"``);
    ``latent_surface`` lets a latent vector at site ``"output"``/``"decoder"`` work in the body proxy's texture
    space (``models/cvae.py``; ``forward`` then needs ``surface``).
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
    gate_input: bool = False
    latent_kind: str = "map"
    latent_site: str = "skips"
    latent_surface: bool = False

    def __repr__(self) -> str:
        # An option beyond PG2 shows only when it is set, so PG2's configuration reads as PG2's.
        beyond = {
            "warp": "none",
            "latent_channels": 0,
            "gate_input": False,
            "latent_kind": "map",
            "latent_site": "skips",
            "latent_surface": False,
        }
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
        if self.latent_kind not in LATENT_KINDS:
            raise ValueError(f"G1Config.latent_kind must be one of {LATENT_KINDS}, got {self.latent_kind!r}")
        if self.latent_site not in LATENT_SITES:
            raise ValueError(f"G1Config.latent_site must be one of {LATENT_SITES}, got {self.latent_site!r}")
        if self.latent_surface and (self.latent_kind != "vector" or self.latent_site == "skips"):
            raise ValueError("G1Config.latent_surface needs latent_kind='vector' and latent_site 'output' or 'decoder'")
        for name, default in (("latent_kind", "map"), ("latent_site", "skips"), ("latent_surface", False)):
            if getattr(self, name) != default and k == 0:
                raise ValueError(f"G1Config.{name} applies to a conditional-VAE G1: set latent_channels > 0")
        if self.warp not in WARP_MODES:
            raise ValueError(f"G1Config.warp must be one of {WARP_MODES}, got {self.warp!r}")
        if self.gate_input and self.warp not in ("skip", "paste"):
            raise ValueError(f"G1Config.gate_input needs warp 'skip' or 'paste' (I_A's own encoder), got {self.warp!r}")
        levels = self.resolved_levels()
        if levels < 2:
            raise ValueError(
                f"G1 needs at least 2 levels, got {levels} for {self.height}×{self.width} (it must halve the image "
                f"at least once: height above {MIN_DEEPEST_HEIGHT} px, both sides even); "
                + valid_sizes_hint(self.height, self.width)
            )
        check_divisible(self.height, self.width, levels, "G1Config")


class G1(nn.Module):
    """PG2's G1 (see module docstring). ``forward(image_a, pose_b) -> coarse`` image ``(B, 3, H, W)``."""

    def __init__(self, config: G1Config):
        super().__init__()
        config.validate()
        self.config = config
        c, levels = config.base_channels, config.resolved_levels()
        self.levels = levels
        self.bottom_size = (config.height // 2 ** (levels - 1), config.width // 2 ** (levels - 1))
        deep = level_channels(c, levels - 1)  # channels of the deepest encoder level

        warped_channels = 0 if config.warp == "none" else IMAGE_CHANNELS + 1  # W(I_A) and the visibility
        raw_channels = 0 if config.gate_input else IMAGE_CHANNELS  # gated: I_A only through its own encoder
        self.encoder = Encoder(raw_channels + config.pose_channels + warped_channels, c, levels)
        code = 2 * deep if config.gate_input else deep  # gated: the bottleneck also reads I_A's deepest features
        if config.warp in ("skip", "paste"):
            # I_A's own features, warped per level; a 1×1 conv (zero at the start) adds them to the skips.
            self.source_encoder = Encoder(IMAGE_CHANNELS, c, levels)
            self.skip_mixers = nn.ModuleList(
                nn.Conv2d(level_channels(c, i), level_channels(c, i), 1) for i in range(levels)
            )
            for mixer in self.skip_mixers:
                nn.init.zeros_(mixer.weight)
                nn.init.zeros_(mixer.bias)
        if config.fc_bottleneck:
            h, w = self.bottom_size
            # Linear layers, no activation, as in PG2: z is a linear code of the whole feature map.
            self.to_z = nn.Linear(code * h * w, config.z_dim)
            self.from_z = nn.Linear(config.z_dim, c * h * w)
        else:
            self.to_bottom = nn.Conv2d(code, c, 1)
        # The decoder's deepest level sees the bottleneck output (c channels) next to the encoder's deepest
        # features (skip), so fine detail can bypass the bottleneck.
        decoder = Decoder(c + deep, c, levels)
        self.latent = None
        if config.latent_channels:
            self.latent = LatentPath(
                c,
                levels,
                config.latent_channels,
                IMAGE_CHANNELS + config.pose_channels,
                config.latent_kind,
                config.latent_site,
                decoder.out_channels,
                tuple(decoder.block_channels),
                config.latent_surface,
            )
        self.decoder = decoder  # registered after the latent path, in this order as always
        self.to_image = nn.Conv2d(self.decoder.out_channels, IMAGE_CHANNELS, 3, padding=1)
        self.to_paste = None
        if config.warp == "paste":
            # Zero weights, zero bias: α starts at 0.5 everywhere the proxy saw, so both the warped pixels and
            # the generated ones receive gradient from the first step.
            self.to_paste = nn.Conv2d(self.decoder.out_channels, 1, 3, padding=1)
            nn.init.zeros_(self.to_paste.weight)
            nn.init.zeros_(self.to_paste.bias)

    def _check_inputs(self, image_a: torch.Tensor, pose_b: torch.Tensor) -> None:
        cfg = self.config
        expected = {"image_a": (IMAGE_CHANNELS, image_a), "pose_b": (cfg.pose_channels, pose_b)}
        for name, (channels, t) in expected.items():
            if t.dim() != 4 or t.shape[1] != channels:
                raise ValueError(f"G1: {name} must be (B, {channels}, H, W), got {tuple(t.shape)}")
            if tuple(t.shape[2:]) != (cfg.height, cfg.width):
                raise ValueError(
                    f"G1: {name} is {t.shape[2]}×{t.shape[3]} but this G1 was built for "
                    f"{cfg.height}×{cfg.width} (the FC bottleneck fixes the size)"
                )
        if image_a.shape[0] != pose_b.shape[0]:
            raise ValueError(f"G1: batch sizes differ, image_a {image_a.shape[0]} vs pose_b {pose_b.shape[0]}")

    def _check_warp(self, image_a: torch.Tensor, flow, visibility) -> None:
        if self.config.warp == "none":
            return
        if flow is None or visibility is None:
            raise ValueError(
                f"G1 (warp={self.config.warp!r}) needs the body-proxy flow and visibility "
                "(e.g. SyntheticPairs(extras=True) or geometry.warp.proxy_flow)"
            )
        b, _, h, w = image_a.shape
        if tuple(flow.shape) != (b, 2, h, w) or tuple(visibility.shape) != (b, 1, h, w):
            raise ValueError(
                f"G1: flow must be (B, 2, H, W) and visibility (B, 1, H, W) = {(b, 2, h, w)}, {(b, 1, h, w)}; "
                f"got {tuple(flow.shape)}, {tuple(visibility.shape)}"
            )

    def latent_shape(self, batch: int) -> tuple[int, int, int, int]:
        """Shape of the noise a conditional-VAE G1 takes: ``(batch, k, H/2^l, W/2^l)``, or ``(batch, k, 1, 1)``
        for ``latent_kind="vector"`` (``models/cvae.py``)."""
        if self.latent is None:
            raise ValueError("this G1 is deterministic (G1Config.latent_channels = 0): it has no latent map")
        if self.config.latent_kind == "vector":
            return (batch, self.config.latent_channels, 1, 1)
        level = self.latent.level
        return (batch, self.config.latent_channels, self.config.height >> level, self.config.width >> level)

    def _check_latent_inputs(self, image_a: torch.Tensor, noise, image_b, mask_b=None) -> None:
        if self.latent is None:
            if noise is not None or image_b is not None or mask_b is not None:
                raise ValueError("noise/image_b/mask_b are for a conditional-VAE G1 (G1Config.latent_channels > 0)")
            return
        if mask_b is not None and (image_b is None or tuple(mask_b.shape) != (image_a.shape[0], 1, *image_a.shape[2:])):
            raise ValueError(
                f"G1: mask_b goes with image_b (training) and must be (B, 1, H, W) = "
                f"{(image_a.shape[0], 1, *image_a.shape[2:])}, got {tuple(mask_b.shape)}"
            )
        if noise is not None and tuple(noise.shape) != self.latent_shape(image_a.shape[0]):
            raise ValueError(f"G1: noise must be {self.latent_shape(image_a.shape[0])}, got {tuple(noise.shape)}")
        if image_b is not None and tuple(image_b.shape) != tuple(image_a.shape):
            raise ValueError(
                f"G1: image_b must be shaped like image_a {tuple(image_a.shape)}, got {tuple(image_b.shape)}"
            )

    def _check_surface(self, image_a: torch.Tensor, surface: torch.Tensor | None) -> None:
        if not self.config.latent_surface:
            if surface is not None:
                raise ValueError("surface is for a G1 with G1Config.latent_surface (texture-space latent)")
            return
        if surface is None:
            raise ValueError(
                "this G1's latent works in the body proxy's texture space: pass surface (B, 5, H, W) "
                "(geometry.warp.surface_map; the dataset key proxy_surface_b with extras)"
            )
        expected = (image_a.shape[0], SURFACE_CHANNELS, *image_a.shape[2:])
        if tuple(surface.shape) != expected:
            raise ValueError(
                f"G1: surface must be (B, {SURFACE_CHANNELS}, H, W) = {expected}, got {tuple(surface.shape)}"
            )

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
        mask, tells a latent vector's posterior where to look (``LatentPath.posterior``); ``surface
        (B, 5, H, W)``, the proxy's surface map (``geometry/warp.surface_map``), for ``latent_surface``;
        ``regress_latent`` (training, ``latent_site`` "output" or "decoder") also fills ``Latents.regression``.
        ``return_latents``: also return ``Latents`` (``None`` for a deterministic G1).
        """
        out, latents, _ = self._run(image_a, pose_b, flow, visibility, noise, image_b, mask_b, regress_latent, surface)
        return (out, latents) if return_latents else out

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
        """A pasting G1's (``warp="paste"``) weight on the warped input, ``(B, 1, H, W)`` in [0, 1] (0 where the
        input never saw the point): where the output copies I_A's pixels and where it generates. Same inputs
        as ``forward``."""
        if self.to_paste is None:
            raise ValueError(f"only a G1 with warp='paste' pastes; this one has warp={self.config.warp!r}")
        return self._run(image_a, pose_b, flow, visibility, noise, None, surface=surface)[2]

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
    ) -> tuple[torch.Tensor, Latents | None, torch.Tensor | None]:
        """``forward``'s work: (output, ``Latents`` or None, paste weight or None)."""
        self._check_inputs(image_a, pose_b)
        self._check_warp(image_a, flow, visibility)
        self._check_latent_inputs(image_a, noise, image_b, mask_b)
        self._check_surface(image_a, surface)
        if regress_latent and (self.latent is None or image_b is None or self.latent.site == "skips"):
            raise ValueError(
                "regress_latent is for training (image_b given) a G1 with latent_site='output' or 'decoder'"
            )
        inputs = [pose_b] if self.config.gate_input else [image_a, pose_b]
        warped = source = None
        if self.config.warp != "none":
            flow, visibility = flow.to(image_a.dtype), visibility.to(image_a.dtype)
            warped = warp_image(image_a, flow, visibility)
            inputs += [warped, visibility]
        features = self.encoder(torch.cat(inputs, dim=1))
        if self.config.warp in ("skip", "paste"):
            source = self.source_encoder(image_a)
            features = [
                f + mix(warp_features(s, flow, visibility))
                for f, s, mix in zip(features, source, self.skip_mixers, strict=True)
            ]
        latents = z = where = None
        if self.latent is not None:
            prior = self.latent.prior(features)
            posterior = None
            if image_b is None:  # inference: the posterior path is never touched
                z = prior.sample(noise)
            else:
                where = None if visibility is None else 1.0 - visibility
                if mask_b is not None:
                    where = mask_b.to(image_a.dtype) if where is None else where * mask_b.to(image_a.dtype)
                posterior = self.latent.posterior(features, torch.cat([image_b, pose_b], dim=1), where, surface)
                z = posterior.sample(torch.randn_like(posterior.mean) if noise is None else noise)
            if self.latent.site == "skips":
                features = self.latent.inject(features, z, visibility)
            latents = Latents(prior, posterior)
        deepest = features[-1]
        code = torch.cat([deepest, source[-1]], dim=1) if self.config.gate_input else deepest
        if self.config.fc_bottleneck:
            h, w = self.bottom_size
            z_fc = self.to_z(code.flatten(1))
            bottom = self.from_z(z_fc).view(-1, self.config.base_channels, h, w)
            if deepest.is_contiguous(memory_format=torch.channels_last):
                bottom = bottom.contiguous(memory_format=torch.channels_last)  # keep one memory format
        else:
            bottom = self.to_bottom(code)
        decoder_input = torch.cat([bottom, deepest], dim=1)
        x = self.decoder(decoder_input, features)
        if z is None or self.latent.site == "skips":
            out, alpha = self._colours(x, warped, visibility)
            return out, latents, alpha

        def modulated(z: torch.Tensor) -> torch.Tensor:
            """The decoder's last features as ``z`` changes them (the ``"output"`` and ``"decoder"`` sites)."""
            y = x
            if self.latent.site == "decoder":  # a second pass, with z at every level
                y = self.decoder(decoder_input, features, film=lambda j, h: self.latent.film_level(j, h, z))
            return self.latent.modulate(y, z, visibility, surface)

        on = None if surface is None else surface[:, :1].to(x.dtype)
        out, alpha = self._colours(x, warped, visibility, modulated(z), on)
        if regress_latent:
            # Another z from the prior, painted from the same z-free features, and read back by the posterior.
            drawn = prior.sample(torch.randn_like(prior.mean)).detach()
            painted, _ = self._colours(x, warped, visibility, modulated(drawn), on)
            read = self.latent.posterior(features, torch.cat([painted, pose_b], dim=1), where, surface).mean
            latents = latents._replace(regression=(drawn, read))
        return out, latents, alpha

    def _colours(
        self,
        x: torch.Tensor,
        warped: torch.Tensor | None,
        visibility: torch.Tensor | None,
        modulated: torch.Tensor | None = None,
        on: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The decoder's last features ``x`` → (image ``(B, 3, H, W)`` in [-1, 1], paste weight or None).

        ``modulated`` (``latent_site`` "output"/"decoder"): the features as ``z`` changes them; their colours are used
        only where the input was blind (``1 − visibility``) and ``x``'s elsewhere, so not even the 3×3
        convolutions after the modulation carry ``z`` into a pixel the input saw; ``on`` ``(B, 1, H, W)`` (the
        proxy's body, ``latent_surface``) also keeps them off the background. The paste weight is read
        from ``x``: ``z`` does not decide where the input's own pixels go."""
        out = torch.tanh(self.to_image(x))
        if modulated is not None:
            blind = 1.0 if visibility is None else 1.0 - visibility
            if on is not None:
                blind = blind * on
            out = out + blind * (torch.tanh(self.to_image(modulated)) - out)
        alpha = None
        if self.to_paste is not None:
            alpha = torch.sigmoid(self.to_paste(x)) * visibility  # 0 wherever I_A never saw the point
            out = alpha * warped + (1 - alpha) * out
        return out, alpha


def g1_extras(g1: G1, batch: dict, device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
    """``G1.forward``'s body-proxy inputs from a collated batch (``data/sample.py``'s optional keys): ``flow``
    and ``visibility`` for a G1 that warps I_A, ``surface`` (``proxy_surface_b``) for a texture-space latent
    (``G1Config.latent_surface``); nothing for PG2's G1. Raises ``ValueError`` naming what the batch lacks."""
    cfg = g1.config
    keys = {"flow": "flow", "visibility": "visibility"} if cfg.warp != "none" else {}
    if cfg.latent_surface:
        keys["surface"] = "proxy_surface_b"
    missing = [k for k in keys.values() if k not in batch]
    if missing:
        raise ValueError(
            f"this G1 needs the body proxy's {missing} but the batch has none: build the dataset with extras "
            "(SyntheticPairs(extras=True) / DataSpec(extras=True))"
        )
    return {name: batch[key].to(device) for name, key in keys.items()}
