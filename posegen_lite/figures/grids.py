"""Figures made of image panels: a table of images with row and column titles, and one row of them.

Matplotlib figures are built as ``matplotlib.figure.Figure`` objects (no pyplot global state, so tests and
scripts never leak open figures); a notebook displays them by returning them from a cell. Every other figure
module lays its panels out with these.
"""

from __future__ import annotations

import numpy as np


def hide_axes(ax) -> None:
    """No ticks and no frame: a panel that shows only its image."""
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
            hide_axes(ax)
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
