"""Light and sensor: the camera equation, the Poisson-Gaussian noise model, glare, clipping."""

from __future__ import annotations

import math

import pytest
import torch

from evalharness.camera.sensor import capture, linear_to_srgb, srgb_to_linear, white_signal_e


def _generators(count: int, seed: int = 0) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + index) for index in range(count)]


def _capture(reflectance: torch.Tensor, *, white_e: float, read_noise_e: float, gain_dn_per_e: float,
             glare_ratio: float = 0.0, full_well_e: float = 1e6, tone_curve: str = "linear",
             seed: int = 0) -> torch.Tensor:
    """``capture`` with one generator per image, no glare, a deep well and linear tone unless given."""
    return capture(reflectance, white_e=white_e, glare_ratio=glare_ratio, full_well_e=full_well_e,
                   read_noise_e=read_noise_e, gain_dn_per_e=gain_dn_per_e, tone_curve=tone_curve,
                   generators=_generators(reflectance.shape[0], seed))


def test_white_signal_by_hand():
    # 1 W/m^2 of 850 nm light, no windscreen, f/2: 1 / 16 W/m^2 at the sensor; photon energy
    # h c / 850 nm = 2.337e-19 J; a 5 um pixel (25e-12 m^2) for 1 ms at QE 0.5:
    # 0.0625 / 2.337e-19 x 25e-12 x 1e-3 x 0.5 = 3343 electrons.
    by_hand = {"face_irradiance_w_m2": 1.0, "transmission": 1.0, "f_number": 2.0, "wavelength_nm": 850.0,
               "pixel_pitch_um": 5.0, "quantum_efficiency": 0.5, "exposure_s": 1e-3}
    assert white_signal_e(**by_hand) == pytest.approx(3343, rel=1e-3)
    # Transmission and exposure scale it linearly, the f-number by its inverse square.
    changed = {**by_hand, "transmission": 0.5, "f_number": 4.0, "exposure_s": 2e-3}
    assert white_signal_e(**changed) == pytest.approx(3343 / 4, rel=1e-3)


@pytest.mark.parametrize(
    ("signal_e", "read_noise_e", "gain"),
    [(400.0, 5.0, 0.3), (50.0, 12.0, 1.0), (3000.0, 3.0, 0.05)],
)
def test_flat_field_noise_matches_the_poisson_gaussian_model(signal_e, read_noise_e, gain):
    # A flat field of reflectance 0.5 and white signal 2 x signal_e: mean signal_e electrons.
    flat = torch.full((4, 1, 128, 128), 0.5)
    stored = _capture(flat, white_e=2.0 * signal_e, read_noise_e=read_noise_e, gain_dn_per_e=gain)
    dn = stored * 255.0
    # Variance in DN: gain^2 (signal + read^2) plus 1/12 DN^2 from rounding to integers.
    expected_std = math.sqrt(gain**2 * (signal_e + read_noise_e**2) + 1.0 / 12.0)
    assert float(dn.mean()) == pytest.approx(gain * signal_e, rel=0.01)
    assert float(dn.std()) == pytest.approx(expected_std, rel=0.05)


def test_glare_adds_signal_and_removes_contrast():
    face = torch.tensor([0.1, 0.4]).repeat(64, 32).reshape(1, 1, 64, 64)
    clean = _capture(face, white_e=1000.0, read_noise_e=0.0, gain_dn_per_e=0.2) * 255
    veiled = _capture(face, white_e=1000.0, read_noise_e=0.0, gain_dn_per_e=0.2, glare_ratio=0.5) * 255
    dark, bright = clean[..., 0::2].mean(), clean[..., 1::2].mean()
    veiled_dark, veiled_bright = veiled[..., 0::2].mean(), veiled[..., 1::2].mean()
    # 0.5 x 1000 e- x 0.2 DN/e = 100 DN added; the difference stays, the ratio shrinks.
    assert float(veiled_dark - dark) == pytest.approx(100.0, abs=1.0)
    assert float(veiled_bright - veiled_dark) == pytest.approx(float(bright - dark), abs=1.0)
    assert float(veiled_bright / veiled_dark) < 0.5 * float(bright / dark)


def test_clipping_quantisation_and_tone_curve():
    bright = torch.ones(1, 1, 16, 16)
    # Full well 500 e- x 1 DN/e = 500 DN would exceed 255: clipped at full scale.
    stored = _capture(bright, white_e=10_000.0, read_noise_e=2.0, gain_dn_per_e=1.0, full_well_e=500.0)
    assert torch.equal(stored, torch.ones_like(stored))
    some = _capture(torch.rand(1, 1, 16, 16), white_e=300.0, read_noise_e=2.0, gain_dn_per_e=0.5,
                    full_well_e=1e4, tone_curve="srgb")
    assert torch.equal(some * 255, torch.round(some * 255))
    values = torch.linspace(0, 1, 101)
    assert torch.allclose(srgb_to_linear(linear_to_srgb(values)), values, atol=1e-6)
    assert float(linear_to_srgb(torch.tensor(0.18))) == pytest.approx(0.4614, abs=1e-3)


def test_noise_follows_the_generator():
    flat = torch.full((2, 1, 32, 32), 0.5)
    first = _capture(flat, white_e=400.0, read_noise_e=5.0, gain_dn_per_e=0.5, seed=1)
    again = _capture(flat, white_e=400.0, read_noise_e=5.0, gain_dn_per_e=0.5, seed=1)
    other = _capture(flat, white_e=400.0, read_noise_e=5.0, gain_dn_per_e=0.5, seed=3)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
