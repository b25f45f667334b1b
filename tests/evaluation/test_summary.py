"""Per-condition summaries from per-probe rows: counts, conventions and formatting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evalharness.evaluation import probes, summary, verification


def _rows() -> pd.DataFrame:
    """Four mated probes of three subjects and two non-mated probes; gallery of 3 identities."""
    return pd.DataFrame({
        "probe_kind": ["mated"] * 4 + ["nonmated"] * 2,
        "identity": ["a", "a", "b", "c", "x", "y"],
        "detected": [True, True, False, True, True, False],
        "mate_rank": pd.array([1, 2, None, 1, None, None], dtype="Int64"),
        "mate_score": [0.9, 0.4, np.nan, 0.7, np.nan, np.nan],
        "best_nonmate_score": [0.3, 0.6, np.nan, 0.2, 0.5, np.nan],
        "nonmate_scores": [[0.3, 0.1], [0.6, 0.2], [], [0.2, 0.0], [0.5, 0.1, 0.05], []],
        "false_detections": [0, 1, 2, 0, 0, 0],
        "ied_px": [10.0, 12.0, 11.0, 13.0, 10.0, 14.0],
    })


def test_counts_and_rates_by_hand() -> None:
    row = summary.summarise(_rows(), seed=1, condition_id="c", n_resamples=200)
    assert (row["n_mated"], row["n_nonmated"], row["n_subjects"]) == (4, 2, 5)
    assert (row["n_detected_mated"], row["n_detected_nonmated"], row["false_detections"]) == (3, 1, 3)
    assert row["detection_rate"] == pytest.approx(3 / 4)
    assert row["rank1"] == pytest.approx(2 / 4) and row["n_rank1"] == 2
    assert row["rank1_detected"] == pytest.approx(2 / 3)
    assert row["rank5"] == pytest.approx(3 / 4)
    # Non-mated best scores: 0.5 and -inf (undetected). FPIR 0.1 of 2 allows none above:
    # threshold 0.5; rank-1 mates above it: 0.9 and 0.7 -> FNIR = 2/4.
    assert row["fnir_at_fpir_0.1"] == pytest.approx(0.5)
    assert row["cmc"][:3] == pytest.approx([0.5, 0.75, 0.75])
    assert row["ied_px_mean"] == pytest.approx(np.mean([10, 12, 11, 13, 10, 14]))
    for name in ("detection_rate", "rank1", "fnir_at_fpir_0.1", "tar_at_far_0.01"):
        assert row[f"{name}_ci_low"] <= row[name] <= row[f"{name}_ci_high"]
    assert row["rank1_wilson_low"] < 0.5 < row["rank1_wilson_high"]


def test_a_rate_added_to_the_table_gets_its_columns_and_intervals(monkeypatch) -> None:
    """One entry in ``RATE_METRICS`` is all a new rate needs: its value, bootstrap interval and
    (with counts) Wilson interval come out of ``summarise``; the report plots the labelled ones."""
    from evalharness.report.plots import METRICS

    assert [m.column for m in METRICS] == [m.column for m in summary.RATE_METRICS if m.label]
    # Its Wilson counts: here the rank-5 hits, which equal the rank-2 hits (3 of 4).
    rank2 = summary.RateMetric("rank2", lambda p: p.rank_rate(2), lambda c: (c.rank5, c.mated))
    monkeypatch.setattr(summary, "RATE_METRICS", (*summary.RATE_METRICS, rank2))
    row = summary.summarise(_rows(), seed=1, condition_id="c", n_resamples=200)
    assert row["rank2"] == pytest.approx(3 / 4)  # ranks 1, 2 and 1 of four mated probes
    assert row["rank2_ci_low"] <= row["rank2"] <= row["rank2_ci_high"] and row["rank2_interval"] == "bootstrap"
    assert row["rank2_wilson_low"] < 0.75 < row["rank2_wilson_high"]


def test_verification_uses_every_comparison() -> None:
    row = summary.summarise(_rows(), seed=1, condition_id="c", n_resamples=50)
    genuine = [0.9, 0.4, probes.UNDETECTED_SCORE, 0.7]
    impostor = [0.3, 0.1, 0.6, 0.2, 0.2, 0.0, 0.5, 0.1, 0.05]
    scores = np.array(genuine + impostor)
    is_mated = np.arange(scores.size) < 4
    assert row["auc"] == pytest.approx(verification.roc_auc(scores, is_mated))
    assert row["tar_at_far_0.01"] == pytest.approx(verification.tar_at_far(scores, is_mated, 0.01))
    # The bootstrap's fast TAR agrees with the shared function on the full sample.
    arrays = probes.Probes(_rows())
    for far in (0.0, 0.01, 0.2, 0.5):
        assert arrays.tar(far)(np.arange(6)) == pytest.approx(verification.tar_at_far(scores, is_mated, far))


def test_no_nonmated_probes_leaves_open_set_undefined() -> None:
    rows = _rows().iloc[:4]
    row = summary.summarise(rows, seed=1, condition_id="c", n_resamples=50)
    assert math.isnan(row["fnir_at_fpir_0.01"]) and math.isnan(row["fnir_at_fpir_0.01_ci_low"])
    assert row["rank1"] == pytest.approx(0.5)


def test_nothing_detected() -> None:
    rows = _rows().assign(detected=False)
    row = summary.summarise(rows, seed=1, condition_id="c", n_resamples=50)
    assert row["detection_rate"] == 0.0 and row["rank1"] == 0.0 and row["tar_at_far_0.01"] == 0.0
    # Every resample gives 0: the exact binomial interval replaces the collapsed bootstrap one.
    assert row["tar_at_far_0.01_interval"] == "clopper-pearson"
    assert row["tar_at_far_0.01_ci_low"] == 0.0 and 0.5 < row["tar_at_far_0.01_ci_high"] < 1.0
    assert row["fnir_at_fpir_0.1"] == 1.0 and math.isnan(row["auc"])
    assert math.isnan(row["rank1_detected"])


def test_single_subject() -> None:
    rows = _rows().iloc[:2]
    row = summary.summarise(rows, seed=1, condition_id="c", n_resamples=50)
    assert row["n_subjects"] == 1
    assert (row["rank1_ci_low"], row["rank1_ci_high"]) == pytest.approx((0.5, 0.5))


def test_bootstrap_is_seeded_by_run_and_condition() -> None:
    a = summary.summarise(_rows(), seed=1, condition_id="c", n_resamples=100)
    assert a == summary.summarise(_rows(), seed=1, condition_id="c", n_resamples=100)


def test_csv_is_fixed_format_and_json_has_no_nan() -> None:
    table = pd.DataFrame({"condition_id": ["c"], "rank1": [2 / 3], "auc": [math.nan], "cmc": [[0.5, 1.0]]})
    assert summary.write_csv_text(table) == "condition_id,rank1,auc\nc,0.666667,\n"
    assert summary.json_ready(table) == [{"condition_id": "c", "rank1": 0.666667, "auc": None, "cmc": [0.5, 1.0]}]
