"""Sources of profile values, read from the comments of the shipped profile files."""

from __future__ import annotations

import tomllib

import pytest

from evalharness.config.profile import PROFILES_DIR, list_profiles
from evalharness.report.sources import parameter_sources


def test_shipped_profile_sources_are_read_from_trailing_comments():
    text = (PROFILES_DIR / "ir-two-lane.toml").read_text(encoding="utf-8")
    sources = parameter_sources(text)
    assert sources["sensor_width_px"] == "typical ANPR sensor 1920x1200 [REF: genetec-sharpv]"
    assert sources["exposure_s"].startswith("about 1/1000 s typical with infrared")
    # Section headings on lines of their own are not sources.
    assert not any(source in ("Sensor and lens", "Geometry", "Motion") for source in sources.values())


@pytest.mark.parametrize("name", list_profiles())
def test_every_source_belongs_to_a_key_of_the_profile(name):
    text = (PROFILES_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert set(parameter_sources(text)) <= set(tomllib.loads(text))


def test_hash_inside_a_string_is_not_a_comment():
    text = 'description = "camera #2 # not a comment"  # the real source\nnote = \'a # b\'\n'
    assert parameter_sources(text) == {"description": "the real source"}


def test_escaped_quote_does_not_end_the_string():
    assert parameter_sources('a = "x\\" # y"  # src') == {"a": "src"}


def test_keys_without_a_comment_are_absent():
    assert parameter_sources("# heading\nf_number = 2.8\n") == {}
