"""Slanted-edge MTF measurement in the style of ISO 12233 (edge SFR).

Steps: locate the edge in each row by the centroid of the row's derivative, fit a straight line
through the centroids, project every pixel onto the edge normal, average the pixel values in
bins of a quarter pixel (the oversampled edge spread function), differentiate to the line spread
function, apply a Hamming window and take the magnitude of its Fourier transform, normalised at
zero frequency; :func:`mtf50` reads where it falls to 0.5. Works for near-vertical edges (a few
degrees off the columns).
"""

from __future__ import annotations

import numpy as np

from evalharness.camera.optics import mtf50

__all__ = ["edge_centroids", "edge_mtf", "edge_spread", "mtf50", "spread_mtf"]

#: ESF bins per pixel (ISO 12233 uses 4).
OVERSAMPLING = 4


def edge_centroids(image: np.ndarray) -> np.ndarray:
    """Column of a near-vertical edge in each row of a 2-D ``image``, pixels: the centroid of
    the row's absolute derivative, in two passes as ISO 12233 (sfrmat) does it: the second
    weights each row by a Hamming window centred on the first pass's fitted line, so that the
    noise of the flat sides, spread evenly over the row, does not pull every centroid towards
    the middle (which flattens the fitted slant and smears the edge spread function)."""
    derivative = np.abs(np.diff(np.asarray(image, dtype=np.float64), axis=1))
    centres = np.arange(derivative.shape[1]) + 0.5
    rows = np.arange(derivative.shape[0])
    centroids = (derivative * centres).sum(1) / np.maximum(derivative.sum(1), 1e-9)
    line = np.polyval(np.polyfit(rows, centroids, 1), rows)
    offset = (centres[None, :] - line[:, None]) / derivative.shape[1]  # -1 to 1 across a row
    weighted = derivative * np.where(np.abs(offset) < 0.5, 0.54 + 0.46 * np.cos(2 * np.pi * offset), 0.08)
    return (weighted * centres).sum(1) / np.maximum(weighted.sum(1), 1e-9)


def edge_spread(image: np.ndarray, *, line: tuple[float, float] | None = None) -> np.ndarray:
    """Oversampled edge spread function of a near-vertical edge in a 2-D ``image``: the pixel
    values averaged in bins of ``1 / OVERSAMPLING`` pixel of distance along the edge's normal,
    from the left of the window to its right (same units as ``image``). ``line``: the edge's
    column as (slope, intercept) per row, when the caller has already fitted it to
    :func:`edge_centroids`; otherwise fitted here."""
    image = np.asarray(image, dtype=np.float64)
    rows, cols = np.indices(image.shape)
    slope, intercept = line if line is not None else \
        np.polyfit(np.arange(image.shape[0]), edge_centroids(image), 1)
    # Signed horizontal distance to the edge, scaled to distance along the normal.
    distance = (cols + 0.0 - (slope * rows + intercept)) / np.sqrt(1.0 + slope**2)
    bins = np.round(distance * OVERSAMPLING).astype(int)
    bins -= bins.min()
    counts = np.bincount(bins.ravel())
    sums = np.bincount(bins.ravel(), weights=image.ravel())
    filled = counts > 0
    return np.interp(np.arange(counts.size), np.flatnonzero(filled), sums[filled] / counts[filled])


def edge_mtf(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MTF of a near-vertical edge in a 2-D ``image``; returns (cycles per pixel, MTF)."""
    return spread_mtf(edge_spread(image))


def spread_mtf(esf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MTF of an oversampled edge spread function (:func:`edge_spread`); returns (cycles per
    pixel, MTF)."""
    lsf = np.gradient(esf) * np.hamming(esf.size)
    mtf = np.abs(np.fft.rfft(lsf))
    freq = np.fft.rfftfreq(lsf.size, d=1.0 / OVERSAMPLING)
    # Correct for the central difference used by np.gradient (ISO 12233:2017, annex D).
    correction = np.sinc(2.0 * freq / OVERSAMPLING)
    usable = freq <= 1.0
    return freq[usable], mtf[usable] / mtf[0] / np.maximum(correction[usable], 1e-6)

