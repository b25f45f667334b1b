"""Profile inheritance (``base = ...``): merging, chains, cycles, errors naming the file that set
a value, did-you-mean, and the self-contained copy a run directory stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalharness.config.loading import FieldConfigError
from evalharness.config.profile import (
    CameraProfile,
    field_rows,
    load_profile,
    profile_from_layers,
    resolve_profile,
    resolved_toml,
)
from evalharness.errors import ConfigError
from evalharness.paths import PROFILES_DIR


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _values(profile: CameraProfile) -> dict:
    return profile.model_dump(exclude={"name", "description"})


def test_a_child_gives_only_what_differs(tmp_path):
    child = _write(tmp_path, "mine.toml", 'base = "ir-two-lane"\ndistance_m = 12.5  # site survey\n')
    profile = load_profile(child)
    assert profile.name == "mine"
    assert _values(profile) == _values(load_profile("ir-two-lane", {"distance_m": 12.5}))


def test_a_chain_of_paths_and_names_merges_nearest_first(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path, "middle.toml", 'base = "ir-two-lane"\njpeg_quality = 40  # middle\nspeed_kmh = 80.0\n')
    top = _write(tmp_path / "sub", "top.toml", 'base = "../middle.toml"\nspeed_kmh = 100.0  # top\n')
    layers = resolve_profile(top)
    assert [p.name for p in layers.chain] == ["top.toml", "middle.toml", "ir-two-lane.toml"]
    profile = profile_from_layers(layers)
    assert (profile.jpeg_quality, profile.speed_kmh) == (40, 100.0)
    rows = {row.name: row for row in field_rows(layers, profile)}
    assert (rows["speed_kmh"].status, rows["speed_kmh"].comment) == ("overridden", "top")
    assert (rows["jpeg_quality"].status, rows["jpeg_quality"].file) == ("inherited", "middle.toml")
    assert rows["f_number"].file == "ir-two-lane.toml" and rows["f_number"].comment
    assert rows["focal_length_mm"].status == "derived"


def test_a_cycle_is_one_clear_error(tmp_path):
    _write(tmp_path, "a.toml", 'base = "b.toml"\n')
    _write(tmp_path, "b.toml", 'base = "a.toml"\n')
    with pytest.raises(ConfigError, match=r"cycle: .*a\.toml -> .*b\.toml -> .*a\.toml"):
        load_profile(tmp_path / "a.toml")


def test_a_bad_value_names_the_base_file_that_set_it(tmp_path):
    base = _write(tmp_path, "base.toml", 'base = "ir-two-lane"\njpeg_quality = 300\n')
    child = _write(tmp_path, "child.toml", 'base = "base.toml"\ndistance_m = 15.0\n')
    with pytest.raises(FieldConfigError) as error:
        load_profile(child)
    message = str(error.value)
    assert message.startswith(f"{base}: jpeg_quality:") and "1 <= jpeg_quality <= 100" in message
    assert error.value.keys == ("jpeg_quality",)
    with pytest.raises(ConfigError) as error:  # --set names itself, the rest still its file
        load_profile(child, {"speed_kmh": -5})
    assert f"{child} with --set speed_kmh=-5: speed_kmh:" in str(error.value)
    assert f"{base}: jpeg_quality:" in str(error.value)


def test_a_child_lens_replaces_the_base_field_of_view(tmp_path):
    child = _write(tmp_path, "lens.toml", 'base = "ir-two-lane"\nfocal_length_mm = 25.0\n')
    profile = load_profile(child)
    assert profile.hfov_deg is None and profile.focal_length_mm == 25.0
    both = _write(tmp_path, "both.toml", 'base = "ir-two-lane"\nhfov_deg = 20.0\nfocal_length_mm = 25.0\n')
    with pytest.raises(ConfigError) as error:
        load_profile(both)
    message = str(error.value)
    assert "\n" not in message and "{" not in message and str(both) in message


def test_both_fields_of_view_from_set_is_one_line():
    with pytest.raises(ConfigError) as error:
        load_profile("ir-two-lane", {"hfov_deg": 20.0, "focal_length_mm": 25.0})
    assert "\n" not in str(error.value) and "{" not in str(error.value)


def test_did_you_mean_for_keys_names_and_bases(tmp_path):
    with pytest.raises(ConfigError, match=r"focal_length: unknown key; did you mean 'focal_length_mm'\?"):
        load_profile("ir-two-lane", {"focal_length": 25.0})
    with pytest.raises(ConfigError, match=r"'ir-two-lanes' \(did you mean 'ir-two-lane'"):
        load_profile("ir-two-lanes")
    child = _write(tmp_path, "typo.toml", 'base = "legacy-interlace"\n')
    with pytest.raises(ConfigError, match=rf"{child}: base 'legacy-interlace'.*did you mean 'legacy-interlaced'"):
        load_profile(child)


def test_the_stored_copy_is_self_contained(tmp_path):
    (tmp_path / "bases").mkdir()
    _write(tmp_path / "bases", "middle.toml", 'base = "legacy-interlaced"\njpeg_quality = 35  # frame grabber\n')
    top = _write(tmp_path, "cam.toml", 'base = "bases/middle.toml"\nfocal_length_mm = 12.0  # datasheet\n')
    text, expected = resolved_toml(top), load_profile(top)
    assert "base =" not in text
    assert "jpeg_quality = 35  # frame grabber [middle.toml]" in text
    stored = _write(tmp_path / "bases", "cam.toml", text)  # beside nothing it could inherit from
    (tmp_path / "bases" / "middle.toml").unlink()
    assert load_profile(stored) == expected


def test_a_stored_table_keeps_the_file_that_set_it(tmp_path):
    """A table value (``stored_noise_dn``: level, sigma rows) is found in the file that set it, as
    a number is: the stored copy names that file and comment, not ``--set``."""
    top = _write(tmp_path, "cam.toml", 'base = "legacy-interlaced"\n'
                 'stored_noise_dn = [[24.0, 0.7], [200.0, 1.3]]  # measured on flat walls\n')
    text = resolved_toml(top)
    assert "stored_noise_dn = [\n" in text and "]  # measured on flat walls [cam.toml]" in text
    assert "[--set]" not in text


def test_a_base_name_in_a_subfolder_reads_as_profile_names_do(tmp_path):
    """``base = "validation/frmdb-cctv"`` names a shipped profile, as ``--profile`` reads that
    name, wherever the child file lies."""
    child = _write(tmp_path, "cam.toml", 'base = "validation/frmdb-cctv"\njpeg_quality = 40\n')
    assert _values(load_profile(child)) == _values(load_profile("validation/frmdb-cctv")) | {"jpeg_quality": 40}


def test_a_rule_across_fields_names_the_files_that_set_its_other_fields(tmp_path):
    """The infrared weights must sum to 1: a child changing one names the base file that set the
    other two, so the reader sees where every term of the sum came from."""
    child = _write(tmp_path, "mix.toml", 'base = "ir-two-lane"\nir_mix_red = 0.5\n')
    with pytest.raises(ConfigError) as raised:
        load_profile(child)
    base = PROFILES_DIR / "ir-two-lane.toml"
    assert str(raised.value) == (
        f"{child}: (top level): Value error, ir_mix_red + ir_mix_green + ir_mix_blue must be 1 (got 0.8) "
        f"(ir_mix_blue from {base}; ir_mix_green from {base})")


def test_a_boolean_is_not_a_number(tmp_path):
    """TOML's true for a number (read by Python as 1) is refused, naming the field, in a profile
    file and on the command line; an experiment's seed likewise."""
    child = _write(tmp_path, "booly.toml", 'base = "ir-two-lane"\njpeg_quality = true\n')
    with pytest.raises(ConfigError, match=f"{child}: jpeg_quality: Value error, true is a boolean; give a number"):
        load_profile(child)
    with pytest.raises(ConfigError, match="distance_m: Value error, true is a boolean"):
        load_profile("ir-two-lane", {"distance_m": True})
    from evalharness.config.experiment import ProtocolSettings

    with pytest.raises(ValueError, match="enrolled_identities\n.*true is a boolean"):
        ProtocolSettings(enrolled_identities=True)
