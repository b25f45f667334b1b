"""Spectral modes: 850 nm infrared monochrome, or colour through a Bayer mosaic.

Infrared is an approximation: a visible photograph holds no 850 nm information, so the
infrared image is a weighted mix of its red, green and blue channels (skin's near-infrared
reflectance is closest to its red reflectance; the weights are profile fields). It does not
reproduce infrared-specific effects such as sunglasses that turn transparent or dark irises
that look light.

Colour mode samples an RGGB Bayer mosaic (one colour per pixel, where the sensor's noise is
added) and rebuilds three channels with bilinear demosaicing, as simple camera pipelines do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def infrared_mix(images: torch.Tensor, *, red: float, green: float, blue: float) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB to ``(B, 1, H, W)``: ``red R + green G + blue B``."""
    weights = torch.tensor([red, green, blue], dtype=images.dtype, device=images.device)
    return torch.einsum("bchw,c->bhw", images, weights).unsqueeze(1)


def bayer_masks(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(3, H, W)`` 0/1 masks of the red, green and blue sites of an RGGB mosaic."""
    rows = torch.arange(height, device=device)[:, None] % 2
    cols = torch.arange(width, device=device)[None, :] % 2
    red = (rows == 0) & (cols == 0)
    blue = (rows == 1) & (cols == 1)
    green = ~(red | blue)
    return torch.stack([red, green, blue]).float()


def bayer_mosaic(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB to the ``(B, 1, H, W)`` RGGB mosaic (each pixel keeps one colour)."""
    masks = bayer_masks(*images.shape[-2:], device=images.device).to(images.dtype)
    return (images * masks).sum(dim=1, keepdim=True)


def demosaic_bilinear(mosaic: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` RGGB mosaic to ``(B, 3, H, W)`` RGB by bilinear interpolation.

    Each channel's known samples are kept; a missing one is the average of the channel's known
    samples among its 3x3 neighbours (two or four of them in a Bayer pattern), normalised by the
    neighbours present, which also handles the image border.
    """
    masks = bayer_masks(*mosaic.shape[-2:], device=mosaic.device).to(mosaic.dtype)
    sparse = mosaic * masks
    summed = _tent3x3(sparse)
    weight = _tent3x3(masks[None])
    return torch.where(masks.bool(), sparse, summed / weight)


def _tent3x3(images: torch.Tensor) -> torch.Tensor:
    """Zero-padded correlation with the separable kernel [0.5, 1, 0.5] x [0.5, 1, 0.5]."""
    padded = F.pad(images, (1, 1, 1, 1))
    rows = 0.5 * padded[..., :-2, :] + padded[..., 1:-1, :] + 0.5 * padded[..., 2:, :]
    return 0.5 * rows[..., :-2] + rows[..., 1:-1] + 0.5 * rows[..., 2:]
