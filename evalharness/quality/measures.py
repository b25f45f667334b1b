"""Measurable image-quality properties of one face in one stored image.

Every function takes one image and the face's box, so the same code measures a simulated probe
(in the runner, on the true face box) and a real photograph (in ``evalharness quality``, on the
detected box). Images are greyscale ``(H, W)`` float arrays in [0, 1] (:func:`to_grey`); colour
images are reduced to luminance (ITU-R BT.709 weights, :func:`skimage.color.rgb2gray`) because an
infrared camera stores only one channel and the measures must mean the same on both.

Measures (the keys of :func:`face_measures`; units in the names):

- ``face_width_px``: width of the face box, pixels.
- ``ied_px_landmarks``: distance between the detected eye landmarks, pixels.
- ``det_prob``: the detector's probability for the face, in [0, 1].
- ``face_jpeg_bytes``: entropy-coded bytes the JPEG file spends on the face (:func:`face_jpeg_bytes`).
- ``noise_sigma_dn``: noise standard deviation in 8-bit digital numbers, from the finest wavelet
  sub-band (:func:`skimage.restoration.estimate_sigma`, Donoho & Johnstone's MAD estimator).
- ``sharpness_laplacian_dn2``: Laplacian energy, the mean squared response of the discrete
  Laplacian (:func:`skimage.filters.laplace`) in 8-bit digital numbers squared; it rises with
  fine detail (and, less, with noise).
- ``face_level_dn`` (:func:`face_level_dn`, read by ``evalharness validate``, not a run column):
  median stored luma of the face's centre in 8-bit DN, how brightly the camera rendered the face;
  with ``quantile=LIT_QUANTILE``, the level of its lit skin (the brightest tenth of the centre).
- ``skin_level_dn`` (:func:`skin_level_dn`, read by ``evalharness validate``, not a run column):
  the same of the face's own skin only, located by the landmarks instead of the box.
- ``directional_power_log2`` (:func:`directional_power_log2`, read by
  ``scripts/face_motion_blur.py``, not a run column): log2 of the face's spectral power along the
  image rows over that along the columns; a horizontal motion blur lowers it.
- ``psnr_db``, ``ssim``: against the undegraded face resampled to the same scale
  (:func:`skimage.metrics.peak_signal_noise_ratio`, :func:`skimage.metrics.structural_similarity`).
  They need that reference, so they exist only in simulation, never for a real image.

The noise, sharpness and reference measures read the face box grown to at least
:data:`MIN_REGION_PX` a side (clipped to the image): at long range a face box is a few pixels,
too few for a wavelet noise estimate or a 7-pixel SSIM window.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from PIL import Image, JpegImagePlugin
from skimage.color import rgb2gray
from skimage.filters import laplace
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import estimate_sigma

from evalharness.quality.pose import HeadPose, head_pose

#: Smallest side, pixels, of the region the noise, sharpness and reference measures read.
MIN_REGION_PX = 16
#: Share of the face box, about its centre, that :func:`face_level_dn` reads in each direction: the
#: middle half holds the skin between the eyes and the mouth, little hair or background.
LEVEL_REGION_SHARE = 0.5
#: Quantile of the face centre's luma that reads its lit skin where the landmarks miss it
#: (``evalharness validate``): skin lit by the scene is the brightest large part of a face's
#: centre, which also holds beard, glasses, brows, hair and shadow in shares that differ between a
#: scene and a studio. On the FRMDB development probes whose skin the landmarks read, the centre's
#: median stood for it 12% too dark (23% on the CCTV faces), the 0.9 quantile 1% too bright
#: (docs/VALIDATION.md, "The lit share of the face's centre").
LIT_QUANTILE = 0.9
#: Radius of each disc that :func:`skin_level_dn` reads, as a share of the distance from the eye
#: midpoint to the nose tip (about 0.6 IED frontally): small enough that the discs stay on the
#: nose and inner cheeks of a face turned as far as the landmarks are still found.
SKIN_DISC_SHARE = 0.25
#: Frequency band of :func:`directional_power_log2`, cycles per inter-eye distance. Its top lies at
#: the first zero of a motion blur 0.4 IED long (1 / 0.4), so up to that length a longer blur always
#: means less power; at the smallest face measured (10 px between the eyes) it is 0.25 cycles/px,
#: under the Nyquist limit. Its bottom leaves out the head's outline.
DIRECTION_BAND_CYC_PER_IED = (1.0, 2.5)
#: Half-angle of the two sectors of frequencies that count as along the rows and along the columns.
DIRECTION_SECTOR_DEG = 30.0
#: Digital numbers of an 8-bit image per unit of a [0, 1] image.
DN_PER_UNIT = 255.0
#: JPEG markers: start of scan and end of image.
_SOS, _EOI = b"\xff\xda", b"\xff\xd9"


@dataclass(frozen=True)
class Measure:
    """One quality measure: its column, how to read it, and whether a real image has it."""

    name: str
    label: str
    #: True when it needs no undegraded reference, so a real photograph can be measured.
    reference_free: bool = True
    #: True when only a detected face has it (its curve then holds only detected probes).
    needs_detection: bool = False


MEASURES = (
    Measure("ied_px", "inter-eye distance from the camera geometry (px)", reference_free=False),
    Measure("ied_px_landmarks", "inter-eye distance from detected landmarks (px)", needs_detection=True),
    Measure("face_width_px", "face box width (px)", needs_detection=True),
    Measure("det_prob", "detector probability", needs_detection=True),
    Measure("face_jpeg_bytes", "JPEG bytes spent on the face"),
    Measure("noise_sigma_dn", "noise standard deviation (8-bit DN)"),
    Measure("sharpness_laplacian_dn2", "Laplacian energy (8-bit DN²)"),
    Measure("psnr_db", "PSNR against the ideal face (dB)", reference_free=False),
    Measure("ssim", "SSIM against the ideal face", reference_free=False),
)


def to_grey(image: ArrayLike) -> np.ndarray:
    """``(C, H, W)`` image in [0, 1] (C = 1 or 3) as a greyscale ``(H, W)`` float64 array."""
    array = np.asarray(image, dtype=np.float64)
    return array[0] if array.shape[0] == 1 else rgb2gray(np.moveaxis(array, 0, -1))


def face_region(box: ArrayLike, height: int, width: int, *, share: float = 1.0,
                min_side_px: float = MIN_REGION_PX) -> tuple[slice, slice]:
    """Rows and columns of the face box ``x1, y1, x2, y2`` (pixels) scaled by ``share`` about its
    centre, grown to at least ``min_side_px`` a side and clipped to a ``height x width`` image."""
    x1, y1, x2, y2 = (float(v) for v in box)
    half_w = max((x2 - x1) * share, min_side_px) / 2.0
    half_h = max((y2 - y1) * share, min_side_px) / 2.0
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    rows = slice(max(0, math.floor(cy - half_h)), min(height, math.ceil(cy + half_h)))
    cols = slice(max(0, math.floor(cx - half_w)), min(width, math.ceil(cx + half_w)))
    return rows, cols


def noise_sigma_dn(region: np.ndarray) -> float:
    """Noise standard deviation of a greyscale region in [0, 1], in 8-bit digital numbers."""
    if min(region.shape) < 2:
        return math.nan
    return float(estimate_sigma(region, channel_axis=None)) * DN_PER_UNIT


def laplacian_energy_dn2(region: np.ndarray) -> float:
    """Mean squared discrete Laplacian of a greyscale region in [0, 1], in 8-bit DN²."""
    return float(np.mean(laplace(region * DN_PER_UNIT) ** 2))


def face_level_dn(image: ArrayLike, box: ArrayLike, *, quantile: float = 0.5) -> float:
    """A quantile (default the median) of the luma of the face's centre in 8-bit DN, as stored
    (tone curve included).

    ``image`` is ``(C, H, W)`` in [0, 1]; ``box`` the face box ``x1, y1, x2, y2`` in pixels;
    ``quantile`` in [0, 1]. The region is the middle :data:`LEVEL_REGION_SHARE` of the box in each
    direction, at least one pixel, clipped to the image. The median ignores a few specular or
    glasses pixels; :data:`LIT_QUANTILE` reads the lit skin among darker beard, glasses or hair.
    NaN when the region lies outside the image.
    """
    image = np.asarray(image)
    rows, cols = face_region(box, *image.shape[-2:], share=LEVEL_REGION_SHARE, min_side_px=1.0)
    region = image[:, rows, cols]
    if region.size == 0:
        return math.nan
    return float(np.quantile(to_grey(region), quantile)) * DN_PER_UNIT


def skin_disc_radius_px(landmarks_px: ArrayLike) -> float:
    """Radius (pixels) of each disc :func:`skin_level_dn` reads on a face with five landmarks
    ``(5, 2)``: :data:`SKIN_DISC_SHARE` of the eye-midpoint-to-nose distance, at least half a pixel."""
    points = np.asarray(landmarks_px, dtype=np.float64)
    return max(SKIN_DISC_SHARE * float(np.hypot(*(points[2] - points[:2].mean(axis=0)))), 0.5)


def skin_level_dn(image: ArrayLike, landmarks_px: ArrayLike) -> float:
    """Median luma of the face's own skin in 8-bit DN, as stored (tone curve included).

    ``image`` is ``(C, H, W)`` in [0, 1]; ``landmarks_px`` the five landmarks ``(5, 2)`` (left
    eye, right eye, nose tip, mouth corners; x, y pixels). The region is three discs, at the nose
    tip and halfway from each eye to it (the nose bridge and inner cheeks), each of radius
    :func:`skin_disc_radius_px` (the nearest pixel counts too, however small the disc).
    Unlike the box's centre (:func:`face_level_dn`) it holds no hair or background, which differ
    between a studio photograph and a scene. NaN when no disc lies in the image.
    """
    image = np.asarray(image)
    points = np.asarray(landmarks_px, dtype=np.float64)
    radius = skin_disc_radius_px(points)
    centres = np.stack([points[2], (points[0] + points[2]) / 2.0, (points[1] + points[2]) / 2.0])
    rows, cols = np.mgrid[:image.shape[-2], :image.shape[-1]]
    inside = np.zeros(image.shape[-2:], dtype=bool)
    for x, y in centres:
        inside |= (cols - x) ** 2 + (rows - y) ** 2 <= radius ** 2
        if 0 <= round(y) < image.shape[-2] and 0 <= round(x) < image.shape[-1]:
            inside[round(y), round(x)] = True
    if not inside.any():
        return math.nan
    return float(np.median(to_grey(image)[inside])) * DN_PER_UNIT


def directional_power_log2(region: np.ndarray, *, ied_px: float) -> float:
    """log2 of the spectral power along the rows over that along the columns of a face.

    ``region`` is a greyscale ``(H, W)`` face region in [0, 1]; ``ied_px`` the face's inter-eye
    distance in pixels. The region's mean is removed and a Hann window applied; the power is the
    mean squared magnitude of its discrete Fourier transform at frequencies within
    :data:`DIRECTION_SECTOR_DEG` of the horizontal (varying along a row) or of the vertical axis,
    in the band :data:`DIRECTION_BAND_CYC_PER_IED` and under Nyquist. A blur along the rows (a face
    moving across the image) takes power from the first only; noise adds to both alike. Faces
    have their own ratio (edges of eyes, brows and mouth run along the rows), so the measure means
    something against the same face simulated, not alone. NaN when either sector holds fewer than
    two frequencies (a region too small for the band).
    """
    height, width = region.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    power = np.abs(np.fft.fft2((region - region.mean()) * window)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij")
    radius = np.hypot(fx, fy)
    low, high = DIRECTION_BAND_CYC_PER_IED
    band = (radius * ied_px >= low) & (radius * ied_px <= high) & (radius <= 0.5)
    angle = np.degrees(np.arctan2(np.abs(fy), np.abs(fx)))
    rows, cols = band & (angle <= DIRECTION_SECTOR_DEG), band & (angle >= 90.0 - DIRECTION_SECTOR_DEG)
    if rows.sum() < 2 or cols.sum() < 2:
        return math.nan
    return float(np.log2(power[rows].mean() / power[cols].mean()))


def reference_similarity(region: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) and SSIM of a greyscale region against its reference, both in [0, 1].

    The SSIM window is 7 px (scikit-image's default), smaller and odd for regions under 7 px;
    both are NaN for a region under 3 px. PSNR is infinite for identical regions.
    """
    window = min(7, *region.shape)
    window -= 1 - window % 2
    if window < 3:
        return math.nan, math.nan
    with np.errstate(divide="ignore"):  # identical regions: infinite PSNR, as it should be
        psnr = peak_signal_noise_ratio(reference, region, data_range=1.0)
    ssim = structural_similarity(reference, region, data_range=1.0, win_size=window)
    return float(psnr), float(ssim)


#: The EXIF tag of the orientation in which a stored image is to be shown (1-8, 1: as stored).
_ORIENTATION = 0x0112


def stored_box(box: ArrayLike, stored_size: tuple[int, int], *, orientation: int) -> tuple[float, ...]:
    """The box ``(x1, y1, x2, y2)`` in pixels of the upright image, in the pixels of the image as
    stored (``stored_size``: width, height) with EXIF ``orientation`` 1-8 (2: mirrored, 3: turned
    180 degrees, 4: flipped, 5: transposed, 6: to be turned 90 degrees clockwise, 7: transverse,
    8: to be turned 90 degrees anticlockwise; any other value: as stored)."""
    width, height = stored_size
    inverse = {2: lambda x, y: (width - x, y), 3: lambda x, y: (width - x, height - y),
               4: lambda x, y: (x, height - y), 5: lambda x, y: (y, x), 6: lambda x, y: (y, height - x),
               7: lambda x, y: (width - y, height - x), 8: lambda x, y: (width - y, x)}
    x1, y1, x2, y2 = (float(v) for v in box)
    if orientation not in inverse:
        return x1, y1, x2, y2
    (a, b), (c, d) = inverse[orientation](x1, y1), inverse[orientation](x2, y2)
    return min(a, c), min(b, d), max(a, c), max(b, d)


def face_jpeg_bytes(jpeg: bytes, box: ArrayLike) -> float:
    """Entropy-coded bytes a JPEG file spends on the face box, NaN for a non-JPEG file.

    The blocks (minimum coded units, MCUs) that cover the box are cut from the decoded image on
    the file's own MCU grid and re-encoded with the file's own quantisation tables, chroma
    subsampling and libjpeg's standard Huffman tables; the count is the length of that scan (the
    headers, which do not depend on the face, are left out). Re-encoding decoded JPEG blocks with
    their own tables reproduces their quantised coefficients almost exactly, so this is the share
    of the file that carries the face, to within a few percent, whatever encoder wrote it.
    ``box`` is in the upright image's pixels (as :func:`~evalharness.data.images.load_image`
    turns it by its EXIF orientation); the blocks are those of the file as stored.
    """
    with Image.open(io.BytesIO(jpeg)) as picture:
        if picture.format != "JPEG":
            return math.nan
        sampling = JpegImagePlugin.get_sampling(picture) if picture.mode != "L" else 0
        tables = picture.quantization
        # MCU of 4:4:4 (and greyscale) is 8x8 px, 4:2:2 is 16x8, 4:2:0 is 16x16.
        mcu_w, mcu_h = (16 if sampling in (1, 2) else 8), (16 if sampling == 2 else 8)
        x1, y1, x2, y2 = stored_box(box, picture.size, orientation=picture.getexif().get(_ORIENTATION, 1))
        left, top = max(0, math.floor(x1 / mcu_w) * mcu_w), max(0, math.floor(y1 / mcu_h) * mcu_h)
        right = min(picture.width, math.ceil(x2 / mcu_w) * mcu_w)
        bottom = min(picture.height, math.ceil(y2 / mcu_h) * mcu_h)
        if right <= left or bottom <= top:
            return math.nan
        crop = picture.crop((left, top, right, bottom))
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG", qtables=tables, subsampling=max(sampling, 0))
    data = buffer.getvalue()
    start = data.index(_SOS)
    header = int.from_bytes(data[start + 2:start + 4], "big")
    return float(data.rindex(_EOI) - (start + 2 + header))


def face_measures(image: ArrayLike, box: ArrayLike, jpeg: bytes | None = None,
                  reference: ArrayLike | None = None) -> dict[str, float]:
    """The image measures of one face (those that need no detection).

    Parameters
    ----------
    image : array_like (C, H, W)
        The stored image, float in [0, 1], C = 1 or 3.
    box : array_like (4,)
        The face box x1, y1, x2, y2 in pixels of ``image``.
    jpeg : bytes, optional
        The file ``image`` was decoded from; ``face_jpeg_bytes`` is NaN without it.
    reference : array_like (C, H, W), optional
        The undegraded face at the same scale and position; ``psnr_db`` and ``ssim`` are NaN
        without it.

    Returns
    -------
    dict
        ``face_jpeg_bytes``, ``noise_sigma_dn``, ``sharpness_laplacian_dn2``, ``psnr_db``, ``ssim``.
    """
    image = np.asarray(image)
    rows, cols = face_region(box, *image.shape[-2:])
    region = to_grey(image[:, rows, cols])  # only the region: a full frame is megapixels
    psnr, ssim = (math.nan, math.nan) if reference is None else \
        reference_similarity(region, to_grey(np.asarray(reference)[:, rows, cols]))
    return {
        "face_jpeg_bytes": face_jpeg_bytes(jpeg, box) if jpeg is not None else math.nan,
        "noise_sigma_dn": noise_sigma_dn(region),
        "sharpness_laplacian_dn2": laplacian_energy_dn2(region),
        "psnr_db": psnr,
        "ssim": ssim,
    }


def detection_measures(box: ArrayLike | None, landmarks: ArrayLike | None, prob: float,
                       scale: float = 1.0, *, pose: HeadPose | None = None) -> dict[str, float]:
    """The measures of a detection, in pixels of the stored image; NaN without a detection.

    ``box`` (4,) and ``landmarks`` (5, 2) are in pixels of the image the detector saw, which is
    the stored image enlarged ``scale`` times. ``yaw_deg`` and ``pitch_deg`` are the head pose
    the landmarks give (:func:`~evalharness.quality.pose.head_pose`); they describe, and are not
    quality measures of :data:`MEASURES`. ``pose``: their fit where the caller has it already
    (:func:`~evalharness.quality.pose.head_poses` fits a batch's faces together).
    """
    if box is None or landmarks is None:
        return {"ied_px_landmarks": math.nan, "face_width_px": math.nan, "det_prob": math.nan,
                "yaw_deg": math.nan, "pitch_deg": math.nan}
    eyes = np.asarray(landmarks, dtype=np.float64)[:2]
    pose = pose or head_pose(np.asarray(landmarks, dtype=np.float64))
    return {
        "ied_px_landmarks": float(np.linalg.norm(eyes[1] - eyes[0])) / scale,
        "face_width_px": float(box[2] - box[0]) / scale,
        "det_prob": float(prob),
        "yaw_deg": pose.yaw_deg,
        "pitch_deg": pose.pitch_deg,
    }
