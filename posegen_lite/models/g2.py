"""G2: PG2's Stage III refiner — a fully convolutional U-Net that predicts a *difference map* (PG2 §3.2).

Input: (condition image I_A, coarse view Î_B1 from G1), 6 channels. Output: a difference map D with
``Î_B2 = clamp(Î_B1 + D)``: G2 spends its capacity on what G1 got wrong, not on re-learning the body. Same residual
levels as G1 (``blocks.py``), no fully connected bottleneck, PG2's depth of G1's − 2 (at least 2). The last
convolution starts at zero, so at step 0 G2 returns the coarse image unchanged; the clamp to [-1, 1] is
straight-through (``straight_through_clamp``).

Add-ons beyond PG2 (``G2Config``; measured in ``benchmarks/README.md``): ``mask_difference`` keeps D inside the
target body mask; ``silhouette_difference`` inside the body proxy's silhouette (tighter than PG2's pose mask);
``warped_input`` reads W(I_A), the input warped into the target view, in place of I_A; ``visible_difference``
keeps D where the input saw the point. Each region is grown by one pixel; the networks take tensors.
Parameter counts (measured, ``count_parameters(G2(cfg))``): 64×64 c16 (2 levels): 67,043; 128×64 c64 (3 levels):
3,515,587; 128×64 c128 (PG2): 14,043,523; 256×256 c128 (4 levels): 33,511,427.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import torch
from torch import nn

from posegen_lite.models.blocks import Decoder, Encoder, check_divisible, level_channels
from posegen_lite.models.g1 import IMAGE_CHANNELS, default_levels
from posegen_lite.models.warping import grow_by_one_pixel, warp_image

_BEYOND_PG2 = ("mask_difference", "silhouette_difference", "warped_input", "visible_difference")


@dataclass
class G2Config:
    """Shape of G2; ``levels=None`` → ``max(2, default_levels(height, width) - 2)`` (PG2: G1's depth − 2).

    The add-ons, and why (numbers in ``benchmarks/README.md``):

    * ``mask_difference``: D times the target body mask M_B, so no limb of I_A can reappear in the background as a
      pale ghost (what an unconstrained G2 learns when D rewards I_A-like texture anywhere).
    * ``silhouette_difference``: D also within the proxy's target silhouette. M_B is PG2's *pose* mask, 1.6× the
      body's area; between the two lies background a pose-mask G2 learns to tint (pink rims round the hands).
    * ``warped_input``: G2 reads W(I_A) (zero where the input did not see the point) in place of I_A, so every
      input pixel it reads sits where its body point is in the target: of an unseen side there is nothing to copy.
    * ``visible_difference``: D only where the input saw the point. Where it never looked G2 has only a guess, and
      an adversarial G2 sharpens a guess into confident texture (it doubled G1's print leak on backs).
    """

    height: int = 128
    width: int = 64
    base_channels: int = 16
    levels: int | None = None
    mask_difference: bool = False
    silhouette_difference: bool = False
    warped_input: bool = False
    visible_difference: bool = False

    def __repr__(self) -> str:
        # An option beyond PG2 shows only when it is set, so PG2's configuration reads as PG2's.
        shown = [f for f in fields(self) if f.name not in _BEYOND_PG2 or getattr(self, f.name)]
        return f"{type(self).__name__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in shown)})"

    @property
    def uses_proxy(self) -> bool:
        """Whether this G2 reads Stage I's body proxy (its silhouette, flow or visibility): see ``g2_extras``."""
        return any(getattr(self, option) for option in PROXY_INPUTS)

    def resolved_levels(self) -> int:
        """The number of levels actually used."""
        return max(2, default_levels(self.height, self.width) - 2) if self.levels is None else self.levels

    def validate(self) -> None:
        """Raise ``ValueError`` for sizes/widths the network cannot be built with."""
        for name in ("height", "width", "base_channels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"G2Config.{name} must be positive, got {getattr(self, name)}")
        if self.resolved_levels() < 1:
            raise ValueError(f"G2 needs at least 1 level, got {self.levels}")
        check_divisible(self.height, self.width, self.resolved_levels(), "G2Config")


def straight_through_clamp(x: torch.Tensor, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    """Clamp in the forward pass, identity gradient in the backward pass.

    ``x - (x - clamp(x)).detach()``: where ``x`` is in range, ``x - clamp(x)`` is exactly 0 and the result
    is ``x`` bit for bit; elsewhere the value is the bound, but the gradient still flows to ``x``.
    """
    return x - (x - x.clamp(low, high)).detach()


class G2(nn.Module):
    """PG2's G2 (see module docstring): ``forward(image_a, coarse) -> refined`` ``(B, 3, H, W)`` in [-1, 1].

    Fully convolutional, so any size divisible by ``2**(levels-1)`` works; ``config.height/width`` only
    choose the default depth.
    """

    def __init__(self, config: G2Config):
        super().__init__()
        config.validate()
        self.config = config
        c, levels = config.base_channels, config.resolved_levels()
        self.levels = levels
        self.encoder = Encoder(2 * IMAGE_CHANNELS, c, levels)
        self.decoder = Decoder(level_channels(c, levels - 1), c, levels)
        self.to_difference = nn.Conv2d(self.decoder.out_channels, IMAGE_CHANNELS, 3, padding=1)
        assert self.to_difference.bias is not None  # built with one
        nn.init.zeros_(self.to_difference.weight)
        nn.init.zeros_(self.to_difference.bias)

    def _check_inputs(self, image_a: torch.Tensor, coarse: torch.Tensor) -> None:
        for name, t in (("image_a", image_a), ("coarse", coarse)):
            if t.dim() != 4 or t.shape[1] != IMAGE_CHANNELS:
                raise ValueError(f"G2: {name} must be (B, 3, H, W), got {tuple(t.shape)}")
        if image_a.shape != coarse.shape:
            raise ValueError(f"G2: image_a {tuple(image_a.shape)} and coarse {tuple(coarse.shape)} differ")
        check_divisible(image_a.shape[2], image_a.shape[3], self.levels, "G2 input")

    def difference(self, image_a: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """The difference map ``(B, 3, H, W)`` (unbounded; exactly 0 at initialisation).

        ``image_a`` and ``coarse`` are ``(B, 3, H, W)`` in [-1, 1] (``coarse`` = G1's output Î_B1)."""
        self._check_inputs(image_a, coarse)
        features = self.encoder(torch.cat([image_a, coarse], dim=1))
        return self.to_difference(self.decoder(features[-1], features))

    def forward(
        self,
        image_a: torch.Tensor,
        coarse: torch.Tensor,
        mask: torch.Tensor | None = None,
        silhouette: torch.Tensor | None = None,
        flow: torch.Tensor | None = None,
        visibility: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Refined view ``Î_B2 = clamp(Î_B1 + difference)`` ``(B, 3, H, W)`` in [-1, 1].

        With ``mask_difference`` the target body mask ``mask (B, 1, H, W)`` in {0, 1} is required and the
        difference is kept inside it (grown by one pixel); with ``silhouette_difference`` the body proxy's
        target silhouette ``silhouette (B, 1, H, W)`` in {0, 1} is required and the difference is kept inside
        it (grown by one pixel) too. With ``warped_input`` the proxy's backward ``flow (B, 2, H, W)`` px and
        ``visibility (B, 1, H, W)`` in {0, 1} are required, and G2 reads ``W(I_A)`` instead of ``image_a``; with
        ``visible_difference`` the ``visibility`` is required and the difference is kept inside it (grown by one
        pixel). Options that are off ignore their tensors."""
        if self.config.warped_input:
            if flow is None or visibility is None:
                raise ValueError(
                    "G2 (warped_input=True) reads the input warped by the body proxy: pass flow (B, 2, H, W) and "
                    "visibility (B, 1, H, W)"
                )
            if tuple(flow.shape) != (coarse.shape[0], 2, *coarse.shape[2:]):
                raise ValueError(f"G2: flow must be {(coarse.shape[0], 2, *coarse.shape[2:])}, got {tuple(flow.shape)}")
            image_a = warp_image(image_a, flow, visibility)
        diff = self.difference(image_a, coarse)
        regions = (
            ("mask_difference", "target body mask", mask),
            ("silhouette_difference", "proxy silhouette", silhouette),
            ("visible_difference", "proxy visibility", visibility),
        )
        for option, what, region in regions:
            if not getattr(self.config, option):
                continue
            if region is None or tuple(region.shape) != (coarse.shape[0], 1, *coarse.shape[2:]):
                raise ValueError(
                    f"G2 ({option}=True) needs the {what} (B, 1, H, W) = {(coarse.shape[0], 1, *coarse.shape[2:])}, "
                    f"got {None if region is None else tuple(region.shape)}"
                )
            diff = diff * grow_by_one_pixel(region.to(diff.dtype))
        return straight_through_clamp(coarse + diff)


PROXY_INPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "silhouette_difference": (("silhouette",), "keeps its edits inside the body proxy's silhouette"),
    "warped_input": (("flow", "visibility"), "reads the input warped by the body proxy"),
    "visible_difference": (("visibility",), "edits only what the input saw"),
}
"""For each G2 option beyond PG2 that reads Stage I's body proxy: the ``G2.forward`` inputs it needs, and what
it does with them (for error messages)."""


def proxy_inputs(
    config: G2Config,
    available: Mapping[str, torch.Tensor | None],
    how: str,
    device: torch.device | str | None = None,
) -> dict[str, torch.Tensor]:
    """``G2.forward``'s body-proxy inputs for ``config`` (``PROXY_INPUTS``), taken from ``available`` (None or
    absent: not there) and moved to ``device``. ``ValueError`` naming the option, the missing inputs and
    ``how`` to get them; nothing for PG2's G2."""
    out: dict[str, torch.Tensor] = {}
    for option, (keys, what) in PROXY_INPUTS.items():
        if not getattr(config, option):
            continue
        found = {k: t for k in keys if (t := available.get(k)) is not None}
        missing = [k for k in keys if k not in found]
        if missing:
            raise ValueError(f"this G2 {what} ({option}=True), so it needs the body proxy's {missing}: {how}")
        out.update({k: t.to(device) for k, t in found.items()})
    return out


def keep_pasted(coarse: torch.Tensor, refined: torch.Tensor, paste: torch.Tensor | None) -> torch.Tensor:
    """Stage III's view where G1 pasted the input: ``Î_B1 + (1 − α)·(Î_B2 − Î_B1)`` ``(B, 3, H, W)`` in [-1, 1].

    ``coarse`` Î_B1 and ``refined`` Î_B2 ``(B, 3, H, W)`` in [-1, 1]; ``paste`` α ``(B, 1, H, W)`` in [0, 1], G1's
    learned weight on the warped input (``G1.coarse_and_paste``; ``None``: G2's view unchanged). Where G1 copied
    the input's own pixels (α = 1) they stay; G2 refines what G1 generated. G2 is trained without this bound; at
    inference it keeps G2 from making what the input saw worse than G1's copy of it, at every yaw
    (benchmarks/notes/2026-12-g2-seen-bound.md)."""
    if paste is None:
        return refined
    return coarse + (1 - paste) * (refined - coarse)
