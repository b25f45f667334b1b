"""Storage: a real JPEG encoder at the profile's quality and subsampling; interlacing."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image, JpegImagePlugin

from evalharness.camera.codec import decode_jpeg, encode_jpeg, keep_one_field

# The IJG (libjpeg) luminance quantisation table at quality 50, in natural (row) order.
IJG_LUMA_50 = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]


def _ijg_table(quality: int) -> list[int]:
    """libjpeg's jpeg_quality_scaling applied to the standard table."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((value * scale + 50) // 100, 1), 255) for value in IJG_LUMA_50]


def _picture(channels: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(2, channels, 72, 88, generator=generator),
                                            5, 1, 2)
    return smooth.clamp(0, 1)


@pytest.mark.parametrize("quality", [10, 50, 75, 95])
@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_bytes_decode_at_the_configured_quality_and_size(quality, channels):
    images = _picture(channels)
    for blob in encode_jpeg(images, quality=quality, subsampling="4:2:0"):
        with Image.open(io.BytesIO(blob)) as picture:
            assert picture.format == "JPEG"
            assert picture.size == (88, 72)
            assert picture.mode == ("L" if channels == 1 else "RGB")
            # The luminance table zig-zag order differs by Pillow version; compare as sets of
            # sorted values, which fixes the quality exactly.
            assert sorted(picture.quantization[0]) == sorted(_ijg_table(quality))


def test_quality_changes_the_bytes_and_the_pixels():
    images = _picture(3)
    high, low = (encode_jpeg(images, quality=95, subsampling="4:2:0"),
                 encode_jpeg(images, quality=10, subsampling="4:2:0"))
    assert all(len(h) > len(lo) for h, lo in zip(high, low, strict=True))
    error_high = (decode_jpeg(high) - images).abs().mean()
    error_low = (decode_jpeg(low) - images).abs().mean()
    assert error_low > 2 * error_high


@pytest.mark.parametrize(("subsampling", "code"), [("4:4:4", 0), ("4:2:2", 1), ("4:2:0", 2)])
def test_chroma_subsampling_is_written(subsampling, code):
    blob = encode_jpeg(_picture(3), quality=75, subsampling=subsampling)[0]
    with Image.open(io.BytesIO(blob)) as picture:
        assert JpegImagePlugin.get_sampling(picture) == code


def test_decode_round_trip_shape_and_range():
    images = _picture(1)
    decoded = decode_jpeg(encode_jpeg(images, quality=95, subsampling="4:4:4"))
    assert decoded.shape == images.shape and decoded.dtype == torch.float32
    assert float((decoded - images).abs().max()) < 0.05


def test_one_field_halves_vertical_resolution():
    rows = torch.arange(8.0).reshape(1, 1, 8, 1).expand(1, 1, 8, 3)
    kept = keep_one_field(rows)
    assert kept.shape == rows.shape
    assert kept[0, 0, :, 0].tolist() == [0, 0, 2, 2, 4, 4, 6, 6]
