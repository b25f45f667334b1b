"""Reading image files into tensors, refusing files that are broken or unsafe to decode.

Every photograph enters the harness through :func:`load_image`, which returns a ``(3, H, W)``
float32 RGB tensor in [0, 1] whatever the file's pixel format, and raises :class:`ImageError`
(naming the file and the reason) for anything it cannot decode completely: missing, empty,
truncated, not an image, an unsupported pixel format, or larger than :data:`MAX_IMAGE_PIXELS`
(a decompression bomb). The size check uses the dimensions in the file's header, before any
pixel is decoded.

Conversions
-----------
- greyscale (``1``, ``L``) and palette (``P``) images are expanded to RGB;
- 16-bit greyscale (``I;16``) is scaled from 0..65535 to [0, 1] (Pillow reduces 16-bit-per-channel
  colour PNGs to 8 bits per channel on reading, by taking the high byte);
- images with transparency (``RGBA``, ``LA``, ``PA``, palette with a transparent index) are
  composited onto white, as a viewer shows them; dropping alpha would instead expose whatever
  colour the encoder left under transparent pixels;
- CMYK is converted with Pillow's formula R = (1 - C)(1 - K), and so on (Adobe's inverted CMYK
  JPEGs are handled by Pillow's decoder);
- embedded ICC colour profiles are not applied (values are taken as sRGB), as for any image
  without colour management;
- the EXIF orientation tag is applied, so the tensor is upright as a viewer shows it;
- of a multi-frame file (TIFF, GIF, WebP), the first frame is read.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from evalharness.errors import DataError

#: Largest image accepted, in pixels (width x height): 50 megapixels is above any ANPR or
#: surveillance camera frame, and keeps one decoded image under 150 MB as 8-bit RGB.
MAX_IMAGE_PIXELS = 50_000_000

# Pixel modes (Pillow's names) that convert to RGB faithfully; others (32-bit "I", float "F",
# "LAB", whose Pillow conversion to RGB is not colorimetric) are refused.
_TRANSPARENT_MODES = {"RGBA", "LA", "PA", "RGBa"}
_COLOUR_MODES = {"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "HSV"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


class ImageError(DataError):
    """An image file cannot be decoded safely and completely.

    ``str(error)`` is ``"<path>: <reason>"``; ``error.path`` and ``error.reason`` hold the parts.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def read_image(path: str | os.PathLike[str], max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open and fully decode an image file, refusing oversized, truncated or non-image files.

    Parameters
    ----------
    path
        The image file. Any format Pillow reads (JPEG, PNG, BMP, WebP, TIFF, ...).
    max_pixels
        Largest accepted width x height, checked against the header before decoding.

    Returns
    -------
    PIL.Image.Image
        The first frame, fully decoded, upright (EXIF orientation applied), in the file's own
        pixel mode. :func:`load_image` converts it to a tensor.

    Raises
    ------
    ImageError
        ``"<path>: <reason>"`` when the file is missing, empty, not an image, truncated,
        or larger than ``max_pixels``.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageError(path, "empty file (0 bytes)")
        image = _open_header(path)
        _refuse_a_bomb(path, image, max_pixels)
        # WeasyPrint sets this process-wide flag to True on import, which makes Pillow pad
        # truncated files with grey instead of failing; the harness never accepts those.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        with image:
            image.load()  # decodes every pixel: a truncated file fails here, not later
            return ImageOps.exif_transpose(image)
    except _READ_ERRORS as error:
        raise _image_error(path, error) from None


#: What Pillow raises on a file it cannot read (:func:`_image_error` says what each means).
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError,
                Image.DecompressionBombWarning)


def _open_header(path: Path) -> Image.Image:
    """``Image.open``, which reads the header only. Pillow warns above Image.MAX_IMAGE_PIXELS and
    raises above twice that; both are bombs here (:func:`read_image` checks anything smaller)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path)


def _refuse_a_bomb(path: Path, image: Image.Image, max_pixels: int) -> None:
    """Close ``image`` and raise an :class:`ImageError` when its header claims more than
    ``max_pixels`` pixels, before anything is decoded."""
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageError(path, f"{width}x{height} pixels exceeds the limit of {max_pixels:,} pixels "
                               "(possible decompression bomb)")


def _image_error(path: Path, error: BaseException) -> ImageError:
    """The :class:`ImageError` saying what ``error``, raised while reading ``path``, means."""
    if isinstance(error, FileNotFoundError):
        return ImageError(path, "no such file")
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageError(path, f"too many pixels (possible decompression bomb): {error}")
    if isinstance(error, UnidentifiedImageError):
        return ImageError(path, "not an image in a format Pillow can read")
    # Pillow reports corrupt or truncated data as OSError ("image file is truncated"),
    # SyntaxError (malformed headers), ValueError or EOFError depending on the plugin.
    return ImageError(path, f"cannot be decoded: {error}")


def upright_size(path: str | os.PathLike[str], max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """``(width, height)`` in pixels of the image as :func:`read_image` returns it (EXIF
    orientations 5-8 turn it a quarter), from the header (Pillow decodes a PNG to read its EXIF,
    so the pixel limit is checked first). An unreadable file or one of more than ``max_pixels``
    pixels is an :class:`ImageError`."""
    try:
        with _open_header(Path(path)) as image:
            _refuse_a_bomb(Path(path), image, max_pixels)
            width, height = image.size
            turned = image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
    except _READ_ERRORS as error:
        raise _image_error(Path(path), error) from None
    return (height, width) if turned else (width, height)


def image_to_tensor(image: Image.Image, source: str | os.PathLike[str] = "<image>") -> torch.Tensor:
    """Convert a decoded Pillow image to a ``(3, H, W)`` float32 RGB tensor in [0, 1].

    See the module docstring for how each pixel mode is converted. ``source`` names the image
    in the :class:`ImageError` raised for a pixel mode without a faithful conversion (32-bit
    integer ``I``, floating-point ``F``, ``LAB``).
    """
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return torch.from_numpy(grey).unsqueeze(0).expand(3, -1, -1).contiguous()
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in _TRANSPARENT_MODES:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        rgb, alpha = rgba[..., :3], rgba[..., 3:]
        rgb = rgb * alpha + (1.0 - alpha)  # alpha-over onto a white background
    elif mode in _COLOUR_MODES:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    else:
        raise ImageError(source, f"unsupported pixel mode {mode!r} (8- or 16-bit images only)")
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


def load_image(path: str | os.PathLike[str], max_pixels: int = MAX_IMAGE_PIXELS) -> torch.Tensor:
    """Read an image file as a ``(3, H, W)`` float32 RGB tensor with values in [0, 1].

    Parameters
    ----------
    path
        The image file (JPEG, PNG, BMP, WebP, TIFF, ...).
    max_pixels
        Largest accepted width x height; larger files are refused before decoding.

    Returns
    -------
    torch.Tensor
        Shape ``(3, H, W)``, dtype float32, values in [0, 1], channels R, G, B, on the CPU.

    Raises
    ------
    ImageError
        ``"<path>: <reason>"`` for a missing, empty, truncated, non-image, oversized or
        unsupported file.

    Examples
    --------
    >>> image = load_image("datasets/lfw-mini/Al_Gore/Al_Gore_0001.jpg")
    >>> image.shape, image.dtype
    (torch.Size([3, 250, 250]), torch.float32)
    """
    return image_to_tensor(read_image(path, max_pixels), source=path)

