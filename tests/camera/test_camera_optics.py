"""Lens blur: a slanted-edge (ISO 12233 style) measurement gives the configured MTF50."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import erf

from evalharness.camera.optics import (
    defocus_blur_diameter_um,
    diffraction_cutoff_cyc_per_px,
    lens_blur,
    lens_mtf,
    mtf50_cyc_per_px,
)
from evalharness.camera.sfr import edge_mtf, mtf50

EDGE_DEG = 5.0  # ISO 12233 recommends a few degrees off the pixel grid


def _edge(size: int = 160) -> np.ndarray:
    """A sharp edge 5 degrees off vertical, 0.2 dark to 0.8 bright, point-sampled."""
    rows, cols = np.indices((size, size)) + 0.5
    distance = (cols - size / 2) - (rows - size / 2) * math.tan(math.radians(EDGE_DEG))
    return np.where(distance > 0, 0.8, 0.2)


def test_sfr_measures_an_analytic_gaussian_edge():
    # The measuring instrument first: an edge blurred by a Gaussian of sigma 1 px, rendered
    # analytically, has MTF50 = sqrt(ln 2 / 2) / (pi sigma) = 0.1874 cycles/px.
    size, sigma = 160, 1.0
    rows, cols = np.indices((size, size)) + 0.5
    normal = ((cols - size / 2) - (rows - size / 2) * math.tan(math.radians(EDGE_DEG))) * math.cos(
        math.radians(EDGE_DEG))
    image = 0.5 + 0.5 * erf(normal / (sigma * math.sqrt(2)))
    assert mtf50(*edge_mtf(image)) == pytest.approx(math.sqrt(math.log(2) / 2) / math.pi, rel=0.03)


@pytest.mark.parametrize(
    ("f_number", "wavelength_nm", "pitch_um", "defocus_px", "aberration_px"),
    [
        (16.0, 850.0, 3.45, 0.0, 0.0),   # diffraction-limited: small pixels, small aperture
        (2.8, 850.0, 5.86, 2.5, 0.0),    # defocus dominates
        (2.8, 850.0, 5.86, 0.2, 0.34),   # the ir-two-lane profile's lens
        (4.0, 550.0, 2.9, 1.0, 0.6),     # all three terms
    ],
)
def test_slanted_edge_mtf50_matches_the_configured_lens(
    f_number, wavelength_nm, pitch_um, defocus_px, aberration_px
):
    cutoff = diffraction_cutoff_cyc_per_px(f_number=f_number, wavelength_nm=wavelength_nm,
                                           pitch_um=pitch_um)
    expected = mtf50_cyc_per_px(cutoff_cyc_per_px=cutoff, defocus_px=defocus_px,
                                aberration_sigma_px=aberration_px)
    blurred = lens_blur(torch.from_numpy(_edge())[None, None].float(), cutoff_cyc_per_px=cutoff,
                        defocus_px=defocus_px, aberration_sigma_px=aberration_px)
    measured = mtf50(*edge_mtf(blurred[0, 0].numpy()))
    assert measured == pytest.approx(expected, rel=0.10)


def test_diffraction_mtf50_is_the_textbook_fraction_of_cutoff():
    # Circular aperture: MTF = 0.5 at 0.4040 of the cut-off frequency.
    diffraction_only = {"cutoff_cyc_per_px": 1.0, "defocus_px": 0.0, "aberration_sigma_px": 0.0}
    assert mtf50_cyc_per_px(**diffraction_only) == pytest.approx(0.4040, abs=1e-3)
    assert float(lens_mtf(np.array([0.0]), **diffraction_only)[0]) == pytest.approx(1.0)
    assert diffraction_cutoff_cyc_per_px(f_number=4.0, wavelength_nm=500.0, pitch_um=4.0) == pytest.approx(2.0)


def test_defocus_blur_disc_thin_lens():
    # f = 25 mm at f/2.5 (10 mm aperture) focused at 18 m, subject at 20 m:
    # c = 10 mm x 25 mm x 2 m / (20 m x (18 m - 25 mm)) = 1.391 um.
    assert defocus_blur_diameter_um(focal_length_mm=25.0, f_number=2.5, focus_range_m=18.0,
                                    subject_range_m=20.0) == pytest.approx(1.3908, rel=1e-3)
    assert defocus_blur_diameter_um(focal_length_mm=25.0, f_number=2.5, focus_range_m=18.0,
                                    subject_range_m=18.0) == 0.0


def test_lens_blur_keeps_mean_and_flat_fields():
    flat = torch.full((2, 1, 40, 50), 0.3)
    blurred = lens_blur(flat, cutoff_cyc_per_px=1.0, defocus_px=2.0, aberration_sigma_px=0.5)
    assert torch.allclose(blurred, flat, atol=1e-6)
