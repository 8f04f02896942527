"""Pictures and small loops the assignment notebooks run on the student's functions (so no cell holds logic
a test cannot reach). Each takes the student's functions as arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import default_collate

from ..figures.grids import image_row_figure
from ..figures.poses import pose_maps_rgb


def stage1_strip(
    rotate_yaw: Callable,
    project: Callable,
    draw_pose_maps: Callable,
    joints3d: np.ndarray,
    camera,
    yaws: Sequence[float] = (0, 45, 90, 180, 270),
    radius: float = 3.0,
):
    """The student's Stage I pipeline at several yaws: turn → project → pose maps (shown in colour)."""
    images, titles = [], []
    for yaw in yaws:
        xy = np.asarray(project(rotate_yaw(joints3d, yaw), camera.K, camera.R, camera.t), np.float32)
        inside = (xy[:, 0] >= -0.5) & (xy[:, 0] < camera.width - 0.5)
        inside &= (xy[:, 1] >= -0.5) & (xy[:, 1] < camera.height - 0.5)
        maps = draw_pose_maps(xy, inside, camera.height, camera.width, radius)
        images.append(pose_maps_rgb(np.asarray(maps)))
        titles.append(f"yaw {yaw:+g}°")
    return image_row_figure(images, titles=titles)


def loss_figure(losses: Sequence[float] | dict[str, Sequence[float]], title: str = "loss"):
    """A plain loss curve (or several, from a dict of name → values)."""
    import matplotlib.pyplot as plt

    curves = losses if isinstance(losses, dict) else {title: losses}
    fig, ax = plt.subplots(figsize=(5, 2.6))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel("step")
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def short_gan_run(
    gan_step: Callable,
    g1: torch.nn.Module,
    g2: torch.nn.Module,
    disc: torch.nn.Module,
    samples: Sequence[dict],
    steps: int,
    batch_size: int,
    lam: float = 10.0,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, float]]:
    """``steps`` calls of the student's ``gan_step`` on shuffled minibatches of ``samples`` (a list of
    rendered pairs). G1 is frozen, so its output (G2's coarse input) is computed once for every sample.
    Adam with DCGAN's betas (0.5, 0.999); ``lr`` is higher than DCGAN's 2e-4 so that a short run shows D
    learning. Returns the per-step loss dicts."""
    from tqdm.auto import tqdm

    g1.eval().requires_grad_(False)
    g2.train()
    disc.train()
    batch = default_collate(list(samples))
    with torch.no_grad():
        coarse_all = torch.cat(
            [g1(batch["image_a"][i : i + 16], batch["pose_b"][i : i + 16]) for i in range(0, len(samples), 16)]
        )
    opt_g = torch.optim.Adam(g2.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    keys = ("image_a", "image_b", "pose_b", "mask_b")
    history: list[dict[str, float]] = []
    for _ in tqdm(range(steps), desc="GAN steps", disable=not progress):
        idx = torch.randperm(len(samples), generator=gen)[:batch_size]
        minibatch = {k: batch[k][idx] for k in keys}
        losses = gan_step(g2, disc, opt_g, opt_d, minibatch, coarse_all[idx], lam)
        history.append({k: float(v) for k, v in losses.items()})
    return history
