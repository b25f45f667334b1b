"""load_image on real LFW photographs, in each pixel format, and on broken or unsafe files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from evalharness.data.images import MAX_IMAGE_PIXELS, ImageError, load_image, upright_size
from evalharness.errors import DataError


@pytest.fixture()
def face(real_jpeg) -> Image.Image:
    with Image.open(real_jpeg) as image:
        return image.convert("RGB")


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float in [0, 1], written independently of the loader."""
    return torch.tensor(array.transpose(2, 0, 1) / 255.0, dtype=torch.float32)


def test_real_jpeg_is_rgb_float_chw(real_jpeg, face):
    image = load_image(real_jpeg)
    assert image.shape == (3, 250, 250)
    assert image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    torch.testing.assert_close(image, _as_tensor(np.asarray(face)), rtol=0, atol=1e-6)
    # A colour photograph: channels are not all equal (catches a greyscale or swapped read).
    assert (image[0] - image[2]).abs().mean() > 0.01


def test_greyscale_becomes_three_equal_channels(tmp_path, face):
    grey = face.convert("L")
    grey.save(tmp_path / "grey.png")
    image = load_image(tmp_path / "grey.png")
    assert image.shape == (3, 250, 250)
    expected = torch.tensor(np.asarray(grey) / 255.0, dtype=torch.float32)
    for channel in image:
        torch.testing.assert_close(channel, expected, rtol=0, atol=1e-6)


def test_rgba_is_composited_on_white(tmp_path, face):
    rgb = np.asarray(face)
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[:, 100:200] = 255  # opaque band
    alpha[:, 200:] = 128  # half transparent
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "rgba.png")
    image = load_image(tmp_path / "rgba.png")
    source = _as_tensor(rgb)
    assert torch.all(image[:, :, :100] == 1.0)  # transparent -> white
    torch.testing.assert_close(image[:, :, 100:200], source[:, :, 100:200], rtol=0, atol=1e-6)
    a = 128 / 255
    blended = source[:, :, 200:] * a + (1 - a)
    torch.testing.assert_close(image[:, :, 200:], blended, rtol=0, atol=1e-6)


def test_palette_image_uses_its_palette(tmp_path, face):
    palette = face.quantize(colors=64)
    palette.save(tmp_path / "palette.png")
    image = load_image(tmp_path / "palette.png")
    torch.testing.assert_close(image, _as_tensor(np.asarray(palette.convert("RGB"))))
    assert len(torch.unique(image.reshape(3, -1), dim=1)[0]) <= 64


def test_16_bit_png_is_scaled_not_clipped(tmp_path, face):
    # 16-bit values spanning the full range, with low bits set so 8-bit rounding would show.
    values = np.asarray(face.convert("L")).astype(np.uint16) * 257 + 100
    values[0, 0], values[0, 1] = 0, 65535
    Image.fromarray(values).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as check:
        assert check.mode == "I;16"
    image = load_image(tmp_path / "deep.png")
    expected = torch.tensor(values / 65535.0, dtype=torch.float32)
    torch.testing.assert_close(image[1], expected, rtol=0, atol=1e-7)
    assert image[0, 0, 0] == 0.0 and image[0, 0, 1] == 1.0
    assert image.max() <= 1.0


def test_cmyk_jpeg_keeps_its_colours(tmp_path, face):
    face.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    with Image.open(tmp_path / "cmyk.jpg") as check:
        assert check.mode == "CMYK"
    image = load_image(tmp_path / "cmyk.jpg")
    source = _as_tensor(np.asarray(face))
    assert image.shape == source.shape
    # JPEG loses a little; inverted or misread CMYK would differ by ~0.5.
    assert (image - source).abs().mean() < 0.03


def test_exif_orientation_is_applied(tmp_path, face):
    portrait = face.crop((0, 0, 250, 200))  # 250 wide, 200 high
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display after turning 90 degrees clockwise
    portrait.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    image = load_image(tmp_path / "rotated.jpg")
    assert image.shape == (3, 250, 200)
    assert upright_size(tmp_path / "rotated.jpg") == (200, 250)  # from the header, as decoded
    assert upright_size(tmp_path / "rotated.jpg") != portrait.size
    upright = _as_tensor(np.asarray(portrait.transpose(Image.Transpose.ROTATE_270)))
    assert (image - upright).abs().mean() < 0.03


def test_truncated_jpeg_is_refused(tmp_path, real_jpeg):
    data = real_jpeg.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"truncated") as caught:
        load_image(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_truncation_is_caught_even_when_pillow_is_told_to_allow_it(
    tmp_path, real_jpeg, monkeypatch
):
    # WeasyPrint sets this process-wide flag on import; it must not let broken files through.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = real_jpeg.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) - 200])
    with pytest.raises(ImageError, match=r"truncated"):
        load_image(path)


def test_zero_byte_file_is_refused(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(DataError, match=r"empty\.jpg: empty file"):
        load_image(path)


def test_text_named_jpg_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photograph\n")
    with pytest.raises(ImageError, match=r"notes\.jpg: not an image"):
        load_image(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ImageError, match=r"gone\.jpg: no such file"):
        load_image(tmp_path / "gone.jpg")


@pytest.mark.parametrize("width, height", [(30000, 30000), (8000, 7000)])
def test_decompression_bomb_is_refused_from_its_header(tmp_path, write_bomb_png, width, height):
    # 30000x30000 trips Pillow's own limit; 8000x7000 (56 MP) is under Pillow's but over ours.
    assert width * height > MAX_IMAGE_PIXELS
    path = write_bomb_png(tmp_path / "bomb.png", width, height)
    with pytest.raises(ImageError, match=r"bomb\.png: .*decompression bomb"):
        load_image(path)
    with pytest.raises(ImageError, match=r"bomb\.png: .*decompression bomb"):
        upright_size(path)  # before Pillow decodes a PNG to read its EXIF


def test_pixel_limit_is_adjustable(real_jpeg):
    with pytest.raises(ImageError, match=r"250x250 pixels exceeds the limit of 10,000"):
        load_image(real_jpeg, max_pixels=10_000)


def test_float_tiff_is_refused_as_unsupported(tmp_path, face):
    values = np.asarray(face.convert("L"), dtype=np.float32) / 255.0
    Image.fromarray(values, mode="F").save(tmp_path / "float.tif")
    with pytest.raises(ImageError, match=r"float\.tif: unsupported pixel mode 'F'"):
        load_image(tmp_path / "float.tif")
