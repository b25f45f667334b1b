"""Helpers for the camera tests: a profile built from a shipped one with chosen values."""

from __future__ import annotations

import pytest

from evalharness.config.profile import CameraProfile, load_profile, with_overrides


@pytest.fixture
def make_profile():
    """``make_profile(**values)``: the ir-two-lane profile with ``values`` overridden."""

    def make(**values: object) -> CameraProfile:
        return with_overrides(load_profile("ir-two-lane"), values)

    return make
