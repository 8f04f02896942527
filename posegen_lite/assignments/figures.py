"""Pictures and small loops the assignment notebooks run on the student's functions (so no cell holds logic
a test cannot reach). Each takes the student's functions as arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..app.viz import image_row_figure, pose_maps_rgb


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
    dataset,
    steps: int,
    batch_size: int,
    lam: float = 10.0,
    lr: float = 2e-4,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, float]]:
    """``steps`` calls of the student's ``gan_step`` on shuffled batches of ``dataset``, G1 frozen (its output
    is the coarse input of G2). Adam with DCGAN's betas (0.5, 0.999). Returns the per-step loss dicts."""
    from tqdm.auto import tqdm

    g1.eval().requires_grad_(False)
    g2.train()
    disc.train()
    opt_g = torch.optim.Adam(g2.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(seed)
    )
    history: list[dict[str, float]] = []
    bar = tqdm(total=steps, desc="GAN steps", disable=not progress)
    while len(history) < steps:
        for batch in loader:
            with torch.no_grad():
                coarse = g1(batch["image_a"], batch["pose_b"])
            history.append({k: float(v) for k, v in gan_step(g2, disc, opt_g, opt_d, batch, coarse, lam).items()})
            bar.update()
            if len(history) == steps:
                break
    bar.close()
    return history
