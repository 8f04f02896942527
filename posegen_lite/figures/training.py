"""Figures of training: the loss curves with sample predictions, the masked L1's weights, a training pair,
G2's refinement and a conditional-VAE G1's samples.
"""

from __future__ import annotations

import numpy as np

from posegen_lite.figures.grids import hide_axes, image_row_figure, image_table_figure
from posegen_lite.figures.poses import pose_maps_rgb
from posegen_lite.geometry.posemaps import draw_skeleton


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
        hide_axes(ax)
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
        hide_axes(ax_img)
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
