"""The viewpoint widget's panel pictures: PNG bytes, a placeholder, and the 3D pose drawn fast.

``png_bytes`` / ``decode_png`` are what every panel holds. ``figures.poses.skeleton_3d_image`` builds a figure
and a 3D axes for every picture: about 70 ms at 384 px on the project's 2-core machine, most of an uncached
slider move's drawing; kept and redrawn by matplotlib, 12–18 ms. ``SkeletonPanel`` takes the same axes'
projection once and draws the lines with PIL, about 3 ms (``tests/test_widgets.py`` compares the pictures).
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
    """``skeleton_3d_image``'s picture ``(size_px, size_px, 3)`` uint8 of 3D joints, drawn with PIL. Matplotlib
    sets up the same 3D axes once, for their projection; each picture then projects the limbs and the floor
    through it and draws them far to near (as matplotlib's depth sort does) at ``SUPERSAMPLE``× size, averaged
    down for smooth edges. The same lines where ``skeleton_3d_image`` draws them (``tests/test_widgets.py``),
    without a matplotlib draw per picture. Not thread-safe: one per thread (the widget keeps one per thread)."""

    SUPERSAMPLE = 3

    def __init__(self, size_px: int = 192, elev: float = 12.0, azim: float = -70.0, limits: float = 1.0) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        dpi = 64  # as skeleton_3d_image: line widths in points become dpi / 72 pixels each
        self.size_px, self.limits = size_px, limits
        canvas = FigureCanvasAgg(Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi))
        ax = canvas.figure.add_axes((0, 0, 1, 1), projection="3d")
        view_skeleton_axes(ax, limits, elev, azim)
        canvas.draw()  # fixes the projection and the data → pixel transform
        self._proj, self._to_pixels = ax.get_proj(), ax.transData
        self._limb_px, self._floor_px = 2.5 * dpi / 72, 0.6 * dpi / 72
        self.grid = np.linspace(-limits, limits, 5)

    def _project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``points`` ``(N, 3)`` in plot axes → pixels ``(N, 2)`` (x right, y down) and depth ``(N,)``."""
        from mpl_toolkits.mplot3d import proj3d

        x, y, depth = proj3d.proj_transform(points[:, 0], points[:, 1], points[:, 2], self._proj)
        px = self._to_pixels.transform(np.stack([x, y], axis=1))
        return np.stack([px[:, 0], self.size_px - px[:, 1]], axis=1), np.asarray(depth)

    def __call__(self, joints3d: np.ndarray, camera: Camera | None = None) -> np.ndarray:
        """The picture of ``joints3d`` ``(18, 3)`` metres (NaN: missing), in ``camera``'s frame when given."""
        from PIL import ImageDraw

        pts, ok = skeleton_plot_points(joints3d, camera)
        floor, span = pts[ok, 2].min(), self.limits
        grey = (217, 217, 217)  # matplotlib's "0.85"
        lines = [((v, -span, floor), (v, span, floor), grey, self._floor_px) for v in self.grid]
        lines += [((-span, v, floor), (span, v, floor), grey, self._floor_px) for v in self.grid]
        lines += [(pts[a], pts[b], tuple(LIMB_COLOURS[(a, b)]), self._limb_px) for a, b in LIMBS if ok[a] and ok[b]]
        ends, depth = self._project(np.array([[a, b] for a, b, _, _ in lines], np.float64).reshape(-1, 3))
        ends = ends.reshape(-1, 2, 2) * self.SUPERSAMPLE
        k = self.SUPERSAMPLE
        canvas = Image.new("RGB", (self.size_px * k, self.size_px * k), "white")
        draw = ImageDraw.Draw(canvas)
        for i in np.argsort(-depth.reshape(-1, 2).mean(axis=1), kind="stable"):  # far to near
            _, _, colour, width = lines[i]
            draw.line([tuple(ends[i, 0]), tuple(ends[i, 1])], fill=colour, width=max(1, round(width * k)))
        return np.asarray(canvas.reduce(k))
