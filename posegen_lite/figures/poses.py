"""Figures of Stage I: 3D skeletons (plotly and a rendered image), pose maps, the stage-1 panels and figure.

Matplotlib figures are ``matplotlib.figure.Figure`` objects (no pyplot global state); plotly is imported only
by ``skeleton_3d_plotly``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posegen_lite.figures.grids import hide_axes
from posegen_lite.geometry.camera import Camera, framing_camera, project_pose, rotate_about_body_axis
from posegen_lite.geometry.posemaps import LIMB_COLOURS, OPENPOSE_COLOURS, body_mask, draw_skeleton, pose_maps
from posegen_lite.geometry.skeleton import JOINT_NAMES, LIMBS, NUM_JOINTS, reference_pose


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


def stage1_panels(joints3d: np.ndarray, yaw_deg: float, camera: Camera, kind: str = "disc") -> dict[str, np.ndarray]:
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


def stage1_figure(
    joints3d: np.ndarray,
    yaws: tuple[float, ...] = (0, 90, 180, 270),
    height: int = 128,
    width: int = 64,
    kind: str = "disc",
    elevation_deg: float = 0.0,
    panel_inches: float = 1.4,
):
    """The Stage I figure: a column per yaw, rows = skeleton drawing, pose maps P_B (colour composite of
    the 18 channels), body mask M_B. The camera is ``framing_camera`` (fixed, in front of the person at yaw
    0), so every column is the same body turned by its yaw. Returns a ``matplotlib.figure.Figure``."""
    from matplotlib.figure import Figure

    camera = framing_camera(joints3d, width, height, elevation_deg=elevation_deg)
    rows = (("skeleton", "skeleton"), ("pose_maps", f"pose maps P_B ({kind})"), ("mask", "mask M_B"))
    aspect = height / width
    fig = Figure(
        figsize=(panel_inches * len(yaws) + 0.9, panel_inches * aspect * len(rows) + 0.5), layout="constrained"
    )
    axes = fig.subplots(len(rows), len(yaws), squeeze=False)
    for col, yaw in enumerate(yaws):
        panels = stage1_panels(joints3d, yaw, camera, kind=kind)
        for row, (key, label) in enumerate(rows):
            ax = axes[row, col]
            ax.imshow(
                panels[key],
                cmap="gray" if key == "mask" else None,
                vmin=0,
                vmax=1 if key == "mask" else None,
                interpolation="nearest",
            )
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
            fig.add_trace(
                go.Scatter3d(
                    x=j[[a, b], 0],
                    y=j[[a, b], 1],
                    z=j[[a, b], 2],
                    mode="lines",
                    line={"color": "rgb({},{},{})".format(*LIMB_COLOURS[(a, b)]), "width": 6},
                    name=f"{JOINT_NAMES[a]}–{JOINT_NAMES[b]}",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
    idx = np.flatnonzero(ok)
    fig.add_trace(
        go.Scatter3d(
            x=j[idx, 0],
            y=j[idx, 1],
            z=j[idx, 2],
            mode="markers",
            text=[JOINT_NAMES[i] for i in idx],
            marker={"size": 4, "color": ["rgb({},{},{})".format(*OPENPOSE_COLOURS[i]) for i in idx]},
            name="joints",
            showlegend=False,
            hovertemplate="%{text}<br>x %{x:.2f} y %{y:.2f} z %{z:.2f}<extra></extra>",
        )
    )
    ranges = skeleton_3d_ranges(j[ok])
    fig.update_layout(
        title=title,
        height=560,
        scene={
            "aspectmode": "cube",
            "xaxis_title": "x (m)",
            "yaxis_title": "y (m, up)",
            "zaxis_title": "z (m)",
            **{f"{axis}axis": {"range": list(r), "autorange": False} for axis, r in zip("xyz", ranges, strict=True)},
            "camera": {
                "up": {"x": 0, "y": 1, "z": 0},
                "center": {"x": 0, "y": 0, "z": 0},
                "eye": dict(zip("xyz", PLOTLY_EYE, strict=True)),
            },
        },
        margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
    )
    return fig


# The plotly camera: in front of the body (+z), a little to its side and above. Why not plotly's framing of
# ``aspectmode="data"``: plotly scales that box to unit geometric mean, so a 1.7 m tall, 0.5 m wide body becomes
# a box ~2.7 scene units tall that a camera ~2 units away crops at head and feet (seen in headless Chromium).
# Equal ranges in a cube keep one metre equally long on every axis *and* give a box of fixed size; looked at in
# Chromium at the figure's 560 px height, the whole box is in view from 2.1 units away (from 1.6 its front
# edge is cut).
PLOTLY_EYE = (0.55, 0.4, 2.0)
PLOTLY_MIN_EYE_DISTANCE = 2.0


def skeleton_3d_ranges(points: np.ndarray, margin: float = 0.08) -> tuple[tuple[float, float], ...]:
    """Equal-length axis ranges ``((x0, x1), (y0, y1), (z0, z1))`` in metres, centred on the points'
    bounding box, that hold every point of ``(N, 3)`` ``points`` with ``margin`` metres to spare — so a
    cube-shaped plot keeps one metre the same length along every axis."""
    p = np.asarray(points, dtype=np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    half = float((hi - lo).max()) / 2 + margin
    centre = (lo + hi) / 2
    return tuple((float(c - half), float(c + half)) for c in centre)


def render_stage1_figure(
    path: str | Path = "assets/stage1.png", height: int = 128, width: int = 64, dpi: int = 150
) -> Path:
    """Write the README's Stage I figure (``reference_pose`` at yaw 0/90/180/270) to ``path``; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = stage1_figure(reference_pose(), height=height, width=width)
    fig.savefig(path, dpi=dpi)
    return path


def pose_channels_figure(maps: np.ndarray, panel_inches: float = 0.9):
    """The 18 channels of pose maps ``(18, H, W)`` in [-1, 1], one panel per joint, titled with its name."""
    from matplotlib.figure import Figure

    m = np.asarray(maps, dtype=np.float32)
    if m.ndim != 3 or m.shape[0] != NUM_JOINTS:
        raise ValueError(f"pose maps must have shape ({NUM_JOINTS}, H, W), got {m.shape}")
    cols = 9
    h, w = m.shape[1:]
    fig = Figure(figsize=(panel_inches * cols, panel_inches * h / w * 2 + 0.6), layout="constrained")
    axes = fig.subplots(2, cols)
    for j, ax in enumerate(axes.flat):
        ax.imshow(m[j], cmap="magma", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(JOINT_NAMES[j], fontsize=7)
        hide_axes(ax)
    fig.suptitle("P_B: one channel per joint (+1 inside the disc, −1 elsewhere; a missing joint is all −1)", fontsize=9)
    return fig


def skeleton_plot_points(joints3d: np.ndarray, camera: Camera | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``joints3d`` ``(18, 3)`` metres (NaN: missing) as a 3D plot's points ``(18, 3)`` (x, depth, up), centred on
    the present joints, and which joints are present ``(18,)`` bool; in ``camera``'s frame when given."""
    j = np.asarray(joints3d, np.float64)
    if j.shape != (NUM_JOINTS, 3):
        raise ValueError(f"3D joints must have shape ({NUM_JOINTS}, 3), got {j.shape}")
    ok = np.isfinite(j).all(axis=1)
    if not ok.any():
        raise ValueError("cannot draw an all-missing pose")
    if camera is not None:
        c = camera.to_camera(np.where(ok[:, None], j, 0.0))  # x right, y down, z forward
        pts = np.stack([c[:, 0], c[:, 2], -c[:, 1]], axis=1)  # plot axes: x, depth, up
    else:
        pts = np.stack([j[:, 0], -j[:, 2], j[:, 1]], axis=1)  # world y up → plot z
    return pts - np.nanmean(pts[ok], axis=0), ok


def view_skeleton_axes(ax, limits: float, elev: float, azim: float) -> None:
    """A skeleton's 3D axes: a cube of half-side ``limits`` metres, seen from ``elev``/``azim`` degrees, no axes."""
    ax.set_xlim(-limits, limits)
    ax.set_ylim(-limits, limits)
    ax.set_zlim(-limits, limits)
    ax.set_box_aspect((1, 1, 1), zoom=1.35)
    ax.view_init(elev=elev, azim=azim)
    ax.set_axis_off()


def skeleton_3d_image(
    joints3d: np.ndarray,
    camera: Camera | None = None,
    size_px: int = 192,
    elev: float = 12.0,
    azim: float = -70.0,
    limits: float = 1.0,
) -> np.ndarray:
    """A small matplotlib 3D view of a skeleton as an ``(size_px, size_px, 3)`` uint8 image (no notebook
    frontend needed: the widget shows it as a PNG). With ``camera`` the joints are drawn in that camera's
    frame, so a body turned by the yaw slider turns in the picture; the vertical axis is always "up"."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pts, ok = skeleton_plot_points(joints3d, camera)
    dpi = 64
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1), projection="3d")
    for a, b in LIMBS:
        if ok[a] and ok[b]:
            ax.plot(pts[[a, b], 0], pts[[a, b], 1], pts[[a, b], 2], color=np.array(LIMB_COLOURS[(a, b)]) / 255, lw=2.5)
    # the floor under the body, so the turn reads as a turn and not a mirror
    g = np.linspace(-limits, limits, 5)
    floor = pts[ok, 2].min()
    for v in g:
        ax.plot([v, v], [-limits, limits], [floor, floor], color="0.85", lw=0.6)
        ax.plot([-limits, limits], [v, v], [floor, floor], color="0.85", lw=0.6)
    view_skeleton_axes(ax, limits, elev, azim)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
