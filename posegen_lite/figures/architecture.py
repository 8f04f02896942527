"""A drawing of G1, G2 and D made from the networks themselves, so it always matches the config.

``network_layout`` runs a zero batch through a freshly built network and records the shape of every level
(forward hooks on the encoder levels, the decoder levels and the discriminator's convolutions);
``architecture_figure`` draws those shapes: U-Nets as two columns of boxes (encoder going down, decoder going
up) joined by skip connections, the discriminator as a row of shrinking boxes. Box labels are
``channels · height×width``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from posegen_lite.geometry.warp import SURFACE_CHANNELS
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config, count_parameters
from posegen_lite.models.g2 import G2, G2Config

__all__ = ["Layout", "network_layout", "architecture_figure"]


@dataclass
class Layout:
    """Shapes of one network's levels: ``encoder``/``decoder`` lists of ``(channels, height, width)`` from the
    finest level down (decoder: same order, finest first), ``bottleneck`` text, input/output text."""

    name: str
    inputs: str
    output: str
    encoder: list[tuple[int, int, int]] = field(default_factory=list)
    decoder: list[tuple[int, int, int]] = field(default_factory=list)
    bottleneck: str = ""
    parameters: int = 0


def _shapes(modules, run) -> list[tuple[int, int, int]]:
    found: list[tuple[int, int, int]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: found.append(tuple(out.shape[1:]))) for m in modules]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in hooks:
            h.remove()
    return found


def network_layout(config: G1Config | G2Config | DiscriminatorConfig) -> Layout:
    """Build the network ``config`` describes and record its level shapes with a zero batch (1 sample)."""
    if not isinstance(config, (G1Config, G2Config, DiscriminatorConfig)):
        raise TypeError(f"not a network config: {type(config).__name__}")
    h, w = config.height, config.width
    if isinstance(config, G1Config):
        net = G1(config).eval()
        x, p = torch.zeros(1, 3, h, w), torch.zeros(1, config.pose_channels, h, w)
        # a warping G1 also takes the proxy flow and visibility (zero flow: shapes are all we need here)
        warp = {} if config.warp == "none" else {"flow": torch.zeros(1, 2, h, w), "visibility": torch.ones(1, 1, h, w)}
        if config.latent_surface:  # ... and a texture-space latent the proxy's surface map
            warp["surface"] = torch.zeros(1, SURFACE_CHANNELS, h, w)
        enc = _shapes(net.encoder.blocks, lambda: net(x, p, **warp))
        dec = _shapes(net.decoder.blocks, lambda: net(x, p, **warp))[::-1]
        bottom = (
            f"FC → z ({config.z_dim}) → FC\n→ {config.base_channels}·{net.bottom_size[0]}×{net.bottom_size[1]}"
            if config.fc_bottleneck
            else "1×1 conv"
        )
        output = "Î_B1 = vα·W(I_A) + (1−vα)·tanh(conv)" if config.warp == "paste" else "Î_B1 = tanh(3×3 conv)"
        p = config.pose_channels
        return Layout("G1 (Stage II)", f"I_A ⊕ P_B  (3 + {p} ch)", output,
                      enc, dec, bottom, count_parameters(net))  # fmt: skip
    if isinstance(config, G2Config):
        net = G2(config).eval()
        x, mask = torch.zeros(1, 3, h, w), torch.ones(1, 1, h, w)  # masks matter only for the *_difference options
        flow = torch.zeros(1, 2, h, w)  # the proxy's inputs matter only for the options beyond PG2
        enc = _shapes(net.encoder.blocks, lambda: net(x, x, mask, mask, flow, mask))
        dec = _shapes(net.decoder.blocks, lambda: net(x, x, mask, mask, flow, mask))[::-1]
        regions = "M_B ⊙ " * config.mask_difference + "S_B ⊙ " * config.silhouette_difference  # S_B: proxy silhouette
        regions += "V ⊙ " * config.visible_difference  # V: the proxy's visibility
        output = f"Î_B2 = Î_B1 + {regions}difference" if regions else "Î_B2 = Î_B1 + difference map"
        source = "W(I_A) ⊕ Î_B1  (6 ch)" if config.warped_input else "I_A ⊕ Î_B1  (6 ch)"
        return Layout("G2 (Stage III)", source, output, enc, dec,
                      "no FC bottleneck:\ndeepest level feeds the decoder", count_parameters(net))  # fmt: skip
    net = Discriminator(config).eval()  # a DiscriminatorConfig
    x = torch.zeros(2, 3, h, w)  # 2: batch norm in training mode would need > 1; eval does not care
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    enc = _shapes(convs, lambda: net(x, x))
    return Layout("D (Stage III)", "(I_A, I_B or Î_B2)  (6 ch)", "linear → 1 logit (real > 0)", enc, [],
                  f"4×4 conv, stride 2, {config.norm} norm", count_parameters(net))  # fmt: skip


def _box(ax, x, y, w, h, text, colour, fontsize=7):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=colour, ec="0.3", lw=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, a, b, colour="0.35", style="-|>", ls="-"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=8, color=colour, lw=0.9, ls=ls))


def _draw_unet(ax, lay: Layout, rows: int) -> None:
    n = len(lay.encoder)
    biggest = max(c for c, _, _ in lay.encoder + lay.decoder)
    top = n + 0.6
    ax.text(0, top + 0.35, lay.inputs, ha="center", fontsize=7)
    ax.text(2, top + 0.35, lay.output, ha="center", fontsize=7)
    for i, ((c, h, w), (dc, _, _)) in enumerate(zip(lay.encoder, lay.decoder, strict=True)):
        y = n - i
        width = 0.62 + 0.3 * c / biggest
        _box(ax, 0, y, width, 0.6, f"{c} · {h}×{w}", "#cfe2f3")
        _box(ax, 2, y, 0.62 + 0.3 * dc / biggest, 0.6, f"{dc} · {h}×{w}", "#d9ead3")
        if i < n - 1:
            _arrow(ax, (0, y - 0.3), (0, y - 0.7))  # stride-2 conv down
            _arrow(ax, (2, y - 0.7), (2, y - 0.3))  # ×2 upsample up
            _arrow(ax, (0.45, y), (1.55, y), colour="#e69138", ls="--")  # skip connection
    _arrow(ax, (0, top), (0, n + 0.3))
    _arrow(ax, (2, n + 0.3), (2, top))
    _box(ax, 1, 0.1, 1.3, 0.55, lay.bottleneck, "#fff2cc", fontsize=6.5)
    _arrow(ax, (0, 1 - 0.3), (0.55, 0.25))
    _arrow(ax, (1.45, 0.25), (2, 1 - 0.3))
    if lay.name.startswith("G1"):
        _arrow(ax, (0.45, 1.0), (1.55, 1.0), colour="#e69138", ls="--")
    ax.text(1, -0.55, "orange: skip connections (concatenated)", ha="center", fontsize=6.5, color="#b45f06")
    ax.set_xlim(-0.7, 2.7)
    ax.set_ylim(-0.8, rows + 1.3)


def _draw_disc(ax, lay: Layout, rows: int) -> None:
    n = len(lay.encoder)
    biggest = max(c for c, _, _ in lay.encoder)
    ax.text(0.5, n + 0.95, lay.inputs, ha="center", fontsize=7)
    for i, (c, h, w) in enumerate(lay.encoder):
        y = n - i
        _box(ax, 0.5, y, 0.62 + 0.4 * c / biggest, 0.6, f"{c} · {h}×{w}", "#f4cccc")
        _arrow(ax, (0.5, y + 0.7), (0.5, y + 0.3))
    _box(ax, 0.5, 0.0, 1.1, 0.5, lay.output, "#fff2cc", fontsize=6.5)
    _arrow(ax, (0.5, 0.7), (0.5, 0.25))
    ax.text(0.5, -0.55, lay.bottleneck, ha="center", fontsize=6.5)
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylim(-0.8, rows + 1.3)


def architecture_figure(g1: G1Config, g2: G2Config | None = None, d: DiscriminatorConfig | None = None) -> Figure:
    """G1, G2 and D side by side (G2 and D default to what Stage III derives from ``g1``'s size and width),
    each drawn from a network built with that config. Returns a ``matplotlib.figure.Figure``."""
    g2 = g2 or G2Config(g1.height, g1.width, base_channels=g1.base_channels)
    d = d or DiscriminatorConfig(g1.height, g1.width)
    layouts = [network_layout(c) for c in (g1, g2, d)]
    deepest = max(len(lay.encoder) for lay in layouts)
    fig = Figure(figsize=(11, 1.0 + 0.75 * deepest))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [3.4, 3.4, 1.8]})
    for ax, lay in zip(axes, layouts, strict=True):
        (_draw_disc if lay.name.startswith("D") else _draw_unet)(ax, lay, deepest)
        ax.set_title(f"{lay.name}: {lay.parameters:,} parameters", fontsize=9)
        ax.axis("off")
    fig.suptitle("boxes: channels · height×width of each level", fontsize=8, y=0.02)
    return fig
