"""The end-to-end object: one image of a person + their keypoints + a viewpoint change → the novel view.

    synth = NovelViewSynthesizer.from_checkpoint()  # the shipped demo weights (or a checkpoint / run dir)
    result = synth.synthesize(image, joints3d, camera=camera, yaw=90)      # 3D keypoints + their camera
    result = synth.synthesize(image, keypoints2d, visible=visible, yaw=90)  # 2D keypoints: lifted first
    result = synth.synthesize_photo(photo, yaw=90)                          # any photo: MediaPipe pose, crop
    result.image                                                            # (H, W, 3) uint8

What bad input gets (each a ``ValueError`` with a message that names the problem, never an empty pose):

* a yaw or pitch that is not a finite number (NaN, inf, the string ``"90"``), a pitch beyond ±90°, an empty
  list of yaws;
* 3D joints whose span is not a person's in metres (e.g. millimetres), 2D keypoints outside the image;
* a target pose with fewer than ``min_joints`` joints inside the image (joints behind or far off the camera,
  a wrong camera): ``TooFewJointsError`` says how many were left; ``min_joints=0`` allows it.

Stage I (rotate the 3D pose about the body axis, project, pose maps) runs in numpy; Stage II and III are one
batched forward pass of G1 and (if present) G2. ``synthesize_many`` does several viewpoints in one batch —
what the turntable and the widget use.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from posegen_lite.device import pick_device
from posegen_lite.geometry.camera import Camera, rotate_about_body_axis
from posegen_lite.geometry.lifting import orthographic_projection
from posegen_lite.geometry.photo import NoPersonFoundError, PoseEstimator
from posegen_lite.geometry.posemaps import body_mask, pose_maps
from posegen_lite.geometry.skeleton import NUM_JOINTS, check_keypoints, hip_centre
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.images import ensure_rgb, resize_image, to_tensor, to_uint8
from posegen_lite.resources import demo_weights

DEMO_WEIGHTS = demo_weights()
MAX_PITCH = 90.0  # degrees: beyond it the body would be seen upside down, which nothing was trained on
MIN_JOINTS = 4  # fewer target joints in the image than this give a pose map with next to no person in it
BODY_SPAN_M = (0.05, 3.0)  # the extent of a person's 3D joints, metres: outside it they are not metres


class TooFewJointsError(ValueError):
    """The target pose has too few joints inside the image to draw a person (it would give a ghost image)."""


def _angle(value: object, name: str) -> float:
    """A finite angle in degrees; strings, bools, NaN and inf are refused with a clear message."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number of degrees, got {value!r} ({type(value).__name__})")
    angle = float(value)
    if not math.isfinite(angle):
        raise ValueError(f"{name} must be a finite number of degrees, got {angle}")
    return angle


def _pitch(value: object) -> float:
    pitch = _angle(value, "pitch")
    if abs(pitch) > MAX_PITCH:
        raise ValueError(f"pitch must be within ±{MAX_PITCH:g}° (positive shows the body from above), got {pitch:g}")
    return pitch


def _yaws(yaws: Sequence[float]) -> list[float]:
    if isinstance(yaws, (str, bytes)) or np.ndim(yaws) != 1:
        raise ValueError(f"yaws must be a list of angles in degrees (synthesize(yaw=...) for one), got {yaws!r}")
    if len(yaws) == 0:
        raise ValueError("yaws is empty: give at least one angle in degrees")
    return [_angle(y, "yaw") for y in yaws]


def _check_metres(joints3d: np.ndarray) -> None:
    """Refuse 3D joints whose span cannot be a person's in metres (millimetres or centimetres, typically)."""
    finite = joints3d[np.isfinite(joints3d).all(axis=1)]
    if len(finite) < 2:
        raise ValueError(f"need at least two finite 3D joints, got {len(finite)}")
    span = float((finite.max(axis=0) - finite.min(axis=0)).max())
    low, high = BODY_SPAN_M
    if not low <= span <= high:
        raise ValueError(
            f"the 3D joints span {span:g} units, a person spans about 0.3–2 m: 3D joints must be metres "
            f"(within {low:g}–{high:g} m; millimetres or centimetres must be converted)"
        )


def _check_inside(keypoints: np.ndarray, visible: np.ndarray, height: int, width: int) -> None:
    """Refuse visible 2D keypoints outside the image (pixel centres at integers: ``[-0.5, W - 0.5)``)."""
    x, y = keypoints[:, 0], keypoints[:, 1]
    outside = visible & ~((x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5))
    if outside.any():
        j = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{int(outside.sum())} of {int(visible.sum())} visible 2D keypoints lie outside the {width}×{height} "
            f"image (joint {j} at x={x[j]:g}, y={y[j]:g}); keypoints must be pixels of the image given "
            "(resize them with it, or use synthesize_photo, which crops and scales both)"
        )


@dataclass
class SynthesisResult:
    """One novel view. Images are ``(H, W, 3)`` uint8; ``refined`` is None without G2."""

    image: np.ndarray  # the final answer: refined if G2 exists, else coarse
    coarse: np.ndarray  # G1's output Î_B1
    refined: np.ndarray | None  # G1 + G2's output Î_B2
    keypoints: np.ndarray  # (18, 2) target keypoints (x, y) px, NaN where not visible
    visible: np.ndarray  # (18,) bool
    joints3d: np.ndarray  # (18, 3) the rotated 3D pose (metres, y up; camera-aligned for 2D input)
    pose_maps: np.ndarray  # (18, H, W) float32 in [-1, 1]
    mask: np.ndarray  # (1, H, W) float32 in {0, 1}
    yaw: float
    pitch: float
    input_image: np.ndarray | None = None  # synthesize_photo: the crop of the photo the networks saw


def _fit_orthographic(joints3d: np.ndarray, xy: np.ndarray, visible: np.ndarray) -> tuple[float, np.ndarray]:
    """Least-squares scale and offset of ``lifting.orthographic_projection`` that map the lifted joints back
    onto the observed 2D keypoints — so the rotated pose lands where the person is in the image."""
    ok = visible & np.isfinite(joints3d).all(axis=1) & np.isfinite(xy).all(axis=1)
    if ok.sum() < 2:
        raise ValueError("need at least two visible, lifted joints to place the pose in the image")
    P = np.stack([joints3d[ok, 0], -joints3d[ok, 1]], axis=1)  # orthographic image directions (y down)
    Pc, xc = P - P.mean(0), xy[ok] - xy[ok].mean(0)
    scale = float((Pc * xc).sum() / max((Pc**2).sum(), 1e-12))
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError("could not fit the lifted pose to the keypoints (degenerate pose)")
    return scale, xy[ok].mean(0) - scale * P.mean(0)


class ProxyWarp(NamedTuple):
    """What Stage I's body proxy gives Stages II and III for ``N`` target views (``geometry/warp.py``):
    ``flow (N, 2, H, W)`` px, ``visibility (N, 1, H, W)``, the target ``silhouette (N, 1, H, W)`` in {0, 1},
    the ``surface (N, 5, H, W)`` map (``warp.surface_map``) and the input's ``source_silhouette (N, 1, H, W)``."""

    flow: torch.Tensor
    visibility: torch.Tensor
    silhouette: torch.Tensor
    surface: torch.Tensor
    source_silhouette: torch.Tensor

    @classmethod
    def of(cls, maps) -> ProxyWarp:
        """From ``geometry.warp.ProxyMaps``."""
        from posegen_lite.geometry.warp import proxy_silhouette

        return cls(maps.flow, maps.visibility, proxy_silhouette(maps.parts), maps.surface, maps.source_silhouette)


class NovelViewSynthesizer:
    """G1 (+ G2) and Stage I geometry behind one call. Images must be the networks' size ``(H, W)``."""

    def __init__(
        self,
        g1: torch.nn.Module,
        g2: torch.nn.Module | None = None,
        device: str | torch.device = "auto",
        pose_kind: str = "disc",
        lifter: str = "mlp",
        min_joints: int = MIN_JOINTS,
        fill_uncovered: bool = True,
        outline_ring: int = OUTLINE_RING,
    ) -> None:
        self.device = pick_device(device) if isinstance(device, str) else device
        self.g1 = g1.to(self.device).eval()
        self.g2 = None if g2 is None else g2.to(self.device).eval()
        self.height, self.width = g1.config.height, g1.config.width
        self.pose_kind = pose_kind
        if lifter not in ("mlp", "closed_form"):
            raise ValueError(f"lifter must be 'mlp' or 'closed_form', got {lifter!r}")
        self.lifter = lifter
        if min_joints < 0:
            raise ValueError(f"min_joints must be ≥ 0, got {min_joints}")
        self.min_joints = min_joints  # a target pose with fewer joints in the image raises TooFewJointsError
        # Background the input's body covered and the target shows (warp.uncovered_background) is filled from the
        # background around it rather than taken from the networks, which paint faint copies of the input's limbs
        # there. Only where Stage I builds the body proxy anyway (``needs_proxy``). With it, the background within
        # ``outline_ring`` pixels of the target's proxy silhouette is refilled too: the networks' halo round the
        # body (warp.fill_uncovered; 0 turns that part off).
        self.fill_uncovered = fill_uncovered
        if outline_ring < 0:
            raise ValueError(f"outline_ring must be ≥ 0, got {outline_ring}")
        self.outline_ring = outline_ring

    @classmethod
    def from_checkpoint(
        cls, path: str | Path = DEMO_WEIGHTS, device: str | torch.device = "auto", **kw
    ) -> NovelViewSynthesizer:
        """Load G1 (and G2 if the checkpoint is from Stage III) from a checkpoint file or run dir."""
        from posegen_lite.models.weights import load_models

        dev = pick_device(device) if isinstance(device, str) else device
        models = load_models(path, device=dev)
        return cls(models["g1"], models.get("g2"), device=dev, **kw)

    # --- Stage I ------------------------------------------------------------------------------------------
    def target_pose(
        self, joints3d: np.ndarray, camera: Camera, yaw: float, pitch: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rotate a 3D pose (world frame of ``camera``) about its body axis and project it:
        ``(keypoints (18, 2), visible (18,), rotated joints (18, 3))``."""
        if (camera.height, camera.width) != (self.height, self.width):
            raise ValueError(
                f"camera sees {camera.height}×{camera.width} images, the model makes {self.height}×{self.width}"
            )
        _check_metres(np.asarray(joints3d, np.float64))
        rotated = rotate_about_body_axis(joints3d, _angle(yaw, "yaw"), _pitch(pitch), camera)
        xy, vis = camera.project(rotated)
        return xy, vis, rotated

    def _lift(self, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        if self.lifter == "mlp":
            from posegen_lite.geometry.lifter import DEFAULT_WEIGHTS, lift_pose_mlp

            if DEFAULT_WEIGHTS.exists():
                return lift_pose_mlp(keypoints, visible)
        from posegen_lite.geometry.lifting import lift_pose

        return lift_pose(keypoints, visible)

    def _observed_3d(
        self, kp: np.ndarray, vis: np.ndarray, lifted: np.ndarray | None
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """The observed 2D pose in 3D: ``(joints (18, 3), scale, offset)`` of the scaled orthographic camera fitted
        to the lifted joints; x, y are the pixels back-projected, only the depth is the lifter's (or ``lifted``)."""
        _check_inside(kp, vis, self.height, self.width)
        if lifted is None:
            lifted = self._lift(kp, vis)
        else:
            lifted = np.asarray(lifted, np.float32)
            if lifted.shape != (NUM_JOINTS, 3):
                raise ValueError(f"lifted 3D joints must be ({NUM_JOINTS}, 3), got {lifted.shape}")
            _check_metres(lifted)
        scale, offset = _fit_orthographic(lifted, kp, vis)  # raises if fewer than two joints were lifted
        observed = np.stack([(kp[:, 0] - offset[0]) / scale, -(kp[:, 1] - offset[1]) / scale, lifted[:, 2]], axis=1)
        observed[~(vis & np.isfinite(lifted).all(axis=1))] = np.nan
        return observed.astype(np.float32), scale, offset

    def target_pose_2d(
        self,
        keypoints: np.ndarray,
        visible: np.ndarray | None,
        yaw: float,
        pitch: float = 0.0,
        lifted: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same for 2D keypoints: lift to 3D (camera-aligned), rotate about the hip axis, and project
        with the scaled orthographic camera fitted to the input keypoints.

        ``lifted``: the keypoints' 3D joints if known (metres, y up, camera-aligned, e.g. MediaPipe's);
        default: the lifter's. Only their depth is used: x and y are the observed keypoints, so a zero
        viewpoint change gives back the input keypoints exactly (a lifter's x, y are off by a few pixels).
        """
        yaw, pitch = _angle(yaw, "yaw"), _pitch(pitch)
        kp, vis = check_keypoints(keypoints, visible)
        observed, scale, offset = self._observed_3d(kp, vis, lifted)
        pivot = hip_centre(observed)
        rotated = rotate_about_body_axis(observed - pivot, yaw, pitch) + pivot
        xy, ok = orthographic_projection(rotated, scale, tuple(offset))
        if yaw % 360.0 == 0.0 and pitch == 0.0:  # no viewpoint change: the input pose itself, bit for bit
            xy = np.where(ok[:, None], kp, np.nan).astype(np.float32)
        inside = (
            ok
            & (xy[:, 0] >= -0.5)
            & (xy[:, 0] < self.width - 0.5)
            & (xy[:, 1] >= -0.5)
            & (xy[:, 1] < self.height - 0.5)
        )
        xy[~inside] = np.nan
        return xy, inside, rotated

    # --- Stage II + III -----------------------------------------------------------------------------------
    def _image_tensor(self, image: np.ndarray) -> torch.Tensor:
        img = ensure_rgb(image, convert=True)
        if img.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"image is {img.shape[0]}×{img.shape[1]}, the model expects {self.height}×{self.width}"
                " (resize it and its keypoints first, e.g. images.resize_image)"
            )
        return to_tensor(img)

    @property
    def warps(self) -> bool:
        """Whether G1 warps the input with the 3D body proxy (``G1Config.warp``): then it needs 3D poses."""
        return getattr(self.g1.config, "warp", "none") != "none"

    @property
    def needs_proxy(self) -> bool:
        """Whether Stage I must build the body proxy (``proxy_flow``): G1 warps with it, or G2 keeps its edits
        inside its silhouette (``G2Config.silhouette_difference``), reads the warped input (``warped_input``) or
        edits only what the input saw (``visible_difference``), or G1's latent works in its texture space."""
        g2_needs = self.g2 is not None and self.g2.config.uses_proxy
        return self.warps or g2_needs or getattr(self.g1.config, "latent_surface", False)

    def proxy_flow(
        self,
        keypoints: np.ndarray,
        targets: Sequence[np.ndarray],
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
    ) -> ProxyWarp:
        """The body proxy's maps (``ProxyWarp``: flow, visibility, target and input silhouettes, surface) from the input
        pose to each of the rotated 3D poses ``targets`` (``SynthesisResult.joints3d``): 3D keypoints with their
        ``camera``, or 2D keypoints, lifted and seen by the fitted scaled orthographic camera
        (``geometry/warp.py``)."""
        from posegen_lite.geometry.proxy import OrthoCamera
        from posegen_lite.geometry.warp import proxy_maps

        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.shape == (NUM_JOINTS, 3):
            source, cam = kp, camera
        else:
            kp2, vis = check_keypoints(kp, visible)
            source, scale, offset = self._observed_3d(kp2, vis, lifted)  # the frame target_pose_2d rotates in
            cam = OrthoCamera(scale, (float(offset[0]), float(offset[1])), self.width, self.height)
        n = len(targets)
        return ProxyWarp.of(proxy_maps(np.stack([source] * n), np.stack(targets), [cam] * n, [cam] * n))

    @torch.no_grad()
    def generate(
        self,
        image: np.ndarray,
        keypoints: Sequence[np.ndarray],
        visible: Sequence[np.ndarray],
        warp: ProxyWarp | tuple[torch.Tensor, ...] | None = None,
        noise: torch.Tensor | None = None,
        outline_ring: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Pose-guided generation for target poses given as 2D keypoints (one batch):
        ``(coarse (N, H, W, 3) uint8, refined or None, pose maps (N, 18, H, W), masks (N, 1, H, W))``.
        ``warp``: ``ProxyWarp`` (``proxy_flow``) when ``needs_proxy`` (a tuple of its first fields is enough
        for a model that needs no more: ``(flow, visibility)`` for a G1 that only warps); ``noise``: latent draws
        ``G1.latent_shape(N)`` for a conditional-VAE G1 (``latent_noise``; ``None``: the prior's mean).
        With a full ``ProxyWarp`` and ``fill_uncovered``, the background the input's body covered, and the
        background within ``outline_ring`` pixels of the target's proxy silhouette, are filled from the background
        around them in both outputs (``warp.fill_uncovered``); ``outline_ring`` here overrides the synthesizer's for
        this call (the crowd path mattes each person itself and passes 0)."""
        a = self._image_tensor(image)
        maps = np.stack(
            [
                pose_maps(k, v, self.height, self.width, kind=self.pose_kind)
                for k, v in zip(keypoints, visible, strict=True)
            ]
        )
        masks = np.stack([body_mask(k, v, self.height, self.width) for k, v in zip(keypoints, visible, strict=True)])
        image_a = a.unsqueeze(0).expand(len(maps), -1, -1, -1).to(self.device)
        pose_b = torch.from_numpy(maps).to(self.device)
        extras = {}
        if self.warps:
            if warp is None:
                raise ValueError("this G1 warps the input with the 3D body proxy: pass warp=(flow, visibility)")
            extras = {"flow": warp[0].to(self.device), "visibility": warp[1].to(self.device)}
        g2_extras = self.g2_inputs(warp)
        if getattr(self.g1.config, "latent_surface", False):
            if warp is None or len(warp) < 4:
                raise ValueError("this G1's latent works in the body proxy's texture space: pass warp=proxy_flow(...)")
            extras["surface"] = warp[3].to(self.device)
        if noise is not None:
            extras["noise"] = noise.to(self.device)
        uncovered = self._uncovered(warp)
        ring = self.outline_ring if outline_ring is None else outline_ring
        if ring < 0:
            raise ValueError(f"outline_ring must be ≥ 0, got {ring}")
        coarse = self._fill(self.g1(image_a, pose_b, **extras).float(), uncovered, ring)
        mask_b = torch.from_numpy(masks).to(self.device)
        refined = None
        if self.g2 is not None:
            refined = self._fill(self.g2(image_a, coarse, mask_b, **g2_extras).float(), uncovered, ring)
        return to_uint8(coarse), None if refined is None else to_uint8(refined), maps, masks

    def g2_inputs(self, warp: ProxyWarp | tuple[torch.Tensor, ...] | None) -> dict[str, torch.Tensor]:
        """``G2.forward``'s body-proxy inputs from Stage I's ``warp`` (``proxy_flow``; a tuple of its first
        fields is enough): the silhouette, flow and visibility that ``models.g2.PROXY_INPUTS`` says this G2's
        options read; nothing for PG2's G2."""
        from posegen_lite.models.g2 import proxy_inputs

        if self.g2 is None:
            return {}
        available = dict(zip(ProxyWarp._fields[:3], warp or (), strict=False))  # flow, visibility, silhouette
        return proxy_inputs(self.g2.config, available, "pass warp=proxy_flow(...) (flow, visibility, silhouette)",
                            self.device)  # fmt: skip

    def _uncovered(self, warp) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(source, target silhouette) of a full ``ProxyWarp`` when ``fill_uncovered``, else None."""
        if not self.fill_uncovered or warp is None or len(warp) < 5:
            return None
        return warp[4].to(self.device), warp[2].to(self.device)

    @staticmethod
    def _fill(images: torch.Tensor, silhouettes: tuple[torch.Tensor, torch.Tensor] | None, ring: int) -> torch.Tensor:
        """``images`` with the background the input covered, and the ``ring`` round the body, filled from the
        background around them."""
        if silhouettes is None:
            return images
        from posegen_lite.geometry.warp import fill_uncovered

        return fill_uncovered(images, *silhouettes, ring=ring)

    def synthesize_many(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        yaws: Sequence[float],
        pitch: float = 0.0,
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
        min_joints: int | None = None,
        noise: torch.Tensor | None = None,
    ) -> list[SynthesisResult]:
        """Novel views of the person in ``image`` for each of ``yaws`` (degrees, body rotation; camera.py).

        ``keypoints``: ``(18, 3)`` 3D joints in metres in the world frame of ``camera`` (required then), or
        ``(18, 2)`` 2D keypoints in pixels of ``image`` (+ ``visible``), lifted to 3D first (or given their 3D
        joints as ``lifted``). ``pitch`` within ±90°. Raises ``TooFewJointsError`` when a target pose has
        fewer than ``min_joints`` (default: the synthesizer's, 4) joints inside the image. ``noise``: one latent
        draw per yaw for a conditional-VAE G1 (``latent_noise``; default: the prior's mean).
        """
        yaws, pitch = _yaws(yaws), _pitch(pitch)
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.shape == (NUM_JOINTS, 3):
            if camera is None:
                raise ValueError("3D keypoints need the camera of the input image (camera=...)")
            poses = [self.target_pose(kp, camera, y, pitch) for y in yaws]
        elif kp.shape == (NUM_JOINTS, 2):
            poses = [self.target_pose_2d(kp, visible, y, pitch, lifted) for y in yaws]
        else:
            raise ValueError(f"keypoints must be (18, 3) 3D joints or (18, 2) pixels, got {kp.shape}")
        need = self.min_joints if min_joints is None else min_joints
        for y, (_, vis, _) in zip(yaws, poses, strict=True):
            if vis.sum() < need:
                raise TooFewJointsError(
                    f"only {int(vis.sum())} of {NUM_JOINTS} target joints land inside the {self.width}×{self.height} "
                    f"image at yaw {y:g}°, pitch {pitch:g}° (at least {need} needed): the novel view would show no "
                    "person. Are the 3D joints metres in the camera's world frame, in front of it? "
                    "(min_joints=0 allows it)"
                )
        warp = self.proxy_flow(kp, [p[2] for p in poses], camera, visible, lifted) if self.needs_proxy else None
        coarse, refined, maps, masks = self.generate(image, [p[0] for p in poses], [p[1] for p in poses], warp, noise)
        out = []
        for i, (xy, vis, rotated) in enumerate(poses):
            ref = None if refined is None else refined[i]
            out.append(
                SynthesisResult(
                    image=coarse[i] if ref is None else ref,
                    coarse=coarse[i],
                    refined=ref,
                    keypoints=xy,
                    visible=vis,
                    joints3d=rotated,
                    pose_maps=maps[i],
                    mask=masks[i],
                    yaw=yaws[i],
                    pitch=pitch,
                )
            )
        return out

    def synthesize(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        yaw: float = 0.0,
        pitch: float = 0.0,
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
        min_joints: int | None = None,
        samples: int | None = None,
        seed: int = 0,
        temperature: float = 1.0,
    ) -> SynthesisResult | list[SynthesisResult]:
        """One novel view; see ``synthesize_many``.

        ``samples=k`` (a G1 trained as a conditional VAE, ``posegen train --cvae``): a list of ``k`` views
        whose unseen parts are drawn from the learned prior, reproducible for ``seed``; ``temperature``
        scales the prior's spread (0: every sample is the prior's mean). ``samples=None``: one view, the
        prior's mean — the deterministic answer.
        """
        yaws = [_angle(yaw, "yaw")]  # checked here too: a yaw of "90" must not become the list ["9", "0"]
        if samples is None:
            return self.synthesize_many(image, keypoints, yaws, pitch, camera, visible, lifted, min_joints)[0]
        noise = self.latent_noise(samples, seed, temperature)
        return self.synthesize_many(image, keypoints, yaws * samples, pitch, camera, visible, lifted, min_joints, noise)

    @property
    def samples(self) -> bool:
        """Whether G1 can draw several answers (a conditional VAE, ``G1Config.latent_channels > 0``)."""
        return getattr(self.g1.config, "latent_channels", 0) > 0

    def latent_noise(self, samples: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
        """``samples`` standard-normal latent draws ``G1.latent_shape(samples)`` × ``temperature``, from a CPU
        generator seeded with ``seed`` (the same on every machine and device)."""
        if not self.samples:
            raise ValueError(
                "this G1 is deterministic: samples need a G1 trained as a conditional VAE (posegen train --cvae)"
            )
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be an integer ≥ 1, got {samples!r}")
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, numbers.Real)
            or not 0 <= temperature < math.inf
        ):
            raise ValueError(f"temperature must be a finite number ≥ 0, got {temperature!r}")
        gen = torch.Generator().manual_seed(int(seed))
        return torch.randn(self.g1.latent_shape(samples), generator=gen) * temperature

    # --- from a photo ---------------------------------------------------------------------------------------
    def prepare_photo(self, photo: np.ndarray, estimator: PoseEstimator | None = None) -> PhotoInput:
        """Estimate the pose in ``photo`` (any size; MediaPipe by default), crop a box of the model's aspect
        ratio around the person and scale it to the model's size: what ``synthesize_photo`` feeds the
        networks. Raises ``NoPersonFoundError`` when there is no person."""
        from posegen_lite.geometry.photo import estimate_pose

        rgb = ensure_rgb(photo, convert=True)
        pose = estimate_pose(rgb, estimator)
        vis = pose.visible & np.isfinite(pose.keypoints).all(axis=1)
        if vis.sum() < 2:
            raise NoPersonFoundError(f"only {int(vis.sum())} joint(s) of a person found in the photo; need 2")
        top, left, box_h, box_w = person_box(pose.keypoints[vis], self.height, self.width)
        crop = crop_padded(rgb, top, left, box_h, box_w)
        image = resize_image(crop, self.height, self.width).copy()
        scale = np.array([self.width / box_w, self.height / box_h])
        kp = ((pose.keypoints - [left, top] + 0.5) * scale - 0.5).astype(np.float32)
        kp[~vis] = np.nan
        joints3d = np.where(vis[:, None], pose.joints3d, np.nan).astype(np.float32)
        return PhotoInput(image=image, keypoints=kp, visible=vis, joints3d=joints3d)

    def synthesize_photo(
        self,
        photo: np.ndarray,
        yaw: float = 0.0,
        pitch: float = 0.0,
        estimator: PoseEstimator | None = None,
        min_joints: int | None = None,
    ) -> SynthesisResult:
        """A novel view of the person in a photo, in one call: pose (MediaPipe's 2D keypoints and 3D
        landmarks), crop and scale around the person (``prepare_photo``), then Stage I–III with the observed
        keypoints and MediaPipe's depth. ``result.input_image`` is the crop the networks saw."""
        inp = self.prepare_photo(photo, estimator)
        result = self.synthesize(
            inp.image, inp.keypoints, yaw, pitch, visible=inp.visible, lifted=inp.joints3d, min_joints=min_joints
        )
        result.input_image = inp.image
        return result


@dataclass
class PhotoInput:
    """A photo made ready for the networks: ``image`` ``(H, W, 3)`` uint8 at the model's size, ``keypoints``
    ``(18, 2)`` pixels of it (NaN where missing), ``visible`` ``(18,)``, ``joints3d`` ``(18, 3)`` metres."""

    image: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    joints3d: np.ndarray


PERSON_MARGIN = 0.2  # of the keypoints' extent, added on each side: joints are not the silhouette (head, feet)


def person_box(keypoints: np.ndarray, height: int, width: int, margin: float = PERSON_MARGIN) -> tuple[int, ...]:
    """``(top, left, box_height, box_width)`` pixels: a box of aspect ``height : width`` around ``(N, 2)``
    keypoints with ``margin`` of their extent on each side (it may reach past the photo's border)."""
    lo, hi = keypoints.min(axis=0), keypoints.max(axis=0)
    centre = (lo + hi) / 2
    extent = np.maximum(hi - lo, 1.0) * (1 + 2 * margin)
    box_h = max(extent[1], extent[0] * height / width)
    box_w = box_h * width / height
    top, left = round(centre[1] - box_h / 2), round(centre[0] - box_w / 2)
    return top, left, max(1, round(box_h)), max(1, round(box_w))


def crop_padded(image: np.ndarray, top: int, left: int, box_h: int, box_w: int) -> np.ndarray:
    """``image[top:top+box_h, left:left+box_w]``, padded by repeating the border where the box leaves it."""
    h, w = image.shape[:2]
    pad = ((max(0, -top), max(0, top + box_h - h)), (max(0, -left), max(0, left + box_w - w)), (0, 0))
    padded = np.pad(image, pad, mode="edge")
    t, lft = top + pad[0][0], left + pad[1][0]
    return padded[t : t + box_h, lft : lft + box_w]
