"""Shipped profiles load, agree with their own geometry and REFERENCES.md; errors are precise."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evalharness.config.profile import PROFILES_DIR, list_profiles, load_profile, with_overrides
from evalharness.errors import ConfigError

#: Inter-eye distances in pixels that ../shared/REFERENCES.md's table gives for each camera
#: (and ICAO's about 90 px for the control).
REFERENCE_IED_PX = {
    "ir-two-lane": (13.0, 15.0),
    "ir-single-lane": (19.0, 22.0),
    "colour-overview-day": (8.5, 10.0),
    "colour-overview-night": (8.5, 10.0),
    "legacy-interlaced": (5.0, 6.0),
    "control-passport": (85.0, 95.0),
}


def test_the_shipped_profiles_are_the_referenced_cameras():
    assert set(list_profiles()) == set(REFERENCE_IED_PX)


def _show_json(capsys, *args: str) -> dict:
    import evalharness.cli.profiles  # noqa: F401  registers the commands
    from evalharness.cli import main

    assert main(["profiles", "show", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(REFERENCE_IED_PX))
def test_profiles_show_ied_is_consistent_with_the_profile_geometry(capsys, name):
    profile = load_profile(name)
    figures = _show_json(capsys, name)
    for key in ("px_per_m", "ied_px", "face_width_px", "slant_range_m", "motion_blur_px",
                "mtf50_cyc_per_px", "snr_db", "dori_class"):
        assert key in figures
    # Recompute by hand from the file's values: slant range, then W / (2 R tan(hfov / 2)).
    slant_m = math.sqrt(profile.distance_m**2 + profile.lateral_offset_m**2
                        + (profile.mounting_height_m - profile.face_height_m) ** 2)
    half_fov = math.radians(profile.hfov_deg) / 2
    px_per_m = profile.sensor_width_px / (2 * slant_m * math.tan(half_fov))
    assert figures["slant_range_m"] == pytest.approx(slant_m)
    assert figures["ied_px"] == pytest.approx(profile.ied_m * px_per_m)
    low, high = REFERENCE_IED_PX[name]
    assert low <= figures["ied_px"] <= high
    assert figures["face_in_frame"] is True
    assert 0.05 < figures["mtf50_cyc_per_px"] < 1.0


def test_profiles_show_applies_overrides(capsys):
    near = _show_json(capsys, "ir-two-lane", "--set", "distance_m=10")
    far = _show_json(capsys, "ir-two-lane", "--set", "distance_m=30")
    assert near["ied_px"] > 2 * far["ied_px"]
    assert near["inputs"]["distance_m"] == 10


def _write(tmp_path: Path, replace: dict[str, str]) -> Path:
    """A copy of ir-two-lane.toml with lines replaced (key -> new line, '' to drop)."""
    lines = []
    for line in (PROFILES_DIR / "ir-two-lane.toml").read_text().splitlines():
        key = line.split("=")[0].strip()
        lines.append(replace.pop(key) if key in replace else line)
    lines.extend(replace.values())
    path = tmp_path / "camera.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ({"exposure_ms": "exposure_ms = 1"}, ["exposure_ms", "unknown key", "exposure_s"]),
        ({"jpeg_quality": 'jpeg_quality = "high"'},
         ["jpeg_quality", "integer", "1 <= jpeg_quality <= 100"]),
        ({"jpeg_quality": "jpeg_quality = 101"}, ["jpeg_quality", "1 <= jpeg_quality <= 100"]),
        ({"distance_m": "distance_m = -3"}, ["distance_m", "0.0 < distance_m <= 500.0"]),
        ({"windscreen_transmission_ir": "windscreen_transmission_ir = 1.5"},
         ["windscreen_transmission_ir", "0.0 <= windscreen_transmission_ir <= 1.0"]),
        ({"spectral_mode": 'spectral_mode = "ultraviolet"'},
         ["spectral_mode", "infrared", "colour"]),
        ({"focal_length_mm": "focal_length_mm = 25.0"},
         ["exactly one of hfov_deg and focal_length_mm"]),
        ({"ir_mix_red": "ir_mix_red = 0.9"}, ["must be 1"]),
    ],
)
def test_bad_profile_errors_name_file_field_and_allowed_values(tmp_path, replace, expected):
    path = _write(tmp_path, replace)
    with pytest.raises(ConfigError) as error:
        load_profile(path)
    message = str(error.value)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message


def test_missing_profile_lists_the_available_ones():
    with pytest.raises(ConfigError) as error:
        load_profile("no-such-camera")
    assert "no-such-camera" in str(error.value)
    assert all(name in str(error.value) for name in list_profiles())


def test_overrides_are_validated_and_name_the_override():
    profile = load_profile("ir-two-lane", {"distance_m": 25, "jpeg_quality": 30})
    assert (profile.distance_m, profile.jpeg_quality) == (25.0, 30)
    with pytest.raises(ConfigError, match=r"distance_m=0.*distance_m.*0.0 < distance_m"):
        load_profile("ir-two-lane", {"distance_m": 0})
    with pytest.raises(ConfigError, match=r"unknown key; did you mean 'speed_kmh'\? allowed keys: "):
        with_overrides(profile, {"speed_mph": 30})
    # A sweep value keeps the rest of the profile, including its choice of hfov.
    swept = with_overrides(profile, {"speed_kmh": 80})
    assert swept.hfov_deg == profile.hfov_deg and swept.jpeg_quality == 30
    # Giving the focal length instead replaces the field of view.
    lens = with_overrides(profile, {"focal_length_mm": 25.0})
    assert lens.hfov_deg is None and lens.field_of_view_deg > profile.hfov_deg  # 25 < 27.3 mm
