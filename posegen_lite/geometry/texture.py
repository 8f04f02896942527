"""The body proxy's texture space: one image per part, indexed by where on the part a surface point lies.

Every proxy part is an ellipsoidal capsule (``proxy.py``); a point on it has ``surface`` coordinates
``(across, along, outward)`` in [−1, 1] (``correspond.Correspondence``), the same in every view. The texture of a
part is a ``(V, U)`` grid over ``u = atan2(across, outward) / π`` (around the bone: 0 in front, ±1 behind, > 0 on
the body's left) and ``v = along`` (from the bone's start to its end). ``unwrap`` carries a view's pixels into it
(a partial texture and how squarely each texel was seen: ``facing``, the cosine between the surface normal and
the camera ray, so a point seen at a grazing angle at a part's rim weighs little); ``render`` carries a texture
back into any view from that view's surface coordinates. A turntable rendered from one texture agrees with
itself by construction (docs/unseen-side.md). Shapes: textures ``(P, C, V, U)`` float32, P = ``NUM_PROXY_PARTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, build_proxy
from posegen_lite.geometry.ray_cameras import OrthoCamera, ray_cameras
from posegen_lite.geometry.raycast import _cast, _in_camera, hit_normals

TEXTURE_SHAPE = (24, 32)  # (V along, U around) texels per part: about a 128×64 view's pixels on the chest


@dataclass(frozen=True)
class Texture:
    """A texture over the proxy's parts: ``colour (P, 3, V, U)`` float32 (0–255) and ``weight (P, 1, V, U)``
    float32 ≥ 0, how much of the input stands behind each texel (0: never seen). ``complete``: every texel has a
    colour (a completed texture), not only those with weight. ``source_weight`` ``(H, W)`` float32: the weight
    each pixel of the view it was unwrapped from carried (``unwrap``'s ``weight``) — how squarely that view saw
    each point, at the view's own resolution rather than the texels'."""

    colour: torch.Tensor
    weight: torch.Tensor
    complete: bool = False
    source_weight: torch.Tensor | None = None

    @property
    def seen(self) -> torch.Tensor:
        """``(P, 1, V, U)`` bool: texels some input pixel fell into."""
        return self.weight > 0


@dataclass(frozen=True)
class ViewSurface:
    """What one camera sees of a proxy: ``parts (H, W)`` int64 (−1 = background), ``surface (H, W, 3)`` float32
    ``(across, along, outward)`` in [−1, 1] (0 off the body) and ``facing (H, W)`` float32 in [0, 1], the cosine
    between the surface normal and the camera ray (1 = seen squarely, 0 = at a grazing angle or off the body)."""

    parts: np.ndarray
    surface: np.ndarray
    facing: np.ndarray


def view_surface(
    joints3d: np.ndarray, camera: Camera | OrthoCamera, radius_scale: np.ndarray | None = None
) -> ViewSurface:
    """The proxy of the pose ``joints3d`` ``(18, 3)`` (parts widened by ``radius_scale`` ``(P,)``) as ``camera``
    sees it: ``ViewSurface`` (the facing from the capsules' normals, ``raycast.hit_normals``)."""
    cams = ray_cameras([camera])
    with torch.no_grad():
        prims = build_proxy(joints3d, radius_scale)
        hits = _cast(prims, cams)
        posed = _in_camera(prims, cams)
    h_img, w_img = int(camera.height), int(camera.width)
    part = hits.part[0]
    on = part >= 0
    k = part.clamp_min(0)
    local = hits.local[0]
    half = posed.h[0][k]  # (N,) normalised half-length of each pixel's part
    n_cam = hit_normals(posed, hits.part, hits.local)[0]  # (N, 3)
    ys, xs = torch.meshgrid(torch.arange(h_img, dtype=torch.float32), torch.arange(w_img, dtype=torch.float32),
                            indexing="ij")  # fmt: skip
    K = cams.K[0]
    ortho = bool(cams.ortho[0])
    ray = torch.stack([
        torch.zeros(h_img * w_img) if ortho else (xs.reshape(-1) - K[0, 2]) / K[0, 0],
        torch.zeros(h_img * w_img) if ortho else (ys.reshape(-1) - K[1, 2]) / K[1, 1],
        torch.ones(h_img * w_img),
    ], -1)  # fmt: skip
    cos = (n_cam * ray).sum(-1).abs() / (n_cam.norm(dim=-1) * ray.norm(dim=-1)).clamp_min(1e-9)
    along = local[:, 1] / (half + 1.0)
    surface = torch.stack([local[:, 0], along, local[:, 2]], -1).clamp(-1.0, 1.0)
    surface = torch.where(on[:, None], surface, torch.zeros_like(surface))
    return ViewSurface(
        part.reshape(h_img, w_img).numpy(),
        surface.reshape(h_img, w_img, 3).numpy().astype(np.float32),
        torch.where(on, cos, torch.zeros_like(cos)).reshape(h_img, w_img).numpy().astype(np.float32),
    )


def texel_coords(surface: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``surface (..., 3)`` ``(across, along, outward)`` → ``(u, v)``, each ``(...)`` in [−1, 1]: the angle around
    the bone over π (0 in front, ±1 behind, > 0 towards the body's left) and ``along``."""
    u = torch.atan2(surface[..., 0], surface[..., 2]) / torch.pi
    return u, surface[..., 1]


def _texel_index(
    parts: torch.Tensor, surface: torch.Tensor, shape: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each body pixel's flat texel index into ``(P·V·U)`` (nearest texel) and which pixels are on the body."""
    V, U = shape
    u, v = texel_coords(surface)
    iu = ((u + 1.0) / 2.0 * U).floor().long() % U  # u = ±1 is one place: the seam behind the part
    iv = ((v + 1.0) / 2.0 * V).floor().long().clamp(0, V - 1)
    on = parts >= 0
    return (parts.clamp_min(0) * V + iv) * U + iu, on


def unwrap(
    image: np.ndarray,
    parts: np.ndarray,
    surface: np.ndarray,
    weight: np.ndarray,
    shape: tuple[int, int] = TEXTURE_SHAPE,
) -> Texture:
    """Carry a view's pixels into the texture: each texel the ``weight``-weighted mean colour of the pixels of
    ``image`` ``(H, W, 3)`` uint8 that fall into it, ``Texture.weight`` their summed weight. ``parts`` ``(H, W)``
    int (−1 = background), ``surface`` ``(H, W, 3)`` (``ViewSurface``), ``weight`` ``(H, W)`` ≥ 0 (e.g. ``facing``
    times the person's silhouette; 0 leaves a pixel out)."""
    V, U = shape
    index, on = _texel_index(torch.as_tensor(parts).long(), torch.as_tensor(surface).float(), shape)
    w = torch.as_tensor(weight, dtype=torch.float32) * on
    pick = torch.nonzero(w.reshape(-1) > 0).squeeze(1)
    idx, wk = index.reshape(-1)[pick], w.reshape(-1)[pick]
    colours = torch.as_tensor(np.asarray(image), dtype=torch.float32).reshape(-1, 3)[pick]
    n = NUM_PROXY_PARTS * V * U
    total = torch.zeros(n).index_add_(0, idx, wk)
    summed = torch.zeros(n, 3).index_add_(0, idx, colours * wk[:, None])
    colour = summed / total.clamp_min(1e-9)[:, None]
    return Texture(
        colour.reshape(NUM_PROXY_PARTS, V, U, 3).permute(0, 3, 1, 2).contiguous(),
        total.reshape(NUM_PROXY_PARTS, 1, V, U),
        source_weight=w,
    )


def render(texture: Texture, parts: torch.Tensor, surface: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The texture seen in views: ``parts`` ``(..., H, W)`` int (−1 = background) and ``surface`` ``(..., H, W, 3)``
    (``ProxyMaps.surface``'s last three channels, or ``ViewSurface``) → colours ``(..., H, W, 3)`` float32
    (0–255, 0 off the body) and the texels' weight ``(..., H, W)`` (0 off the body). Bilinear between texel
    centres, round the part (``u`` wraps) and clamped along it."""
    P, C, V, U = texture.colour.shape
    u, v = texel_coords(surface.float())
    fu = (u + 1.0) / 2.0 * U - 0.5
    fv = ((v + 1.0) / 2.0 * V - 0.5).clamp(0.0, V - 1.0)
    u0, v0 = fu.floor(), fv.floor()
    au, av = fu - u0, fv - v0
    k = parts.long().clamp_min(0)
    # A partial texture is interpolated with the texels' own weights, so that an unseen neighbour (its colour
    # undefined) does not darken a seen texel's: colour = Σ share·w·c / Σ share·w. A complete one plainly.
    by = texture.weight if not texture.complete else torch.ones_like(texture.weight)
    table = torch.cat([texture.colour * by, by, texture.weight], 1).permute(0, 2, 3, 1).reshape(-1, C + 2)
    out = torch.zeros(*parts.shape, C + 2)
    for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
        iu = (u0.long() + du) % U
        iv = (v0.long() + dv).clamp(max=V - 1)
        share = (au if du else 1 - au) * (av if dv else 1 - av)
        out += share[..., None] * table[((k * V + iv) * U + iu).reshape(-1)].reshape(*parts.shape, C + 2)
    on = parts >= 0
    colour = out[..., :C] / out[..., C : C + 1].clamp_min(1e-9)
    colour = torch.where(on[..., None] & (out[..., C : C + 1] > 0), colour, torch.zeros_like(colour))
    weight = torch.where(on, out[..., C + 1], torch.zeros_like(out[..., C + 1]))
    return colour, weight


def mix_texture(
    views: torch.Tensor,
    texture: Texture,
    parts: torch.Tensor,
    surface: torch.Tensor,
    where: torch.Tensor,
    share: float,
    shade: torch.Tensor | None = None,
) -> torch.Tensor:
    """``views`` ``(N, H, W, 3)`` float (0–255) with the pixels ``where`` ``(N, H, W)`` bool (on the body) made
    ``share · texture + (1 − share) · view``: the completed ``texture`` rendered from ``parts`` ``(N, H, W)`` and
    ``surface`` ``(N, H, W, 3)`` (``render``), times ``shade`` ``(N, H, W)`` when given (``shading.shading_maps``:
    an albedo texture re-lit in each view)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"the texture's share must be in [0, 1], got {share}")
    on = torch.nonzero((where & (parts >= 0)).reshape(-1)).squeeze(1)  # render those pixels only
    painted, _ = render(texture, parts.reshape(-1)[on], surface.reshape(-1, 3)[on])
    if shade is not None:
        painted = painted * shade.reshape(-1)[on, None].to(painted.dtype)
    flat = views.reshape(-1, views.shape[-1])
    mixed = flat.index_select(0, on)
    mixed = mixed + share * (painted.clamp(0, 255) - mixed)
    return flat.index_copy(0, on, mixed.to(flat.dtype)).reshape(views.shape)
