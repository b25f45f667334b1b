"""What the stored frames of one real camera measure: the input of ``evalharness calibrate``.

:func:`measure_frame` measures one frame (:mod:`evalharness.camera.measure`: noise on flat blocks,
edge windows, colour, black and white levels, a JPEG's quantisation tables and sampling);
:func:`summarise` pools the frames of one camera into :class:`CameraMeasures`. Sharpness is
measured on the static scene only (:func:`static_sharpness`: edge windows that recur in another
frame), as the MTF50 of their mean MTF: an edge on a moving subject holds its motion blur, which is
not the lens's. :class:`Sharpness` also says when the edges cannot measure one lens (an MTF50 that
differs with the edge's contrast or the window's width). :mod:`evalharness.camera.calibration`
turns these measures into profile values.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, JpegImagePlugin

from evalharness.camera import measure
from evalharness.camera.codec import SUBSAMPLING
from evalharness.errors import DataError

#: A frame is monochrome when its mean colour difference is below this, DN.
MONOCHROME_MAX_CHROMA_DN = 1.0
#: Percentile of luma taken as the scene's white level.
WHITE_PERCENTILE = 99.0
#: Percentile of luma taken as the scene's black level (contrast: black / white, linear).
BLACK_PERCENTILE = 1.0

#: Static scene: how far the scene may lie shifted between two frames of one camera, pixels.
#: Measured on the FRMDB CCTV frames (a camera remounted between recording sessions): edge
#: windows recur at shifts of 0 to 4 px; searching further only adds matches piling up at
#: whatever bound is searched (a straight edge slid along itself or onto another edge).
STATIC_SHIFT_PX = 4
#: A window is static when it recurs in another frame with an RMS difference of at most this
#: many times the difference that the measured noise curve makes. The noise curve is that of
#: the flattest blocks, so the codec's extra error at edges is not in it: on the FRMDB CCTV
#: frames, windows that recur at zero shift in three or more frames of one recording session
#: (certainly static) differ by 0.9 to 2.9 times that noise. That range was measured with the
#: noise read before session 13, over blocks with clipped colour channels too (up to 1.75 times
#: higher at mid levels); with the unclipped blocks' noise the bound keeps 31 of the 51 windows
#: it kept, and the verdict on the FRMDB lens (not measured: the window widths disagree) stands.
STATIC_MAX_NOISE_RATIO = 3.0
#: Fewest static edge windows for sharpness to be measured: single windows' MTF50 scatter by
#: about +-50% (interquartile range over the median, FRMDB CCTV); 10 windows bring the standard
#: error of their mean under the 15% goal of a calibration (0.5 / 1.35 / sqrt(10) = 12%).
MIN_STATIC_EDGES = 10

#: Edge contrast classes, DN (stored luma step between the flat sides), in which sharpness is
#: also reported. A camera whose chain is linear renders every step alike, whatever its
#: contrast (the simulated chart's MTF50 varies by under 10% across these classes); natural
#: edges need not (on the FRMDB CCTV frames, 1.4 times: docs/VALIDATION.md).
CONTRAST_CLASSES_DN = (20.0, 60.0, 100.0, 150.0, 200.0, 256.0)
#: Sharpness "depends on contrast" when the classes' MTF50 (those of at least
#: :data:`MIN_STATIC_EDGES` windows) span more than this ratio: twice the 15% goal of a
#: calibration, so that one lens blur matching their middle would miss both ends.
CONTRAST_DEPENDENCE_RATIO = 1.3
#: Narrower edge windows, rows x columns and step, pixels, measured beside the standard ones
#: (:data:`measure.EDGE_WINDOW_PX`). A lens renders every step alike, whatever the window that
#: holds it, as long as the window holds the whole transition: on the camera model's chart frames
#: the two agree at every lens blur tried, sigma 0.27 to 5.1 px (tested; the widest blur is the
#: hardest, as the few narrow windows that pass hold only part of it). A room may offer its
#: sharp edges only close to texture or to clipped white, where only a narrow window finds flat
#: sides, and its soft ones (shading, rounded corners) with wide flat sides: there the two
#: disagree (FRMDB CCTV: 2.7 times), and the natural edges do not measure the lens.
NARROW_WINDOW_PX = (16, 16)
NARROW_STEP_PX = 4
#: The windows "disagree" beyond this ratio of their MTF50: 1.5, three times the 15% goal of a
#: calibration, so that chance in a few narrow windows does not refuse a lens.
WINDOW_AGREEMENT_RATIO = 1.5

#: Pillow's ``get_sampling`` codes to the profile's names.
_SUBSAMPLING_NAMES = {code: name for name, code in SUBSAMPLING.items()}


@dataclass(frozen=True)
class FrameMeasures:
    """Measures of one stored frame (see :mod:`evalharness.camera.measure`)."""

    width_px: int
    height_px: int
    chroma_dn: float
    blocks: measure.BlockNoise
    luma_dn: np.ndarray
    edges: tuple[measure.EdgeWindow, ...]
    #: Edge windows of :data:`NARROW_WINDOW_PX`.
    narrow_edges: tuple[measure.EdgeWindow, ...]
    white_dn: float
    black_dn: float
    jpeg_quality: int | None = None
    jpeg_mismatch: float | None = None
    jpeg_subsampling: str | None = None


def measure_frame(
    image: np.ndarray, *, luma_table: Sequence[int] | None = None, subsampling: str | None = None
) -> FrameMeasures:
    """Measure one frame: ``image (H, W)`` or ``(H, W, 3)`` 8-bit DN; the JPEG's luma table
    (natural order) and chroma subsampling when the frame is a JPEG file."""
    y_dn = measure.luma_dn(image)
    quality, mismatch = measure.jpeg_quality(luma_table) if luma_table is not None else (None, None)
    return FrameMeasures(
        width_px=int(y_dn.shape[1]), height_px=int(y_dn.shape[0]),
        chroma_dn=measure.chroma_dn(image), blocks=measure.frame_noise(image),
        luma_dn=y_dn.astype(np.float32), edges=tuple(measure.edge_windows(y_dn)),
        narrow_edges=tuple(measure.edge_windows(y_dn, window_px=NARROW_WINDOW_PX,
                                                step_px=NARROW_STEP_PX)),
        white_dn=float(np.percentile(y_dn, WHITE_PERCENTILE)),
        black_dn=float(np.percentile(y_dn, BLACK_PERCENTILE)),
        jpeg_quality=quality, jpeg_mismatch=mismatch, jpeg_subsampling=subsampling,
    )


def measure_image(image: Image.Image) -> FrameMeasures:
    """Measure an opened (not converted) image file; a JPEG's tables are read from it."""
    pixels = np.asarray(image.convert("L" if image.mode in ("L", "I;16", "I") else "RGB"))
    if image.format != "JPEG":
        return measure_frame(pixels)
    return measure_frame(pixels, luma_table=list(image.quantization[0]),
                         subsampling=_SUBSAMPLING_NAMES.get(JpegImagePlugin.get_sampling(image)))


def measure_stored(data: bytes) -> FrameMeasures:
    """:func:`measure_image` of an image file held in memory (a simulated camera's JPEG frame)."""
    with Image.open(io.BytesIO(data)) as image:
        return measure_image(image)


#: Levels between which an edge's core rise is read (:func:`measure.rise_px`): 25-75% (what a
#: shoulder beside the edge moves least) and 10-90%.
CORE_RISE_LEVELS = ((0.25, 0.75), (0.1, 0.9))


@dataclass(frozen=True)
class ContrastClass:
    """Static edge windows whose contrast lies in ``[low_dn, high_dn)``: how many, their mean MTF
    on :data:`measure.MTF_GRID_CYC_PER_PX` and its MTF50 (cycles per pixel), and the core of their
    median centred edge (:func:`measure.edge_shape`): its rise between each pair of
    :data:`CORE_RISE_LEVELS`, pixels (all NaN when fewer than :data:`MIN_STATIC_EDGES`)."""

    low_dn: float
    high_dn: float
    windows: int
    mtf50_cyc_per_px: float
    mean_mtf: np.ndarray = field(
        default_factory=lambda: np.full(measure.MTF_GRID_CYC_PER_PX.size, math.nan))
    rise_px: tuple[float, ...] = (math.nan,) * len(CORE_RISE_LEVELS)

    def as_dict(self) -> dict[str, float | int]:
        """The class as ``calibrate --json`` prints it (without the curve)."""
        return {"low_dn": self.low_dn, "high_dn": self.high_dn, "windows": self.windows,
                "mtf50_cyc_per_px": self.mtf50_cyc_per_px, "rise_25_75_px": self.rise_px[0],
                "rise_10_90_px": self.rise_px[1]}

    @property
    def key(self) -> str:
        """Name of its closed-loop check, e.g. ``mtf50_contrast_20_60_dn``."""
        return f"mtf50_contrast_{self.low_dn:.0f}_{self.high_dn:.0f}_dn"

    @property
    def rise_key(self) -> str:
        """Name of its core's closed-loop check, e.g. ``rise_25_75_contrast_20_60_dn_px``."""
        return f"rise_25_75_contrast_{self.low_dn:.0f}_{self.high_dn:.0f}_dn_px"


def contrast_groups(found: Sequence[tuple[FrameMeasures, measure.EdgeWindow]]
                    ) -> list[tuple[float, float, list[tuple[FrameMeasures, measure.EdgeWindow]]]]:
    """Edge windows, each with its frame, sorted into :data:`CONTRAST_CLASSES_DN`: ``(low_dn,
    high_dn, windows)`` per class, a window's contrast in ``[low_dn, high_dn)``."""
    return [(low, high, [(frame, w) for frame, w in found if low <= w.contrast_dn < high])
            for low, high in zip(CONTRAST_CLASSES_DN[:-1], CONTRAST_CLASSES_DN[1:], strict=True)]


def by_contrast(found: Sequence[tuple[FrameMeasures, measure.EdgeWindow]]) -> tuple[ContrastClass, ...]:
    """Edge windows, each with its frame, by contrast class (:func:`contrast_groups`): each
    class's pooled MTF50 and its median edge's core."""
    classes = []
    for low, high, inside in contrast_groups(found):
        if len(inside) < MIN_STATIC_EDGES:
            classes.append(ContrastClass(low, high, len(inside), math.nan))
            continue
        with warnings.catch_warnings():  # offsets beyond every window's reach are NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian([measure.edge_shape(frame.luma_dn, w).centred for frame, w in inside], axis=0)
        classes.append(ContrastClass(
            low, high, len(inside), measure.pooled_mtf50([w for _, w in inside]),
            np.mean([w.mtf for _, w in inside], axis=0),
            tuple(measure.rise_px(median, low=a, high=b) for a, b in CORE_RISE_LEVELS)))
    return tuple(classes)


@dataclass(frozen=True)
class Sharpness:
    """Sharpness of one camera from the edge windows of its static scene: ``mtf50_cyc_per_px``
    of their mean MTF (NaN when fewer than :data:`MIN_STATIC_EDGES`), the 25th, 50th and 75th
    percentiles of the single windows' MTF50, and the counts of static and of all edge
    windows."""

    mtf50_cyc_per_px: float
    window_mtf50_cyc_per_px: tuple[float, float, float]
    static_windows: int
    edge_windows: int
    #: Mean MTF of the static windows on :data:`measure.MTF_GRID_CYC_PER_PX` (NaN when too few).
    mean_mtf: np.ndarray = field(
        default_factory=lambda: np.full(measure.MTF_GRID_CYC_PER_PX.size, math.nan))
    #: The static windows by contrast (:func:`by_contrast`).
    contrast_classes: tuple[ContrastClass, ...] = ()
    #: MTF50 of the static windows of :data:`NARROW_WINDOW_PX` (NaN when too few), how many,
    #: and by contrast.
    narrow_mtf50_cyc_per_px: float = math.nan
    narrow_static_windows: int = 0
    narrow_contrast_classes: tuple[ContrastClass, ...] = ()

    def window_dependence(self) -> str | None:
        """A sentence when the narrow windows' MTF50 differs from the standard windows' by more
        than :data:`WINDOW_AGREEMENT_RATIO` either way (both of at least :data:`MIN_STATIC_EDGES`
        windows), else None."""
        wide, narrow = self.mtf50_cyc_per_px, self.narrow_mtf50_cyc_per_px
        if (self.narrow_static_windows < MIN_STATIC_EDGES or not self.measured
                or not math.isfinite(narrow)
                or max(wide, narrow) <= WINDOW_AGREEMENT_RATIO * min(wide, narrow)):
            return None
        rows, cols = NARROW_WINDOW_PX
        return (f"sharpness depends on the window: {self.static_windows} static windows of "
                f"{measure.EDGE_WINDOW_PX[0]}x{measure.EDGE_WINDOW_PX[1]} px give MTF50 "
                f"{wide:.3f} cycles/px, {self.narrow_static_windows} of {rows}x{cols} px give "
                f"{narrow:.3f}; a lens renders a step alike in any window that holds it")

    def lens_inconsistency(self) -> str | None:
        """What shows that these edges do not measure a lens (:meth:`contrast_dependence`,
        :meth:`window_dependence`), or None."""
        found = [s for s in (self.contrast_dependence(), self.window_dependence()) if s]
        return "; ".join(found) or None

    def contrast_dependence(self) -> str | None:
        """A sentence when the classes' MTF50 span more than :data:`CONTRAST_DEPENDENCE_RATIO`,
        in the standard or in the narrow windows (a chain that is not linear: one lens blur
        cannot reproduce it), else None."""
        found = []
        rows, cols = NARROW_WINDOW_PX
        for label, classes in (("windows", self.contrast_classes),
                               (f"{rows}x{cols} px windows", self.narrow_contrast_classes)):
            measured = [c for c in classes if math.isfinite(c.mtf50_cyc_per_px)]
            values = [c.mtf50_cyc_per_px for c in measured]
            if len(values) >= 2 and max(values) > CONTRAST_DEPENDENCE_RATIO * min(values):
                listed = ", ".join(f"{c.low_dn:.0f}-{c.high_dn:.0f} DN: {c.mtf50_cyc_per_px:.3f} "
                                   f"({c.windows})" for c in measured)
                found.append(f"sharpness depends on edge contrast (MTF50 of the static {label} "
                             f"by contrast, windows in brackets: {listed})")
        return "; ".join(found) + "; a linear camera renders every step alike" if found else None

    def mtf_at(self, cyc_per_px: float) -> float:
        """The mean MTF at ``cyc_per_px`` (cycles per pixel), interpolated on the grid."""
        return float(np.interp(cyc_per_px, measure.MTF_GRID_CYC_PER_PX, self.mean_mtf))

    @property
    def measured(self) -> bool:
        """Enough static edges to measure the camera's sharpness."""
        return self.static_windows >= MIN_STATIC_EDGES and math.isfinite(self.mtf50_cyc_per_px)

    @property
    def lens_measured(self) -> bool:
        """Measured, and consistent with one lens (:meth:`lens_inconsistency`): what sets
        ``aberration_blur_um``."""
        return self.measured and self.lens_inconsistency() is None

    def describe(self) -> str:
        """One line: the estimate, its spread and counts."""
        q25, median, q75 = self.window_mtf50_cyc_per_px
        return (f"MTF50 {self.mtf50_cyc_per_px:.3f} cycles/px of the mean MTF of "
                f"{self.static_windows} static edge windows (of {self.edge_windows} found; single windows median "
                f"{median:.3f}, IQR {q25:.3f}-{q75:.3f})")


@dataclass(frozen=True)
class CameraMeasures:
    """Measures of one camera, pooled over its frames."""

    frames: int
    width_px: int
    height_px: int
    chroma_dn: tuple[float, float, float]  # median, min, max over frames
    monochrome: bool
    noise: measure.NoiseCurve
    sharpness: Sharpness
    white_dn: tuple[float, float, float]  # median, min, max
    black_dn: tuple[float, float, float]  # median, min, max
    jpeg_quality: tuple[int, int, int, float] | None  # median, min, max, worst mismatch
    jpeg_subsampling: str | None  # the most common
    #: The blocks ``noise`` was read from, all frames' (calibrate reads its flat fields as these were read).
    noise_blocks: measure.BlockNoise

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "frames": self.frames, "width_px": self.width_px, "height_px": self.height_px,
            "chroma_dn": list(self.chroma_dn), "monochrome": self.monochrome,
            "noise_curve": [
                {"level_dn": float(level), "sigma_dn": float(sigma), "spread_dn": float(spread),
                 "blocks": int(blocks)}
                for level, sigma, spread, blocks in zip(
                    self.noise.level_dn, self.noise.sigma_dn, self.noise.spread_dn,
                    self.noise.blocks, strict=True)
            ],
            "sharpness": {"mtf50_cyc_per_px": self.sharpness.mtf50_cyc_per_px,
                          "window_mtf50_cyc_per_px": list(self.sharpness.window_mtf50_cyc_per_px),
                          "static_windows": self.sharpness.static_windows,
                          "edge_windows": self.sharpness.edge_windows,
                          "measured": self.sharpness.measured,
                          "narrow_mtf50_cyc_per_px": self.sharpness.narrow_mtf50_cyc_per_px,
                          "narrow_static_windows": self.sharpness.narrow_static_windows,
                          "window_dependence": self.sharpness.window_dependence(),
                          "by_contrast": [c.as_dict() for c in self.sharpness.contrast_classes],
                          "narrow_by_contrast": [c.as_dict()
                                                 for c in self.sharpness.narrow_contrast_classes],
                          "contrast_dependence": self.sharpness.contrast_dependence()},
            "white_dn": list(self.white_dn),
            "black_dn": list(self.black_dn),
            "jpeg_quality": None if self.jpeg_quality is None else list(self.jpeg_quality),
            "jpeg_subsampling": self.jpeg_subsampling,
        }


def summarise(frames: Sequence[FrameMeasures], names: Sequence[str]) -> CameraMeasures:
    """Pool the measures of one camera's frames; ``names`` (e.g. file paths) for errors.

    Raises :class:`DataError` when the frames differ in size (not one camera).
    """
    sizes = {(f.width_px, f.height_px) for f in frames}
    if len(sizes) != 1:
        listed = ", ".join(f"{name} {f.width_px}x{f.height_px}"
                           for name, f in zip(names, frames, strict=True))
        raise DataError(f"frames of one camera must share one size; got {listed}")
    blocks = measure.BlockNoise.concatenate([f.blocks for f in frames])
    noise = measure.noise_curve(blocks)
    chroma = np.array([f.chroma_dn for f in frames])
    whites = np.array([f.white_dn for f in frames])
    blacks = np.array([f.black_dn for f in frames])
    qualities = [f.jpeg_quality for f in frames if f.jpeg_quality is not None]
    mismatches = [f.jpeg_mismatch for f in frames if f.jpeg_mismatch is not None]
    samplings = [f.jpeg_subsampling for f in frames if f.jpeg_subsampling]
    width, height = sizes.pop()
    return CameraMeasures(
        frames=len(frames), width_px=width, height_px=height,
        chroma_dn=(float(np.median(chroma)), float(chroma.min()), float(chroma.max())),
        monochrome=bool(np.median(chroma) < MONOCHROME_MAX_CHROMA_DN),
        noise=noise, sharpness=static_sharpness(frames, noise),
        white_dn=(float(np.median(whites)), float(whites.min()), float(whites.max())),
        black_dn=(float(np.median(blacks)), float(blacks.min()), float(blacks.max())),
        jpeg_quality=(int(np.median(qualities)), min(qualities), max(qualities), max(mismatches))
        if qualities else None,
        jpeg_subsampling=max(set(samplings), key=samplings.count) if samplings else None,
        noise_blocks=blocks,
    )


def static_windows(
    frames: Sequence[FrameMeasures], noise: measure.NoiseCurve,
    edges: Callable[[FrameMeasures], Sequence[measure.EdgeWindow]] = lambda frame: frame.edges, *,
    shift_px: int = STATIC_SHIFT_PX, max_noise_ratio: float = STATIC_MAX_NOISE_RATIO,
) -> list[tuple[FrameMeasures, measure.EdgeWindow]]:
    """The edge windows of the static scene, each with its frame (``edges``: which windows of a
    frame; default its standard ones). A window is static when it recurs in another frame of
    the same camera within ``shift_px`` pixels (default :data:`STATIC_SHIFT_PX`) and with an RMS
    difference of at most ``max_noise_ratio`` (:data:`STATIC_MAX_NOISE_RATIO`) times what the
    measured noise makes between two frames (:func:`measure.static_difference_dn`). An edge on a
    moving subject - hair, arms, a walking person's outline - holds its motion blur and does not
    recur; the lens's MTF is the static scene's."""
    kept = []
    for index, frame in enumerate(frames):
        others = [other.luma_dn for k, other in enumerate(frames) if k != index]
        if not others or noise.level_dn.size == 0:
            continue
        for window in edges(frame):
            limit_dn = max_noise_ratio * measure.static_difference_dn(frame.luma_dn, window, noise)
            if any(measure.recurrence_rms_dn(frame.luma_dn, window, other, shift_px=shift_px) <= limit_dn
                   for other in others):
                kept.append((frame, window))
    return kept


def static_sharpness(
    frames: Sequence[FrameMeasures], noise: measure.NoiseCurve, *,
    shift_px: int = STATIC_SHIFT_PX, max_noise_ratio: float = STATIC_MAX_NOISE_RATIO,
) -> Sharpness:
    """Sharpness from the edge windows of the static scene only (:func:`static_windows`, with
    ``shift_px`` and ``max_noise_ratio``); the narrow windows (:data:`NARROW_WINDOW_PX`) pass
    the same test."""
    def static(edges: Callable[[FrameMeasures], Sequence[measure.EdgeWindow]]
               ) -> list[tuple[FrameMeasures, measure.EdgeWindow]]:
        return static_windows(frames, noise, edges, shift_px=shift_px, max_noise_ratio=max_noise_ratio)

    wide_found, narrow_found = static(lambda f: f.edges), static(lambda f: f.narrow_edges)
    wide, narrow = [w for _, w in wide_found], [w for _, w in narrow_found]
    found = sum(len(frame.edges) for frame in frames)
    singles = np.array([window.mtf50_cyc_per_px for window in wide])
    spread = (tuple(float(v) for v in np.percentile(singles, [25, 50, 75])) if wide
              else (math.nan,) * 3)
    narrow_mtf50 = measure.pooled_mtf50(narrow) if len(narrow) >= MIN_STATIC_EDGES else math.nan
    if len(wide) < MIN_STATIC_EDGES:
        return Sharpness(math.nan, spread, len(wide), found, contrast_classes=by_contrast(wide_found),
                         narrow_mtf50_cyc_per_px=narrow_mtf50, narrow_static_windows=len(narrow),
                         narrow_contrast_classes=by_contrast(narrow_found))
    return Sharpness(measure.pooled_mtf50(wide), spread, len(wide), found,
                     np.mean([w.mtf for w in wide], axis=0), by_contrast(wide_found),
                     narrow_mtf50, len(narrow), by_contrast(narrow_found))


def blocks_of_files(files: Iterable[str | Path | BinaryIO]) -> measure.BlockNoise:
    """The noise blocks of stored image files (paths or open binary files, of any sizes) pooled as
    one camera's, each measured as :func:`measure_frame` measures a frame's noise (colour frames;
    a monochrome file is read as three equal channels)."""
    blocks = []
    for file in files:
        with Image.open(file) as image:
            blocks.append(measure.frame_noise(np.asarray(image.convert("RGB"))))
    return measure.BlockNoise.concatenate(blocks)
