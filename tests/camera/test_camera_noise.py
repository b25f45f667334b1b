"""A camera's noise as measured in stored values: the correlated field, the level-dependent
sigma, and the sensor stage drawing it instead of the shot and read noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evalharness.camera import noise
from evalharness.camera.simulate import simulate
from evalharness.config.profile import load_profile
from evalharness.errors import ConfigError


def _lag_correlation(field: np.ndarray, lag: int) -> float:
    across = np.mean(field[:, lag:] * field[:, :-lag])
    down = np.mean(field[lag:] * field[:-lag])
    return float((across + down) / 2.0 / np.mean(field**2))


@pytest.mark.parametrize("length_px", [0.0, 1.0, 2.0, 3.0])
def test_the_field_has_unit_variance_and_exponential_correlation(length_px):
    field = noise.correlated_field(288, 352, correlation_px=length_px,
                                   generator=torch.Generator().manual_seed(1)).numpy()
    assert field.shape == (288, 352)
    assert field.std() == pytest.approx(1.0, abs=0.05)
    for lag in (1, 2):
        expected = math.exp(-lag / length_px) if length_px else 0.0
        assert _lag_correlation(field, lag) == pytest.approx(expected, abs=0.04)


def test_sigma_follows_the_table_level_by_level():
    """Flat grey images at table levels and between them: the noise is the table's sigma there
    (linear between its rows, held beyond its ends), 8-bit quantised, and one seed draws the
    same noise again."""
    table = [(40.0, 1.0), (120.0, 5.0), (200.0, 2.0)]
    levels_dn = (20.0, 40.0, 80.0, 120.0, 200.0, 230.0)
    expected = (1.0, 1.0, 3.0, 5.0, 2.0, 2.0)
    flat = torch.stack([torch.full((3, 128, 128), level / 255.0) for level in levels_dn])

    def draw() -> torch.Tensor:
        generators = [torch.Generator().manual_seed(index) for index in range(len(levels_dn))]
        return noise.add_stored_noise(flat, table_dn=table, correlation_px=0.0, generators=generators)

    stored = draw()
    assert torch.equal(stored, draw())
    dn = stored * 255.0
    assert torch.equal(dn, dn.round())
    for image, level, sigma in zip(dn, levels_dn, expected, strict=True):
        # One field to every channel: luma noise.
        assert torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])
        quantised = math.sqrt(sigma**2 + 1.0 / 12.0)
        assert float(image.mean()) == pytest.approx(level, abs=0.1)
        assert float(image[0].std()) == pytest.approx(quantised, rel=0.05)


def test_a_stored_noise_profile_draws_no_sensor_noise():
    """With a stored noise of zero sigma the camera stores the same image whatever the seed;
    the same camera with its sensor's noise does not."""
    face = torch.rand((1, 3, 64, 64), generator=torch.Generator().manual_seed(0))
    eyes = torch.tensor([[[22.0, 28.0], [42.0, 28.0]]])

    def stored(overrides: dict, seed: int) -> torch.Tensor:
        profile = load_profile("legacy-interlaced", {"spectral_mode": "colour", **overrides})
        return simulate(face, eyes, profile, [torch.Generator().manual_seed(seed)]).images

    silent = {"stored_noise_dn": [[0.0, 0.0], [255.0, 0.0]]}
    assert torch.equal(stored(silent, 1), stored(silent, 2))
    assert not torch.equal(stored({}, 1), stored({}, 2))


@pytest.mark.parametrize(("table", "message"), [
    ([[100.0, 1.0], [50.0, 2.0]], "levels must increase within 0-255"),
    ([[100.0, 1.0], [300.0, 2.0]], "levels must increase within 0-255"),
    ([[100.0, -1.0]], "sigmas must lie within 0-64 DN"),
])
def test_a_bad_noise_table_is_refused_by_name(table, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_profile("legacy-interlaced", {"stored_noise_dn": table})
    assert "stored_noise_dn" in str(error.value)
