"""A real, small run of the engine on the bundled lfw-mini, shared by the report tests.

The run goes through the engine's API (:func:`evalharness.evaluation.runner.prepare`), the same
code ``evalharness run`` calls, with few probes so that it takes seconds, not minutes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: Two profiles, one with a distance sweep: enough for lines, bands, a nominal condition that is
#: swept (ir-two-lane at 20 m) and one that is not (the control), and contact sheets.
EXPERIMENT = """\
name = "report-test"
dataset = "{dataset}"
seed = 11
samples_per_condition = 2
bootstrap_resamples = 50

[protocol]
enrolled_identities = 20
nonmated_identities = 10

[[grid]]
profiles = ["control-passport"]

[[grid]]
profiles = ["ir-two-lane"]
sweep = {{ distance_m = [10, 20, 40] }}
"""

LIMIT = 16

#: The same experiment with a detector comparison of two detectors.
COMPARISON = """
[detector_comparison]
detectors = ["mtcnn", "yunet"]
probes_per_condition = 8
"""


@pytest.fixture(scope="session")
def small_run(run_experiment) -> Path:
    """A finished run directory of :data:`EXPERIMENT` with ``--limit`` :data:`LIMIT`."""
    return run_experiment("report-test", EXPERIMENT, LIMIT)


@pytest.fixture(scope="session")
def compared_run(run_experiment) -> Path:
    """:func:`small_run` with :data:`COMPARISON`."""
    return run_experiment("report-test-compared", EXPERIMENT + COMPARISON, LIMIT)


@pytest.fixture
def run_copy(small_run: Path, tmp_path: Path) -> Path:
    """A copy of :func:`small_run` that a test may change."""
    return Path(shutil.copytree(small_run, tmp_path / "run"))
