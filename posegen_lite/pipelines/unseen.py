"""The side of a person the input never showed, painted from the input's own colours, part by part.

The shipped networks learned the unseen side from the embedded synthetic people only; on a real photo they
paint it as a mottle of the synthetic garments' colours, and put the front's face on the back of the head
(docs/unseen-side.md). ``part_colours`` reads one colour per body-proxy part from the input's pixels of the
person (the median, so a print on the front does not leak onto the back); the head's from its pixels that are
not the face (the sides and top the input saw: hair, a cap, or skin where there is none), and a part the input
does not show takes its left/right partner's (a sleeve stays a sleeve), else the whole person's.
``paint_unseen`` gives every target pixel the proxy says the input did not see its part's colour.
``"texture"`` goes further: the input unwrapped onto the proxy's texture space (``geometry/texture.py``),
completed once (``complete_texture``: a side from its mirror image, the rest continued from the sides and
back, never from a face or a front's print) and rendered into every view (``paint_from_texture``).
``"blend"`` (the embedded people's default) renders the body from that texture, completed in albedo and re-lit
for each view (``geometry/shading.py``), and re-lights what the input saw squarely (``blend_views``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.fit import proxy_view
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS
from posegen_lite.geometry.ray_cameras import OrthoCamera
from posegen_lite.geometry.shading import Light, shading_maps
from posegen_lite.geometry.texture import Texture, mix_texture, render, unwrap, view_surface
from posegen_lite.geometry.warp import ProxyMaps
from posegen_lite.images import ensure_rgb
from posegen_lite.models.texture_completion import (
    MIN_TEXEL_WEIGHT,
    PARTNER,
    TextureCompletionNet,
    albedo_texture,
    complete_texture,
)
from posegen_lite.models.warping import relight_seen, warp_image
from posegen_lite.pipelines.stage1 import SourcePose

UNSEEN = ("networks", "part_colours", "texture", "blend")  # who paints what the input did not see
# What a photo's unseen side gets by default: its completed texture (bench_photos.py, docs/photos.md: no face found
# at 135° or 180° on any project photo, one with part colours on Grace Hopper at 135°; her face blurred, not banded).
PHOTO_UNSEEN = "texture"
FACE_FRONT = 0.5  # a head pixel whose local z (front) is above this is the face
MIN_PIXELS = 6  # fewer of a part's pixels than this say nothing about its colour
HEAD = PROXY_PARTS.index("head")
# Target pixels whose input pixel carried less weight than this (seen at more than about 70° from straight on)
# are painted from the completed texture even where the input saw them: on a photo the proxy only approximates the
# person, and a point seen obliquely at its rim, warped into a view that faces it, is a band across a face. On
# synthetic people the proxy is the renderer's own body and the warp is right there (benchmarks/README.md).
REPAINT_BELOW = MIN_TEXEL_WEIGHT


def part_colours(image: np.ndarray, person: np.ndarray, parts: np.ndarray, local: np.ndarray) -> np.ndarray:
    """``(P, 3)`` float32 colours (0–255) of the proxy's parts from the input ``image`` ``(H, W, 3)`` uint8:
    the median of the ``person`` ``(H, W)`` bool pixels each part covers (``parts`` ``(H, W)`` int, −1 =
    background; ``local`` ``(H, W, 3)`` where on the part, ``geometry.fit.proxy_view``), the head's without the
    face; a part not shown takes its partner's, else the whole person's colour."""
    colours = np.full((NUM_PROXY_PARTS, 3), np.nan, np.float32)
    on_person = person & (parts >= 0)
    for k in range(NUM_PROXY_PARTS):
        mine = on_person & (parts == k)
        if k == HEAD and (mine & (local[..., 2] < FACE_FRONT)).sum() >= MIN_PIXELS:
            mine &= local[..., 2] < FACE_FRONT  # the back of a head is its hair, not its face
        if mine.sum() >= MIN_PIXELS:
            colours[k] = np.median(image[mine], axis=0)
    missing = np.isnan(colours[:, 0])
    colours[missing] = colours[PARTNER[missing]]
    everyone = np.median(image[on_person], axis=0) if on_person.any() else np.full(3, 128.0)
    return np.where(np.isnan(colours), everyone, colours).astype(np.float32)


def paint_unseen(views: np.ndarray, parts: np.ndarray, visibility: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """``views`` ``(N, H, W, 3)`` uint8 with every body pixel the input did not see (``parts`` ``(N, H, W)`` ≥ 0
    and not ``visibility`` ``(N, H, W)`` bool) painted its part's colour (``colours`` ``(P, 3)``)."""
    unseen = (parts >= 0) & ~visibility
    painted = np.clip(colours[np.maximum(parts, 0)] + 0.5, 0, 255).astype(np.uint8)
    return np.where(unseen[..., None], painted, views)


def check_unseen(unseen: object, can_paint: bool, can_blend: bool = False) -> None:
    """``unseen`` is one of ``UNSEEN``; painting (``"part_colours"``, ``"texture"``) needs the person's silhouette
    and a body proxy (``can_paint``), ``"blend"`` a body proxy (``can_blend``)."""
    if unseen not in UNSEEN:
        raise ValueError(f"unseen must be one of {', '.join(map(repr, UNSEEN))}, got {unseen!r}")
    if unseen == "blend" and not can_blend:
        raise ValueError("unseen='blend' needs a G1 that uses the body proxy")
    if unseen not in ("networks", "blend") and not can_paint:
        raise ValueError(f"unseen={unseen!r} needs the person's silhouette and a G1 that uses the body proxy")


def photo_unseen(needs_proxy: bool) -> str:
    """Who paints a photo's unseen side by default: ``PHOTO_UNSEEN`` when G1 uses the body proxy (painting
    needs it), else the networks."""
    return PHOTO_UNSEEN if needs_proxy else "networks"


def unseen_painter(
    unseen: str,
    image: np.ndarray,
    person: np.ndarray,
    source: SourcePose,
    size: tuple[int, int],
    widths: np.ndarray | None,
) -> np.ndarray | Texture | None:
    """What paints the unseen side, once per input: ``None`` for ``"networks"``, the ``(P, 3)`` part colours, or
    the completed ``Texture`` (``compositing.on_input_background`` applies it to every view)."""
    if unseen == "networks":
        return None
    if unseen == "texture":
        return person_texture(image, person, source, size, widths)
    return unseen_colours(image, person, source, size, widths)


def unseen_colours(
    image: np.ndarray, person: np.ndarray, source: SourcePose, size: tuple[int, int], widths: np.ndarray | None
) -> np.ndarray:
    """``part_colours`` of the input ``image`` for the ``source`` pose's proxy (parts widened by ``widths``) seen
    by its camera in images of ``size``; ``person`` ``(H, W)`` bool."""
    parts, local = proxy_view(source.joints3d, source.proxy_camera(*size), widths)
    return part_colours(ensure_rgb(image, convert=True), person, parts, local)


def paint_from_texture(views: np.ndarray, warp: ProxyMaps, texture: Texture) -> np.ndarray:
    """``views`` ``(N, H, W, 3)`` uint8 with every body pixel the input did not see — or saw only at a grazing
    angle (the input pixel it comes from carried a weight below ``REPAINT_BELOW``, ``Texture.source_weight``) —
    painted from the completed ``texture``; ``warp``: the views' ``ProxyMaps`` (parts, surface, flow, visibility)."""
    coords = warp.surface[:, 2:].permute(0, 2, 3, 1)  # (across, along, outward)
    colour, _ = render(texture, warp.parts, coords)
    unseen = warp.visibility[:, 0] < 0.5
    if texture.source_weight is not None:  # how squarely the input saw each target pixel's point
        # the least weight around each input pixel (3×3): the warp samples between pixels, and a point sampled
        # between a rim pixel and its inner neighbour is still the rim
        least = -F.max_pool2d(-texture.source_weight.to(warp.flow.dtype)[None, None], 3, stride=1, padding=1)
        source = least.expand(len(views), 1, *least.shape[-2:])
        unseen = unseen | (warp_image(source, warp.flow, warp.visibility)[:, 0] < REPAINT_BELOW)
    paint = (warp.parts >= 0) & unseen
    painted = np.clip(colour.numpy() + 0.5, 0, 255).astype(np.uint8)
    return np.where(paint.numpy()[..., None], painted, views)


def input_texture(
    image: np.ndarray, person: np.ndarray, source: SourcePose, size: tuple[int, int], widths: np.ndarray | None
) -> Texture:
    """The partial texture the input shows: ``image`` unwrapped onto the ``source`` pose's proxy (parts widened by
    ``widths``, seen by its camera in images of ``size``), each pixel of the ``person`` ``(H, W)`` bool weighted by
    how squarely it is seen."""
    seen = view_surface(source.joints3d, source.proxy_camera(*size), widths)
    return unwrap(ensure_rgb(image, convert=True), seen.parts, seen.surface, seen.facing * person)


def person_texture(
    image: np.ndarray, person: np.ndarray, source: SourcePose, size: tuple[int, int], widths: np.ndarray | None
) -> Texture:
    """The input's texture (``input_texture``), completed (``complete_texture``)."""
    return complete_texture(input_texture(image, person, source, size, widths))


@dataclass(frozen=True)
class LitInput:
    """What ``unseen="blend"`` needs of the input, once (``lit_input``): its completed ``texture`` in albedo, and
    where a light fixed to the camera lit it, per input pixel the proxy's ``shade`` and ``facing`` (how squarely
    the input saw the point), ``(H, W)`` float32 each, and ``seen_texture``, the texture the body is rendered from
    where the input saw it: unwrapped from the pixels the proxy covers wholly (``shade`` and ``seen_texture`` None
    under a light fixed to the world)."""

    image: np.ndarray
    texture: Texture
    shade: torch.Tensor | None
    facing: torch.Tensor
    seen_texture: Texture | None = None


def lit_input(
    image: np.ndarray,
    source: SourcePose,
    size: tuple[int, int],
    widths: np.ndarray | None,
    light: Light | None,
    person: np.ndarray | None = None,
    completion: TextureCompletionNet | None = None,
) -> LitInput:
    """``lit_view`` of ``image`` of the ``source`` pose seen by its camera in images of ``size``."""
    return lit_view(image, source.joints3d, source.proxy_camera(*size), widths, light, person, completion)


def lit_view(
    image: np.ndarray,
    joints3d: np.ndarray,
    camera: Camera | OrthoCamera,
    widths: np.ndarray | None,
    light: Light | None,
    person: np.ndarray | None = None,
    completion: TextureCompletionNet | None = None,
) -> LitInput:
    """``LitInput`` of ``image`` of the pose ``joints3d`` ``(18, 3)`` seen by ``camera``, parts widened by ``widths``,
    lit by ``light`` (``None``: from the world): the textures (``texture_completion.albedo_texture``, corrected by
    ``completion`` when given; ``person`` ``(H, W)`` bool limits them to the person's pixels), the shade and the
    facing."""
    rgb = ensure_rgb(image, convert=True)
    facing = torch.from_numpy(view_surface(joints3d, camera, widths).facing)
    if light is None:
        return LitInput(rgb, albedo_texture(rgb, joints3d, camera, None, widths, person, completion), None, facing)
    shade = shading_maps(np.asarray(joints3d)[None], [camera], light, widths)[0]
    texture, seen = (
        albedo_texture(rgb, joints3d, camera, light, widths, person, completion, whole_pixels=whole)
        for whole in (False, True)
    )
    return LitInput(rgb, texture, shade, facing, seen)


def blend_views(
    views: np.ndarray, warp: ProxyMaps, lit: LitInput, shade: torch.Tensor | None, share: float
) -> np.ndarray:
    """``views`` ``(N, H, W, 3)`` uint8 (``warp``: their ``ProxyMaps``) with body pixels made ``share`` the completed
    texture's colour re-lit by ``shade`` ``(N, H, W)`` (``stage1.shading``) and the rest the view's
    (``texture.mix_texture``: under L1 the mix of two guesses that err apart beats either alone). Under a light fixed
    to the camera (``lit.shade``, ``lit.seen_texture`` and ``shade`` given) that is every pixel of the proxy's body —
    the body rendered from the textures, ``lit.seen_texture`` where the input saw it — and then every pixel the input
    saw squarely its own colour re-lit (``warping.relight_seen``); under a light fixed to the world, only the pixels
    the input did not see (docs/unseen-side.md says why)."""
    unseen = warp.visibility[:, 0] < 0.5
    surface = warp.surface[:, 2:].permute(0, 2, 3, 1)
    images = torch.from_numpy(np.ascontiguousarray(views)).float()
    mixed = mix_texture(images, lit.texture, warp.parts, surface, unseen, share, shade)
    if lit.shade is not None and lit.seen_texture is not None and shade is not None:
        # Re-lit, the texture beats the networks where the input saw the body too (on `val`: 0.062 → 0.028 per
        # pixel), painted from the input's wholly covered pixels; unshaded, a photo's seen side stays the networks'.
        mixed = mix_texture(mixed, lit.seen_texture, warp.parts, surface, ~unseen, share, shade)
        n = len(views)
        source = torch.from_numpy(lit.image).float().permute(2, 0, 1)[None].expand(n, -1, -1, -1)
        shade_a, facing_a = (m[None, None].expand(n, 1, *m.shape) for m in (lit.shade, lit.facing))
        seen = relight_seen(
            mixed.permute(0, 3, 1, 2), source, warp.flow, warp.visibility, shade_a, facing_a, shade[:, None]
        )
        mixed = seen.permute(0, 2, 3, 1)
    return mixed.round().clamp(0, 255).to(torch.uint8).numpy()


def with_draw(views: np.ndarray, sample: np.ndarray, mean: np.ndarray, warp: ProxyMaps) -> np.ndarray:
    """``views`` ``(N, H, W, 3)`` uint8 (``blend_views``' of the networks' prior ``mean``) plus what a conditional-VAE
    draw ``sample`` adds to that ``mean`` (both ``(N, H, W, 3)`` uint8) on the body pixels the input did not see: the
    texture paints its L1-best guess there, the draw keeps its own variation (the samples agree on the rest)."""
    unseen = ((warp.parts >= 0) & (warp.visibility[:, 0] < 0.5)).numpy()[..., None]
    drawn = views.astype(np.int16) + sample.astype(np.int16) - mean.astype(np.int16)
    return np.where(unseen, np.clip(drawn, 0, 255), views).astype(np.uint8)
