"""The viewpoint widget's panel pictures: PNG bytes, a placeholder, and the 3D pose drawn fast.

``png_bytes`` / ``decode_png`` are what every panel holds. ``figures.poses.skeleton_3d_image`` builds a figure
and a 3D axes for every picture: about 70 ms at 384 px on the project's 2-core machine, most of an uncached
slider move's drawing. ``SkeletonPanel`` builds them once and moves its lines, about 17 ms, the same pixels
(``tests/test_widgets.py`` compares them).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from posegen_lite.figures.poses import skeleton_plot_points, view_skeleton_axes
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.posemaps import LIMB_COLOURS
from posegen_lite.geometry.skeleton import LIMBS


def png_bytes(image: np.ndarray, zoom: int = 1, compress_level: int = 6) -> bytes:
    """PNG encoding of an ``(H, W, 3)`` uint8 image, enlarged ``zoom``× by pixel repetition; ``compress_level``
    0–9 is zlib's (PIL's default 6; 1 takes half the time for about 30 % more bytes)."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    if zoom > 1:
        img = img.repeat(zoom, axis=0).repeat(zoom, axis=1)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def decode_png(data: bytes, zoom: int = 1) -> np.ndarray:
    """Inverse of ``png_bytes``: the ``(H, W, 3)`` uint8 image at its original size."""
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return img[::zoom, ::zoom].copy() if zoom > 1 else img


def placeholder(height: int, width: int, grey: int = 235) -> np.ndarray:
    """A flat panel for "not available" (a cross marks it as deliberately empty)."""
    img = np.full((height, width, 3), grey, np.uint8)
    n = min(height, width)
    idx = np.arange(n)
    img[(idx * height) // n, (idx * width) // n] = 180
    img[(idx * height) // n, width - 1 - (idx * width) // n] = 180
    return img


class SkeletonPanel:
    """``skeleton_3d_image``'s picture ``(size_px, size_px, 3)`` uint8 of 3D joints, from a figure kept between
    calls. Not thread-safe: one per thread (the widget keeps one per thread)."""

    def __init__(self, size_px: int = 192, elev: float = 12.0, azim: float = -70.0, limits: float = 1.0) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        dpi = 64  # as skeleton_3d_image: the line widths are in points
        self.size_px, self.limits = size_px, limits
        fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1), projection="3d")
        zero = [0.0, 0.0]
        # Drawn in skeleton_3d_image's order (limbs, then the floor), so the depth sort sees the same artists.
        self.limbs = [ax.plot(zero, zero, zero, color=np.array(LIMB_COLOURS[ab]) / 255, lw=2.5)[0] for ab in LIMBS]
        self.grid = np.linspace(-limits, limits, 5)
        self.floor = [ax.plot(zero, zero, zero, color="0.85", lw=0.6)[0] for _ in range(2 * len(self.grid))]
        view_skeleton_axes(ax, limits, elev, azim)

    def __call__(self, joints3d: np.ndarray, camera: Camera | None = None) -> np.ndarray:
        """The picture of ``joints3d`` ``(18, 3)`` metres (NaN: missing), in ``camera``'s frame when given."""
        pts, ok = skeleton_plot_points(joints3d, camera)
        for (a, b), line in zip(LIMBS, self.limbs, strict=True):
            line.set_visible(bool(ok[a] and ok[b]))
            line.set_data_3d(pts[[a, b], 0], pts[[a, b], 1], pts[[a, b], 2])
        floor, span = pts[ok, 2].min(), [-self.limits, self.limits]
        for k, v in enumerate(self.grid):
            self.floor[2 * k].set_data_3d([v, v], span, [floor, floor])
            self.floor[2 * k + 1].set_data_3d(span, [v, v], [floor, floor])
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()
