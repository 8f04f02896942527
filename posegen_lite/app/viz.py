"""Figures: small functions that turn poses, maps and images into matplotlib / plotly figures.

Matplotlib figures are built as ``matplotlib.figure.Figure`` objects (no pyplot global state, so tests and
scripts never leak open figures); a notebook displays them by returning them from a cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


# --- figures for the notebooks and the widget ---------------------------------------------------------------


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def image_table_figure(
    rows: list[list[np.ndarray]],
    col_titles: list[str] | None = None,
    row_titles: list[str] | None = None,
    panel_inches: float = 1.3,
    title: str | None = None,
):
    """A grid of images ``rows[r][c]`` (``(H, W, 3)`` uint8 or ``(H, W)`` float in [0, 1], shown grey) with
    optional column and row titles; nearest-neighbour display so small images stay crisp. Returns a Figure."""
    from matplotlib.figure import Figure

    if not rows or not rows[0]:
        raise ValueError("image_table_figure needs at least one image")
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    h, w = np.asarray(rows[0][0]).shape[:2]
    fig = Figure(
        figsize=(panel_inches * n_cols + 0.4, panel_inches * h / w * n_rows + (0.5 if title else 0.25)),
        layout="constrained",
    )
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r, c]
            _bare(ax)
            if c >= len(rows[r]):
                continue
            img = np.asarray(rows[r][c])
            ax.imshow(
                img,
                cmap="gray" if img.ndim == 2 else None,
                vmin=0,
                vmax=1 if img.ndim == 2 else None,
                interpolation="nearest",
            )
            if r == 0 and col_titles:
                ax.set_title(col_titles[c], fontsize=9)
            if c == 0 and row_titles:
                ax.set_ylabel(row_titles[r], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def image_row_figure(
    images: list[np.ndarray], titles: list[str] | None = None, panel_inches: float = 1.6, title: str | None = None
):
    """One row of images with titles (see ``image_table_figure``)."""
    return image_table_figure([list(images)], col_titles=titles, panel_inches=panel_inches, title=title)


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
        _bare(ax)
    fig.suptitle("P_B: one channel per joint (+1 inside the disc, −1 elsewhere; a missing joint is all −1)", fontsize=9)
    return fig


def mask_weight_figure(prediction: np.ndarray, target: np.ndarray, mask: np.ndarray, panel_inches: float = 1.6):
    """Why PG2's Stage II loss is ``mean(|Î_B − I_B| ⊙ (1 + M_B))``: panels of the target, a prediction, the
    body mask M_B, the weight 1 + M_B, the plain L1 error and the weighted error, with their means.

    ``prediction``/``target``: ``(H, W, 3)`` uint8; ``mask``: ``(H, W)`` or ``(1, H, W)`` in {0, 1}.
    """
    pred = np.asarray(prediction, np.float32) / 127.5 - 1.0  # the [-1, 1] scale the loss sees
    tgt = np.asarray(target, np.float32) / 127.5 - 1.0
    m = np.asarray(mask, np.float32).reshape(tgt.shape[:2])
    err = np.abs(pred - tgt).mean(axis=2)
    weighted = err * (1.0 + m)
    body = m > 0.5
    share_plain = err[body].sum() / max(err.sum(), 1e-12)
    share_weighted = weighted[body].sum() / max(weighted.sum(), 1e-12)
    vmax = float(max(weighted.max(), 1e-6))
    from matplotlib.figure import Figure

    fig = Figure(
        figsize=(panel_inches * 6 + 0.6, panel_inches * tgt.shape[0] / tgt.shape[1] + 0.9), layout="constrained"
    )
    axes = fig.subplots(1, 6)
    panels = [
        (np.asarray(target), None, None, "target I_B"),
        (np.asarray(prediction), None, None, "prediction"),
        (m, "gray", (0, 1), f"mask M_B\n({body.mean():.0%} of pixels)"),
        (1.0 + m, "gray", (0, 2), "weight 1 + M_B"),
        (err, "inferno", (0, vmax), f"|error|, mean {err.mean():.3f}\nbody's share {share_plain:.0%}"),
        (
            weighted,
            "inferno",
            (0, vmax),
            f"|error|·(1+M_B), mean {weighted.mean():.3f}\nbody's share {share_weighted:.0%}",
        ),
    ]
    for ax, (img, cmap, lim, label) in zip(axes, panels, strict=True):
        kw = {} if lim is None else {"vmin": lim[0], "vmax": lim[1]}
        ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
        ax.set_title(label, fontsize=8)
        _bare(ax)
    return fig


def training_figure(history: list[dict], samples: np.ndarray | None = None, keys=None, title: str | None = None):
    """Loss curves of a training ``history`` (``[{"step": s, "loss": …, …}, …]``) on the left and, if given, a
    sample grid image (``grids.image_grid``) on the right. Returns a Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10 if samples is not None else 5, 3.2), layout="constrained")
    if samples is not None:
        ax, ax_img = fig.subplots(1, 2, width_ratios=[1.0, 1.3])
        ax_img.imshow(samples, interpolation="nearest")
        ax_img.set_title("fixed batch: input · target pose · output(s) · target", fontsize=9)
        _bare(ax_img)
    else:
        ax = fig.subplots()
    names = (
        list(keys) if keys else [k for k in (history[0] if history else {}) if k != "step" and not k.startswith("val_")]
    )
    steps = [h["step"] for h in history]
    for name in names:
        values = [h.get(name, np.nan) for h in history]
        ax.plot(steps, values, label=name, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if names:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or (f"step {steps[-1]}" if steps else "no steps yet"), fontsize=9)
    return fig


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
    centre = np.nanmean(pts[ok], axis=0)
    pts = pts - centre
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
    ax.set_xlim(-limits, limits)
    ax.set_ylim(-limits, limits)
    ax.set_zlim(-limits, limits)
    ax.set_box_aspect((1, 1, 1), zoom=1.35)
    ax.view_init(elev=elev, azim=azim)
    ax.set_axis_off()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def pair_sample_figure(sample: dict, title: str | None = None, panel_inches: float = 1.6):
    """One pair sample (``data/sample.py``) as a row: I_A, A's keypoints drawn on it, P_B (colour composite),
    M_B and I_B — how a notebook shows what a dataset reader produced."""
    from posegen_lite.images import to_uint8

    a, b = to_uint8(sample["image_a"]), to_uint8(sample["image_b"])
    h, w = a.shape[:2]
    kp, vis = np.asarray(sample["keypoints_a"]), np.asarray(sample["visible_a"])
    return image_row_figure(
        [
            a,
            draw_skeleton(kp, vis, h, w, image=a),
            pose_maps_rgb(np.asarray(sample["pose_b"])),
            np.asarray(sample["mask_b"])[0],
            b,
        ],
        titles=["I_A", "keypoints A", "P_B", "M_B", "I_B"],
        title=title,
        panel_inches=panel_inches,
    )


def refinement_figure(batch: dict, coarse, refined, gain: float = 4.0, panel_inches: float = 1.2):
    """Stage III before/after on a collated batch: rows input, G1 (``coarse``), G1+G2 (``refined``), the
    difference G2 added ``|Î_B2 − Î_B1|`` brightened ``gain``×, and the target. Images are ``(B, 3, H, W)``
    tensors in [-1, 1]."""
    from posegen_lite.images import to_uint8

    c, r = to_uint8(coarse), to_uint8(refined)
    diff = np.clip(np.abs(r.astype(np.int16) - c.astype(np.int16)) * gain, 0, 255).astype(np.uint8)
    return image_table_figure(
        [list(to_uint8(batch["image_a"])), list(c), list(r), list(diff), list(to_uint8(batch["image_b"]))],
        row_titles=["input", "G1", "G1+G2", f"|D| ×{gain:g}", "target"],
        panel_inches=panel_inches,
    )


def samples_figure(batch: dict, mean, samples, gain: float = 4.0, panel_inches: float = 1.0, title: str | None = None):
    """ "The unseen side is a guess": per pair of a collated ``batch``, the input, the target, a G1's prior-mean
    answer ``mean (B, 3, H, W)``, its ``samples (K, B, 3, H, W)`` (tensors in [-1, 1]) and where they
    differ — the per-pixel spread across the samples, brightened ``gain``×, with the body proxy's
    visibility outlined (``batch["visibility"]`` when present: the pixels the input saw)."""
    from posegen_lite.evaluation.samples import spread_map
    from posegen_lite.images import to_uint8

    spread = (spread_map(samples) * gain).clamp(0, 1)[:, 0].numpy()
    rows = []
    for b in range(mean.shape[0]):
        heat = np.repeat((spread[b] * 255).astype(np.uint8)[..., None], 3, axis=2)
        if "visibility" in batch:  # seen pixels tinted blue: the samples should agree there
            seen = batch["visibility"][b, 0].numpy() > 0.5
            heat[seen, 2] = np.maximum(heat[seen, 2], 90)
        rows.append(
            [to_uint8(batch["image_a"][b]), to_uint8(batch["image_b"][b]), to_uint8(mean[b])]
            + [to_uint8(s[b]) for s in samples]
            + [heat]
        )
    titles = ["input", "target", "prior mean", *[f"sample {i + 1}" for i in range(len(samples))], f"spread ×{gain:g}"]
    return image_table_figure(rows, col_titles=titles, panel_inches=panel_inches, title=title)


# --- the 3D body-proxy warp -------------------------------------------------------------------------------


def flow_rgb(flow: np.ndarray, visibility: np.ndarray | None = None, max_px: float | None = None) -> np.ndarray:
    """A backward flow ``(2, H, W)`` (pixels) as colour ``(H, W, 3)`` uint8: hue = direction, saturation =
    length (``max_px`` = full saturation, default the largest length); black where ``visibility`` ``(1, H, W)``
    or ``(H, W)`` is 0, white where the flow is 0 and no visibility is given."""
    f = np.asarray(flow, np.float32)
    length = np.hypot(f[0], f[1])
    scale = max_px or max(float(length.max()), 1e-6)
    hue = (np.arctan2(f[1], f[0]) / (2 * np.pi)) % 1.0
    sat = np.clip(length / scale, 0, 1)
    k = (np.array([5.0, 3.0, 1.0])[None, None] + hue[..., None] * 6.0) % 6.0
    rgb = 1.0 - sat[..., None] * np.clip(np.minimum(k, 4.0 - k), 0, 1)
    if visibility is not None:
        rgb *= np.asarray(visibility, np.float32).reshape(f.shape[1:])[..., None]
    return (rgb * 255 + 0.5).astype(np.uint8)


def correspondence_panels(sample: dict) -> dict[str, np.ndarray]:
    """The proxy correspondence of one pair sample with extras (``SyntheticPairs(extras=True)``) as images:
    ``I_A``, ``W(I_A)`` (warped, grey where not visible), ``I_B``, ``visibility``, ``flow`` (``flow_rgb``),
    ``parts`` (proxy parts) and ``|W(I_A) − I_B|`` on the visible pixels."""
    import torch

    from posegen_lite.geometry.warp import warp_image
    from posegen_lite.images import to_uint8

    a, b = torch.as_tensor(sample["image_a"])[None], torch.as_tensor(sample["image_b"])[None]
    flow, vis = torch.as_tensor(sample["flow"])[None], torch.as_tensor(sample["visibility"])[None]
    warped = warp_image(a, flow, vis)
    err = ((warped - b).abs().mean(1, keepdim=True) / 2 * vis)[0, 0].numpy()
    parts = np.asarray(sample["proxy_parts_b"])
    return {
        "I_A": to_uint8(a)[0],
        "W(I_A)": to_uint8(warped)[0],
        "I_B": to_uint8(b)[0],
        "visibility": vis[0, 0].numpy(),
        "flow": flow_rgb(flow[0].numpy(), vis[0].numpy()),
        "parts": np.where(parts >= 0, (parts + 1) / 17.0, 0.0),
        "|W(I_A) − I_B|": np.clip(err * 4, 0, 1),
    }


def correspondence_figure(samples: list[dict], panel_inches: float = 1.1, title: str | None = None):
    """One row per pair sample (with extras) of ``correspondence_panels``: what the body proxy carries from
    the input to the target view, what it knows was never seen, and how far the pasted pixels are off."""
    if not samples:
        raise ValueError("correspondence_figure needs at least one sample")
    panels = [correspondence_panels(s) for s in samples]
    titles = list(panels[0])
    row_titles = [f"yaw {float(s['yaw']):+.0f}°" for s in samples]
    return image_table_figure(
        [list(p.values()) for p in panels],
        col_titles=titles,
        row_titles=row_titles,
        panel_inches=panel_inches,
        title=title,
    )


def surface_panels(sample: dict) -> dict[str, np.ndarray]:
    """The body proxy's texture space for one pair sample with extras (``proxy_surface_b``): ``I_B``, its
    surface coordinates as colours (across → red, along → green, outward → blue, each from [−1, 1] to [0, 1];
    black off the body), the chest the input never saw, and ``I_B`` unwrapped onto that chest
    (``models/cvae.chest_texture``: the mean colour per along × across bin, shoulders at the top) — what a
    texture-space posterior reads."""
    import torch

    from posegen_lite.images import to_uint8
    from posegen_lite.models.cvae import SURFACE_BINS, chest_texture

    b = torch.as_tensor(sample["image_b"])[None].float()
    surface = torch.as_tensor(sample["proxy_surface_b"])[None].float()
    unseen = (1.0 - torch.as_tensor(sample["visibility"])[None].float()) * surface[:, :1]
    chest = surface[:, 1:2] * unseen
    coords = ((surface[0, 2:5] + 1) / 2 * surface[0, :1]).permute(1, 2, 0).numpy()
    n_along, n_across = SURFACE_BINS
    texture = chest_texture(b, surface, unseen).view(n_along, n_across, 3).flip(0)  # along grows upwards
    return {
        "I_B": to_uint8(b)[0],
        "surface": np.clip(coords, 0, 1),
        "unseen chest": chest[0, 0].numpy(),
        "I_B unwrapped": to_uint8(texture.permute(2, 0, 1)[None])[0],
    }


def surface_figure(samples: list[dict], panel_inches: float = 1.1, title: str | None = None):
    """One row per pair sample (with extras) of ``surface_panels``: where on the body each target pixel lies,
    and the unseen chest's colours unwrapped into bins — the same bins wherever the pose puts the back."""
    if not samples:
        raise ValueError("surface_figure needs at least one sample")
    panels = [surface_panels(s) for s in samples]
    return image_table_figure(
        [list(p.values()) for p in panels],
        col_titles=list(panels[0]),
        row_titles=[f"yaw {float(s['yaw']):+.0f}°" for s in samples],
        panel_inches=panel_inches,
        title=title,
    )


def paste_figure(g1, batch: dict, panel_inches: float = 1.1, title: str | None = None):
    """What a pasting G1 (``G1Config.warp="paste"``) copies and what it draws, on a collated batch with the
    proxy extras (``flow``, ``visibility``; ``proxy_surface_b`` for a texture-space latent): rows input I_A,
    the warped input W(I_A), the paste weight v·α (white: the output is I_A's pixel; black: generated), G1's
    output, and the target."""
    import torch

    from posegen_lite.geometry.warp import warp_image
    from posegen_lite.images import to_uint8
    from posegen_lite.models.g1 import g1_extras

    if g1.config.warp != "paste":
        raise ValueError(f"only a G1 with warp='paste' pastes; this one has warp={g1.config.warp!r}")
    a, pose, flow, vis = batch["image_a"], batch["pose_b"], batch["flow"], batch["visibility"]
    extras = g1_extras(g1, batch)  # flow and visibility, and the surface map for a texture-space latent
    with torch.no_grad():
        weight = g1.paste_weight(a, pose, **extras)
        out = g1(a, pose, **extras)
    rows = [
        list(to_uint8(a)),
        list(to_uint8(warp_image(a, flow, vis))),
        list(weight[:, 0].float().numpy()),
        list(to_uint8(out)),
        list(to_uint8(batch["image_b"])),
    ]
    return image_table_figure(
        rows,
        row_titles=["I_A", "W(I_A)", "paste v·α", "G1", "I_B"],
        panel_inches=panel_inches,
        title=title,
    )


def warp_photo(
    image: np.ndarray,
    keypoints: np.ndarray,
    visible: np.ndarray,
    yaws: list[float],
    joints3d: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Turn the person of a photo by each of ``yaws`` (degrees) with the body proxy alone — no learning: the
    photo's own pixels carried to where they belong. ``keypoints (18, 2)`` px / ``visible (18,)`` as a pose
    estimator gives them; ``joints3d (18, 3)`` (e.g. ``photo.estimate_pose``'s, metres, y up) or None to lift
    the keypoints. The camera is the scaled orthographic one fitted to the keypoints. Returns per yaw
    ``(warped (H, W, 3) uint8 with unseen pixels mid-grey, visibility (H, W) float32 in {0, 1})``."""

    from posegen_lite.pipelines.synthesizer import _fit_orthographic
    from posegen_lite.geometry.lifting import lift_pose
    from posegen_lite.geometry.proxy import OrthoCamera
    from posegen_lite.geometry.skeleton import check_keypoints, hip_centre
    from posegen_lite.geometry.warp import proxy_flow, warp_image
    from posegen_lite.images import ensure_rgb, to_tensor, to_uint8

    img = ensure_rgb(image, convert=True)
    h, w = img.shape[:2]
    kp, vis = check_keypoints(keypoints, visible)
    j3 = lift_pose(kp, vis) if joints3d is None else np.asarray(joints3d, np.float64)
    j3 = np.where(vis[:, None], j3, np.nan)
    scale, offset = _fit_orthographic(j3, kp, vis)
    cam = OrthoCamera(scale, (float(offset[0]), float(offset[1])), w, h)
    pivot = hip_centre(j3)
    targets = [rotate_about_body_axis(j3 - pivot, y) + pivot for y in yaws]
    n = len(yaws)
    flow, visibility, _ = proxy_flow(np.stack([j3] * n), np.stack(targets), [cam] * n, [cam] * n)
    warped = warp_image(to_tensor(img)[None].expand(n, -1, -1, -1), flow, visibility)
    return [(to_uint8(warped[i : i + 1])[0], visibility[i, 0].numpy()) for i in range(n)]


def photo_warp_figure(
    image: np.ndarray,
    keypoints: np.ndarray,
    visible: np.ndarray,
    yaws: tuple[float, ...] = (20.0, 45.0),
    joints3d: np.ndarray | None = None,
    panel_inches: float = 2.2,
):
    """The photo, and the person turned by each of ``yaws`` with the body proxy (``warp_photo``)."""
    out = warp_photo(image, keypoints, visible, list(yaws), joints3d)
    return image_row_figure(
        [np.asarray(image), *[o[0] for o in out]],
        titles=["photo", *[f"proxy warp, yaw {y:+.0f}°" for y in yaws]],
        panel_inches=panel_inches,
    )
