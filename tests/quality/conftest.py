"""A real, small run on the bundled lfw-mini, with quality measures, shared by these tests.

The run goes through the engine's API (:func:`evalharness.evaluation.runner.prepare`), the code
``evalharness run`` calls: the control and one roadside profile at four distances, so that the
quality measures span a wide range and identification goes from certain to rare.
"""

from __future__ import annotations

from pathlib import Path

import pytest

EXPERIMENT = """\
name = "quality-test"
dataset = "{dataset}"
seed = 11
samples_per_condition = 0
bootstrap_resamples = 100

[protocol]
enrolled_identities = 20
nonmated_identities = 10

[[grid]]
profiles = ["control-passport"]

[[grid]]
profiles = ["ir-two-lane"]
sweep = {{ distance_m = [5, 10, 20, 40] }}
"""

LIMIT = 24


@pytest.fixture(scope="session")
def quality_run(run_experiment) -> Path:
    """A finished run directory of :data:`EXPERIMENT` with ``--limit`` :data:`LIMIT`."""
    return run_experiment("quality-test", EXPERIMENT, LIMIT)
