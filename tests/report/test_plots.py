"""Plots: series, styles that survive greyscale, reference lines, and a decodable PNG."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from evalharness.report.plots import (
    LINE_STYLES,
    METRICS,
    REFERENCE_LINES,
    metric_figure,
    series_columns,
    series_label,
    series_style,
)

#: The conditions of a sweep: two profiles over distance (with the IED the geometry gives) and
#: rank-1 with its interval; the values only need to be plottable.
SWEEP = pd.DataFrame({
    "profile": ["ir-two-lane"] * 3 + ["legacy-interlaced"] * 3,
    "recognizer": ["facenet-casia"] * 6,
    "distance_m": [10.0, 20.0, 40.0] * 2,
    "jpeg_quality": [75] * 6,
    "ied_px": [26.0, 14.2, 7.3, 11.0, 5.6, 2.8],
    "rank1": [0.9, 0.7, 0.1, 0.6, 0.2, 0.0],
    "rank1_ci_low": [0.8, 0.5, 0.0, 0.4, 0.1, 0.0],
    "rank1_ci_high": [1.0, 0.85, 0.3, 0.8, 0.4, 0.1],
})


def test_lines_separate_only_what_varies_and_never_distance():
    assert series_columns(SWEEP, ["distance_m", "jpeg_quality"]) == ["profile"]
    two_qualities = SWEEP.assign(jpeg_quality=[50, 90] * 3)
    assert series_columns(two_qualities, ["distance_m", "jpeg_quality"]) == ["profile", "jpeg_quality"]
    assert series_label({"profile": "ir-two-lane", "jpeg_quality": 50}) == "ir-two-lane, jpeg_quality=50"


def test_series_styles_differ_in_marker_and_line_not_only_colour():
    styles = [series_style(i) for i in range(len(LINE_STYLES) * 2)]
    assert len({(marker, line) for _, marker, line in styles}) == len(styles)


def test_reference_lines_are_the_published_figures_with_sources():
    by_position = {round(line.ied_px, 2): line for line in REFERENCE_LINES}
    assert set(by_position) == {12.0, 15.75, 70.0, 90.0}  # 15.75 = 250 px/m x 63 mm (DORI)
    assert "62676-4" in by_position[15.75].source and "29794-5" in by_position[70.0].source
    assert all(line.source for line in REFERENCE_LINES)


@pytest.mark.parametrize("x", ["ied_px", "distance_m"])
def test_figure_is_a_png_with_ink(x):
    png = metric_figure(SWEEP, METRICS[0], x, ["distance_m", "jpeg_quality"])
    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    assert image.shape[1] > 800 and image.min() < 50  # a real raster with dark text and lines



def test_quality_error_bars_reach_a_bound_of_zero() -> None:
    """The quality figure's bars reach each interval's bounds, a bound of 0 included (a rate of
    0.4% whose interval starts at 0 has a bar down to 0, not none); no interval, no bar."""
    from evalharness.report.quality import _error_bars

    bins = [{"rank1_ci_low": 0.0, "rank1_ci_high": 0.02}, {"rank1_ci_low": None, "rank1_ci_high": None}]
    below, above = _error_bars(bins, "rank1", [0.004, 0.5])
    assert below == pytest.approx([0.004, 0.0]) and above == pytest.approx([0.016, 0.0])
