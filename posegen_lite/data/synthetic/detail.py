"""Per-pixel ground truth the synthetic world knows and photos do not: exact parts, where the shirt print is,
and which way the chest faces — plus the proxy correspondence of a pair. Feeds the optional sample keys of
``SyntheticPairs(extras=True)`` (``data/sample.py`` lists them) and the detail metrics.

Everything is computed from the pair's plan (person, posed body, cameras; ``pairs.plan_pair``) — no image is
rendered — by ray-casting the renderer's exact primitives with the proxy caster (``geometry/proxy.py``), so
the on-the-fly and the cached dataset give the same values. Parts are sampled at pixel centres.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posegen_lite.data.synthetic.body import PART, Person, PosedBody
from posegen_lite.data.synthetic.render import _PRINT_HALF_WIDTH, _PRINT_ROWS, _PRINT_TOP
from posegen_lite.geometry.camera import Camera, camera_vector
from posegen_lite.geometry.outline import outline_coverage
from posegen_lite.geometry.proxy import cast_view, primitives_from_arrays, ray_cameras
from posegen_lite.geometry.warp import proxy_maps

FRONT_COS = 0.5  # the chest "shows its front" within 60° of facing the camera, "its back" beyond 120°


def chest_facing(body: PosedBody, camera: Camera) -> float:
    """Cosine of the angle between the chest's front normal and the direction to the camera (1 = facing it)."""
    k = PART["chest"]
    to_cam = camera.center - body.centre[k]
    return float(body.rot[k][:, 2] @ to_cam / max(np.linalg.norm(to_cam), 1e-9))


def exact_maps(
    people: Sequence[Person], bodies: Sequence[PosedBody], cameras: Sequence[Camera]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact part ids ``(B, H, W)`` int64 (``body.PART_NAMES``, −1 = background) and the visible shirt-print
    patch ``(B, 1, H, W)`` float32 in {0, 1} (the renderer's patch rectangle on the chest's front)."""
    prims = primitives_from_arrays(
        np.stack([b.centre for b in bodies]),
        np.stack([b.rot for b in bodies]),
        np.stack([b.radii for b in bodies]),
        np.stack([b.half for b in bodies]),
        np.stack([b.enabled for b in bodies]),
    )
    cams = ray_cameras(cameras)
    hits = cast_view(prims, cams)
    B, H, W = len(bodies), cams.height, cams.width
    k = PART["chest"]
    lx, ly, lz = hits.local.unbind(-1)  # (B, N) normalised chest frame where the chest is hit
    hg = torch.tensor([b.half[k] / b.radii[k][1] for b in bodies], dtype=torch.float32)[:, None]
    f = (ly + hg + 1.0) / (2.0 * hg + 2.0)  # 0 at the bottom of the chest, 1 at the top (as the renderer)
    # The renderer's patch: u in [−0.9, 0.9), rows of square texels down from _PRINT_TOP.
    cols = torch.tensor([p.print_bitmap().shape[1] + 2 for p in people], dtype=torch.float32)[:, None]
    rx = torch.tensor([b.radii[k][0] for b in bodies], dtype=torch.float32)[:, None]
    chest_len = torch.tensor([2 * b.half[k] + 2 * b.radii[k][1] for b in bodies], dtype=torch.float32)[:, None]
    texel_v = (2 * _PRINT_HALF_WIDTH / cols) * rx / chest_len
    on = (hits.part == k) & (lz > 0) & (lx >= -_PRINT_HALF_WIDTH) & (lx < _PRINT_HALF_WIDTH)
    on &= (f <= _PRINT_TOP) & (f > _PRINT_TOP - _PRINT_ROWS * texel_v)
    return hits.part.view(B, H, W), on.view(B, 1, H, W).float()


def print_colours(person: Person) -> np.ndarray:
    """The colours that make the print stand out ``(2, 3)`` float32 in [0, 1]: the ink, and the patch when it
    differs from the shirt (else NaN) — what a "print leak" onto the back would look like."""
    patch = person.patch if np.abs(person.patch - person.shirt).sum() > 0.15 else np.full(3, np.nan)
    return np.stack([person.ink, patch]).astype(np.float32)


def pair_extras(plans: Sequence) -> list[dict]:
    """The optional sample keys for pair plans (``pairs.PairPlan``), one dict per plan:

    ``flow (2, H, W)``, ``visibility (1, H, W)``, ``proxy_parts_b (H, W)``, ``proxy_surface_b (5, H, W)``,
    ``proxy_silhouette_a (1, H, W)`` from the body proxy of the joints (what real data gets too), and
    ``proxy_coverage_b (1, H, W)``, the share of each pixel the target's proxy covers (``geometry.outline``);
    ``parts_b (H, W)``, ``print_b (1, H, W)``, ``facing_a``/``facing_b`` (float, ``chest_facing``),
    ``print_colours (2, 3)`` from the exact synthetic body; ``cameras (2, CAMERA_VECTOR)`` float64, the two views'
    cameras (``camera.camera_vector``), for what needs more of the views than the maps hold (the re-lit texture).
    """
    if not plans:
        return []
    joints = np.stack([p.body.joints3d for p in plans])
    proxy = proxy_maps(joints, joints, [p.cameras[0] for p in plans], [p.cameras[1] for p in plans])
    coverage = outline_coverage(joints, [p.cameras[1] for p in plans])
    parts, prints = exact_maps([p.person for p in plans], [p.body for p in plans], [p.cameras[1] for p in plans])
    return [
        {
            "flow": proxy.flow[i],
            "visibility": proxy.visibility[i],
            "proxy_parts_b": proxy.parts[i],
            "proxy_surface_b": proxy.surface[i],
            "proxy_silhouette_a": proxy.source_silhouette[i],
            "proxy_coverage_b": coverage[i],
            "parts_b": parts[i],
            "print_b": prints[i],
            "facing_a": chest_facing(p.body, p.cameras[0]),
            "facing_b": chest_facing(p.body, p.cameras[1]),
            "print_colours": torch.from_numpy(print_colours(p.person)),
            "cameras": torch.from_numpy(np.stack([camera_vector(c) for c in p.cameras])),
        }
        for i, p in enumerate(plans)
    ]
