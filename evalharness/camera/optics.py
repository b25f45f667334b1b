"""Lens blur as a modulation transfer function (MTF): diffraction, defocus and aberrations.

The lens MTF is the product of three radially symmetric terms, with frequency ``nu`` in cycles
per pixel:

- diffraction at a circular aperture, cut-off ``nu_c = pitch / (wavelength N)``:
  ``(2 / pi) (acos(x) - x sqrt(1 - x^2))``, ``x = nu / nu_c`` (Goodman, *Fourier Optics*);
- defocus, a uniform blur disc of diameter ``d`` pixels (geometric optics):
  ``2 J1(pi d nu) / (pi d nu)``;
- residual aberrations, a Gaussian of standard deviation ``sigma`` pixels:
  ``exp(-2 pi^2 sigma^2 nu^2)``.

:func:`lens_blur` multiplies an image's spectrum by this MTF, so the blur applied is exactly the
MTF reported by :func:`mtf50_cyc_per_px`. The sensor's pixel aperture is not part of it: the
area-averaging resample (:mod:`evalharness.camera.resample`) already integrates over each pixel.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import j1


def diffraction_cutoff_cyc_per_px(*, f_number: float, wavelength_nm: float, pitch_um: float) -> float:
    """Diffraction cut-off frequency ``pitch / (wavelength N)``, cycles per pixel."""
    return pitch_um / (wavelength_nm * 1e-3 * f_number)


def defocus_blur_diameter_um(
    *, focal_length_mm: float, f_number: float, focus_range_m: float, subject_range_m: float
) -> float:
    """Thin-lens blur-disc diameter at the sensor for a subject off the focus distance, um.

    ``c = A f |s - s_f| / (s (s_f - f))`` with aperture diameter ``A = f / N``.
    """
    f_m = focal_length_mm * 1e-3
    aperture_m = f_m / f_number
    c_m = aperture_m * f_m * abs(subject_range_m - focus_range_m) / (
        subject_range_m * (focus_range_m - f_m)
    )
    return c_m * 1e6


def lens_mtf(
    nu_cyc_per_px: torch.Tensor | np.ndarray,
    *,
    cutoff_cyc_per_px: float,
    defocus_px: float,
    aberration_sigma_px: float,
) -> torch.Tensor | np.ndarray:
    """Lens MTF at radial frequencies ``nu_cyc_per_px`` (array or tensor, any shape, >= 0)."""
    as_tensor = isinstance(nu_cyc_per_px, torch.Tensor)
    nu = nu_cyc_per_px.detach().cpu().double().numpy() if as_tensor else np.asarray(nu_cyc_per_px)
    x = np.clip(nu / cutoff_cyc_per_px, 0.0, 1.0)
    diffraction = (2.0 / math.pi) * (np.arccos(x) - x * np.sqrt(1.0 - x * x))
    arg = math.pi * defocus_px * nu
    safe = np.where(arg > 1e-9, arg, 1.0)
    defocus = np.where(arg > 1e-9, 2.0 * j1(safe) / safe, 1.0)
    aberration = np.exp(-2.0 * math.pi**2 * aberration_sigma_px**2 * nu**2)
    mtf = diffraction * defocus * aberration
    if as_tensor:
        return torch.as_tensor(mtf, dtype=nu_cyc_per_px.dtype, device=nu_cyc_per_px.device)
    return mtf


def mtf50_cyc_per_px(
    *, cutoff_cyc_per_px: float, defocus_px: float, aberration_sigma_px: float
) -> float:
    """Lowest frequency where :func:`lens_mtf` falls to 0.5, cycles per pixel."""
    nu = np.linspace(0.0, cutoff_cyc_per_px, 200_001)
    mtf = lens_mtf(nu, cutoff_cyc_per_px=cutoff_cyc_per_px, defocus_px=defocus_px,
                   aberration_sigma_px=aberration_sigma_px)
    return mtf50(nu, mtf)


def mtf50(freq: np.ndarray, mtf: np.ndarray) -> float:
    """First frequency where sampled ``mtf`` falls below 0.5, by linear interpolation."""
    below = int(np.argmax(mtf < 0.5))
    if below == 0:
        raise ValueError("the MTF does not fall below 0.5 within the sampled frequencies")
    f0, f1, m0, m1 = freq[below - 1], freq[below], mtf[below - 1], mtf[below]
    return float(f0 + (m0 - 0.5) * (f1 - f0) / (m0 - m1))


def lens_blur(
    images: torch.Tensor, *, cutoff_cyc_per_px: float, defocus_px: float, aberration_sigma_px: float
) -> torch.Tensor:
    """Blur ``images (B, C, H, W)`` by the lens MTF, in the Fourier domain.

    Images are reflect-padded by the blur's reach (or by what the image allows) before the FFT
    so that the circular convolution does not wrap one edge into the other.
    """
    reach_px = int(math.ceil(3.0 / cutoff_cyc_per_px + defocus_px + 4.0 * aberration_sigma_px)) + 2
    height, width = images.shape[-2:]
    pad_y, pad_x = min(reach_px, height - 1), min(reach_px, width - 1)
    padded = F.pad(images, (pad_x, pad_x, pad_y, pad_y), mode="reflect")
    fy = torch.fft.fftfreq(padded.shape[-2], device=images.device, dtype=torch.float64)
    fx = torch.fft.rfftfreq(padded.shape[-1], device=images.device, dtype=torch.float64)
    nu = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    mtf = lens_mtf(nu, cutoff_cyc_per_px=cutoff_cyc_per_px, defocus_px=defocus_px,
                   aberration_sigma_px=aberration_sigma_px).to(images.dtype)
    spectrum = torch.fft.rfft2(padded) * mtf
    blurred = torch.fft.irfft2(spectrum, s=padded.shape[-2:])
    return blurred[..., pad_y : pad_y + height, pad_x : pad_x + width]
