"""Where every target pixel's body-proxy surface point lies in the source view, and whether the source saw it.

``correspond`` ray-casts the target view (``raycast.py``), carries each hit to the source pose's proxy (a point
keeps its coordinates in its part's local frame) and tests it against the source view's own depth map, as in
shadow mapping. ``warp.py`` turns the ``Correspondence`` into image tensors (flow, visibility, parts, surface).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from posegen_lite.geometry.ray_cameras import RayCameras
from posegen_lite.geometry.raycast import Primitives, _cast, _in_camera, _slices

PELVIS = 1  # proxy.PROXY_PARTS.index("pelvis") (proxy.py imports this module; a test keeps the two in step)


@dataclass(frozen=True)
class Correspondence:
    """Target→source correspondence of a batch (``H × W`` target pixels, row-major):

    * ``source_xy (B, H, W, 2)``: where each target pixel's surface point appears in the source image
      (pixels, x right, y down; 0 on the background);
    * ``visibility (B, H, W)`` bool: the point is on the body, the source camera sees it (no other proxy
      surface in front of it) and it falls inside the source image;
    * ``part (B, H, W)`` int64: the proxy part seen at the pixel (``PROXY_PARTS``), −1 = background;
    * ``depth (B, H, W)``: the target camera's depth of the surface (inf on the background);
    * ``surface (B, H, W, 3)`` float32: where on its part the surface point lies, ``(across, along, outward)``
      in the part's normalised local frame — ``across`` and ``outward`` in [−1, 1] round the bone (x towards
      the body's left, z to the front for the torso), ``along`` in [−1, 1] from the bone's start to its end
      (the chest: hips to neck) — 0 on the background. The same body point has the same coordinates in
      every view: what a texture would be indexed by;
    * ``source_silhouette (B, h, w)`` bool: where the proxy covers the *source* view (its ``h × w`` pixels).
    """

    source_xy: torch.Tensor
    visibility: torch.Tensor
    part: torch.Tensor
    depth: torch.Tensor
    surface: torch.Tensor
    source_silhouette: torch.Tensor


def correspond(
    source: Primitives,
    target: Primitives,
    source_cams: RayCameras,
    target_cams: RayCameras,
    tolerance: float = 0.02,
    source_depth: torch.Tensor | None = None,
) -> Correspondence:
    """Where every target pixel's proxy surface point lies in the source view, and whether it was seen there.

    ``source`` and ``target`` are the proxies of the two views' poses (the same for a pure viewpoint change;
    different poses work too: a point keeps its coordinates in its part's local frame, the segment stretched
    to the part's length in the other pose). ``tolerance``: how far (as a fraction of the body's scale, ~1.75
    m) the first surface on the source ray may lie in front of the point and still count as the point itself.
    ``source_depth`` ``(B, h·w)``: the source views' depth maps when already cast (``warp.SourceView``: one input
    seen from many targets is cast once), else they are cast here.
    """
    if len(source) != len(target) or len(source) != len(source_cams) or len(target) != len(target_cams):
        raise ValueError("source, target and both camera batches must have the same length")
    if source.centre.shape[1] != target.centre.shape[1]:
        raise ValueError("source and target proxies must have the same parts")
    B, P, H, W = len(target), target.centre.shape[1], target_cams.height, target_cams.width
    if len(chunks := _slices(B, H * W)) > 1:
        depth = [None if source_depth is None else source_depth[s] for s in chunks]
        parts = [
            correspond(source.rows(s), target.rows(s), source_cams.rows(s), target_cams.rows(s), tolerance, d)
            for s, d in zip(chunks, depth, strict=True)
        ]
        return Correspondence(*(torch.cat([getattr(c, f.name) for c in parts]) for f in fields(Correspondence)))
    hits = _cast(target, target_cams)
    src = _in_camera(source, source_cams)
    # Only the target's body pixels need the source view: their flat indices into (B·H·W,), picked once.
    # (index_select rather than x[index]: several times faster on CPU.)
    on = torch.nonzero(hits.part.view(-1) >= 0).squeeze(1)  # (n,)
    body = torch.div(on, H * W, rounding_mode="floor")
    bk = body * P + hits.part.view(-1).index_select(0, on)  # (n,) flat (body, part) index
    local = hits.local.view(-1, 3).index_select(0, on)  # (n, 3)
    # Stretch along the bone when the two poses' segments differ in length (the identity if they are alike).
    tgt_h = target.half / target.radii[..., 1].clamp_min(1e-9)
    per_part = torch.cat([src.Minv.reshape(B, P, 9), src.centre, src.h[..., None] + 1.0, tgt_h[..., None] + 1.0], -1)
    f = per_part.view(B * P, -1).T.contiguous().index_select(1, bk)  # (14, n)
    m, c, src_len, tgt_len = f[:9], f[9:12], f[12], f[13]
    ly = local[:, 1] * src_len / tgt_len
    p_src = [m[3 * i] * local[:, 0] + m[3 * i + 1] * ly + m[3 * i + 2] * local[:, 2] + c[i] for i in range(3)]
    # The body's scale from the pelvis' ry (0.11 · scale), which a fitted silhouette never widens (the head's ry
    # grows with hair); without a pelvis, the largest ry of the parts that are on. A part that is off has radii of
    # 1 (metres): counted, it made the slack 18 cm on a photo without legs, and the input "saw" the back of its head.
    on_ry = torch.where(source.enabled, source.radii[..., 1], torch.zeros_like(source.radii[..., 1])).amax(1)
    ry = torch.where(source.enabled[:, PELVIS], source.radii[:, PELVIS, 1], on_ry)
    scale = ry / 0.11
    cam = torch.stack([source_cams.K[:, 0, 0], source_cams.K[:, 0, 2], source_cams.K[:, 1, 1], source_cams.K[:, 1, 2],
                       source_cams.ortho.float(), scale], 0).index_select(1, body)  # fmt: skip
    fx, cx, fy, cy, scale = cam[0], cam[1], cam[2], cam[3], cam[5]
    ortho = cam[4] > 0
    z = torch.where(ortho, torch.ones_like(p_src[2]), p_src[2].clamp_min(1e-9))
    xy = torch.stack([fx * p_src[0] / z + cx, fy * p_src[1] / z + cy], -1)  # (n, 2) source pixels
    # Visibility, as in shadow mapping: the source view's own depth map must not hold anything in front of
    # the point at the pixel it projects to.
    h, w = source_cams.height, source_cams.width
    if source_depth is None:
        source_depth = _cast(source, source_cams, surface=False).depth
    depth_map = source_depth.reshape(-1)  # (B·h·w,)
    inside = (xy[:, 0] >= -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] < h - 0.5)
    inside &= torch.isfinite(xy).all(-1)
    col = xy[:, 0].nan_to_num(0).round().clamp(0, w - 1).long()
    row = xy[:, 1].nan_to_num(0).round().clamp(0, h - 1).long()
    seen_depth = depth_map.index_select(0, body * (h * w) + row * w + col)
    seen = p_src[2] <= seen_depth + tolerance * scale
    in_front = ortho | (p_src[2] > 1e-6)
    visible = torch.zeros(B * H * W, dtype=torch.bool)
    visible.index_copy_(0, on, seen & inside & in_front)
    source_xy = torch.zeros(B * H * W, 2)
    source_xy.index_copy_(0, on, torch.where(torch.isfinite(xy), xy, torch.zeros_like(xy)))
    # The segment's half-length plus the end cap's radius is 1 + h in normalised units: along ∈ [−1, 1].
    surface = torch.zeros(B * H * W, 3)
    surface.index_copy_(0, on, torch.stack([local[:, 0], local[:, 1] / tgt_len, local[:, 2]], -1).clamp(-1.0, 1.0))
    return Correspondence(
        source_xy.view(B, H, W, 2),
        visible.view(B, H, W),
        hits.part.view(B, H, W),
        hits.depth.view(B, H, W),
        surface.view(B, H, W, 3),
        torch.isfinite(depth_map).view(B, h, w),
    )
