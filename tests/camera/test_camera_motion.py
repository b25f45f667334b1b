"""Motion blur: a point source becomes a line of the length the formula gives."""

from __future__ import annotations

import math

import pytest
import torch

from evalharness.camera.geometry import derive_geometry
from evalharness.camera.motion import line_kernel, motion_blur


def _point(size: int = 65) -> torch.Tensor:
    image = torch.zeros(1, 1, size, size, dtype=torch.float64)
    image[..., size // 2, size // 2] = 1.0
    return image


def _variance_along(image: torch.Tensor, angle_deg: float) -> float:
    """Variance (px^2) of the image's intensity distribution along ``angle_deg``."""
    weights = image[0, 0]
    rows, cols = torch.meshgrid(*(torch.arange(n, dtype=torch.float64) for n in weights.shape),
                                indexing="ij")
    total = weights.sum()
    mean_x, mean_y = (weights * cols).sum() / total, (weights * rows).sum() / total
    angle = math.radians(angle_deg)
    along = (cols - mean_x) * math.cos(angle) + (rows - mean_y) * math.sin(angle)
    return float((weights * along**2).sum() / total)


def _length_along(image: torch.Tensor, angle_deg: float) -> float:
    """Length of the uniform segment with the image's spread along ``angle_deg``.

    A segment of length L convolved with the tent of bilinear rasterisation has variance
    L^2 / 12 + 1 / 6 along its direction, so L = sqrt(12 (variance - 1/6)).
    """
    return math.sqrt(12.0 * (_variance_along(image, angle_deg) - 1.0 / 6.0))


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 90.0, 113.0])
@pytest.mark.parametrize("length_px", [3.0, 7.5, 20.0])
def test_point_source_becomes_a_line_of_the_configured_length(length_px, angle_deg):
    blurred = motion_blur(_point(), length_px=length_px, angle_deg=angle_deg)
    assert float(blurred.sum()) == pytest.approx(1.0)
    assert _length_along(blurred, angle_deg) == pytest.approx(length_px, rel=0.02)
    # Nothing spreads across the motion beyond the bilinear splat of a point, whose variance
    # u (1 - u) along either axis is at most 1/4 px^2.
    assert _variance_along(blurred, angle_deg + 90.0) <= 0.25


def test_profile_motion_blur_length_in_the_image(make_profile):
    # 90 km/h for 2 ms with the camera level with the face, 3 m to the side at 4 m: the
    # displacement (50 mm) is seen at sin(theta) = 3 / 5 across the line of sight.
    profile = make_profile(speed_kmh=90.0, exposure_s=0.002, mounting_height_m=1.2,
                           face_height_m=1.2, lateral_offset_m=3.0, distance_m=4.0)
    geo = derive_geometry(profile)
    expected_px = 0.05 * 0.6 * geo.px_per_m
    assert geo.motion_blur_px == pytest.approx(expected_px)
    blurred = motion_blur(_point(129), length_px=geo.motion_blur_px, angle_deg=geo.motion_angle_deg)
    assert _length_along(blurred, geo.motion_angle_deg) == pytest.approx(expected_px, rel=0.02)


def test_kernel_is_normalised_and_no_motion_is_identity():
    assert float(line_kernel(length_px=4.2, angle_deg=17.0).sum()) == pytest.approx(1.0)
    image = torch.rand(2, 3, 16, 16)
    assert torch.equal(motion_blur(image, length_px=0.0, angle_deg=45.0), image)
