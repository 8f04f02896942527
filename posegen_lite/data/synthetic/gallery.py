"""The gallery figure of the synthetic dataset: people × viewpoints (``assets/gallery.png``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from posegen_lite.data.synthetic.body import pose_body
from posegen_lite.data.synthetic.framing import check_size, person_camera
from posegen_lite.data.synthetic.pairs import SyntheticConfig, person_of
from posegen_lite.data.synthetic.poses import sample_pose
from posegen_lite.data.synthetic.render import render_views


def gallery_images(
    people: int = 8, views: int = 8, size: tuple[int, int] = (128, 64), seed: int = 0, elevation: float = 10.0
) -> np.ndarray:
    """``(people, views, H, W, 3)`` uint8: test-split people, one pose each, at azimuths ``360·k/views``."""
    if people < 1 or views < 1:
        raise ValueError(f"people and views must be positive, got {people}, {views}")
    height, width = check_size(*size)
    config = SyntheticConfig(size=(height, width), test_people=people, seed=seed)
    rows = []
    for p in range(people):
        person = person_of(config, "test", p)
        body = pose_body(person, sample_pose(np.random.default_rng([seed, 7, p])))
        cams = [person_camera(body, 360.0 * k / views, elevation, height, width) for k in range(views)]
        rows.append([r.image for r in render_views([person] * views, [body] * views, cams)])
    return np.array(rows)


def gallery_figure(people: int = 8, views: int = 8, size: tuple[int, int] = (128, 64), seed: int = 0) -> Figure:
    """A grid figure: one row per person, one column per camera azimuth (shown at native resolution ×2)."""
    images = gallery_images(people, views, size, seed)
    height, width = images.shape[2:4]
    scale = 2.0 / 100.0  # inches per pixel at dpi 100, ×2 so 64-pixel images stay readable
    fig, axes = plt.subplots(
        people, views, figsize=(views * width * scale, people * height * scale + 0.4), squeeze=False
    )
    for p in range(people):
        for k in range(views):
            ax = axes[p, k]
            ax.imshow(images[p, k], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if p == 0:
                ax.set_title(f"{360.0 * k / views:.0f}°", fontsize=8)
    fig.suptitle(f"synthetic people, {height}×{width}; columns: camera azimuth (0° = front)", fontsize=9)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def save_gallery(
    path: str | Path = "assets/gallery.png",
    people: int = 8,
    views: int = 8,
    size: tuple[int, int] = (128, 64),
    seed: int = 0,
) -> Path:
    """Write the gallery figure to ``path`` (PNG) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = gallery_figure(people, views, size, seed)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
