"""Usage scenarios and the verdict rule: the rule at its boundaries, and every verdict of a real
run recomputed from its summary.json under the one declared rule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.evaluation.scenarios import (
    CONTRADICTED,
    RULE,
    SCENARIO_KEYS,
    SUPPORTED,
    UNDECIDED,
    Capture,
    approach_captures,
    best_of_k_hits,
    nest,
)

#: One profile over distances (40 m outside its frame) and the control: captures, verdicts, sheets.
EXPERIMENT = """\
name = "scenario-test"
dataset = "{dataset}"
seed = 5
samples_per_condition = 0
bootstrap_resamples = 100

[protocol]
enrolled_identities = 30
nonmated_identities = 12

[[grid]]
profiles = ["control-passport"]

[[grid]]
profiles = ["ir-two-lane"]
sweep = {{ distance_m = [15, 20, 25, 30] }}
"""


@pytest.fixture(scope="module")
def run(run_experiment) -> Path:
    return run_experiment("scenario-test", EXPERIMENT, 24)


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (0.2000001, 0.9, CONTRADICTED),
    (0.20, 0.9, UNDECIDED),           # a lower bound of exactly 20% does not exceed it
    (0.0, 0.20, SUPPORTED),           # an upper bound of exactly 20% is "20% or less"
    (0.0, 0.2000001, UNDECIDED),
    (0.1, 0.3, UNDECIDED),
    (math.nan, math.nan, UNDECIDED),  # no interval: no verdict either way
])
def test_rule_at_its_boundaries(low, high, verdict):
    assert RULE.bound == 0.20 and RULE.words == "highly unlikely"
    assert RULE.verdict(low, high) == verdict


def test_captures_of_a_pass_are_the_nearest_farther_ones_in_frame():
    series = ("ir-two-lane", "facenet-casia")
    spots = [Capture("a", series, 10.0, False), Capture("b", series, 15.0, True),
             Capture("c", series, 20.0, True), Capture("d", series, 25.0, False),
             Capture("e", series, 30.0, True), Capture("f", series, 40.0, True),
             Capture("x", ("other",), 30.0, True)]
    captures = approach_captures(spots, 3)
    assert captures["a"] == ["a", "b", "c"]  # itself, though out of frame, then farther in-frame ones
    assert captures["c"] == ["c", "e", "f"]  # 25 m is out of frame; another series never counts
    assert captures["f"] == ["f"]
    assert approach_captures(spots, 1)["b"] == ["b"]


@pytest.mark.slow
def test_summary_json_holds_every_scenario_with_the_rules_verdict(run):
    summary = json.loads((run / "summary.json").read_text())
    csv = pd.read_csv(run / "summary.csv").set_index("condition_id")
    for row in summary:
        assert set(row["scenarios"]) == set(SCENARIO_KEYS)
        for key, scenario in row["scenarios"].items():
            assert set(scenario) == {"p", "ci_low", "ci_high", "interval", "verdict"}
            assert scenario["verdict"] == RULE.verdict(scenario["ci_low"], scenario["ci_high"])
            assert scenario["ci_low"] <= scenario["p"] <= scenario["ci_high"]
            assert scenario["interval"] in ("bootstrap", "clopper-pearson")
            assert csv.loc[row["condition_id"], f"{key}_verdict"] == scenario["verdict"]
            assert csv.loc[row["condition_id"], key] == pytest.approx(scenario["p"], abs=1e-6)


@pytest.mark.slow
def test_scenario_rates_are_ordered_as_their_definitions_require(run):
    for row in json.loads((run / "summary.json").read_text()):
        s = {key: value["p"] for key, value in row["scenarios"].items()}
        # Keeper check: TAR at FAR 1e-3, the same figure as the summary's own column.
        assert s["keeper_1to1"] == pytest.approx(row["tar_at_far_0.001"], abs=1e-6)
        # A household of 5 is easier than the run's gallery of 30; a larger database harder.
        assert s["household"] >= row["rank1"] - 1e-6
        assert s["database_1e3"] >= s["database_1e5"] >= s["database_1e7"]
        # Best of k captures includes this capture.
        assert s["best_of_k"] >= row["rank1"] - 1e-6


@pytest.mark.slow
def test_best_of_k_counts_a_probe_identified_in_any_capture(run):
    summary = pd.read_csv(run / "summary.csv")
    roadside = summary[summary["profile"] == "ir-two-lane"].sort_values("distance_m")
    rows = {cid: pd.read_parquet(run / "conditions" / f"{cid}.parquet") for cid in roadside["condition_id"]}
    ids = list(rows)
    hits = best_of_k_hits(rows, {ids[0]: ids[:3]})[ids[0]]
    identified = [rows[c]["detected"].to_numpy(bool) & (rows[c]["mate_rank"].fillna(0).to_numpy() == 1)
                  for c in ids[:3]]
    np.testing.assert_array_equal(hits, identified[0] | identified[1] | identified[2])
    first = roadside.iloc[0]
    mated = rows[ids[0]]["probe_kind"].to_numpy() == "mated"
    assert first["best_of_k"] == pytest.approx(hits[mated].mean(), abs=1e-6)


def test_nest_gathers_the_flat_columns():
    record = {"condition_id": "c", "rank1": 0.5, "household": 0.9, "household_ci_low": 0.8,
              "household_ci_high": 0.95, "household_interval": "bootstrap", "household_verdict": CONTRADICTED}
    assert nest(record) == {"condition_id": "c", "rank1": 0.5, "scenarios": {"household": {
        "p": 0.9, "ci_low": 0.8, "ci_high": 0.95, "interval": "bootstrap", "verdict": CONTRADICTED}}}
