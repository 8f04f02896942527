"""Completing a person's texture: every texel of the body proxy's texture space, once per person.

Two steps (docs/unseen-side.md). ``complete_texture`` is the hand-made fill: small gaps closed, a side the input
missed taken from its mirror image on the partner part, the rest continued smoothly round the part (pull-push),
the head and torso from their sides and back, a head's back from its crown: never a face or a print on a back.
``TextureCompletionNet`` then corrects that fill: a small U-Net per part, trained on the embedded synthetic people
whose every side is known (``training/texture_completion.py``), that adds a residual to the fill. It never changes
a texel the input saw squarely, nor the front of a head or torso (where it could only invent a face or a print).
The shipped one was trained in albedo and completes the synthesizer's blend (``albedo_texture``); the photo path
paints from the fill alone (benchmarks/notes/2026-12-texture-completion-albedo.md). ``completion_inputs`` turns a
partial ``Texture`` into what the network reads; ``learned_completion`` applies it. Textures are ``(P, C, V, U)``
per person (``geometry/texture.py``); the network sees each part as one image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.outline import outline_coverage
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS
from posegen_lite.geometry.ray_cameras import OrthoCamera
from posegen_lite.geometry.shading import Light, shading_maps
from posegen_lite.geometry.texture import Texture, unwrap, view_surface
from posegen_lite.images import pull_push_fill

PARTNER = np.array([
    PROXY_PARTS.index(n.replace("r_", "l_", 1) if n.startswith("r_") else n.replace("l_", "r_", 1))
    for n in PROXY_PARTS
])  # fmt: skip
# The parts whose front may carry what their back does not (a face, a print), and how far round the front that
# reaches (|u| < 1/3: the surface normal within 60° of straight ahead).
FRONT_PARTS = tuple(PROXY_PARTS.index(n) for n in ("chest", "pelvis", "head"))
FRONT_U = 1 / 3
# A texel whose input pixels add up to less facing than this (one pixel seen at 70° from straight on) was seen
# only at a grazing angle, at a part's rim, where the proxy and the person part ways: completed, not trusted.
MIN_TEXEL_WEIGHT = 0.35
# The share of the completed, re-lit texture's colour in a pixel the input did not see, the networks' guess the
# rest (the synthesizer's ``unseen="blend"``), chosen on `val`. Completed by the shipped network, the texture
# alone is best (0.85: 0.223×, 1.0: 0.218× identity; benchmarks/notes/2026-12-texture-completion-albedo.md);
# completed by the hand-made fill, the two guesses err apart and their mix beats either alone (FILL_SHARE;
# benchmarks/notes/2026-12-relit-texture.md).
TEXTURE_SHARE = 1.0
FILL_SHARE = 0.7
# The head is an ellipsoid (no segment), so its texture's v is the height of a point on it, −1 to 1: above
# CROWN_V lies the crown, above the renderer's front hairline (0.42) and above any face.
CROWN_V = 0.5
HEAD = PROXY_PARTS.index("head")
GAP_PASSES = 2  # gaps of up to about four texels between seen texels are closed from their neighbours
# Of its 8 neighbours, how many must have a colour for a texel to be a gap: 5 closes the holes inside the seen
# surface and not its edge. With 2 the seen side grows by a texel per pass into the unseen one, which on held-out
# synthetic people helped at 20° and cost 16 % of the L1 in the body at 180° (benchmarks/README.md).
GAP_NEIGHBOURS = 5
# What the network reads per texel: kept colour + mask, mirror colour + mask, the fill, the part's one-hot, u, v,
# and every part's mean kept colour (what the rest of the person wears).
IN_CHANNELS = 3 + 1 + 3 + 1 + 3 + NUM_PROXY_PARTS + 2 + 3 * NUM_PROXY_PARTS


# --- the hand-made fill -------------------------------------------------------------------------------------------


def close_gaps(
    colour: torch.Tensor, weight: torch.Tensor, passes: int = GAP_PASSES
) -> tuple[torch.Tensor, torch.Tensor]:
    """A partial texture's small gaps closed: ``passes`` times, a texel without weight with at least
    ``GAP_NEIGHBOURS`` of its 8 neighbours seen (round the part) takes their weighted mean colour and half their
    mean weight. A person smaller in the
    image than the texture leaves such gaps between the texels its pixels fell into; they belong to the seen
    surface (a face's texels between the face's), not to the unseen side. ``colour (P, 3, V, U)``,
    ``weight (P, 1, V, U)`` → the same, closed."""
    box = torch.ones(1, 1, 3, 3)
    for _ in range(passes):
        stacked = torch.cat([colour * weight, weight], 1)  # (P, 4, V, U)
        padded = F.pad(F.pad(stacked, (1, 1, 0, 0), mode="circular"), (0, 0, 1, 1), mode="replicate")
        sums = F.conv2d(padded.reshape(-1, 1, *padded.shape[-2:]), box).reshape(stacked.shape)
        count = F.conv2d(F.pad(F.pad((weight > 0).float(), (1, 1, 0, 0), mode="circular"), (0, 0, 1, 1),
                                   mode="replicate"), box)  # fmt: skip
        gap = (weight == 0) & (count >= GAP_NEIGHBOURS)
        mean = sums[:, :3] / sums[:, 3:].clamp_min(1e-9)
        colour = torch.where(gap, mean, colour)
        weight = torch.where(gap, 0.5 * sums[:, 3:] / count.clamp_min(1), weight)
    return colour, weight


def front_texels(shape: tuple[int, ...]) -> torch.Tensor:
    """``(P, 1, V, U)`` bool for a texture of ``shape`` ``(P, C, V, U)``: the front (``|u| < FRONT_U``) of the
    head and torso, where a face or a print may be."""
    P, _, V, U = shape
    u = (torch.arange(U, dtype=torch.float32) + 0.5) / U * 2.0 - 1.0
    front = (u.abs() < FRONT_U).view(1, 1, 1, U).expand(P, 1, V, U).clone()
    front[[k for k in range(P) if k not in FRONT_PARTS]] = False
    return front


def _round_fill(colour: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """``colour (P, 3, V, U)`` pull-push filled (``images.pull_push_fill``) from the texels ``source (P, 1, V, U)``,
    round each part: tiled three times along ``u``, every other texel filled, the middle copy kept."""
    U = colour.shape[-1]
    tiles = (1, 1, 1, 3)
    return pull_push_fill(colour.repeat(*tiles), (~source).repeat(*tiles).float(), source.repeat(*tiles).float())[
        ..., U : 2 * U
    ]


def back_texels(V: int, U: int) -> torch.Tensor:
    """``(1, V, U)`` bool: the back half round a part (``|u| > 1/2``, behind its sides)."""
    u = (torch.arange(U, dtype=torch.float32) + 0.5) / U * 2.0 - 1.0
    return (u.abs() > 0.5).view(1, 1, U).expand(1, V, U)


def crown_texels(V: int, U: int) -> torch.Tensor:
    """``(1, V, U)`` bool: the top of a head's texture (``v > CROWN_V``), all the way round."""
    v = (torch.arange(V, dtype=torch.float32) + 0.5) / V * 2.0 - 1.0
    return (v > CROWN_V).view(1, V, 1).expand(1, V, U)


def complete_texture(texture: Texture) -> Texture:
    """Every texel of a partial ``texture`` (``geometry.texture.unwrap``) given a colour, once per person.

    Small gaps between seen texels are closed first (``close_gaps``). Texels seen squarely enough
    (``MIN_TEXEL_WEIGHT``) keep theirs; a texel whose mirror image (the left/right
    partner part, ``u → −u``) was seen takes that (a person is nearly symmetric left to right); the rest are
    continued smoothly (``images.pull_push_fill``, round the part) from the part's seen texels — for the head and
    torso only from their sides and back when those were seen, and a head's back half (``back_texels``) from its
    crown (``crown_texels``, above any face), so a face or a front's print never reaches the back. A part with no
    seen texel at all takes the mean of the whole body's. Returns the completed colours with the input's own
    weights."""
    colour, weight = close_gaps(texture.colour, texture.weight)
    P, _, V, U = colour.shape
    kept = weight >= MIN_TEXEL_WEIGHT
    mirrored = kept[PARTNER].flip(-1) & ~kept
    colour = torch.where(mirrored, colour[PARTNER].flip(-1), colour)
    known = kept | mirrored
    # What the fill continues: every texel with a colour, even one seen at a grazing angle (the sides of a head
    # are its hair, seen only obliquely from the front), except a head's or torso's front.
    coloured = (weight > 0) | mirrored
    source = coloured & ~front_texels(colour.shape)
    no_side = source.flatten(1).sum(1) == 0
    source[no_side] = coloured[no_side]  # a part seen only from the front continues its front
    tiled = _round_fill(colour, source)
    # Behind the ears, a head continues its crown rather than its sides: from the front the crown is hair (or a
    # bald scalp) and the sides at the ears' height are skin, while hair covers the back of most heads. The crown's
    # texels seen squarely (at its rim a pixel mixes hair with the background), else any it has: above the
    # hairline, so never a face.
    for crown in (known[HEAD] & crown_texels(V, U), coloured[HEAD] & crown_texels(V, U)):
        if crown.any():
            behind = back_texels(V, U)
            tiled[HEAD] = torch.where(behind, _round_fill(colour[HEAD : HEAD + 1], crown[None])[0], tiled[HEAD])
            break
    body = (colour * known).sum((0, 2, 3)) / known.sum().clamp_min(1)
    empty = (source.flatten(1).sum(1) == 0).view(P, 1, 1, 1)
    filled = torch.where(known, colour, torch.where(empty, body.view(1, 3, 1, 1), tiled))
    return Texture(filled, texture.weight, complete=True, source_weight=texture.source_weight)


# --- the network's inputs -----------------------------------------------------------------------------------------


def albedo_texture(
    image: np.ndarray,
    joints3d: np.ndarray,
    camera: Camera | OrthoCamera,
    light: Light | None,
    radius_scale: np.ndarray | None = None,
    person: np.ndarray | None = None,
    completion: TextureCompletionNet | None = None,
    whole_pixels: bool = False,
) -> Texture:
    """The completed texture of ``image`` ``(H, W, 3)`` (0–255) of the pose ``joints3d`` ``(18, 3)`` seen by
    ``camera``, in albedo: each pixel divided by how ``light``, fixed to the camera, shades the proxy there
    (``shading.shading_maps``; ``None``: a light fixed to the world, whose shade stays on the surface: the colours
    as they are), unwrapped with weights ``facing`` (times ``person`` ``(H, W)`` when given; with ``whole_pixels``
    only the pixels the proxy covers wholly, ``outline.outline_coverage`` = 1: an outline pixel mixes the body with
    the background) and completed (``complete_texture``, then ``completion``'s correction when given:
    ``learned_completion``). Re-lit per view by ``texture.mix_texture``'s ``shade``."""
    seen = view_surface(joints3d, camera, radius_scale)
    colours = np.asarray(image, np.float32)
    if light is not None:
        shade = shading_maps(np.asarray(joints3d)[None], [camera], light, radius_scale)[0].numpy()
        colours = colours / shade[..., None]
    weight = seen.facing if person is None else seen.facing * person
    if whole_pixels:
        cover = outline_coverage(np.asarray(joints3d)[None], [camera], radius_scale=radius_scale)[0, 0].numpy()
        weight = weight * (cover >= 1.0)
    partial = unwrap(colours, seen.parts, seen.surface, weight)
    return complete_texture(partial) if completion is None else learned_completion(completion, partial)


@dataclass(frozen=True)
class CompletionInputs:
    """What the network reads of one person, and what it adds to.

    ``features`` ``(P, IN_CHANNELS, V, U)`` float32, colours in [0, 1]; ``fill`` ``(P, 3, V, U)`` float32
    (0–255), ``complete_texture``'s colours; ``fixed`` ``(P, 1, V, U)`` bool, the texels the network must leave
    as the fill has them (kept by the input, or the front of a head or torso)."""

    features: torch.Tensor
    fill: torch.Tensor
    fixed: torch.Tensor


def completion_inputs(texture: Texture) -> CompletionInputs:
    """A partial ``texture`` (``geometry.texture.unwrap``: colour 0–255, weight) → ``CompletionInputs``: the
    kept colours (gaps closed, ``MIN_TEXEL_WEIGHT``) and their mask, their mirror image from the partner part
    (``u → −u``) and its mask, the fill, the part's one-hot, the texel's ``u`` and ``v`` in [−1, 1], and all
    parts' mean kept colours."""
    colour, weight = close_gaps(texture.colour, texture.weight)
    P, _, V, U = colour.shape
    kept = (weight >= MIN_TEXEL_WEIGHT).float()
    seen = colour / 255.0 * kept
    fill = complete_texture(texture).colour
    means = seen.sum((2, 3)) / kept.sum((2, 3)).clamp_min(1)  # (P, 3): 0 for a part the input did not show
    u = ((torch.arange(U, dtype=torch.float32) + 0.5) / U * 2.0 - 1.0).view(1, 1, 1, U).expand(P, 1, V, U)
    v = ((torch.arange(V, dtype=torch.float32) + 0.5) / V * 2.0 - 1.0).view(1, 1, V, 1).expand(P, 1, V, U)
    features = torch.cat([
        seen, kept, seen[PARTNER].flip(-1), kept[PARTNER].flip(-1), fill / 255.0,
        torch.eye(P).view(P, P, 1, 1).expand(P, P, V, U), u, v,
        means.reshape(1, 3 * P, 1, 1).expand(P, 3 * P, V, U),
    ], 1)  # fmt: skip
    return CompletionInputs(features, fill, (kept > 0) | front_texels(colour.shape))


# --- the network --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextureCompletionConfig:
    """The U-Net: ``width`` channels at full resolution (twice that below) and ``levels`` stride-2 steps
    (24 × 32 texels → 6 × 8 at 2: a part's whole circumference within the deepest level's reach). The defaults
    are the measured run's (benchmarks/configs/texture_completion.toml)."""

    width: int = 32
    levels: int = 2


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    # circular padding: u wraps round the part. Conv2d pads v circularly too, joining a part's two ends, which
    # only its first and last rows feel; the measured run had it (replicate along v is the next try's)
    return nn.Conv2d(c_in, c_out, 3, stride, 1, padding_mode="circular")


class TextureCompletionNet(nn.Module):
    """``(B, IN_CHANNELS, V, U)`` features (one part of one person per row) → ``(B, 3, V, U)`` residual colours
    in [0, 1] units, added to the fill. The last layer starts at zero, so an untrained net returns the fill."""

    def __init__(self, config: TextureCompletionConfig | None = None):
        super().__init__()
        self.config = config = config or TextureCompletionConfig()
        w = config.width
        self.stem = nn.Sequential(_conv(IN_CHANNELS, w), nn.ReLU(), _conv(w, w), nn.ReLU())
        widths = [w] + [2 * w] * config.levels
        steps = list(zip(widths[:-1], widths[1:], strict=True))  # (finer, coarser) channels per level
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, 2), nn.ReLU(), _conv(b, b), nn.ReLU()) for a, b in steps)
        self.up = nn.ModuleList(nn.Sequential(_conv(b + a, a), nn.ReLU()) for a, b in steps)
        self.head = nn.Conv2d(w, 3, 1)
        assert self.head.bias is not None  # built with one
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(features)]
        for block in self.down:
            skips.append(block(skips[-1]))
        x = skips.pop()
        for block in reversed(self.up):
            skip = skips.pop()
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:]), skip], 1))
        return self.head(x)


def apply_residual(fill: torch.Tensor, fixed: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """The learned colours ``(…, 3, V, U)`` (0–255): ``fill`` plus ``residual`` (in [0, 1] units) where not
    ``fixed``, clamped to the colour range; exactly ``fill`` where ``fixed`` or the residual is 0."""
    return torch.where(fixed, fill, (fill + 255.0 * residual).clamp(0.0, 255.0))


def learned_completion(net: TextureCompletionNet, texture: Texture) -> Texture:
    """A partial ``texture`` completed by the fill and then ``net``: a complete ``Texture`` with the input's own
    weights (``complete_texture``'s, corrected where the input did not see the body)."""
    inputs = completion_inputs(texture)
    with torch.no_grad():
        residual = net(inputs.features)
    colour = apply_residual(inputs.fill, inputs.fixed, residual)
    return Texture(colour, texture.weight, complete=True, source_weight=texture.source_weight)


def save_completion(net: TextureCompletionNet, path: str | Path, extra: dict | None = None) -> Path:
    """Save ``net``'s weights (float32), its config (and ``extra`` metadata: the training run, its figures)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(net.config), "state_dict": net.state_dict(), **(extra or {})}, path)
    return path


def load_completion(path: str | Path) -> TextureCompletionNet:
    """The network saved by ``save_completion`` at ``path``, in eval mode (the shipped one, trained in albedo:
    ``resources.completion_weights()``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no texture completion weights (training/texture_completion.py)")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or not {"config", "state_dict"} <= blob.keys():
        raise ValueError(f"{path}: not a texture completion weights file (saved by save_completion)")
    net = TextureCompletionNet(TextureCompletionConfig(**blob["config"]))
    net.load_state_dict(blob["state_dict"])
    return net.eval()
