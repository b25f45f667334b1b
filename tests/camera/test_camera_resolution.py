"""``at_resolution``: the distance that gives a wanted inter-eye distance, checked by hand."""

from __future__ import annotations

import math

import pytest

from evalharness.camera.geometry import at_resolution, derive_geometry, split_resolution
from evalharness.config.profile import load_profile, with_overrides
from evalharness.errors import ConfigError


def _square_camera():
    # 1000 px across a 90-degree field: focal length 500 px, so px/m = 500 / slant range.
    return with_overrides(load_profile("ir-two-lane"), {
        "sensor_width_px": 1000, "hfov_deg": 90.0, "mounting_height_m": 1.8, "face_height_m": 1.2,
        "lateral_offset_m": 0.0, "ied_m": 0.063})


def test_distance_for_an_ied_by_hand() -> None:
    # 31.5 px between 0.063 m eyes = 500 px/m -> slant range 1.0 m; 0.6 m of height difference
    # leaves sqrt(1 - 0.36) = 0.8 m along the road.
    profile = at_resolution(_square_camera(), ied_px=31.5)
    assert profile.distance_m == pytest.approx(0.8)
    assert derive_geometry(profile).ied_px == pytest.approx(31.5)


def test_distance_for_a_pixel_density_by_hand() -> None:
    profile = at_resolution(_square_camera(), px_per_m=250.0)  # slant 2 m
    assert profile.distance_m == pytest.approx(math.sqrt(4 - 0.36))


def test_unreachable_resolution_says_why() -> None:
    # Directly beside the camera the face is 0.6 m away: at most 833 px/m, 52.5 px.
    with pytest.raises(ConfigError, match=r"out of reach.*0\.60 m.*833\.3 px/m, 52\.5 px"):
        at_resolution(_square_camera(), ied_px=60.0)


def test_exactly_one_target() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        at_resolution(_square_camera())
    with pytest.raises(ConfigError, match="exactly one"):
        at_resolution(_square_camera(), ied_px=10.0, px_per_m=100.0)
    with pytest.raises(ConfigError, match="positive"):
        at_resolution(_square_camera(), ied_px=0.0)


@pytest.mark.parametrize("value", ["abc", "", 0, True, float("nan")])
def test_a_resolution_target_that_is_not_a_positive_number_is_named(value) -> None:
    with pytest.raises(ConfigError, match=f"--set ied_px={value!r}: give a positive number"):
        split_resolution({"ied_px": value, "speed_kmh": 30})
    assert split_resolution({"ied_px": 24, "speed_kmh": 30}) == ({"speed_kmh": 30}, {"ied_px": 24.0})
