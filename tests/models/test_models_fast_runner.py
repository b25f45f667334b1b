"""The harness's metrics with the MTCNN fast path (the default) against facenet-pytorch's own.

One small experiment on lfw-mini runs twice through the evaluation runner: with the defaults
(MTCNN fast path, float32 embeddings) and with facenet-pytorch's own ``MTCNN.detect``. (The
undegraded photographs' faces come from the detection cache, shared by both runs;
``test_models_fast_mtcnn.py`` compares detection on them.) Tolerance: per condition, detection
rate and rank-1 within 0.5 percentage points (with 140 mated probes: identical), and every probe's
mate score within 0.05.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from evalharness.evaluation import store
from evalharness.evaluation.runner import prepare
from evalharness.models.mtcnn import MtcnnDetector

EXPERIMENT = """
name = "fast-vs-slow"
dataset = "{dataset}"
seed = 11
source_eyes = "lfw-deepfunneled"
bootstrap_resamples = 100
samples_per_condition = 0
[protocol]
mated_per_identity = 1
nonmated_identities = 10
[[grid]]
profiles = ["ir-two-lane", "ir-single-lane"]
"""


@pytest.mark.slow
def test_fast_paths_keep_the_runs_metrics(tmp_path: Path, lfw_mini: Path) -> None:
    experiment = tmp_path / "fast-vs-slow.toml"
    experiment.write_text(EXPERIMENT.format(dataset=lfw_mini))
    fast = prepare(experiment, tmp_path / "fast", device="cpu")
    # The same resolved experiment (an option in it would change the condition ids, hence the
    # probes' noise seeds), with the stock detector swapped in.
    slow = prepare(experiment, tmp_path / "slow", device="cpu")
    slow.executor.evaluator.detectors["mtcnn"] = MtcnnDetector(torch.device("cpu"), fast=False)
    assert fast.executor.evaluator.detectors["mtcnn"].fast and not slow.executor.evaluator.detectors["mtcnn"].fast
    fast_summary, slow_summary = fast.execute(), slow.execute()

    mated = len(fast.split.mated)
    assert mated >= 100 and len(fast_summary) == 2
    for column in ("detection_rate", "rank1"):
        gap = np.abs(fast_summary[column].to_numpy() - slow_summary[column].to_numpy())
        assert (gap <= 0.005).all(), (column, fast_summary[column], slow_summary[column])
    for condition in fast.grid:
        rows = [pd.read_parquet(store.condition_path(run.run_dir, condition.id))
                for run in (fast, slow)]
        both = rows[0]["detected"].to_numpy() & rows[1]["detected"].to_numpy()
        scores = [table["mate_score"].to_numpy()[both] for table in rows]
        assert np.nanmax(np.abs(scores[0] - scores[1])) < 0.05
