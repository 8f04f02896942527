"""Figures: small functions that turn poses, maps and images into matplotlib / plotly figures.

Matplotlib figures are built as ``matplotlib.figure.Figure`` objects (no pyplot global state, so tests and
scripts never leak open figures); a notebook displays them by returning them from a cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .camera import Camera, framing_camera, project_pose, rotate_about_body_axis
from .posemaps import LIMB_COLOURS, OPENPOSE_COLOURS, body_mask, draw_skeleton, pose_maps
from .skeleton import JOINT_NAMES, LIMBS, NUM_JOINTS, reference_pose


def pose_maps_rgb(maps: np.ndarray) -> np.ndarray:
    """Colour composite ``(H, W, 3)`` uint8 of pose maps ``(18, H, W)`` in [-1, 1]: each joint's map in its
    OpenPose colour, the brightest joint winning where they overlap."""
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim != 3 or m.shape[0] != NUM_JOINTS:
        raise ValueError(f"pose maps must have shape ({NUM_JOINTS}, H, W), got {m.shape}")
    weight = np.clip((m + 1.0) / 2.0, 0.0, 1.0)  # [-1, 1] → [0, 1]
    colours = np.asarray(OPENPOSE_COLOURS, np.float32)  # (18, 3)
    rgb = (weight[:, :, :, None] * colours[:, None, None, :]).max(axis=0)
    return np.round(rgb).astype(np.uint8)


def stage1_panels(joints3d: np.ndarray, yaw_deg: float, camera: Camera, kind: str = "disc"
                  ) -> dict[str, np.ndarray]:
    """Stage I for one viewpoint: turn the pose by ``yaw_deg`` about its body axis, project it with
    ``camera`` and render ``{"skeleton": (H, W, 3) uint8, "pose_maps": (H, W, 3) uint8, "mask": (H, W)
    float32 in {0, 1}, "keypoints": (18, 2), "visible": (18,)}``."""
    h, w = camera.height, camera.width
    xy, vis = project_pose(rotate_about_body_axis(joints3d, yaw_deg), camera)
    return {
        "skeleton": draw_skeleton(xy, vis, h, w),
        "pose_maps": pose_maps_rgb(pose_maps(xy, vis, h, w, kind=kind)),
        "mask": body_mask(xy, vis, h, w)[0],
        "keypoints": xy,
        "visible": vis,
    }


def stage1_figure(joints3d: np.ndarray, yaws: tuple[float, ...] = (0, 90, 180, 270), height: int = 128,
                  width: int = 64, kind: str = "disc", elevation_deg: float = 0.0, panel_inches: float = 1.4):
    """The Stage I figure: a column per yaw, rows = skeleton drawing, pose maps P_B (colour composite of
    the 18 channels), body mask M_B. The camera is ``framing_camera`` (fixed, in front of the person at yaw
    0), so every column is the same body turned by its yaw. Returns a ``matplotlib.figure.Figure``."""
    from matplotlib.figure import Figure

    camera = framing_camera(joints3d, width, height, elevation_deg=elevation_deg)
    rows = (("skeleton", "skeleton"), ("pose_maps", f"pose maps P_B ({kind})"), ("mask", "mask M_B"))
    aspect = height / width
    fig = Figure(figsize=(panel_inches * len(yaws) + 0.9, panel_inches * aspect * len(rows) + 0.5),
                 layout="constrained")
    axes = fig.subplots(len(rows), len(yaws), squeeze=False)
    for col, yaw in enumerate(yaws):
        panels = stage1_panels(joints3d, yaw, camera, kind=kind)
        for row, (key, label) in enumerate(rows):
            ax = axes[row, col]
            ax.imshow(panels[key], cmap="gray" if key == "mask" else None, vmin=0, vmax=1 if key == "mask" else None,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"yaw {yaw:g}°", fontsize=10)
            if col == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle(f"Stage I: one 3D pose seen from {len(yaws)} viewpoints ({height}×{width})", fontsize=10)
    return fig


def skeleton_3d_plotly(joints3d: np.ndarray, title: str | None = None):
    """An interactive 3D skeleton (``plotly.graph_objects.Figure``): limbs as lines in their OpenPose
    colours, joints as labelled markers, **y up**, equal axis scales. Missing joints and their limbs are
    left out; raises ``ValueError`` for a wrong shape or an all-missing pose."""
    import plotly.graph_objects as go

    j = np.asarray(joints3d, dtype=np.float64)
    if j.shape != (NUM_JOINTS, 3):
        raise ValueError(f"3D joints must have shape ({NUM_JOINTS}, 3), got {j.shape}")
    ok = np.isfinite(j).all(axis=1)
    if not ok.any():
        raise ValueError("cannot plot an all-missing pose")
    fig = go.Figure()
    for a, b in LIMBS:
        if ok[a] and ok[b]:
            fig.add_trace(go.Scatter3d(
                x=j[[a, b], 0], y=j[[a, b], 1], z=j[[a, b], 2], mode="lines",
                line={"color": "rgb({},{},{})".format(*LIMB_COLOURS[(a, b)]), "width": 6},
                name=f"{JOINT_NAMES[a]}–{JOINT_NAMES[b]}", showlegend=False, hoverinfo="skip",
            ))
    idx = np.flatnonzero(ok)
    fig.add_trace(go.Scatter3d(
        x=j[idx, 0], y=j[idx, 1], z=j[idx, 2], mode="markers", text=[JOINT_NAMES[i] for i in idx],
        marker={"size": 4, "color": ["rgb({},{},{})".format(*OPENPOSE_COLOURS[i]) for i in idx]},
        name="joints", showlegend=False, hovertemplate="%{text}<br>x %{x:.2f} y %{y:.2f} z %{z:.2f}<extra></extra>",
    ))
    fig.update_layout(
        title=title,
        scene={"aspectmode": "data", "xaxis_title": "x (m)", "yaxis_title": "y (m, up)", "zaxis_title": "z (m)",
               "camera": {"up": {"x": 0, "y": 1, "z": 0}, "eye": {"x": 0.3, "y": 0.4, "z": 2.0}}},
        margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
    )
    return fig


def render_stage1_figure(path: str | Path = "assets/stage1.png", height: int = 128, width: int = 64,
                         dpi: int = 150) -> Path:
    """Write the README's Stage I figure (``reference_pose`` at yaw 0/90/180/270) to ``path``; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = stage1_figure(reference_pose(), height=height, width=width)
    fig.savefig(path, dpi=dpi)
    return path
