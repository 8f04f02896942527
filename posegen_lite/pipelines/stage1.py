"""Stage I of one synthesis call: the input pose in 3D (lifted once), its turns, and what the networks read.

``source_pose`` checks the keypoints and, for 2D ones, lifts them to 3D once; ``turn`` rotates that pose about
its body axis and projects it for one viewpoint; ``pose_inputs`` draws the target pose maps and body masks and
``proxy_warp`` the body proxy's maps, both before any network runs (``synthesizer.NovelViewSynthesizer``).
``InputMemo`` keeps what depends on the input alone (its 3D pose, fitted widths, its proxy and depth map, G1's
features of it, unseen-side paint) across calls.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from posegen_lite.geometry.camera import Camera, rotate_about_body_axis
from posegen_lite.geometry.fit import fit_radius_scale
from posegen_lite.geometry.lifting import orthographic_projection
from posegen_lite.geometry.outline import outline_coverage
from posegen_lite.geometry.posemaps import body_mask, pose_maps
from posegen_lite.geometry.proxy import build_proxy
from posegen_lite.geometry.ray_cameras import OrthoCamera, fit_orthographic
from posegen_lite.geometry.raycast import Primitives
from posegen_lite.geometry.shading import Light, shading_maps
from posegen_lite.geometry.skeleton import NUM_JOINTS, check_keypoints, hip_centre
from posegen_lite.geometry.warp import ProxyMaps, SourceView, source_maps, source_view
from posegen_lite.pipelines.checks import check_inside, check_metres, check_span

LIFTERS = ("mlp", "closed_form")


def lift_keypoints(keypoints: np.ndarray, visible: np.ndarray, lifter: str = "mlp") -> np.ndarray:
    """``(18, 3)`` camera-aligned joints (metres, y up) of 2D keypoints ``(18, 2)``: the MLP lifter when its
    weights are installed (``lifter="mlp"``), else the closed-form one (``geometry.lifting.lift_pose``)."""
    if lifter == "mlp":
        from posegen_lite.geometry.lifter import DEFAULT_WEIGHTS, lift_pose_mlp

        if DEFAULT_WEIGHTS.exists():
            return lift_pose_mlp(keypoints, visible)
    from posegen_lite.geometry.lifting import lift_pose

    return lift_pose(keypoints, visible)


@dataclass(frozen=True)
class SourcePose:
    """The input pose, checked, in 3D. 3D input: ``joints3d`` ``(18, 3)`` float32 metres in the world frame of
    ``camera``. 2D input: ``keypoints`` ``(18, 2)`` px and ``visible`` ``(18,)`` as given, ``joints3d`` the observed
    pose in 3D (x, y the pixels back-projected, depth the lifter's) seen by the scaled orthographic camera
    ``scale`` (px per metre), ``offset`` (px) fitted to the lifted joints."""

    joints3d: np.ndarray
    camera: Camera | None = None
    keypoints: np.ndarray | None = None
    visible: np.ndarray | None = None
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)

    def proxy_camera(self, height: int, width: int):
        """The camera the body proxy is seen by: ``camera``, or the fitted ``geometry.proxy.OrthoCamera``."""
        if self.camera is not None:
            return self.camera
        return OrthoCamera(self.scale, self.offset, width, height)


def observed_2d(
    keypoints: np.ndarray, visible: np.ndarray, size: tuple[int, int], lifted: np.ndarray | None, lifter: str
) -> SourcePose:
    """The observed 2D pose (checked ``keypoints`` ``(18, 2)``, ``visible`` ``(18,)``) in 3D: lifted once (or
    ``lifted``, metres, camera-aligned: only its depth is used) and placed by the fitted orthographic camera."""
    check_inside(keypoints, visible, *size)
    check_span(keypoints, visible)
    if lifted is None:
        lifted = lift_keypoints(keypoints, visible, lifter)
    else:
        lifted = np.asarray(lifted, np.float32)
        if lifted.shape != (NUM_JOINTS, 3):
            raise ValueError(f"lifted 3D joints must be ({NUM_JOINTS}, 3), got {lifted.shape}")
        check_metres(lifted)
    cam = fit_orthographic(lifted, keypoints, visible, size[1], size[0])  # raises with fewer than two lifted joints
    scale, offset = cam.scale, np.asarray(cam.offset, np.float32)
    x, y = (keypoints[:, 0] - offset[0]) / scale, -(keypoints[:, 1] - offset[1]) / scale
    observed = np.stack([x, y, lifted[:, 2]], axis=1)
    observed[~(visible & np.isfinite(lifted).all(axis=1))] = np.nan
    return SourcePose(
        observed.astype(np.float32), None, keypoints, visible, scale, (float(offset[0]), float(offset[1]))
    )


def source_pose(
    keypoints: np.ndarray,
    size: tuple[int, int],
    camera: Camera | None = None,
    visible: np.ndarray | None = None,
    lifted: np.ndarray | None = None,
    lifter: str = "mlp",
) -> SourcePose:
    """Check the input pose once and bring it to 3D once: ``(18, 3)`` joints in metres with the ``camera`` of
    an image of ``size`` ``(height, width)``, or ``(18, 2)`` pixels (+ ``visible``), lifted (``observed_2d``)."""
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.shape == (NUM_JOINTS, 3):
        if camera is None:
            raise ValueError("3D keypoints need the camera of the input image (camera=...)")
        if (camera.height, camera.width) != tuple(size):
            raise ValueError(f"camera sees {camera.height}×{camera.width} images, the model makes {size[0]}×{size[1]}")
        check_metres(np.asarray(kp, np.float64))
        return SourcePose(kp, camera)
    if kp.shape == (NUM_JOINTS, 2):
        return observed_2d(*check_keypoints(kp, visible), size, lifted, lifter)
    raise ValueError(f"keypoints must be (18, 3) 3D joints or (18, 2) pixels, got {kp.shape}")


def is_input_view(yaw: float, pitch: float) -> bool:
    """Whether a viewpoint change of ``yaw`` and ``pitch`` degrees leaves the input's own camera: a whole number
    of turns and no pitch. That view was observed; nothing in it is left to generate (docs/unseen-side.md)."""
    return yaw % 360.0 == 0.0 and pitch == 0.0


def turn(
    source: SourcePose, yaw: float, pitch: float, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The target pose of a checked ``yaw`` and ``pitch`` (degrees): ``(keypoints (18, 2) px, visible (18,),
    rotated joints (18, 3))``. 3D input turns about its body axis in the camera's world frame; 2D input about
    its hip centre, projected by the fitted orthographic camera (yaw 0, pitch 0: the input keypoints exactly)."""
    if source.camera is not None:  # 3D input
        rotated = rotate_about_body_axis(source.joints3d, yaw, pitch, source.camera)
        xy, vis = source.camera.project(rotated)
        return xy, vis, rotated
    assert source.keypoints is not None  # 2D input: observed_2d keeps the keypoints
    pivot = hip_centre(source.joints3d)
    rotated = rotate_about_body_axis(source.joints3d - pivot, yaw, pitch) + pivot
    xy, ok = orthographic_projection(rotated, source.scale, source.offset)
    if is_input_view(yaw, pitch):  # no viewpoint change: the input pose itself, bit for bit
        xy = np.where(ok[:, None], source.keypoints, np.nan).astype(np.float32)
    height, width = size
    inside = ok & (xy[:, 0] >= -0.5) & (xy[:, 0] < width - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] < height - 0.5)
    xy[~inside] = np.nan
    return xy, inside, rotated


def pose_inputs(
    keypoints: list[np.ndarray], visible: list[np.ndarray], size: tuple[int, int], kind: str = "disc"
) -> tuple[np.ndarray, np.ndarray]:
    """G1's pose maps ``(N, 18, H, W)`` float32 in [-1, 1] and G2's body masks ``(N, 1, H, W)`` in {0, 1} of
    ``N`` target poses (keypoints ``(18, 2)`` px, visible ``(18,)``) in an image of ``size`` ``(H, W)``."""
    pairs = list(zip(keypoints, visible, strict=True))
    maps = np.stack([pose_maps(k, v, *size, kind=kind) for k, v in pairs])
    masks = np.stack([body_mask(k, v, *size) for k, v in pairs])
    return maps, masks


def fit_widths(source: SourcePose, size: tuple[int, int], silhouette: np.ndarray) -> np.ndarray:
    """``(P,)`` widths of the body proxy's parts fitted to the person's ``silhouette`` ``(H, W)`` bool in the
    input (``geometry.fit.fit_radius_scale``), so coats, hair and loose trousers are carried and kept."""
    return fit_radius_scale(source.joints3d, source.proxy_camera(*size), silhouette)


def seen_source(source: SourcePose, size: tuple[int, int], widths: np.ndarray | None = None) -> SourceView:
    """The input's body proxy and depth map as its camera sees it in images of ``size`` (``geometry.warp.SourceView``;
    parts widened by ``widths``): what every view's ``proxy_warp`` reads of the input, built once per input."""
    return source_view(source.joints3d, source.proxy_camera(*size), widths)


def target_proxy(targets: list[np.ndarray], widths: np.ndarray | None = None) -> Primitives:
    """The body proxies of the rotated 3D poses ``targets`` (parts widened by ``widths``), built once for the maps,
    the outline and the shading of the same views."""
    with torch.no_grad():
        return build_proxy(np.asarray(np.stack(targets), np.float64), widths)


def proxy_warp(
    source: SourcePose,
    targets: list[np.ndarray],
    size: tuple[int, int],
    widths: np.ndarray | None = None,
    seen: SourceView | None = None,
    proxy: Primitives | None = None,
) -> ProxyMaps:
    """The body proxy's maps (``geometry.warp.ProxyMaps``) from the ``source`` pose to each rotated 3D pose of
    ``targets`` (``(18, 3)`` in the source's frame), all seen by the source's camera, in images of ``size``;
    the parts widened by ``widths`` (``fit_widths``; default: the renderer's body). ``seen`` (``seen_source``) and
    ``proxy`` (``target_proxy``): that work when already done, for the same pose and widths."""
    camera = source.proxy_camera(*size)
    return source_maps(source.joints3d, camera, targets, radius_scale=widths, seen=seen, target_proxy=proxy)


def outline(
    source: SourcePose,
    targets: list[np.ndarray],
    size: tuple[int, int],
    widths: np.ndarray | None = None,
    proxy: Primitives | None = None,
) -> torch.Tensor:
    """``(N, 1, H, W)``: how much of each pixel the body proxy of each rotated pose of ``targets`` covers, seen as
    ``proxy_warp`` sees it (``geometry.outline.outline_coverage``): where the outline is antialiased."""
    cameras = [source.proxy_camera(*size)] * len(targets)
    return outline_coverage(np.stack(targets), cameras, radius_scale=widths, proxy=proxy)


def shading(
    source: SourcePose,
    targets: list[np.ndarray],
    size: tuple[int, int],
    light: Light,
    widths: np.ndarray | None = None,
    warp: ProxyMaps | None = None,
    proxy: Primitives | None = None,
) -> torch.Tensor:
    """``(N, H, W)``: how ``light``, fixed to the camera, shades the body proxy of each rotated pose of ``targets``,
    seen as ``proxy_warp`` sees it (``geometry.shading.shading_maps``; 1 off the body); from ``warp``'s parts and
    surface when given (``proxy_warp``'s maps of these targets: no second ray cast; ``proxy``: ``target_proxy``)."""
    camera = source.proxy_camera(*size)
    seen = None if warp is None else (warp.parts.cpu(), warp.surface[:, 2:].permute(0, 2, 3, 1).cpu())
    cams = [camera] * len(targets)
    return shading_maps(np.stack(targets), cams, light, radius_scale=widths, seen=seen, proxy=proxy)


def input_key(*parts: Any) -> bytes:
    """A digest of one call's input: arrays (and anything array-like) by dtype, shape and bytes, cameras by their
    matrices, ``None``, strings and numbers by their ``repr``. Equal inputs give equal keys whatever their identity."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, Camera):
            part = (part.K, part.R, part.t, part.width, part.height, part.dist)
        items = part if isinstance(part, tuple) else (part,)
        for item in items:
            if not isinstance(item, (np.ndarray, str, int, float, type(None))):
                item = np.asarray(item)  # a list, a tensor, a PIL image: by its values, never by its repr
            if isinstance(item, np.ndarray):
                arr = np.ascontiguousarray(item)
                digest.update(f"{arr.dtype}{arr.shape}".encode())
                digest.update(arr.tobytes())
            else:
                digest.update(repr(item).encode())
        digest.update(b"|")
    return digest.digest()


KINDS = 6  # kinds of value an input may keep (source, widths, source view, features, lit texture, unseen paint)


class InputMemo:
    """The work that depends on the input alone, kept for the last ``size`` inputs: its pose in 3D (2D keypoints
    lifted: ~15 ms), the body proxy's widths fitted to its silhouette (~15 ms), its proxy and depth map as its camera
    sees it (``seen_source``, ~4 ms), G1's features of it (~4 ms), what paints its unseen side (its part colours,
    ~8 ms at 128×64, its completed texture, or its re-lit texture and shade for the blend, ~25 ms). A slider's next
    view of the same input redoes none of it. Keyed by ``input_key`` of everything the work reads; safe to share
    between threads (the widget's turntable)."""

    def __init__(self, size: int = 8) -> None:
        if size < 0:
            raise ValueError(f"size must be ≥ 0, got {size}")
        self.size = size
        self._items: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, what: str, key: bytes, compute: Callable[[], Any]) -> Any:
        """``compute()``'s value for ``(what, key)``, computed on the first call and kept (errors are not kept)."""
        with self._lock:
            if (what, key) in self._items:
                self._items.move_to_end((what, key))
                return self._items[(what, key)]
        value = compute()
        with self._lock:
            self._items[(what, key)] = value
            while len(self._items) > self.size * KINDS:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
