"""The end-to-end object: one image of a person + their keypoints + a viewpoint change → the novel view.

    synth = NovelViewSynthesizer.from_checkpoint()  # the shipped demo weights (or a checkpoint / run dir)
    result = synth.synthesize(image, joints3d, camera=camera, yaw=90)      # 3D keypoints + their camera
    result = synth.synthesize(image, keypoints2d, visible=visible, yaw=90)  # 2D keypoints: lifted first
    result.image                                                            # (H, W, 3) uint8

Stage I (rotate the 3D pose about the body axis, project, pose maps) runs in numpy; Stage II and III are one
batched forward pass of G1 and (if present) G2. ``synthesize_many`` does several viewpoints in one batch —
what the turntable and the widget use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posegen_lite.device import pick_device
from posegen_lite.geometry.camera import Camera, rotate_about_body_axis
from posegen_lite.geometry.lifting import orthographic_projection
from posegen_lite.geometry.posemaps import body_mask, pose_maps
from posegen_lite.geometry.skeleton import NUM_JOINTS, check_keypoints, hip_centre
from posegen_lite.images import ensure_rgb, to_tensor, to_uint8
from posegen_lite.resources import demo_weights

DEMO_WEIGHTS = demo_weights()


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


class NovelViewSynthesizer:
    """G1 (+ G2) and Stage I geometry behind one call. Images must be the networks' size ``(H, W)``."""

    def __init__(
        self,
        g1: torch.nn.Module,
        g2: torch.nn.Module | None = None,
        device: str | torch.device = "auto",
        pose_kind: str = "disc",
        lifter: str = "mlp",
    ) -> None:
        self.device = pick_device(device) if isinstance(device, str) else device
        self.g1 = g1.to(self.device).eval()
        self.g2 = None if g2 is None else g2.to(self.device).eval()
        self.height, self.width = g1.config.height, g1.config.width
        self.pose_kind = pose_kind
        if lifter not in ("mlp", "closed_form"):
            raise ValueError(f"lifter must be 'mlp' or 'closed_form', got {lifter!r}")
        self.lifter = lifter

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
        rotated = rotate_about_body_axis(joints3d, yaw, pitch, camera)
        xy, vis = camera.project(rotated)
        return xy, vis, rotated

    def _lift(self, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        if self.lifter == "mlp":
            from posegen_lite.geometry.lifter import DEFAULT_WEIGHTS, lift_pose_mlp

            if DEFAULT_WEIGHTS.exists():
                return lift_pose_mlp(keypoints, visible)
        from posegen_lite.geometry.lifting import lift_pose

        return lift_pose(keypoints, visible)

    def target_pose_2d(
        self, keypoints: np.ndarray, visible: np.ndarray | None, yaw: float, pitch: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same for 2D keypoints: lift to 3D (camera-aligned), rotate about the hip axis, and project
        with the scaled orthographic camera fitted to the input keypoints."""
        kp, vis = check_keypoints(keypoints, visible)
        lifted = self._lift(kp, vis)
        scale, offset = _fit_orthographic(lifted, kp, vis)  # raises if fewer than two joints were lifted
        pivot = hip_centre(lifted)
        rotated = rotate_about_body_axis(lifted - pivot, yaw, pitch) + pivot
        xy, ok = orthographic_projection(rotated, scale, tuple(offset))
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

    def proxy_flow(
        self,
        keypoints: np.ndarray,
        targets: Sequence[np.ndarray],
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Body-proxy flow and visibility ``((N, 2, H, W), (N, 1, H, W))`` from the input pose to each of the
        rotated 3D poses ``targets`` (``SynthesisResult.joints3d``): 3D keypoints with their ``camera``, or 2D
        keypoints, lifted and seen by the fitted scaled orthographic camera (``geometry/warp.py``)."""
        from posegen_lite.geometry.proxy import OrthoCamera
        from posegen_lite.geometry.warp import proxy_flow

        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.shape == (NUM_JOINTS, 3):
            source, cam = kp, camera
        else:
            kp2, vis = check_keypoints(kp, visible)
            source = self._lift(kp2, vis)
            scale, offset = _fit_orthographic(source, kp2, vis)
            cam = OrthoCamera(scale, (float(offset[0]), float(offset[1])), self.width, self.height)
        n = len(targets)
        flow, vis, _ = proxy_flow(np.stack([source] * n), np.stack(targets), [cam] * n, [cam] * n)
        return flow, vis

    @torch.no_grad()
    def generate(
        self,
        image: np.ndarray,
        keypoints: Sequence[np.ndarray],
        visible: Sequence[np.ndarray],
        warp: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Pose-guided generation for target poses given as 2D keypoints (one batch):
        ``(coarse (N, H, W, 3) uint8, refined or None, pose maps (N, 18, H, W), masks (N, 1, H, W))``.
        ``warp``: ``(flow, visibility)`` for a G1 that warps (``proxy_flow``)."""
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
        coarse = self.g1(image_a, pose_b, **extras).float()
        mask_b = torch.from_numpy(masks).to(self.device)
        refined = None if self.g2 is None else self.g2(image_a, coarse, mask_b).float()
        return to_uint8(coarse), None if refined is None else to_uint8(refined), maps, masks

    def synthesize_many(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        yaws: Sequence[float],
        pitch: float = 0.0,
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
    ) -> list[SynthesisResult]:
        """Novel views of the person in ``image`` for each of ``yaws`` (degrees, body rotation; camera.py).

        ``keypoints``: ``(18, 3)`` 3D joints in the world frame of ``camera`` (required then), or ``(18, 2)``
        2D keypoints in pixels (+ ``visible``), which are lifted to 3D first.
        """
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.shape == (NUM_JOINTS, 3):
            if camera is None:
                raise ValueError("3D keypoints need the camera of the input image (camera=...)")
            poses = [self.target_pose(kp, camera, y, pitch) for y in yaws]
        elif kp.shape == (NUM_JOINTS, 2):
            poses = [self.target_pose_2d(kp, visible, y, pitch) for y in yaws]
        else:
            raise ValueError(f"keypoints must be (18, 3) 3D joints or (18, 2) pixels, got {kp.shape}")
        warp = self.proxy_flow(kp, [p[2] for p in poses], camera, visible) if self.warps else None
        coarse, refined, maps, masks = self.generate(image, [p[0] for p in poses], [p[1] for p in poses], warp)
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
                    yaw=float(yaws[i]),
                    pitch=float(pitch),
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
    ) -> SynthesisResult:
        """One novel view; see ``synthesize_many``."""
        return self.synthesize_many(image, keypoints, [yaw], pitch, camera, visible)[0]
