"""Figures of the 3D body proxy: its flow as colour, the correspondences and the surface map it gives, G1's
paste of the warped input, and a photo warped to new viewpoints by the proxy alone.
"""

from __future__ import annotations

import numpy as np

from posegen_lite.figures.grids import image_row_figure, image_table_figure
from posegen_lite.geometry.camera import rotate_about_body_axis


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

    from posegen_lite.images import to_uint8
    from posegen_lite.models.warping import warp_image

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

    from posegen_lite.images import to_uint8
    from posegen_lite.models.inputs import g1_extras
    from posegen_lite.models.warping import warp_image

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

    from posegen_lite.geometry.lifting import lift_pose
    from posegen_lite.geometry.ray_cameras import fit_orthographic
    from posegen_lite.geometry.skeleton import check_keypoints, hip_centre
    from posegen_lite.geometry.warp import source_maps
    from posegen_lite.images import ensure_rgb, to_tensor, to_uint8
    from posegen_lite.models.warping import warp_image

    img = ensure_rgb(image, convert=True)
    h, w = img.shape[:2]
    kp, vis = check_keypoints(keypoints, visible)
    j3 = lift_pose(kp, vis) if joints3d is None else np.asarray(joints3d, np.float64)
    j3 = np.where(vis[:, None], j3, np.nan)
    cam = fit_orthographic(j3, kp, vis, w, h)
    pivot = hip_centre(j3)
    targets = [rotate_about_body_axis(j3 - pivot, y) + pivot for y in yaws]
    n = len(yaws)
    flow, visibility = source_maps(j3, cam, targets)[:2]
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
