"""Storage: interlacing of legacy cameras and a real JPEG encoder.

JPEG goes through Pillow (libjpeg), because torchvision's ``encode_jpeg`` offers no choice of
chroma subsampling; Pillow encodes a small face crop in well under a millisecond. Monochrome
images are stored as single-channel (greyscale) JPEGs, colour ones as YCbCr with the profile's
chroma subsampling.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

#: Pillow's ``subsampling`` codes.
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
#: ITU-R BT.601 luma weights of red, green and blue: the luma JPEG codes.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def keep_one_field(images: torch.Tensor) -> torch.Tensor:
    """Keep the even rows of ``(B, C, H, W)`` and repeat each, as a one-field camera stores.

    Vertical resolution halves (288 of 576 lines); the height is kept.
    """
    height = images.shape[-2]
    return images[..., 0::2, :].repeat_interleave(2, dim=-2)[..., :height, :]


def encode_jpeg(images: torch.Tensor, *, quality: int, subsampling: str) -> list[bytes]:
    """Encode ``(B, C, H, W)`` values in [0, 1] (C = 1 or 3) as JPEG files, one per image."""
    pixels = (images.detach().clamp(0.0, 1.0) * 255.0).round().to("cpu", torch.uint8)
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    encoded = []
    for array in pixels:
        picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=quality, subsampling=SUBSAMPLING[subsampling])
        encoded.append(buffer.getvalue())
    return encoded


def decode_jpeg(data: list[bytes], device: torch.device | str = "cpu") -> torch.Tensor:
    """Decode same-sized JPEG files to ``(B, C, H, W)`` float32 in [0, 1] on ``device``."""
    arrays = []
    for blob in data:
        with Image.open(io.BytesIO(blob)) as picture:
            array = np.asarray(picture)
        arrays.append(array[..., None] if array.ndim == 2 else array)
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return (stacked.float() / 255.0).to(device)
