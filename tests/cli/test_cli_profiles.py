"""``evalharness profiles show`` on an inheriting profile, through the real CLI: every field with
its value, unit, marking and source comment, in text and JSON; profile errors as one line."""

from __future__ import annotations

import json

from evalharness.config.profile import CameraProfile

CONFIG_ERROR = 2


def _child(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text('base = "ir-two-lane"\ndistance_m = 14.0  # measured on site\n'
                    'jpeg_quality = 60  # tender document\nfocal_length_mm = 25.0  # lens datasheet\n',
                    encoding="utf-8")
    return path


def test_profiles_show_marks_each_field(cli, tmp_path):
    result = cli("profiles", "show", _child(tmp_path), "--set", "speed_kmh=60")
    assert result.code == 0, result.err
    fields = result.out.split("derived figures:")[0].splitlines()[3:]
    lines = {line.split()[0]: line for line in fields if line.strip()}
    assert set(lines) == set(CameraProfile.model_fields)  # every field of CameraProfile
    assert "14 m" in lines["distance_m"] and "overridden [site.toml]  # measured on site" in lines["distance_m"]
    assert "set [site.toml]  # lens datasheet" in lines["focal_length_mm"]
    assert "deg" in lines["hfov_deg"] and "derived" in lines["hfov_deg"]
    assert "inherited [ir-two-lane.toml]  # " in lines["f_number"]
    assert "60 km/h" in lines["speed_kmh"] and "--set" in lines["speed_kmh"]
    assert "default" in lines["tone_curve"] or "inherited" in lines["tone_curve"]


def test_profiles_show_json_lists_fields_and_files(cli, tmp_path):
    result = cli("profiles", "show", _child(tmp_path), "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    fields = {row["name"]: row for row in shown["fields"]}
    assert fields["jpeg_quality"] == {"name": "jpeg_quality", "value": 60, "unit": "",
                                      "status": "overridden", "file": "site.toml",
                                      "comment": "tender document"}
    assert fields["exposure_s"]["unit"] == "s" and fields["exposure_s"]["status"] == "inherited"
    assert [p.rsplit("/", 1)[-1] for p in shown["profile_files"]] == ["site.toml", "ir-two-lane.toml"]
    assert shown["ied_px"] > 0  # the derived figures are still there


def test_a_resolution_target_lists_the_distance_it_solved(cli, tmp_path):
    """--set ied_px=24 moves the camera: the fields list the solved distance, marked as the
    command line's, beside derived figures at that distance (not the file's 14 m)."""
    result = cli("profiles", "show", _child(tmp_path), "--set", "ied_px=24", "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    distance = {row["name"]: row for row in shown["fields"]}["distance_m"]
    assert distance["status"] == "--set" and distance["comment"] == "solved from --set ied_px=24"
    assert distance["value"] != 14.0 and shown["ied_px"] == 24.0


def test_profile_errors_are_one_line_with_a_suggestion(cli, tmp_path):
    result = cli("profiles", "show", "ir-two-lanes")
    assert result.code == CONFIG_ERROR and len(result.err_lines) == 1
    assert "did you mean 'ir-two-lane'" in result.err
    result = cli("profiles", "show", "ir-two-lane", "--set", "hfov_deg=20", "--set", "focal_length_mm=25")
    assert result.code == CONFIG_ERROR and len(result.err_lines) == 1 and "{" not in result.err
