"""Light to electrons to 8-bit numbers: illumination, windscreen, glare, noise, clipping.

Signal chain for one pixel of (linear) reflectance ``r`` in [0, 1]:

1. Camera equation for a Lambertian face: sensor irradiance ``E r T / (4 N^2)`` (lens
   transmission and cos^4 fall-off taken as 1), turned into photons with the photon energy
   ``h c / wavelength`` and into electrons with the pixel area and the quantum efficiency, over
   the exposure: :func:`white_signal_e` is that count for ``r = 1``.
2. Windscreen reflection / veiling glare adds a uniform ``glare_ratio * white_e`` electrons,
   raising the black level and lowering contrast by ``1 / (1 + glare_ratio / r)``.
3. Shot noise (Poisson) plus read noise (Gaussian): the Poisson-Gaussian model, variance
   ``signal_e + read_noise_e^2`` (not drawn for a profile that gives its camera's measured noise
   in stored values, :mod:`evalharness.camera.noise`). Noise is drawn on the CPU from each
   image's generator and moved to the images' device, so CPU and GPU runs draw the same numbers.
4. Clipping at full well, conversion gain to 8-bit digital numbers (DN), clipping at 255, the
   output tone curve (sRGB encoding or linear) and rounding to integers (8-bit quantisation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

PLANCK_J_S = 6.62607015e-34
LIGHT_SPEED_M_S = 299_792_458.0
FULL_SCALE_DN = 255.0


def white_signal_e(
    *,
    face_irradiance_w_m2: float,
    transmission: float,
    f_number: float,
    wavelength_nm: float,
    pixel_pitch_um: float,
    quantum_efficiency: float,
    exposure_s: float,
) -> float:
    """Mean electrons a pixel collects from a white (reflectance 1) Lambertian face."""
    sensor_irradiance_w_m2 = face_irradiance_w_m2 * transmission / (4.0 * f_number**2)
    photon_energy_j = PLANCK_J_S * LIGHT_SPEED_M_S / (wavelength_nm * 1e-9)
    pixel_area_m2 = (pixel_pitch_um * 1e-6) ** 2
    photons = sensor_irradiance_w_m2 / photon_energy_j * pixel_area_m2 * exposure_s
    return photons * quantum_efficiency


def srgb_to_linear(values: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 sRGB decoding of values in [0, 1]."""
    return torch.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 sRGB encoding of values in [0, 1]."""
    values = values.clamp(0.0, 1.0)
    encoded = 1.055 * values.clamp(min=0.0031308) ** (1 / 2.4) - 0.055
    return torch.where(values <= 0.0031308, values * 12.92, encoded)


def expected_electrons(
    reflectance: torch.Tensor, *, white_e: float, glare_ratio: float
) -> torch.Tensor:
    """Mean electrons per pixel: ``reflectance * white_e`` plus the uniform glare."""
    return reflectance * white_e + glare_ratio * white_e


def capture(
    reflectance: torch.Tensor,
    *,
    white_e: float,
    glare_ratio: float,
    full_well_e: float,
    read_noise_e: float,
    gain_dn_per_e: float,
    tone_curve: str,
    generators: Sequence[torch.Generator],
    sensor_noise: bool = True,
) -> torch.Tensor:
    """Expose, add noise, clip and quantise; returns 8-bit values scaled to [0, 1].

    Parameters
    ----------
    reflectance : Tensor (B, C, H, W)
        Linear reflectance in [0, 1] at the sensor's pixels (C = 1 mosaic or monochrome).
    white_e, glare_ratio, full_well_e, read_noise_e, gain_dn_per_e
        See the module docstring; electrons, ratio, electrons, electrons RMS, DN per electron.
    tone_curve : {"srgb", "linear"}
        Transfer from linear DN to the stored value.
    generators : sequence of torch.Generator
        One CPU generator per image, for the shot and read noise.
    sensor_noise : bool
        Draw the shot and read noise; False for a camera whose measured noise is drawn in the
        stored values instead (:mod:`evalharness.camera.noise`).

    Returns
    -------
    Tensor (B, C, H, W)
        Multiples of 1/255 in [0, 1], on ``reflectance``'s device.
    """
    mean_e = expected_electrons(reflectance, white_e=white_e, glare_ratio=glare_ratio).detach().to("cpu", torch.float64)
    noisy = []
    for image_mean, generator in zip(mean_e, generators, strict=True):
        if not sensor_noise:
            noisy.append(image_mean)
            continue
        shot = torch.poisson(image_mean, generator=generator)
        read = torch.randn(image_mean.shape, generator=generator, dtype=torch.float64)
        noisy.append(shot + read_noise_e * read)
    electrons = torch.stack(noisy).to(reflectance.device)
    dn = (electrons.clamp(0.0, full_well_e) * gain_dn_per_e).clamp(0.0, FULL_SCALE_DN)
    value = dn / FULL_SCALE_DN
    if tone_curve == "srgb":
        value = linear_to_srgb(value)
    return (torch.round(value * FULL_SCALE_DN) / FULL_SCALE_DN).to(reflectance.dtype)
