"""Measurements of a camera from its stored frames: colour, noise, sharpness, JPEG settings.

Pure functions of 8-bit images as numpy arrays (``(H, W)`` or ``(H, W, 3)``, values in digital
numbers (DN) 0-255) and of JPEG quantisation tables, used by ``evalharness calibrate``
(:mod:`evalharness.camera.frame_measures`, :mod:`evalharness.camera.calibration`) on real frames
and on frames of the simulated camera alike, so that both are measured the same way.

- Noise: in blocks of :data:`NOISE_BLOCK_PX` pixels, the block mean and the standard deviation
  about the block's best-fitting plane, in blocks where no colour channel is clipped
  (:func:`clipped`); the flattest blocks of each signal level give the noise curve sigma(mean),
  fitted to the Poisson-Gaussian model of :mod:`evalharness.camera.sensor` after undoing the tone
  curve.
- Sharpness: MTF of natural near-vertical edge windows found automatically (straight, high
  contrast, flat on both sides, the whole transition inside), measured by the slanted-edge method of
  :mod:`evalharness.camera.sfr`; the horizontal MTF only (a one-field camera halves the vertical
  resolution). Whether a window shows the static scene is told by its recurrence in another
  frame (:func:`recurrence_rms_dn` against :func:`static_difference_dn`); the windows kept are
  pooled by their mean MTF (:func:`pooled_mtf50`).
- JPEG quality: the IJG quality whose scaled standard tables, as Pillow's libjpeg writes them,
  are nearest to the file's (mean absolute log ratio of the 64 luma entries).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
import torch
from PIL import Image
from scipy.optimize import nnls

from evalharness.camera import sensor
from evalharness.camera.codec import LUMA_WEIGHTS
from evalharness.camera.sfr import OVERSAMPLING, edge_centroids, edge_spread, mtf50, spread_mtf

#: Side of the square blocks in which noise is measured, pixels (two JPEG blocks).
NOISE_BLOCK_PX = 16
#: Fraction of the blocks at each signal level taken as flat (the lowest sigmas).
FLAT_FRACTION = 0.1
#: Signal bins of the noise curve, DN (stored values).
NOISE_BIN_STEP_DN = 16.0
NOISE_BIN_EDGES_DN = np.arange(0.0, 256.0, NOISE_BIN_STEP_DN)
#: Fewest flat blocks a noise bin needs.
MIN_BLOCKS_PER_BIN = 5
#: A frame's block counts as flat (noise alone) where its sigma is at most this quantile of flat
#: fields' blocks at its level: noise alone exceeds it in one block in a hundred.
FLAT_CEILING_QUANTILE = 0.99

#: Edge windows: rows x columns, pixels, and the step between windows.
EDGE_WINDOW_PX = (24, 24)
EDGE_STEP_PX = 8
#: The whole transition inside the window (ISO 12233 asks for flat regions on both sides): the
#: edge spread function's mean slope over the outer :data:`EDGE_TAIL_PX` of each side is at most
#: this fraction of its steepest slope over 1 px. A Gaussian line spread function holds 3% of its
#: area beyond where it has fallen to 10% of its peak. Without it a window across a gradual ramp
#: (shading on a wall), whose flat-looking sides are only the ramp's ends, is measured as a very
#: soft edge.
EDGE_MAX_TAIL_SLOPE = 0.1
#: Pixels at each end of the edge spread function over which its tail slope is taken: within
#: the 5 px that separate a kept edge from the window's sides, and 8 bins to average their noise.
EDGE_TAIL_PX = 2
#: An edge's step between its flat sides, DN, at least.
EDGE_MIN_CONTRAST_DN = 20.0
#: Slope of the edge, columns per row: some slant for the oversampling (ISO 12233: ~5 deg), at
#: most about 15 deg.
EDGE_SLOPE_RANGE = (0.035, 0.27)
#: Straightness: RMS distance of the row centroids from the fitted line, pixels, at most.
EDGE_MAX_RESIDUAL_PX = 0.5
#: One step: the fraction of the row-averaged profile's absolute differences that go the
#: edge's way, at least ...
EDGE_MIN_MONOTONIC = 0.95
#: ... and of the single rows' (lower: noise adds differences either way).
EDGE_MIN_ROW_MONOTONIC = 0.8
#: A difference against the edge counts only by what exceeds this many standard deviations of
#: a difference of noise (the window's flat sides' spread, sqrt 2 for a difference, and
#: 1/sqrt(rows) for the row-averaged profile). Without it the test was biased to soft edges:
#: a sharp edge puts its step in one or two differences and leaves the others to noise, half of
#: them against it, where a soft edge spreads its step over many differences that outweigh
#: the noise (a 50 DN step at 2 DN of noise was rejected at every sharpness).
EDGE_NOISE_ALLOWANCE = 2.0
#: Flat sides: standard deviation within each side's outer columns, fraction of the contrast.
EDGE_MAX_SIDE_SPREAD = 0.12
#: Unclipped: every pixel of the window at least this far from both ends of the 8-bit range,
#: DN. Clipping cuts off the tail of the edge's blur and makes it look sharper (ISO 12233 asks
#: for an unclipped edge); 5 DN is a few times the noise of the FRMDB CCTV frames' brightest
#: and darkest levels (about 1 DN). There, with clipped edges kept, the static windows of 150
#: DN contrast and more, nearly all at the over-exposed walls' white, read MTF50 0.33-0.37
#: cycles/px and the others 0.05-0.09 (``scripts/edge_sharpness.py --clip-margin 0``).
EDGE_CLIP_MARGIN_DN = 5.0
#: Frequencies at which window MTFs are kept and pooled, cycles per pixel (to the sampling
#: frequency, as :func:`~evalharness.camera.sfr.edge_mtf` returns).
MTF_GRID_CYC_PER_PX = np.linspace(0.0, 1.0, 129)


def luma_dn(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma (as JPEG codes it) of ``(H, W, 3)`` RGB, or ``(H, W)`` as is; float DN."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image
    return image[..., :3] @ np.array(LUMA_WEIGHTS)


def chroma_dn(image: np.ndarray) -> float:
    """Mean absolute colour difference ``(|R - G| + |B - G|) / 2``, DN; 0 for monochrome."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return 0.0
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    return float((np.abs(red - green) + np.abs(blue - green)).mean() / 2.0)


def clipped(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixels of 8-bit ``(H, W)`` or ``(H, W, 3)`` DN where any channel is at 0
    or 255, whose noise clipping hides. In colour a saturated channel clips long before the luma
    does: in the FRMDB CCTV frames half of the 16-px blocks hold such a pixel at every luma level
    (over-exposed walls, dark clothes, a mesh against bright windows; docs/VALIDATION.md, "Noise
    on unclipped blocks")."""
    image = np.asarray(image, dtype=np.float64)
    at_limit = (image < 0.5) | (image > 254.5)
    return at_limit if image.ndim == 2 else at_limit.any(axis=-1)


def _blocks(values: np.ndarray, block_px: int) -> np.ndarray:
    """``(blocks, block_px**2)``: the whole ``block_px`` squares of ``values (H, W)``, row by row."""
    rows, cols = values.shape[0] // block_px, values.shape[1] // block_px
    blocks = values[: rows * block_px, : cols * block_px].reshape(rows, block_px, cols, block_px)
    return blocks.transpose(0, 2, 1, 3).reshape(rows * cols, block_px * block_px)


#: Lags at which the noise's spatial correlation is measured, pixels.
CORRELATION_LAGS_PX = (1, 2)


@dataclass(frozen=True)
class BlockNoise:
    """Per-block noise measures of one or more luma images (:func:`block_noise`): ``mean_dn``
    and ``sigma_dn`` ``(N,)``, DN; ``correlation`` ``(N, 2)``: the residual's correlation with
    itself :data:`CORRELATION_LAGS_PX` pixels away (mean of across and down), in [-1, 1]."""

    mean_dn: np.ndarray
    sigma_dn: np.ndarray
    correlation: np.ndarray

    @staticmethod
    def concatenate(parts: Sequence[BlockNoise]) -> BlockNoise:
        """The blocks of several images as one set."""
        return BlockNoise(*(np.concatenate([getattr(part, name) for part in parts])
                            for name in ("mean_dn", "sigma_dn", "correlation")))


def block_noise(y_dn: np.ndarray, block_px: int = NOISE_BLOCK_PX, *,
                clipped_px: np.ndarray | None = None) -> BlockNoise:
    """Per-block mean, noise sigma and noise correlation of a luma image ``(H, W)`` in DN.

    Sigma is the standard deviation of the block's residual from its least-squares plane, so
    that gentle shading does not count and the low-frequency noise that JPEG keeps does (a
    high-pass estimator such as Immerkaer's sees almost none after compression). The correlation
    at each lag of :data:`CORRELATION_LAGS_PX` is the residual's lagged product over its square,
    across and down, averaged: a camera's demosaicking, scaling and codec spread its noise over
    neighbouring pixels, which white noise of the same sigma does not show. One entry per whole
    block; blocks touching clipping are left out, as clipping hides noise: any pixel of
    ``clipped_px`` (``(H, W)`` bool, :func:`clipped` of the colour image the luma comes from; by
    default of the luma itself).
    """
    blocks = _blocks(y_dn, block_px)
    ys, xs = np.indices((block_px, block_px)).reshape(2, -1)
    design = np.stack([np.ones_like(xs), xs, ys], axis=1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, blocks.T, rcond=None)
    residual = blocks - (design @ coef).T
    unclipped = ~_blocks(clipped(y_dn) if clipped_px is None else clipped_px, block_px).any(axis=1)
    sigma = np.sqrt((residual**2).sum(axis=1) / (block_px * block_px - 3))
    square = residual.reshape(-1, block_px, block_px)
    power = np.maximum((square**2).mean(axis=(1, 2)), 1e-12)
    correlation = np.stack([
        ((square[:, :, lag:] * square[:, :, :-lag]).mean(axis=(1, 2))
         + (square[:, lag:, :] * square[:, :-lag, :]).mean(axis=(1, 2))) / (2.0 * power)
        for lag in CORRELATION_LAGS_PX], axis=1)
    return BlockNoise(blocks.mean(axis=1)[unclipped], sigma[unclipped], correlation[unclipped])


def frame_noise(image: np.ndarray) -> BlockNoise:
    """:func:`block_noise` of an 8-bit ``(H, W)`` or ``(H, W, 3)`` frame's luma, leaving out the
    blocks where any of its channels clips."""
    return block_noise(luma_dn(image), clipped_px=clipped(image))


@dataclass(frozen=True)
class NoiseCurve:
    """Noise of flat areas against signal: bin centres ``level_dn``, ``sigma_dn`` (the median of
    the flattest blocks), ``spread_dn`` (their interquartile range), ``blocks`` (how many flat
    blocks) and ``correlation`` ``(levels, 2)`` (the flattest blocks' median correlation at
    :data:`CORRELATION_LAGS_PX`), all per bin with at least :data:`MIN_BLOCKS_PER_BIN`."""

    level_dn: np.ndarray
    sigma_dn: np.ndarray
    spread_dn: np.ndarray
    blocks: np.ndarray
    correlation: np.ndarray

    def select(self, keep: np.ndarray) -> NoiseCurve:
        """The levels where ``keep`` (bool, one per level) holds."""
        return NoiseCurve(self.level_dn[keep], self.sigma_dn[keep], self.spread_dn[keep],
                          self.blocks[keep], self.correlation[keep])

    def mean_correlation(self) -> np.ndarray:
        """``(2,)``: the correlation at each lag, averaged over the levels weighted by their
        flat blocks (NaN without levels)."""
        if self.blocks.size == 0:
            return np.full(len(CORRELATION_LAGS_PX), math.nan)
        return np.average(self.correlation, axis=0, weights=self.blocks)


def _level_blocks(blocks: BlockNoise) -> dict[float, np.ndarray]:
    """Each noise bin's centre (DN) and the indices of ``blocks`` whose mean lies in it, every bin
    of :data:`NOISE_BIN_EDGES_DN` in order (empty ones too): the one binning that the noise curve
    and the flat shares read."""
    return {(low + high) / 2.0: np.flatnonzero((blocks.mean_dn >= low) & (blocks.mean_dn < high))
            for low, high in zip(NOISE_BIN_EDGES_DN[:-1], NOISE_BIN_EDGES_DN[1:], strict=True)}


def noise_curve(blocks: BlockNoise, *, flat_fraction: float = FLAT_FRACTION,
                shares: Mapping[float, float] | None = None) -> NoiseCurve:
    """The noise curve from :func:`block_noise` results (of one or many frames, concatenated);
    ``flat_fraction``: the share of each level's blocks, lowest sigma first, taken as flat (1 for
    images of flat patches only); ``shares``: instead, the share at each level (bin centre, DN),
    the levels not named left out (:func:`matched_noise_curve`)."""
    rows = []
    for level, inside in _level_blocks(blocks).items():
        if shares is not None and level not in shares:
            continue
        share = flat_fraction if shares is None else shares[level]
        order = inside[np.argsort(blocks.sigma_dn[inside], kind="stable")]
        flat = order[: int(len(order) * share)]
        if len(flat) >= MIN_BLOCKS_PER_BIN:
            q1, median, q3 = np.percentile(blocks.sigma_dn[flat], [25, 50, 75])
            rows.append((level, median, q3 - q1, len(flat), np.median(blocks.correlation[flat], axis=0)))
    if not rows:
        return NoiseCurve(*(np.array([]) for _ in range(3)), np.array([], dtype=int),
                          np.empty((0, len(CORRELATION_LAGS_PX))))
    level, sigma, spread, count, correlation = zip(*rows, strict=True)
    return NoiseCurve(np.array(level), np.array(sigma), np.array(spread),
                      np.array(count, dtype=int), np.array(correlation))


def flat_shares(flat_blocks: BlockNoise, frame_blocks: BlockNoise, *,
                flat_fraction: float = FLAT_FRACTION) -> dict[float, float]:
    """At each level of ``noise_curve(frame_blocks)`` (bin centre, DN) that the flat fields'
    blocks ``flat_blocks`` show: the share of the frames' flat blocks that its flattest
    ``flat_fraction`` are, in (0, 1].

    The frames' curve reads the flattest k of a level's N blocks (k = ``flat_fraction`` N), and a
    frame's blocks are flat (noise alone) and textured: k is the flattest k / F of its F flat
    blocks, or all of them where F <= k. F is counted as the frames' blocks there whose sigma is
    at most :data:`FLAT_CEILING_QUANTILE` of the flat fields' (texture that faint counts as flat,
    and the share is then smaller)."""
    shares = {}
    flat_levels, frame_levels = _level_blocks(flat_blocks), _level_blocks(frame_blocks)
    for level in noise_curve(frame_blocks, flat_fraction=flat_fraction).level_dn.tolist():
        flat = flat_blocks.sigma_dn[flat_levels[level]]
        if len(flat) < MIN_BLOCKS_PER_BIN:
            continue
        frame = frame_blocks.sigma_dn[frame_levels[level]]
        flat_in_frames = int((frame <= np.quantile(flat, FLAT_CEILING_QUANTILE)).sum())
        shares[level] = min(1.0, int(len(frame) * flat_fraction) / max(flat_in_frames, 1))
    return shares


def matched_noise_curve(flat_blocks: BlockNoise, frame_blocks: BlockNoise) -> NoiseCurve:
    """The noise curve of flat fields' blocks read as :func:`noise_curve` reads frames' (whose
    blocks are ``frame_blocks``): at each level, their flattest :func:`flat_shares`.

    On flat fields every block is flat, so their flattest :data:`FLAT_FRACTION` are the low tail
    of the noise's spread from block to block, where in frames with few flat areas the same
    fraction reaches typical flat blocks: the same noise would read lower on the flat fields, the
    more so the wider that spread (a codec at low quality quantises some blocks' noise away and
    keeps others'; 2.4 times lower at JPEG 30 and 184 DN, 1.10-1.13 at JPEG 95, benchmarks/RESULTS.md)."""
    return noise_curve(flat_blocks, shares=flat_shares(flat_blocks, frame_blocks))


@dataclass(frozen=True)
class PoissonGaussian:
    """Fit of ``variance_lin = gain_dn_per_e * mean_lin + (gain_dn_per_e * read_noise_e)^2`` in
    linear DN (before the tone curve), with ``rms_rel``: the RMS relative residual of sigma."""

    gain_dn_per_e: float
    read_noise_e: float
    rms_rel: float


def fit_poisson_gaussian(curve: NoiseCurve, *, tone_curve: str) -> PoissonGaussian:
    """Fit the sensor's noise model to a noise curve of stored values.

    The tone curve is undone (``"srgb"``: IEC 61966-2-1; ``"linear"``: none): a stored level
    ``v`` is linear ``L(v)`` and its noise ``sigma / T'(L)``, ``T`` the encoding. Non-negative
    least squares on the variances, weighted by the blocks per bin. Needs two or more levels.
    """
    if len(curve.level_dn) < 2:
        raise ValueError("need flat areas at two or more signal levels to fit the noise model")
    level = curve.level_dn / 255.0
    if tone_curve == "srgb":
        linear = sensor.srgb_to_linear(torch.from_numpy(level)).numpy()
        # The encoding's slope, by central difference.
        above, below = linear + 1e-4, np.maximum(linear - 1e-4, 0.0)
        high, low = (sensor.linear_to_srgb(torch.from_numpy(x)).numpy() for x in (above, below))
        slope = (high - low) / (above - below)
    else:
        linear, slope = level, np.ones_like(level)
    mean_lin = linear * 255.0
    sigma_lin = curve.sigma_dn / slope
    weight = np.sqrt(curve.blocks) / np.maximum(sigma_lin**2, 1e-6)
    design = np.stack([mean_lin, np.ones_like(mean_lin)], axis=1)
    coef, _ = nnls(design * weight[:, None], sigma_lin**2 * weight)
    gain = max(float(coef[0]), 1e-6)
    model = np.sqrt(coef[0] * mean_lin + coef[1])
    rms = float(np.sqrt(np.mean((model / np.maximum(sigma_lin, 1e-9) - 1.0) ** 2)))
    return PoissonGaussian(gain, math.sqrt(float(coef[1])) / gain, rms)


@dataclass(frozen=True)
class EdgeWindow:
    """One usable near-vertical edge window of a luma image: its top-left corner and size
    (pixels), its MTF sampled at :data:`MTF_GRID_CYC_PER_PX` (1 at zero frequency), its MTF50
    (cycles per pixel, horizontal) and its step between the flat sides (DN)."""

    top_px: int
    left_px: int
    height_px: int
    width_px: int
    mtf: np.ndarray
    mtf50_cyc_per_px: float
    contrast_dn: float


def edge_windows(
    y_dn: np.ndarray, *, clip_margin_dn: float = EDGE_CLIP_MARGIN_DN,
    window_px: tuple[int, int] = EDGE_WINDOW_PX, step_px: int = EDGE_STEP_PX,
) -> list[EdgeWindow]:
    """Every usable near-vertical edge window in a luma image ``(H, W)``, DN.

    Windows of ``window_px`` (rows, columns; default :data:`EDGE_WINDOW_PX`), every ``step_px``
    pixels, are kept when they hold one straight, slanted, high-contrast, unclipped edge with
    its whole transition and flat sides (see the module constants; ``clip_margin_dn``
    :data:`EDGE_CLIP_MARGIN_DN`, 0 to keep clipped edges); overlapping windows of the same edge
    each count, so a spread is of windows, not of independent edges.
    """
    height, width = window_px
    found = []
    for top in range(0, y_dn.shape[0] - height + 1, step_px):
        for left in range(0, y_dn.shape[1] - width + 1, step_px):
            curve = _window_mtf(y_dn[top : top + height, left : left + width], clip_margin_dn)
            if curve is not None:
                found.append(EdgeWindow(top, left, height, width, *curve))
    return found


def _window_mtf(window: np.ndarray, clip_margin_dn: float) -> tuple[np.ndarray, float, float] | None:
    """The window's MTF on :data:`MTF_GRID_CYC_PER_PX`, its MTF50 and its contrast (DN), or
    None when the window is not one straight slanted step."""
    sides = window[:, :3], window[:, -3:]
    contrast = abs(sides[1].mean() - sides[0].mean())
    if contrast < EDGE_MIN_CONTRAST_DN:
        return None
    if window.min() < clip_margin_dn or window.max() > sensor.FULL_SCALE_DN - clip_margin_dn:
        return None
    side_spread_dn = max(side.std() for side in sides)
    if side_spread_dn > EDGE_MAX_SIDE_SPREAD * contrast:
        return None
    direction = np.sign(sides[1].mean() - sides[0].mean())
    profile = np.diff(window.mean(axis=0)) * direction  # averaged over rows: noise-robust
    rows_signed = np.diff(window, axis=1) * direction
    row_noise_dn = EDGE_NOISE_ALLOWANCE * math.sqrt(2.0) * side_spread_dn
    if (not _one_way(profile, row_noise_dn / math.sqrt(window.shape[0]), EDGE_MIN_MONOTONIC)
            or not _one_way(rows_signed, row_noise_dn, EDGE_MIN_ROW_MONOTONIC)):
        return None  # a line, texture or ringing, not one step
    centroids = edge_centroids(window)
    rows = np.arange(window.shape[0])
    slope, intercept = np.polyfit(rows, centroids, 1)
    residual = np.sqrt(np.mean((centroids - (slope * rows + intercept)) ** 2))
    low, high = EDGE_SLOPE_RANGE
    edge_cols = slope * rows + intercept
    if not (low <= abs(slope) <= high and residual <= EDGE_MAX_RESIDUAL_PX):
        return None
    if edge_cols.min() < 5 or edge_cols.max() > window.shape[1] - 5:
        return None
    esf = edge_spread(window, line=(slope, intercept))
    if not _contained(esf * direction):
        return None  # the transition runs past the window: a ramp, or a blur too wide for it
    freq, mtf = spread_mtf(esf)
    try:
        value = mtf50(freq, mtf)
    except ValueError:
        return None
    return np.interp(MTF_GRID_CYC_PER_PX, freq, mtf), value, float(contrast)


def _contained(esf: np.ndarray) -> bool:
    """Whether a rising edge spread function (:func:`sfr.edge_spread`) is flat at both ends: its
    mean slope over the outer :data:`EDGE_TAIL_PX` of each side at most
    :data:`EDGE_MAX_TAIL_SLOPE` of its steepest slope over 1 px."""
    per_px, tail = OVERSAMPLING, EDGE_TAIL_PX * OVERSAMPLING
    steepest = float(np.max(esf[per_px:] - esf[:-per_px]))
    ends = ((esf[tail] - esf[0]) / EDGE_TAIL_PX, (esf[-1] - esf[-1 - tail]) / EDGE_TAIL_PX)
    return steepest > 0 and max(ends) <= EDGE_MAX_TAIL_SLOPE * steepest


def _one_way(differences: np.ndarray, noise_dn: float, min_fraction: float) -> bool:
    """Whether ``differences`` (signed so that the edge's way is positive, DN) go the edge's way:
    what goes against it beyond ``noise_dn`` is at most ``1 - min_fraction`` of all that moves."""
    along = differences.clip(min=0).sum()
    against = (-differences - noise_dn).clip(min=0).sum()
    return against <= (1.0 - min_fraction) * (along + against)


#: Offsets from an edge's 50% crossing at which :func:`edge_shape` samples its normalised spread
#: function, pixels (a quarter pixel, the spread function's bins; +-7 px, what a 16-px window holds).
CENTRED_EDGE_PX = np.arange(-28, 29) / OVERSAMPLING


@dataclass(frozen=True)
class EdgeShape:
    """The shape of one edge window's spread function (:func:`sfr.edge_spread`, turned to rise).

    ``centred``: the spread function normalised (0 its dark side, 1 its bright side, each the
    mean of its outer eighth) at :data:`CENTRED_EDGE_PX` from its 50% crossing, NaN beyond the
    window; ``step_dn``: the step between the sides, DN. ``overshoot_dn`` / ``undershoot_dn``: how
    far the spread function rises above its bright side and falls below its dark side, DN;
    ``overshoot_px`` / ``undershoot_px``: how far from the 50% crossing it does so, pixels (both
    positive: the overshoot on the bright side, the undershoot on the dark side)."""

    centred: np.ndarray
    step_dn: float
    overshoot_dn: float
    undershoot_dn: float
    overshoot_px: float
    undershoot_px: float


def edge_shape(y_dn: np.ndarray, window: EdgeWindow) -> EdgeShape:
    """The shape of ``window``'s edge in the luma image ``y_dn (H, W)`` (:class:`EdgeShape`).

    A linear blur leaves no halo but what the noise lifts (a few DN at any step, anywhere in the
    window); sharpening (a camera's aperture correction) or a resampling filter that rings leaves
    one in proportion to the step, beside the edge (an unsharp mask of 1.5 px peaks under 2 px
    from it: tested)."""
    image = y_dn[window.top_px:window.top_px + window.height_px, window.left_px:window.left_px + window.width_px]
    esf = edge_spread(image)
    esf = esf if esf[-1] >= esf[0] else esf[::-1]
    outer = max(1, esf.size // 8)
    dark, bright = float(esf[:outer].mean()), float(esf[-outer:].mean())
    rise = (esf - dark) / (bright - dark)
    # The 50% crossing nearest the steepest rise, interpolated between bins.
    steepest = int(np.argmax(np.diff(rise)))
    below = np.flatnonzero((rise[:-1] < 0.5) & (rise[1:] >= 0.5))
    k = int(below[np.argmin(np.abs(below - steepest))])
    crossing = k + (0.5 - rise[k]) / (rise[k + 1] - rise[k])
    offsets_px = (np.arange(esf.size) - crossing) / OVERSAMPLING
    return EdgeShape(
        centred=np.interp(CENTRED_EDGE_PX, offsets_px, rise, left=np.nan, right=np.nan),
        step_dn=bright - dark,
        overshoot_dn=float(esf.max()) - bright, undershoot_dn=dark - float(esf.min()),
        overshoot_px=float(offsets_px[np.argmax(esf)]), undershoot_px=-float(offsets_px[np.argmin(esf)]),
    )


def rise_px(centred: np.ndarray, *, low: float, high: float) -> float:
    """Distance from where a centred edge (:attr:`EdgeShape.centred`, or a median of several)
    last lies at ``low`` on its dark side to where it first reaches ``high`` on its bright side,
    pixels, interpolated between bins (a Gaussian blur of sigma s: 1.35 s from 0.25 to 0.75,
    2.56 s from 0.1 to 0.9; edges sharper than s = 0.8 px read up to 0.12 px short, as a 16-row
    window samples them at few phases: tested); NaN when the window ends first."""
    centre = int(np.flatnonzero(CENTRED_EDGE_PX == 0.0)[0])

    def reach(level: float, step: int) -> float:
        k = centre
        while 0 <= k + step < centred.size and (centred[k + step] - level) * step < 0:
            k += step
        if not 0 <= k + step < centred.size or np.isnan(centred[k + step]):
            return math.nan
        a, b = centred[k], centred[k + step]
        return float(CENTRED_EDGE_PX[k] + (level - a) / (b - a) * step / OVERSAMPLING)

    return reach(high, 1) - reach(low, -1)


def pooled_mtf50(windows: Sequence[EdgeWindow]) -> float:
    """MTF50 of the mean MTF of ``windows`` (cycles per pixel): each window's noise averages
    out, where a single window's MTF50 scatters widely; NaN when the mean never falls to 0.5."""
    try:
        return mtf50(MTF_GRID_CYC_PER_PX, np.mean([w.mtf for w in windows], axis=0))
    except ValueError:
        return math.nan


def recurrence_rms_dn(
    y_dn: np.ndarray, window: EdgeWindow, other_dn: np.ndarray, *, shift_px: int
) -> float:
    """How well ``window`` of luma image ``y_dn`` recurs in ``other_dn`` (same size), DN.

    The RMS difference between the window and the best-matching placement of the same size in
    ``other_dn`` within ``shift_px`` pixels either way, after removing their mean difference
    (exposure) and, to first order, a sub-pixel displacement (the gradients' least-squares
    share). A static scene recurs to within its noise; a moving subject does not.
    """
    height, width = window.height_px, window.width_px
    top, left = window.top_px, window.left_px
    patch = y_dn[top : top + height, left : left + width].astype(np.float32)
    row0, col0 = max(top - shift_px, 0), max(left - shift_px, 0)
    region = np.ascontiguousarray(
        other_dn[row0 : top + height + shift_px, col0 : left + width + shift_px], np.float32)
    centred = patch - patch.mean()
    # Sum of squared differences of mean-removed windows at every placement.
    cross = cv2.matchTemplate(region, centred, cv2.TM_CCORR)
    rows, cols = cross.shape
    sums = cv2.boxFilter(region, -1, (width, height), normalize=False, anchor=(0, 0))[:rows, :cols]
    squares = cv2.boxFilter(region * region, -1, (width, height), normalize=False,
                            anchor=(0, 0))[:rows, :cols]
    ssd = float((centred**2).sum()) + squares - sums**2 / centred.size - 2.0 * cross
    row, col = np.unravel_index(int(np.argmin(ssd)), ssd.shape)
    match = region[row : row + height, col : col + width].astype(np.float64)
    difference = (match - patch).ravel()
    grad_rows, grad_cols = np.gradient((match + patch) / 2.0)
    design = np.stack([np.ones(difference.size), grad_cols.ravel(), grad_rows.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(design, difference, rcond=None)
    residual = difference - design @ coef
    return float(np.sqrt((residual**2).sum() / (difference.size - design.shape[1])))


def static_difference_dn(y_dn: np.ndarray, window: EdgeWindow, curve: NoiseCurve) -> float:
    """RMS difference, DN, that noise alone makes between two frames of ``window``'s scene:
    ``sqrt(2) sigma(level)`` per pixel (two independent noise draws), ``sigma`` the noise curve
    at each pixel's level (its end values beyond its range), averaged in quadrature."""
    height, width = window.height_px, window.width_px
    patch = y_dn[window.top_px : window.top_px + height, window.left_px : window.left_px + width]
    sigma = np.interp(patch, curve.level_dn, curve.sigma_dn)
    return float(np.sqrt(2.0 * np.mean(sigma**2)))


@cache
def _ijg_luma_tables() -> np.ndarray:
    """Luma quantisation tables ``(100, 64)`` that Pillow's libjpeg writes for quality 1-100."""
    tables = []
    blank = Image.new("L", (8, 8))
    for quality in range(1, 101):
        buffer = io.BytesIO()
        blank.save(buffer, format="JPEG", quality=quality)
        with Image.open(buffer) as picture:
            tables.append(list(picture.quantization[0]))
    return np.array(tables, dtype=np.float64)


def jpeg_quality(luma_table: list[int] | np.ndarray) -> tuple[int, float]:
    """The IJG quality (1-100) nearest a JPEG file's 64-entry luma table (natural order, as
    Pillow gives it), and the mismatch: mean ``|log(table / ijg)|`` (0: exactly IJG's table)."""
    table = np.asarray(luma_table, dtype=np.float64)
    mismatch = np.abs(np.log(table[None, :] / _ijg_luma_tables())).mean(axis=1)
    best = int(np.argmin(mismatch))
    return best + 1, float(mismatch[best])
