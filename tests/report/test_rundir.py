"""What the report reads of a run directory's experiment: which columns were swept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalharness.report.rundir import Run


def test_swept_columns_are_the_experiments_sweep_axes_besides_distance():
    """Derived columns (face_in_frame, ied_px) and metrics never split curves; sweep axes do."""
    summary = pd.DataFrame(columns=["condition_id", "profile", "jpeg_quality", "distance_m", "ied_px",
                                    "face_in_frame", "rank1", "rank1_ci_low", "exposure_s"])
    experiment = {"grid": [{"profiles": ["ir-two-lane"], "sweep": {"distance_m": [10], "exposure_s": [0.001]}},
                           {"profiles": ["control-passport"]},
                           {"profiles": ["legacy-interlaced"], "sweep": {"jpeg_quality": [50, 90]}}]}
    run = Run(Path("run"), summary, {}, "", experiment, {})
    assert run.swept == ["jpeg_quality", "exposure_s"]
