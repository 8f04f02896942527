"""The body proxy's correspondence as per-pixel maps of target views (``ProxyMaps``), and the fill they allow.

Conventions (stated once; ``models/warping.py`` samples with them):

* ``flow (B, 2, H, W)`` float32, **backward flow target → source in pixels**: target pixel (x, y) shows the surface
  point that the source image shows at ``(x + flow[0], y + flow[1])`` (x right, y down, pixel centres at
  integers); 0 on the background, so an all-zero flow is the identity.
* ``visibility (B, 1, H, W)`` float32 in {0, 1}: 1 where the source camera saw the target pixel's surface point.
* ``parts (B, H, W)`` int64: the proxy part at each target pixel (``proxy.PROXY_PARTS``), −1 = background.
* ``surface (B, 5, H, W)`` float32: ``(on, chest, across, along, outward)``, where on its part each target pixel's
  surface point lies (``surface_map``): texture coordinates, the same for a body point in every view.
* ``source_silhouette (B, 1, h, w)`` float32 in {0, 1}: where the proxy covers the source view.

``proxy_maps`` builds them for pairs, ``source_maps`` for one source and many targets (``models/inputs.py``), whose
source view (``SourceView``) a synthesizer keeps across calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.correspond import correspond
from posegen_lite.geometry.proxy import PROXY_PARTS, build_proxy
from posegen_lite.geometry.ray_cameras import OrthoCamera, RayCameras, fit_orthographic, ray_cameras
from posegen_lite.geometry.raycast import Primitives, _cast
from posegen_lite.images import max_filter, pull_push_fill


class ProxyMaps(NamedTuple):
    """The body proxy's per-pixel maps of a batch of target views, the one type Stage I hands Stages II and III
    (``proxy_maps``, ``source_maps``; shapes and units: module docstring).

    ``flow (B, 2, H, W)`` px, ``visibility (B, 1, H, W)`` in {0, 1}, ``parts (B, H, W)`` int64 (−1 =
    background), ``surface (B, SURFACE_CHANNELS, H, W)`` float32 (``surface_map``), ``source_silhouette
    (B, 1, h, w)`` float32 in {0, 1}; ``silhouette`` (a property): where the proxy covers the target view."""

    flow: torch.Tensor
    visibility: torch.Tensor
    parts: torch.Tensor
    surface: torch.Tensor
    source_silhouette: torch.Tensor

    @property
    def silhouette(self) -> torch.Tensor:
        """Where the proxy covers the target views, ``(B, 1, H, W)`` float32 in {0, 1} (``proxy_silhouette``)."""
        return proxy_silhouette(self.parts)

    def to(self, device: torch.device | str | None) -> ProxyMaps:
        """The same maps on ``device``."""
        return ProxyMaps(*(t.to(device) for t in self))


SURFACE_CHANNELS = 5  # on the body, on the chest, across, along, outward


def surface_map(surface: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """Where on the body each target pixel lies, as image channels ``(B, 5, H, W)`` float32:
    ``(on, chest, across, along, outward)`` — 1 on the proxy's body and 1 on its chest (0 elsewhere), then
    ``Correspondence.surface`` (``proxy.py``: the point's place on its part, in [−1, 1], the same in every
    view). On the chest this indexes the shirt like a texture: its back is ``outward < 0``, the shoulders
    ``along`` near 1, the spine ``across`` near 0. The chest has a channel of its own because that is where
    clothes carry a pattern that one side cannot tell about the other (a print, a back's stripes).
    ``surface (B, H, W, 3)``, ``parts (B, H, W)`` int64 (−1 = background)."""
    if surface.dim() != 4 or surface.shape[-1] != 3 or tuple(parts.shape) != tuple(surface.shape[:3]):
        raise ValueError(
            f"surface must be (B, H, W, 3) and parts (B, H, W), got {tuple(surface.shape)}, {tuple(parts.shape)}"
        )
    on = (parts >= 0).unsqueeze(1).float()
    chest = (parts == PROXY_PARTS.index("chest")).unsqueeze(1).float()
    return torch.cat([on, chest, surface.permute(0, 3, 1, 2).float() * on], dim=1)


def proxy_maps(
    joints3d_a: np.ndarray,
    joints3d_b: np.ndarray,
    cameras_a: Sequence[Camera | OrthoCamera],
    cameras_b: Sequence[Camera | OrthoCamera],
    tolerance: float = 0.02,
    radius_scale: np.ndarray | None = None,
) -> ProxyMaps:
    """Backward flow, visibility, parts and surface coordinates of a batch of pairs, from 3D joints and cameras.

    Args:
        joints3d_a, joints3d_b: ``(B, 18, 3)`` source and target poses in their cameras' world frames
            (any unit; NaN for missing joints). For a viewpoint change both are the same pose.
        cameras_a, cameras_b: ``B`` source and target cameras (pinhole ``Camera`` or ``OrthoCamera``), all of
            one image size ``H × W``.
        tolerance: depth slack of the visibility test as a fraction of the body's scale (see ``correspond``).
        radius_scale: ``(P,)`` or ``(B, P)`` widening of the proxy's parts, the same for both views (one person;
            ``fit.fit_radius_scale``); default none.
    Returns:
        ``ProxyMaps`` (shapes there).
    """
    ja, jb = np.asarray(joints3d_a, np.float64), np.asarray(joints3d_b, np.float64)
    if ja.ndim == 2:
        ja, jb = ja[None], jb[None]
    if len(ja) != len(cameras_a) or len(jb) != len(cameras_b) or len(ja) != len(jb):
        raise ValueError(f"got {len(ja)}/{len(jb)} poses for {len(cameras_a)}/{len(cameras_b)} cameras")
    with torch.no_grad():
        source = build_proxy(ja, radius_scale)
        # A pure viewpoint change (synthetic pairs, Panoptic) has one pose for both views: build it once.
        target = source if np.array_equal(ja, jb, equal_nan=True) else build_proxy(jb, radius_scale)
    return _maps(source, target, ray_cameras(cameras_a), ray_cameras(cameras_b), tolerance)


def _maps(
    source: Primitives,
    target: Primitives,
    cams_a: RayCameras,
    cams_b: RayCameras,
    tolerance: float,
    source_depth: torch.Tensor | None = None,
) -> ProxyMaps:
    """``proxy_maps`` of built proxies (``source_depth``: ``correspond``'s)."""
    with torch.no_grad():
        corr = correspond(source, target, cams_a, cams_b, tolerance, source_depth)
    H, W = cams_b.height, cams_b.width
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    on = corr.part >= 0
    flow = torch.stack(
        [
            torch.where(on, corr.source_xy[..., 0] - xs, torch.zeros_like(xs)),
            torch.where(on, corr.source_xy[..., 1] - ys, torch.zeros_like(ys)),
        ],
        dim=1,
    )
    return ProxyMaps(
        flow,
        corr.visibility[:, None].float(),
        corr.part,
        surface_map(corr.surface, corr.part),
        corr.source_silhouette[:, None].float(),
    )


@dataclass(frozen=True)
class SourceView:
    """What every target view's maps read of one source view, built once (``source_view``): the source pose's
    body ``proxy`` (a batch of one) and its ``depth`` map ``(1, h·w)`` as its ``camera`` sees it (inf off the body)."""

    proxy: Primitives
    camera: Camera | OrthoCamera
    depth: torch.Tensor


def source_view(source: np.ndarray, camera: Camera | OrthoCamera, radius_scale: np.ndarray | None = None) -> SourceView:
    """``SourceView`` of the pose ``source`` ``(18, 3)`` seen by ``camera``, its parts widened by ``radius_scale``
    ``(P,)``: a novel-view synthesizer keeps it for its input across calls (``source_maps``' ``seen``)."""
    with torch.no_grad():
        proxy = build_proxy(np.asarray(source, np.float64)[None], radius_scale)
        depth = _cast(proxy, ray_cameras([camera]), surface=False).depth
    return SourceView(proxy, camera, depth)


def source_maps(
    source: np.ndarray,
    camera: Camera | OrthoCamera,
    targets: Sequence[np.ndarray] | np.ndarray,
    target_cameras: Sequence[Camera | OrthoCamera] | None = None,
    tolerance: float = 0.02,
    radius_scale: np.ndarray | None = None,
    seen: SourceView | None = None,
    target_proxy: Primitives | None = None,
) -> ProxyMaps:
    """``proxy_maps`` from one source view to many target views: the source pose ``(18, 3)`` seen by ``camera``,
    to each of ``targets`` ``(N, 18, 3)`` (e.g. the source pose rotated), seen by ``target_cameras`` (``N``
    cameras; default ``camera`` for all), the parts widened by ``radius_scale`` ``(P,)``. What novel-view
    synthesis needs: ``ProxyMaps`` of batch ``N``. The source's proxy is built and cast once for all targets
    (``seen``: already, by ``source_view`` of the same pose, camera and widths); ``target_proxy``: the targets'
    proxies when already built (``proxy.build_proxy(targets, radius_scale)``). The maps are the same either way."""
    n = len(targets)
    cams_b = [camera] * n if target_cameras is None else list(target_cameras)
    if seen is None:
        seen = source_view(source, camera, radius_scale)
    if target_proxy is None:
        with torch.no_grad():
            target_proxy = build_proxy(np.asarray(np.stack(list(targets)), np.float64), radius_scale)
    if len(target_proxy) != n or len(cams_b) != n:
        raise ValueError(f"got {n} targets, {len(target_proxy)} target proxies and {len(cams_b)} cameras")
    depth = seen.depth.expand(n, -1)
    return _maps(seen.proxy.repeat(n), target_proxy, ray_cameras([camera] * n), ray_cameras(cams_b), tolerance, depth)


def proxy_silhouette(parts: torch.Tensor) -> torch.Tensor:
    """Where the body proxy covers the target view: ``parts (B, H, W)`` int64 (−1 = background) →
    ``(B, 1, H, W)`` float32 in {0, 1}. Tighter than PG2's pose mask, which thickens the skeleton by a disc."""
    if parts.dim() != 3:
        raise ValueError(f"parts must be (B, H, W), got {tuple(parts.shape)}")
    return (parts >= 0).unsqueeze(1).float()


# How far the two silhouettes are grown for ``uncovered_background`` (pixels at 128×64; measured in
# benchmarks/README.md): the source's so that the input body's anti-aliased edge is inside, the target's so
# that no pixel of the true target body is (0.00 % of it on 64 test pairs).
UNCOVER_GROW_SOURCE, UNCOVER_GROW_TARGET = 2, 3
# How far outside the target's proxy silhouette generated pixels are background, refilled from beyond (the
# ``ring`` of ``fill_uncovered``): chosen on the validation split (benchmarks/README.md, "the outline fill").
OUTLINE_RING = 6


def grow_mask(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """``mask (B, 1, H, W)`` in {0, 1} dilated by a ``(2·pixels + 1)²`` square (``pixels = 0``: unchanged)."""
    return max_filter(mask, pixels)


def uncovered_background(
    source_silhouette: torch.Tensor,
    target_silhouette: torch.Tensor,
    grow_source: int = UNCOVER_GROW_SOURCE,
    grow_target: int = UNCOVER_GROW_TARGET,
) -> torch.Tensor:
    """The background the input's body covered and the target view shows: pixels inside the source view's
    proxy silhouette and outside the target's, both ``(B, 1, H, W)`` in {0, 1} (same image size) → ``(B, 1, H,
    W)`` float32 in {0, 1}.

    The input never showed these pixels' background, and a U-Net whose first skip carries I_A to the same place
    in the image paints faint copies of the input's limbs there ("ghosts"). ``images.pull_push_fill`` fills them
    from the background around them instead."""
    if source_silhouette.shape != target_silhouette.shape or source_silhouette.dim() != 4:
        raise ValueError(
            f"silhouettes must both be (B, 1, H, W), got {tuple(source_silhouette.shape)}, "
            f"{tuple(target_silhouette.shape)}"
        )
    source = grow_mask(source_silhouette.float(), grow_source)
    return source * (1.0 - grow_mask(target_silhouette.float(), grow_target))


def fill_uncovered(
    images: torch.Tensor, source_silhouette: torch.Tensor, target_silhouette: torch.Tensor, ring: int = 0
) -> torch.Tensor:
    """``images (B, C, H, W)`` (generated target views) with their ``uncovered_background`` replaced by a smooth
    fill from the background around it — the pixels outside the target silhouette grown by
    ``UNCOVER_GROW_TARGET`` (``images.pull_push_fill``), so the body's colours do not bleed in. Silhouettes
    ``(B, 1, H, W)`` in {0, 1}; every other pixel is returned unchanged.

    ``ring > 0`` also refills the background within ``ring`` pixels outside the target silhouette, from the
    background beyond it. A U-Net blurs the body's colours a few pixels into its surroundings (a halo) and
    paints faint limbs where the input had them; the proxy's silhouette says where the body ends, so what lies
    outside it is background (``OUTLINE_RING`` is the width the demo uses; ``benchmarks/README.md`` measures
    it). The pixels inside the silhouette are never changed."""
    if ring < 0:
        raise ValueError(f"ring must be ≥ 0, got {ring}")
    target = target_silhouette.to(images.dtype)
    hole = uncovered_background(source_silhouette.to(images.dtype), target)
    grown = grow_mask(target, max(ring, UNCOVER_GROW_TARGET))  # nothing within it is a source for the fill
    if ring:
        ring_mask = grown if ring >= UNCOVER_GROW_TARGET else grow_mask(target, ring)
        hole = torch.maximum(hole, ring_mask * (1.0 - target))
    return pull_push_fill(images, hole, 1.0 - grown)


def keypoint_flow(
    keypoints_a: np.ndarray,
    visible_a: np.ndarray,
    keypoints_b: np.ndarray,
    visible_b: np.ndarray,
    width: int,
    height: int,
) -> ProxyMaps:
    """``proxy_maps`` for data with 2D keypoints only (PG2's Market-1501 / DeepFashion CSVs): each view's
    keypoints are lifted to 3D (``lifting.lift_pose``, Taylor's closed form) and seen by its fitted orthographic
    camera; the two poses may differ (points keep their coordinates in their part's frame). As good as the
    lifting: a wrong front/back guess shows as a wrong warp. Returns ``ProxyMaps`` of one pair (batch 1);
    all zero / −1 (no warp, no body) when either view cannot be lifted."""
    from posegen_lite.geometry.lifting import lift_pose

    try:
        # In float64, as the maps of real data were always computed.
        ja = np.asarray(lift_pose(keypoints_a, visible_a), np.float64)
        jb = np.asarray(lift_pose(keypoints_b, visible_b), np.float64)
        keypoints_a, keypoints_b = np.asarray(keypoints_a, np.float64), np.asarray(keypoints_b, np.float64)
        cam_a = fit_orthographic(ja, keypoints_a, visible_a, width, height)
        cam_b = fit_orthographic(jb, keypoints_b, visible_b, width, height)
    except ValueError:
        return ProxyMaps(
            torch.zeros(1, 2, height, width),
            torch.zeros(1, 1, height, width),
            torch.full((1, height, width), -1),
            torch.zeros(1, SURFACE_CHANNELS, height, width),
            torch.zeros(1, 1, height, width),
        )
    return proxy_maps(ja[None], jb[None], [cam_a], [cam_b])


def add_proxy_keys(sample: dict, maps: ProxyMaps) -> dict:
    """Put one pair's ``ProxyMaps`` (batch 1) into a sample dict as its optional keys ``flow``, ``visibility``,
    ``proxy_parts_b``, ``proxy_surface_b`` and ``proxy_silhouette_a`` (``data/sample.py``)."""
    sample["flow"], sample["visibility"] = maps.flow[0], maps.visibility[0]
    sample["proxy_parts_b"], sample["proxy_surface_b"] = maps.parts[0].long(), maps.surface[0]
    sample["proxy_silhouette_a"] = maps.source_silhouette[0]
    return sample
