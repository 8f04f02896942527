"""``images.decode_photo``: what a user uploads or names, decoded upright, bounded, 8-bit, or one clear error."""

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from posegen_lite import images
from posegen_lite.images import ImageError


def _png(width: int, height: int, bit_depth: int, colour_type: int, raw: bytes, claimed_height: int = 0) -> bytes:
    """A PNG file written by hand (signature, IHDR, IDAT, IEND), so that 16-bit pixels and headers of any size
    can be made without Pillow writing them. ``raw``: the unfiltered scanlines, each without its filter byte;
    ``claimed_height`` (if set) is the height the header states, whatever the data holds."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = len(raw) // max(height, 1)
    lines = b"".join(b"\x00" + raw[i * row : (i + 1) * row] for i in range(height))
    header = struct.pack(">IIBBBBB", width, claimed_height or height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(lines)) + chunk(b"IEND", b"")


def _header_only_png(width: int, height: int) -> bytes:
    """A small file whose PNG header claims ``width × height`` pixels (its data is one row): a decoder that
    trusted the header would allocate them all, as a decompression bomb makes it do."""
    return _png(width, 1, 8, 2, bytes(3 * width), claimed_height=height)


def _jpeg(image: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=95, **save)
    return buf.getvalue()


def test_a_phone_photo_stored_sideways_comes_out_upright(tmp_path):
    upright = np.zeros((40, 20, 3), np.uint8)
    upright[:20, :, 0] = 255  # red head end
    upright[20:, :, 2] = 255  # blue feet end
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # the sensor's landscape pixels, (20, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = _jpeg(stored, exif=exif)
    for source in (data, memoryview(data), tmp_path / "phone.jpg"):
        if not isinstance(source, (bytes, memoryview)):
            source.write_bytes(data)
        out = images.decode_photo(source)
        assert out.shape == (40, 20, 3) and out.dtype == np.uint8
        assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60  # red at the top
        assert out[35, 10, 2] > 200 and out[35, 10, 0] < 60  # blue at the bottom


def test_a_large_jpeg_is_decoded_at_reduced_size_then_capped(monkeypatch):
    from PIL import JpegImagePlugin

    rng = np.random.default_rng(0)
    photo = np.repeat(np.repeat(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8), 16, 0), 16, 1)  # 1280×960
    decoded = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real_draft(self, mode, size)
        decoded.append(self.size)  # what the decoder will actually produce
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = images.decode_photo(_jpeg(photo), max_pixels=20_000)
    assert out.shape[0] * out.shape[1] <= 20_000 and out.shape[0] * out.shape[1] > 10_000
    assert abs(out.shape[1] / out.shape[0] - 4 / 3) < 0.05  # the aspect ratio is kept
    assert decoded == [(320, 240)]  # decoded at 1/4 size: the smallest libjpeg scale that covers the cap
    assert images.decode_photo(_jpeg(photo[:100, :100])).shape == (100, 100, 3)  # small ones are left alone


def test_a_huge_png_is_refused_from_its_header_before_decoding():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither Pillow's DecompressionBombWarning nor any other escapes
        with pytest.raises(ImageError, match=r"photo\.png: .*10000×10000.*too large"):
            images.decode_photo(_header_only_png(10_000, 10_000), name="photo.png")


def test_a_decompression_bomb_is_one_clear_message():
    with pytest.raises(ImageError) as err:
        images.decode_photo(_header_only_png(30_000, 30_000))
    message = str(err.value)
    assert "uploaded photo" in message and "too large" in message and "\n" not in message


@pytest.mark.parametrize(("colour_type", "channels"), [(0, 1), (2, 3)])
def test_16_bit_pngs_are_scaled_to_8_bit_not_clipped(colour_type, channels):
    levels = np.array([0, 257, 32768, 65535], np.uint16)  # → 0, 1, 128, 255 in 8 bits
    pixels = np.repeat(levels[None, :, None], channels, axis=2)  # (1, 4, C)
    data = _png(4, 1, 16, colour_type, pixels.astype(">u2").tobytes())
    out = images.decode_photo(data)
    assert out.shape == (1, 4, 3)
    assert np.abs(out[0, :, 0].astype(int) - [0, 1, 128, 255]).max() <= 1  # not washed out to white
    assert (out == out[..., :1]).all()  # grey stays grey


def test_not_an_image_or_a_broken_one_is_one_line(tmp_path):
    for data, phrase in (
        (b"definitely not a picture", "not an image"),
        (_jpeg(np.zeros((64, 64, 3), np.uint8))[:300], "truncated|broken|not an image"),
        (b"", "empty"),
    ):
        with pytest.raises(ImageError, match=phrase) as err:
            images.decode_photo(data, name="me.jpg")
        assert str(err.value).startswith("me.jpg: ") and "\n" not in str(err.value)
        assert " object at 0x" not in str(err.value)  # no Python object's address reaches a visitor's page
    with pytest.raises(ImageError, match=r"nothing\.jpg: no such image file"):
        images.decode_photo(tmp_path / "nothing.jpg")


def test_transparency_and_palette_images_become_rgb_over_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half transparent
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    out = images.decode_photo(buf.getvalue())
    assert out.shape == (4, 4, 3) and (out[0, 0] == [255, 0, 0]).all() and (out[3, 3] == [255, 255, 255]).all()
    buf = io.BytesIO()
    Image.fromarray(rgba[..., :3]).convert("P").save(buf, format="GIF")
    assert images.decode_photo(buf.getvalue()).shape == (4, 4, 3)
