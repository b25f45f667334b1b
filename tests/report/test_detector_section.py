"""A run with a detector comparison: its results are those of the same run without it, the
comparison's first detector saw the run's own stored images, and the report shows the section."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalharness.evaluation import store
from evalharness.evaluation.detector_comparison import BINS_FILE, ROWS_FILE
from evalharness.report.render import render_html
from evalharness.report.rundir import read_run


@pytest.mark.slow
def test_a_run_with_a_comparison_keeps_its_results_and_reports_the_comparison(compared_run: Path,
                                                                              small_run: Path):
    for name in ("summary.csv", "quality.csv"):
        assert (compared_run / name).read_bytes() == (small_run / name).read_bytes()
    assert not (small_run / ROWS_FILE).exists() and (compared_run / BINS_FILE).is_file()
    rows = pd.read_parquet(compared_run / ROWS_FILE)
    conditions = rows["condition_id"].unique()
    assert len(conditions) == len(read_run(compared_run).summary)
    # The first detector's rows are the run's own detections of the same stored images.
    paired = rows[rows["detector"] == "mtcnn"].merge(store.read_rows(compared_run, conditions),
                                                     on=["condition_id", "relpath"], suffixes=("", "_run"))
    assert len(paired) == len(conditions) * 8
    assert (paired["detected"] == paired["detected_run"]).all() and (paired["ied_px"] == paired["ied_px_run"]).all()
    html = render_html(read_run(compared_run))
    assert 'id="detectors"' in html and "Detection only" in html and "yunet: found (95% CI)" in html
    assert "detector, comparison only" in html
    assert 'id="detectors"' not in render_html(read_run(small_run))
