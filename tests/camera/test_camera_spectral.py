"""Spectral modes: the infrared channel mix, the Bayer mosaic and bilinear demosaicing."""

from __future__ import annotations

import pytest
import torch

from evalharness.camera.spectral import bayer_mosaic, demosaic_bilinear, infrared_mix


def test_infrared_mix_weights_channels():
    image = torch.tensor([0.8, 0.4, 0.2]).reshape(1, 3, 1, 1).expand(2, 3, 4, 5)
    mono = infrared_mix(image, red=0.7, green=0.2, blue=0.1)
    assert mono.shape == (2, 1, 4, 5)
    assert torch.allclose(mono, torch.full_like(mono, 0.56 + 0.08 + 0.02))


def test_mosaic_keeps_one_colour_per_site():
    image = torch.rand(1, 3, 6, 8)
    mosaic = bayer_mosaic(image)
    assert mosaic[0, 0, 0, 0] == image[0, 0, 0, 0]  # red at even row, even column
    assert mosaic[0, 0, 0, 1] == image[0, 1, 0, 1]  # green
    assert mosaic[0, 0, 1, 0] == image[0, 1, 1, 0]  # green
    assert mosaic[0, 0, 1, 1] == image[0, 2, 1, 1]  # blue


def test_demosaic_restores_flat_colours_and_linear_ramps():
    flat = torch.tensor([0.9, 0.5, 0.1]).reshape(1, 3, 1, 1).expand(1, 3, 10, 12)
    assert torch.allclose(demosaic_bilinear(bayer_mosaic(flat)), flat, atol=1e-6)
    # Bilinear interpolation is exact for a linear ramp away from the border.
    ramp = torch.linspace(0, 1, 12).expand(1, 3, 10, 12) * torch.tensor([1.0, 0.5, 0.25]).reshape(
        1, 3, 1, 1)
    restored = demosaic_bilinear(bayer_mosaic(ramp))
    assert torch.allclose(restored[..., 1:-1, 1:-1], ramp[..., 1:-1, 1:-1], atol=1e-6)
    # Colour detail at the pixel scale is lost (the mosaic samples each colour sparsely).
    stripes = torch.zeros(1, 3, 10, 12)
    stripes[:, 0, :, 0::2] = 1.0
    assert float((demosaic_bilinear(bayer_mosaic(stripes)) - stripes).abs().mean()) > 0.1
    assert demosaic_bilinear(bayer_mosaic(ramp)).shape == ramp.shape


@pytest.mark.parametrize("shape", [(1, 1, 7, 9), (3, 1, 2, 2)])
def test_demosaic_handles_odd_and_tiny_images(shape):
    assert demosaic_bilinear(torch.rand(shape)).shape == (shape[0], 3, *shape[-2:])
