"""A camera's noise as its stored frames show it: Gaussian noise in the stored values, its sigma
a function of the level, spread over neighbouring pixels.

A real camera's processing after the sensor (noise reduction, tone curve, scaling, codec) can
leave noise that no Poisson-Gaussian sensor behind a tone curve produces. In the FRMDB CCTV
frames it peaks at mid grey (3.4 DN at 88 DN, 0.7 DN at 24 DN, 1.0 DN at 168 DN) and is
correlated 0.64 with the next pixel and 0.36 with the one after, where the model's demosaicked
sensor noise reads 0.48 and 0.11 (docs/VALIDATION.md, "Noise measured in stored values"). For
such a camera ``evalharness calibrate`` writes the noise measured from its frames into the profile
(``stored_noise_dn``, ``stored_noise_correlation_px``), and the sensor stage draws it in the
stored values instead of the shot and read noise (:func:`add_stored_noise`). It describes what
the camera stores, not how: the model then reproduces the frames' noise, not its causes.

Spatial correlation: exponential, ``rho(d) = exp(-d / L)`` for pixels ``d`` apart, ``L`` =
``correlation_px``: the frames' correlation falls with distance as an exponential's does, the
second lag near the square of the first (0.36 against 0.64^2 = 0.41), where a Gaussian
correlation, as a blur of white noise makes, falls to the fourth power (0.17). The
field is white Gaussian noise filtered in the Fourier domain by the square root of the power
spectrum of that covariance on the pixel grid (circulant embedding [REF: dietrich-newsam-1997]),
scaled to unit variance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from evalharness.camera.codec import LUMA_WEIGHTS
from evalharness.camera.sensor import FULL_SCALE_DN


def correlated_field(
    height_px: int, width_px: int, *, correlation_px: float, generator: torch.Generator
) -> torch.Tensor:
    """``(height_px, width_px)`` float64 Gaussian noise of unit variance with correlation
    ``exp(-d / correlation_px)`` (white for 0), drawn on the CPU from ``generator``. The field is
    made on a grid padded by four correlation lengths and cut out, so that the Fourier
    filter's wrap-around does not join opposite edges (their correlation falls below exp(-8))."""
    if correlation_px <= 0.0:
        return torch.randn((height_px, width_px), generator=generator, dtype=torch.float64)
    pad = math.ceil(4.0 * correlation_px)
    rows, cols = height_px + 2 * pad, width_px + 2 * pad
    white = torch.randn((rows, cols), generator=generator, dtype=torch.float64)
    # Distances on the torus of the padded grid, whose covariance's Fourier transform is the
    # power spectrum that gives the sampled field exactly that covariance (circulant embedding).
    d_rows, d_cols = (torch.minimum(torch.arange(n), n - torch.arange(n)).double() for n in (rows, cols))
    covariance = torch.exp(-torch.sqrt(d_rows[:, None] ** 2 + d_cols[None, :] ** 2) / correlation_px)
    spectrum = torch.fft.fft2(covariance).real.clamp(min=0.0)
    amplitude = torch.sqrt(spectrum / spectrum.mean())  # unit variance
    field = torch.fft.ifft2(torch.fft.fft2(white) * amplitude).real
    return field[pad: pad + height_px, pad: pad + width_px]


def sigma_at(level_dn: torch.Tensor, table_dn: Sequence[tuple[float, float]]) -> torch.Tensor:
    """Sigma (DN) at each stored level (DN), linear between the table's ``(level, sigma)``
    pairs and held at its ends."""
    levels, sigmas = (np.array(column, dtype=np.float64) for column in zip(*table_dn, strict=True))
    return torch.from_numpy(np.interp(level_dn.numpy(), levels, sigmas))


def add_stored_noise(
    values: torch.Tensor,
    *,
    table_dn: Sequence[tuple[float, float]],
    correlation_px: float,
    generators: Sequence[torch.Generator],
) -> torch.Tensor:
    """The measured camera's noise added to noise-free stored values, then 8-bit quantised.

    Parameters
    ----------
    values : Tensor (B, C, H, W)
        Noise-free stored values in [0, 1] (C = 1 or 3).
    table_dn : sequence of (level_dn, sigma_dn)
        The noise sigma at stored luma levels, DN, levels increasing (:func:`sigma_at`).
    correlation_px : float
        Correlation length ``L`` of the noise, pixels (module docstring); 0 for white noise.
    generators : sequence of torch.Generator
        One CPU generator per image.

    Returns
    -------
    Tensor (B, C, H, W)
        Multiples of 1/255 in [0, 1], on ``values``'s device. One noise field per image is added
        to every channel: luma noise, as measured (the chroma's own noise is not modelled).
    """
    clean = values.detach().to("cpu", torch.float64)
    weights = torch.tensor(LUMA_WEIGHTS, dtype=torch.float64)[:, None, None]
    noisy = []
    for image, generator in zip(clean, generators, strict=True):
        luma_dn = FULL_SCALE_DN * ((image * weights).sum(dim=0) if image.shape[0] == 3 else image[0])
        field = correlated_field(*luma_dn.shape, correlation_px=correlation_px, generator=generator)
        noisy.append(image + (sigma_at(luma_dn, table_dn) * field / FULL_SCALE_DN)[None])
    stored = torch.stack(noisy).clamp(0.0, 1.0)
    return (torch.round(stored * FULL_SCALE_DN) / FULL_SCALE_DN).to(values.device, values.dtype)
