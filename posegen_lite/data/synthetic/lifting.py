"""Training data for the learned 2D → 3D lifter (``geometry/lifter.py``): the renderer's poses and people,
seen from random orbit cameras, as (2D keypoints, visibility, 3D target) arrays."""

from __future__ import annotations

import numpy as np

from posegen_lite.data.synthetic.body import pose_body, sample_person
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.geometry.camera import orbit_camera, rotation_y
from posegen_lite.geometry.skeleton import NUM_JOINTS, hip_centre


def synthetic_lifting_data(
    n_poses: int,
    seed: int,
    views: int = 4,
    elevation: tuple[float, float] = (-10.0, 30.0),
    distance: tuple[float, float] = (2.5, 6.0),
    image_size: int = 256,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poses of the embedded renderer seen from random orbit cameras.

    Returns ``(keypoints (M, 18, 2) px, visible (M, 18), target (M, 18, 3))`` with ``M = n_poses · views``;
    ``target`` is the pose relative to its hip centre, turned so that the camera sits at azimuth 0.
    """
    rng = np.random.default_rng(seed)
    kps, viss, targets = [], [], []
    for _ in range(n_poses):
        joints = pose_body(sample_person(rng), sample_pose(rng)).joints3d.astype(np.float64)
        hips = hip_centre(joints)
        for _ in range(views):
            azimuth = rng.uniform(-180.0, 180.0)
            camera = orbit_camera(
                azimuth, rng.uniform(*elevation), rng.uniform(*distance), hips, image_size, image_size
            )
            xy, vis = camera.project(joints)
            if vis.sum() < NUM_JOINTS // 2:
                continue
            kps.append(xy)
            viss.append(vis)
            # A camera at azimuth φ sees the body as the φ = 0 camera sees it turned by −φ (camera.py).
            targets.append((joints - hips) @ rotation_y(-azimuth).T)
    return np.stack(kps), np.stack(viss), np.stack(targets).astype(np.float32)
