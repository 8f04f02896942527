"""The Stage I methods of ``NovelViewSynthesizer`` (``synthesizer.py``): the input pose in 3D, its turns, and the
body proxy's maps between them, for a user who wants Stage I alone (``stage1.py`` does the work).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.skeleton import check_keypoints
from posegen_lite.geometry.warp import ProxyMaps
from posegen_lite.pipelines.checks import check_angle, check_pitch
from posegen_lite.pipelines.stage1 import SourcePose, observed_2d, proxy_warp, source_pose, turn


class PoseMethods:
    """The Stage I half of ``NovelViewSynthesizer``, which sets ``height``, ``width`` and ``lifter``."""

    height: int
    width: int
    lifter: str

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the images the networks take and make."""
        return self.height, self.width

    def source_pose(
        self,
        keypoints: np.ndarray,
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
    ) -> SourcePose:
        """The input pose checked and in 3D (``stage1.source_pose``; 2D keypoints lifted with ``lifter``)."""
        return source_pose(keypoints, self.size, camera, visible, lifted, self.lifter)

    def target_pose(
        self, joints3d: np.ndarray, camera: Camera, yaw: float, pitch: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rotate a 3D pose (world frame of ``camera``) about its body axis and project it:
        ``(keypoints (18, 2), visible (18,), rotated joints (18, 3))``."""
        yaw, pitch = check_angle(yaw, "yaw"), check_pitch(pitch)
        return turn(self.source_pose(joints3d, camera), yaw, pitch, self.size)

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
        yaw, pitch = check_angle(yaw, "yaw"), check_pitch(pitch)
        source = observed_2d(*check_keypoints(keypoints, visible), self.size, lifted, self.lifter)
        return turn(source, yaw, pitch, self.size)

    def proxy_flow(
        self,
        keypoints: np.ndarray,
        targets: Sequence[np.ndarray],
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
    ) -> ProxyMaps:
        """The body proxy's maps (``geometry.warp.ProxyMaps``: flow, visibility, parts, surface, the input's
        silhouette) from the input pose to each of the rotated 3D poses ``targets`` (``SynthesisResult.joints3d``):
        3D keypoints with their ``camera``, or 2D keypoints, lifted and seen by the fitted orthographic camera."""
        return proxy_warp(self.source_pose(keypoints, camera, visible, lifted), list(targets), self.size)
