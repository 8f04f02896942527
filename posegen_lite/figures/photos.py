"""Real photos through a synthesizer: each photo's crop, the person's silhouette and its novel views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from posegen_lite.figures.grids import image_table_figure


def photo_views_figure(
    synth: Any,
    photos: Mapping[str, np.ndarray],
    yaws: Sequence[float] = (0.0, 45.0, 90.0, 180.0),
    panel_inches: float = 1.2,
    title: str | None = None,
):
    """One row per photo (``name → (H, W, 3)`` uint8, any size): the crop the networks see, the person's
    silhouette (``prepare_photo``: MediaPipe's segmentation) and the final view at each of ``yaws`` (degrees),
    from one batch as ``synthesize_photo`` makes them (``photo_views``). Returns a Figure."""
    rows = []
    for photo in photos.values():
        inp = synth.prepare_photo(photo)
        views = synth.photo_views(inp, list(yaws))
        rows.append([inp.image, inp.silhouette.astype(np.float32), *(v.image for v in views)])
    titles = ["crop", "person", *(f"{y:g}°" for y in yaws)]
    return image_table_figure(rows, col_titles=titles, row_titles=list(photos), panel_inches=panel_inches, title=title)
