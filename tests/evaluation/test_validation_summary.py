"""Validation figures: bins, the paired subject bootstrap and the corrections, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalharness.evaluation.validation_summary import (
    Corrections,
    fit_corrections,
    predicted_success,
    summarize,
)


def _rows(records: list[tuple]) -> pd.DataFrame:
    """(identity, real_ied_px, real_rank, sim_rank, real margin parts, sim margin parts)."""
    rows = []
    for identity, ied, real_rank, sim_rank, real_scores, sim_scores in records:
        rows.append({
            "identity": identity, "relpath": f"{identity}/{len(rows)}.png", "camera": "c",
            "real_detected": real_rank is not None, "real_ied_px": ied, "simulated": True,
            "real_mate_rank": real_rank, "sim_detected": sim_rank is not None, "sim_mate_rank": sim_rank,
            "real_mate_score": real_scores[0], "real_best_nonmate_score": real_scores[1],
            "sim_mate_score": sim_scores[0], "sim_best_nonmate_score": sim_scores[1]})
    return pd.DataFrame(rows).astype({"real_mate_rank": "Int64", "sim_mate_rank": "Int64"})


ROWS = _rows([
    ("a", 10.0, 1, 1, (0.6, 0.3), (0.8, 0.3)),
    ("a", 15.0, 2, 1, (0.3, 0.4), (0.7, 0.3)),
    ("b", 25.0, 1, 1, (0.5, 0.2), (0.9, 0.2)),
    ("b", 60.0, 3, None, (0.2, 0.5), (np.nan, np.nan)),
    ("c", 40.0, None, 1, (np.nan, np.nan), (0.6, 0.4)),
])


def test_rates_and_gap_by_hand() -> None:
    figures = summarize(ROWS, n_resamples=200)
    overall = figures["overall"]
    # Four real probes detected; real rank-1 2/4; simulated rank-1 on the same four 3/4.
    assert overall["n"] == 4
    assert overall["real_rank1"] == pytest.approx(0.5)
    assert overall["sim_rank1"] == pytest.approx(0.75)
    assert overall["gap"] == pytest.approx(0.25)
    assert overall["gap_ci_low"] <= 0.25 <= overall["gap_ci_high"]
    assert overall["real_detection"] == pytest.approx(0.8)   # 4 of 5
    assert overall["sim_detection"] == pytest.approx(0.8)    # 4 of 5 simulations
    assert figures["undetected_real"] == 1
    by_bin = {row["ied_px_low"]: row for row in figures["bins"]}
    assert by_bin[0.0]["n"] == 1 and by_bin[0.0]["gap"] == pytest.approx(0.0)
    assert by_bin[12.0]["n"] == 1 and by_bin[12.0]["gap"] == pytest.approx(1.0)
    assert by_bin[30.0]["n"] == 0 and by_bin[30.0]["gap"] is None
    assert by_bin[50.0]["ied_px_high"] is None and by_bin[50.0]["gap"] == pytest.approx(0.0)


def test_paired_bootstrap_resamples_people_not_probes() -> None:
    # Person a: gap +0.5 over two probes; person b: gap 0. Any resample's gap lies in [0, 0.5].
    figures = summarize(ROWS[ROWS["identity"] != "c"], n_resamples=500)
    assert 0.0 <= figures["overall"]["gap_ci_low"] < figures["overall"]["gap_ci_high"] <= 0.5


def test_corrections_by_hand() -> None:
    corrections = fit_corrections(ROWS, {"run_dir": "x"})
    # Detected both ways: margins real 0.3, -0.1, 0.3; simulated 0.5, 0.4, 0.7 -> drops 0.2, 0.5, 0.4.
    assert corrections.margin_drops == pytest.approx((0.2, 0.4, 0.5))
    assert corrections.n_pairs == 3
    # Simulated probes: 5; real detected 4, simulated detected 4.
    assert corrections.detection_ratio == pytest.approx(1.0)
    # A simulated margin of 0.45 survives the drops 0.2 and 0.4: 2/3; undetected -> 0.
    probe = _rows([("d", 20.0, 1, 1, (0.5, 0.1), (0.75, 0.3)), ("e", 20.0, 1, None, (0.5, 0.1), (np.nan, np.nan))])
    assert predicted_success(probe, corrections) == pytest.approx([2 / 3, 0.0])
    assert Corrections.from_dict(corrections.as_dict()) == corrections


def test_corrected_summary_reports_prediction_and_its_gap() -> None:
    corrections = Corrections((0.2, 0.4, 0.5), 0.5, 3, {"run_dir": "x"})
    figures = summarize(ROWS, corrections, n_resamples=100)
    overall = figures["overall"]
    # Predicted successes on the four real-detected probes: margins 0.5 -> 2/3, 0.4 -> 1/3,
    # 0.7 -> 1, undetected -> 0: mean 0.5, equal to the real 0.5.
    assert overall["pred_rank1"] == pytest.approx(0.5)
    assert overall["gap"] == pytest.approx(0.0)
    assert overall["pred_detection"] == pytest.approx(0.4)
