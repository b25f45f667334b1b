"""An experiment with two recognizers and two detectors, end to end on lfw-mini."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evalharness.evaluation.headline import HEADLINE_RULE
from evalharness.models import list_models
from evalharness.report.content import headline_rows
from evalharness.report.render import render_html
from evalharness.report.rundir import read_run

EXPERIMENT = """
name = "several-models"
dataset = "{dataset}"
seed = 7
detectors = ["mtcnn", "yunet"]
recognizers = ["facenet-casia", "sface"]
source_eyes = "lfw-deepfunneled"
bootstrap_resamples = 50
samples_per_condition = 1
[protocol]
mated_per_identity = 1
nonmated_identities = 4
[[grid]]
profiles = ["control-passport"]
"""


@pytest.mark.slow
def test_two_recognizers_and_two_detectors_run_with_a_headline_chosen_by_lfw_accuracy(run_experiment):
    run_dir = run_experiment("several-models", EXPERIMENT, limit=12)
    summary = pd.read_csv(run_dir / "summary.csv")
    assert sorted(zip(summary["recognizer"], summary["detector"], strict=True)) == [
        ("facenet-casia", "mtcnn"), ("facenet-casia", "yunet"), ("sface", "mtcnn"), ("sface", "yunet")]
    assert (summary["n_mated"] + summary["n_nonmated"] == 12).all()
    # Passport-quality images: every detector finds the faces, every recognizer identifies most.
    assert (summary["detection_rate"] >= 0.9).all() and (summary["rank1"] >= 0.5).all()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    accuracy = {info.name: info.lfw_accuracy for info in list_models()}
    best = max(("facenet-casia", "sface"), key=lambda name: accuracy[name])
    assert manifest["headline"] == {"recognizer": best, "detector": "mtcnn", "rule": HEADLINE_RULE,
                                    "lfw_accuracy": {n: accuracy[n] for n in ("facenet-casia", "sface")}}
    assert [d["name"] for d in manifest["models"]["detectors"]] == ["mtcnn", "yunet"]
    run = read_run(run_dir)
    rows = headline_rows(run)
    assert [row["is_headline"] for row in rows] == [True, False, False, False]
    assert rows[0]["models"] == f"{best}, mtcnn"
    html = render_html(run)
    assert html.count("(headline)") == 1 and HEADLINE_RULE.split(",")[0] in html
    # The answer is stated for the headline configuration only.
    assert html.count("a captured driver is identified at rank 1 with probability") == 1
