"""Motion blur: a straight line kernel of the image motion during the exposure.

The kernel is the uniform line segment of length ``length_px`` at ``angle_deg`` (0 = to the
right, 90 = down the image), rasterised with bilinear (tent) weights, so a point source becomes a
line whose intensity profile along the motion has variance ``length_px^2 / 12 + 1 / 6`` px^2
(segment plus tent) on average over sub-pixel positions; a kernel shorter than a pixel, sampled
on the grid, may differ (0.17 px^2 for 0.22 at 0.76 px and 113 degrees).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Samples per pixel of segment when rasterising the line kernel.
_SAMPLES_PER_PX = 32


def line_kernel(*, length_px: float, angle_deg: float) -> torch.Tensor:
    """Normalised ``(K, K)`` float64 kernel of a segment of ``length_px`` at ``angle_deg``."""
    half = int(math.ceil(length_px / 2.0)) + 1
    size = 2 * half + 1
    samples = max(2, int(math.ceil(length_px * _SAMPLES_PER_PX)))
    # Midpoints of equal sub-segments, so each carries the same weight.
    s = (torch.arange(samples, dtype=torch.float64) + 0.5) / samples - 0.5
    angle = math.radians(angle_deg)
    xs = half + s * length_px * math.cos(angle)
    ys = half + s * length_px * math.sin(angle)
    grid = torch.arange(size, dtype=torch.float64)
    tent_x = (1.0 - (grid[None, :] - xs[:, None]).abs()).clamp(min=0.0)
    tent_y = (1.0 - (grid[None, :] - ys[:, None]).abs()).clamp(min=0.0)
    kernel = tent_y.T @ tent_x
    return kernel / kernel.sum()


def motion_blur(images: torch.Tensor, *, length_px: float, angle_deg: float) -> torch.Tensor:
    """Convolve ``images (B, C, H, W)`` with :func:`line_kernel`; edges are replicated."""
    if length_px <= 0.0:
        return images
    kernel = line_kernel(length_px=length_px, angle_deg=angle_deg).to(device=images.device, dtype=images.dtype)
    channels = images.shape[1]
    half = kernel.shape[-1] // 2
    padded = F.pad(images, (half, half, half, half), mode="replicate")
    weight = kernel.flip(0, 1).expand(channels, 1, *kernel.shape)
    return F.conv2d(padded, weight, groups=channels)
