"""Image conventions and conversions (stated here once).

* On disk and in numpy: ``(H, W, 3)`` uint8 RGB.
* In tensors: ``(3, H, W)`` or ``(B, 3, H, W)`` float32 in **[-1, 1]** (``x / 127.5 - 1``).
* Grayscale and RGBA inputs are never broadcast by accident: ``ensure_rgb`` converts them explicitly
  (gray replicated to three channels, RGBA composited over a background colour) or rejects them when
  ``convert=False``.
* A user's photo (an upload's bytes or a path) goes through ``decode_photo``: upright by its EXIF orientation,
  at most ``PHOTO_MAX_PIXELS`` (JPEGs decoded at reduced size), 16-bit scaled to 8-bit, or one ``ImageError``.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import torch


class ImageError(ValueError):
    """An image file or array that cannot be used; the message names the file when there is one."""


# A photo is downscaled to at most this many pixels (e.g. a 12 MP phone photo → 2309×1732): far more than the
# pose detector and the networks (≤ 256 px tall) use.
PHOTO_MAX_PIXELS = 4_000_000
# The most pixels decoded at all; larger images are refused from their header. A JPEG is decoded at 1/2, 1/4 or
# 1/8 size when that still covers the cap (a 12000×12000 one: 0.6 s, +124 MB RSS, against 4.1 s, +1.9 GB
# decoded in full), so it may be larger, up to Pillow's decompression-bomb limit (179 MP); PNGs cannot be.
# Measured at the limit, a 7300×5475 PNG: 1.3 s, +373 MB RSS (one shared CPU core).
DECODE_MAX_PIXELS = 40_000_000
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # 16-bit grey (PNG) as Pillow opens it


def decode_photo(
    data: bytes | bytearray | memoryview | str | Path, max_pixels: int = PHOTO_MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """A photo file's bytes (an upload) or path → ``(H, W, 3)`` uint8 RGB, upright, at most ``max_pixels``.

    * EXIF orientation is applied (a phone photo stored sideways comes out as it was taken).
    * The size is read from the header first: a JPEG is decoded at the smallest of 1/1, 1/2, 1/4, 1/8 scale
      that still covers ``max_pixels`` (libjpeg's draft mode), anything else above ``DECODE_MAX_PIXELS`` is
      refused; then the image is downscaled (aspect kept) to at most ``max_pixels``.
    * 16-bit images are scaled to 8 bits (65535 → 255), not clipped; transparency is composited over white.
    * Anything else (not an image, truncated, a decompression bomb) raises ``ImageError`` with one line
      starting ``"<name>: "`` (``name`` default: the path, or "uploaded photo").
    """
    from PIL import Image, UnidentifiedImageError

    if max_pixels < 1:
        raise ValueError(f"max_pixels must be ≥ 1, got {max_pixels}")
    if isinstance(data, (bytes, bytearray, memoryview)):
        label, source = name or "uploaded photo", io.BytesIO(bytes(data))
        if not source.getbuffer().nbytes:
            raise ImageError(f"{label}: empty file, not an image")
    else:
        label, source = name or str(data), Path(data)
        if not source.is_file():
            raise ImageError(f"{label}: no such image file")
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 MP; the checks below bound what is decoded, and a JPEG that big is fine.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except Image.DecompressionBombError as err:
        raise ImageError(f"{label}: too large to decode, refused as a possible decompression bomb ({err})") from err
    except UnidentifiedImageError as err:  # Pillow's text names only its own file object
        raise ImageError(f"{label}: not an image that can be read (PNG, JPEG, WebP, …)") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{label}: not an image that can be read (PNG, JPEG, WebP, …): {err}") from err
    with image:
        return _decode_bounded(image, max_pixels, label)


def _decode_bounded(image, max_pixels: int, label: str) -> np.ndarray:
    """Decode an opened Pillow image within the pixel limits (see ``decode_photo``)."""
    from PIL import Image, ImageOps

    width, height = image.size
    image.draft(image.mode, _fitted(width, height, max_pixels))  # JPEG: decode at reduced size; others: no-op
    if image.size[0] * image.size[1] > DECODE_MAX_PIXELS:
        raise ImageError(
            f"{label}: {width}×{height} pixels ({width * height / 1e6:.0f} MP) is too large to decode (at most "
            f"{DECODE_MAX_PIXELS / 1e6:.0f} MP; a JPEG is decoded at up to 1/8 size); downscale the photo first"
        )
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as err:  # Pillow's errors for truncated or broken data
        raise ImageError(f"{label}: truncated or broken image data ({err})") from err
    image = _eight_bit(image)
    fitted = _fitted(*image.size, max_pixels)
    if fitted != image.size:
        image = image.resize(fitted, Image.Resampling.LANCZOS, reducing_gap=3.0)
    # ensure_rgb composites transparency over white; the copy makes the array writable (Pillow's are not).
    return np.array(ensure_rgb(np.asarray(image), name=label), dtype=np.uint8, order="C")


def _fitted(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` scaled down, aspect kept, to at most ``max_pixels`` (unchanged if already within)."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _eight_bit(image):
    """A loaded Pillow image of any mode → mode ``"RGB"``, or ``"RGBA"`` if it has transparency. 16-bit grey is
    scaled (``v / 257``), where Pillow's own ``convert`` would clip everything above 255 to white; 16-bit RGB(A)
    PNGs Pillow already opens as 8-bit by their high byte."""
    from PIL import Image

    if image.mode in _WIDE_MODES:
        grey = np.round(np.clip(np.asarray(image).astype(np.float64), 0, 65535) / 257.0).astype(np.uint8)
        image = Image.fromarray(grey)
    wanted = "RGBA" if "A" in image.mode or "transparency" in image.info else "RGB"
    return image if image.mode == wanted else image.convert(wanted)


def ensure_rgb(
    image: np.ndarray, convert: bool = True, background: tuple[int, int, int] = (255, 255, 255), name: str = "image"
) -> np.ndarray:
    """Return ``image`` as ``(H, W, 3)`` uint8 RGB.

    Accepts ``(H, W)`` / ``(H, W, 1)`` grayscale and ``(H, W, 4)`` RGBA when ``convert`` is True (RGBA is
    alpha-composited over ``background``); otherwise raises ``ImageError``. Float images must be in [0, 1].
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise ImageError(f"{name}: expected uint8 or float pixels, got {arr.dtype}")
        if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
            raise ImageError(f"{name}: float pixels must be finite and in [0, 1]")
        arr = np.round(arr * 255.0).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        if not convert:
            raise ImageError(f"{name}: grayscale image where RGB is required")
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageError(f"{name}: expected an (H, W, 3) RGB image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"{name}: empty image {arr.shape}")
    if arr.shape[2] == 4:
        if not convert:
            raise ImageError(f"{name}: RGBA image where RGB is required")
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        bg = np.asarray(background, np.float32)
        arr = np.round(arr[:, :, :3] * alpha + bg * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr)


def load_image(path: str | Path, convert: bool = True) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB; a missing, truncated or non-image file raises
    ``ImageError`` naming the file."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            im.load()  # decode fully now, so a truncated file fails here and not later
            mode = im.mode
            if mode in ("P", "PA", "LA", "I;16", "I", "F", "CMYK", "YCbCr"):
                im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageError(f"{path}: not a readable image ({err})") from err
    return ensure_rgb(arr, convert=convert, name=str(path))


def save_image(path: str | Path, image: np.ndarray) -> Path:
    """Write ``(H, W, 3)`` uint8 RGB to ``path`` (format from the suffix); returns the path."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ensure_rgb(image, convert=False)).save(path)
    return path


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``(H, W, 3)`` uint8 to ``(height, width, 3)`` uint8 with anti-aliasing."""
    from PIL import Image

    if height <= 0 or width <= 0:
        raise ValueError(f"target size must be positive, got {height}×{width}")
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 → ``(3, H, W)`` float32 in [-1, 1]."""
    arr = ensure_rgb(image, convert=False)
    return torch.from_numpy(arr).permute(2, 0, 1).float().div(127.5).sub(1.0)


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` or ``(B, 3, H, W)`` float in [-1, 1] → ``(H, W, 3)`` / ``(B, H, W, 3)`` uint8.

    Values are clamped to [-1, 1] first; a tensor holding NaN/inf raises ``ValueError`` rather than
    silently becoming black pixels."""
    t = tensor.detach().float().cpu()
    if t.dim() not in (3, 4) or t.shape[-3] != 3:
        raise ValueError(f"expected (3, H, W) or (B, 3, H, W), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("image tensor holds NaN or inf values")
    arr = ((t.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return arr.permute(*range(t.dim() - 3), -2, -1, -3).numpy()


def max_filter(x: torch.Tensor, pixels: int) -> torch.Tensor:
    """``x (..., H, W)`` with each value the largest in the ``(2·pixels + 1)²`` square around it (clipped at the
    image's edges): a mask's dilation. The same values as ``F.max_pool2d(x, k, stride=1, padding=pixels)``, bit
    for bit (a max only picks), as shifted maxima along each axis: ``max_pool2d`` on a one-channel mask runs
    about 8× slower on a CPU (benchmarks/README.md, the turntable)."""
    if pixels < 0:
        raise ValueError(f"pixels must be ≥ 0, got {pixels}")
    if not pixels:
        return x
    H, W = x.shape[-2:]
    padded = torch.nn.functional.pad(x, (pixels, pixels, 0, 0), value=float("-inf"))
    rows = padded[..., :, 0:W]
    for i in range(1, 2 * pixels + 1):
        rows = torch.maximum(rows, padded[..., :, i : i + W])
    padded = torch.nn.functional.pad(rows, (0, 0, pixels, pixels), value=float("-inf"))
    out = padded[..., 0:H, :]
    for i in range(1, 2 * pixels + 1):
        out = torch.maximum(out, padded[..., i : i + H, :])
    return out


def pull_push_fill(image: torch.Tensor, hole: torch.Tensor, source: torch.Tensor | None = None) -> torch.Tensor:
    """Fill the pixels ``hole`` marks from the pixels ``source`` marks, smoothly: pull-push interpolation
    (Gortler et al. 1996, "The Lumigraph", §3.5).

    ``image (B, C, H, W)`` float, ``hole``/``source`` ``(B, 1, H, W)`` in {0, 1} (``source`` default: every pixel
    outside the hole). *Pull*: halve the image level by level, each cell the mean of its source pixels, with a
    confidence ``min(1, 4·share of source pixels)``. *Push*: from the coarsest level down, each pixel mixes its
    own mean with the coarser level's (bilinear) by that confidence. Pixels outside ``hole`` are returned
    unchanged; a hole in a linear ramp comes back as the ramp, to within a few percent of its range. About
    2 ms per 128×64 image on a CPU core, no iterations to converge. An image with no source pixel is returned
    unchanged."""
    if image.dim() != 4 or hole.shape != (image.shape[0], 1, *image.shape[2:]):
        raise ValueError(
            f"image must be (B, C, H, W) and hole (B, 1, H, W), got {tuple(image.shape)}, {tuple(hole.shape)}"
        )
    weight = 1.0 - hole.to(image.dtype)
    if source is not None:
        weight = weight * source.to(image.dtype)
    means, weights = [image], [weight]
    while max(means[-1].shape[-2:]) > 1:
        size = ((means[-1].shape[-2] + 1) // 2, (means[-1].shape[-1] + 1) // 2)
        share = torch.nn.functional.adaptive_avg_pool2d(weights[-1], size)
        summed = torch.nn.functional.adaptive_avg_pool2d(means[-1] * weights[-1], size)
        means.append(summed / share.clamp_min(1e-8))
        weights.append((4.0 * share).clamp(max=1.0))  # a cell with a quarter of its area known counts as known
    filled = means[-1]
    for mean, conf in zip(reversed(means[:-1]), reversed(weights[:-1]), strict=True):
        coarse = torch.nn.functional.interpolate(filled, size=mean.shape[-2:], mode="bilinear", align_corners=False)
        filled = conf * mean + (1.0 - conf) * coarse
    has_source = weight.flatten(1).amax(1).view(-1, 1, 1, 1) > 0
    return torch.where((hole > 0) & has_source, filled, image)
