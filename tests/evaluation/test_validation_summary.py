"""Validation figures: bins, the paired subject bootstrap and the corrections, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import DataError
from evalharness.evaluation import store
from evalharness.evaluation.validate_run import read_corrections
from evalharness.evaluation.validation import Outcome, draw_shares
from evalharness.evaluation.validation_goal import criteria, verdict
from evalharness.evaluation.validation_summary import (
    Corrections,
    fit_corrections,
    monte_carlo_se,
    predicted_detection,
    predicted_success,
    simulated_outcomes,
    summarize,
)

# scripts/, on pytest's pythonpath (pyproject.toml)
import validation_by_pose
import validation_cv
import validation_goal
import validation_levels
import validation_measures


def _rows(records: list[tuple]) -> pd.DataFrame:
    """(identity, real_ied_px, real_rank, sim_rank, real margin parts, sim margin parts)."""
    rows = []
    for identity, ied, real_rank, sim_rank, real_scores, sim_scores in records:
        rows.append({
            "identity": identity, "relpath": f"{identity}/{len(rows)}.png", "camera": "c",
            "real_detected": real_rank is not None, "real_ied_px": ied, "real_head_ied_px": ied, "simulated": True,
            "real_mate_rank": real_rank, "sim_detected": sim_rank is not None, "sim_mate_rank": sim_rank,
            "real_mate_score": real_scores[0], "real_best_nonmate_score": real_scores[1],
            "sim_mate_score": sim_scores[0], "sim_best_nonmate_score": sim_scores[1],
            "yaw_deg": np.nan, "source_yaw_deg": np.nan})  # poses: set by the tests that need them
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


def test_a_probe_not_simulated_is_counted_and_compared_nowhere() -> None:
    """A probe whose source gave no simulation is left out of both sides of every figure and of
    the corrections' fit, real detection included: the figures equal those without it."""
    lost = ROWS.iloc[[2]].assign(identity="d", relpath="d/9.png", simulated=False, sim_detected=False,
                                 sim_mate_rank=None)
    rows = pd.concat([ROWS, lost], ignore_index=True)
    figures, without = summarize(rows, n_resamples=50), summarize(ROWS, n_resamples=50)
    assert figures["not_simulated"] == 1 and figures["overall"] == without["overall"]
    assert figures["bins"] == without["bins"] and figures["cameras"] == without["cameras"]
    assert fit_corrections(rows, {}, size_column="real_ied_px") == fit_corrections(ROWS, {}, size_column="real_ied_px")
    from evalharness.report.validation import _not_simulated  # the page says so

    assert "1 real probe could not be simulated" in _not_simulated(figures) and _not_simulated(without) == ""


def test_paired_bootstrap_resamples_people_not_probes() -> None:
    # Person a: gap +0.5 over two probes; person b: gap 0. Any resample's gap lies in [0, 0.5].
    figures = summarize(ROWS[ROWS["identity"] != "c"], n_resamples=500)
    assert 0.0 <= figures["overall"]["gap_ci_low"] < figures["overall"]["gap_ci_high"] <= 0.5


def test_corrections_by_hand() -> None:
    corrections = fit_corrections(ROWS, {"run_dir": "x"}, size_column="real_ied_px")
    # Simulated probes: 5; real detected 4, simulated detected 4: ratio 1.
    assert corrections.detection_ratio == pytest.approx(1.0)
    assert corrections.n_probes == 4
    # The fitted logistic reproduces the mean real success of the probes it was fitted on
    # (a property of maximum likelihood with an intercept): 2 of 4.
    fitted = predicted_success(ROWS[ROWS["real_detected"]], corrections)
    assert fitted.mean() == pytest.approx(0.5, abs=1e-3)
    assert Corrections.from_dict(corrections.as_dict()) == corrections


def test_detection_is_corrected_per_camera_group() -> None:
    # Camera "c": 4 of 5 real faces found, 4 of 5 simulations (ratio 1). Camera "d": 1 real face
    # of 4, every simulation (ratio 0.25). Pooled: 5 of 9 against 8 of 9 (0.625).
    other = _rows([(f"p{k}", 20.0, 1 if k == 0 else None, 1, (0.6, 0.3), (0.8, 0.3)) for k in range(4)])
    rows = pd.concat([ROWS, other.assign(camera="d")], ignore_index=True)
    corrections = fit_corrections(rows, {"run_dir": "x"}, size_column="real_ied_px")
    assert corrections.detection_ratio == pytest.approx(0.625)
    assert corrections.camera_detection_ratios == pytest.approx({"c": 1.0, "d": 0.25})
    assert predicted_detection(rows, corrections).sum() == pytest.approx(4 * 1.0 + 4 * 0.25)
    figures = summarize(rows, corrections, n_resamples=50)
    cameras = {row["camera"]: row for row in figures["cameras"]}
    assert cameras["d"]["pred_detection"] == pytest.approx(cameras["d"]["real_detection"])
    assert figures["overall"]["pred_detection"] == pytest.approx(5 / 9)
    # A group the corrections were not fitted on, and corrections written before per-camera
    # ratios existed, take the pooled ratio.
    assert corrections.detection_ratio_of("e") == pytest.approx(0.625)
    old = {key: value for key, value in corrections.as_dict().items() if key != "camera_detection_ratios"}
    assert Corrections.from_dict(old).detection_ratio_of("d") == pytest.approx(0.625)
    assert corrections.describe().endswith("detection ratio c 1.000, d 0.250 (pooled 0.625)")
    assert Corrections((-4.8, 0.05, 5.0, 1.1), 0.8, 7, {}).describe() == (
        "session calibration P = 1 / (1 + exp(-(-4.80 +0.05 d +5.00 d m +1.10 log2 ied))) on 7 "
        "real-detected probes; detection ratio 0.800")


def test_prediction_by_hand() -> None:
    # logit = -1 + 2 d + 4 d m + 0.5 log2(ied): a probe at 16 px (log2 = 4), detected with margin
    # 0.25: -1 + 2 + 1 + 2 = 4; undetected: -1 + 2 = 1.
    corrections = Corrections((-1.0, 2.0, 4.0, 0.5), 1.0, 2, {"run_dir": "x"})
    probe = _rows([("d", 16.0, 1, 1, (0.5, 0.1), (0.75, 0.5)), ("e", 16.0, 1, None, (0.5, 0.1), (np.nan, np.nan))])
    assert predicted_success(probe, corrections) == pytest.approx([1 / (1 + np.exp(-4.0)), 1 / (1 + np.exp(-1.0))])


def test_the_session_calibration_reads_the_size_from_its_column(tmp_path: Path) -> None:
    # A face turned away: its landmarks' eyes 16 px apart (log2 4), its fitted head's 32 (log2 5).
    # logit = -1 + 2 d + 4 d m + 0.5 log2(ied), detected with margin 0.25: 4 on the landmarks' size,
    # 4.5 on the head's (validate --size head, the default), as the simulation was placed.
    probe = _rows([("d", 16.0, 1, 1, (0.5, 0.1), (0.75, 0.5))]).assign(real_head_ied_px=32.0)
    by_head = Corrections((-1.0, 2.0, 4.0, 0.5), 1.0, 2, {}, size_column="real_head_ied_px")
    assert predicted_success(probe, by_head) == pytest.approx([1 / (1 + np.exp(-4.5))])
    assert by_head.describe().startswith("session calibration P = 1 / (1 + exp(-(-1.00 +2.00 d +4.00 d m "
                                         "+0.50 log2 head ied)))")
    # Fitting reads the named column and nothing else: the landmarks' sizes moved into the head
    # column, and the landmarks' column spoiled, give the same fit.
    rows = pd.concat([ROWS, ROWS.assign(identity=ROWS["identity"] + "2", real_mate_rank=[2, 1, 1, 1, 1])],
                     ignore_index=True).astype({"real_mate_rank": "Int64"})
    on_eyes = fit_corrections(rows, {}, size_column="real_ied_px")
    on_head = fit_corrections(rows.assign(real_head_ied_px=rows["real_ied_px"], real_ied_px=99.0), {},
                              size_column="real_head_ied_px")
    assert on_head.session_logit == pytest.approx(on_eyes.session_logit)
    assert on_head.size_column == "real_head_ied_px" and on_eyes.size_column == "real_ied_px"
    assert Corrections.from_dict(on_head.as_dict()) == on_head
    # Corrections written before session 19 read the landmarks' size; an unknown column is refused
    # by the reader of a run directory, which names the file.
    old = {key: value for key, value in on_head.as_dict().items() if key != "size_column"}
    assert Corrections.from_dict(old).size_column == "real_ied_px"
    store.write_json(tmp_path / "corrections.json", on_head.as_dict() | {"size_column": "ied"})
    with pytest.raises(DataError, match=r"corrections\.json.*size_column 'ied'"):
        read_corrections(tmp_path)


def _with_draws(rows: pd.DataFrame, outcomes: list[list[Outcome]]) -> pd.DataFrame:
    """``rows`` with the draw columns of each probe's simulated ``outcomes``, as validate writes them."""
    return rows.assign(**pd.DataFrame([draw_shares(drawn) for drawn in outcomes], index=rows.index))


def test_draw_shares_and_monte_carlo_error_by_hand() -> None:
    hit, miss, lost = Outcome(True, 1, 0.8, 0.3), Outcome(True, 2, 0.4, 0.6), Outcome(False)
    # Four draws: two identified (margins 0.5), one detected at rank 2 (margin -0.2), one lost.
    assert draw_shares([hit, hit, miss, lost]) == pytest.approx(
        {"sim_draws": 4, "sim_detected_share": 0.75, "sim_rank1_share": 0.5, "sim_margin_mean": 0.8 / 4})
    assert draw_shares([]) == {"sim_draws": 0, "sim_detected_share": 0.0, "sim_rank1_share": 0.0,
                               "sim_margin_mean": 0.0}
    # Shares 0.5 and 1.0 of 5 draws each: variances 0.25 / 4 and 0: SE sqrt(0.0625) / 2.
    assert monte_carlo_se(np.array([0.5, 1.0]), np.array([5, 5])) == pytest.approx(0.125)
    assert monte_carlo_se(np.array([0.5, 0.0]), np.array([5, 0])) == pytest.approx(0.125)  # not simulated
    assert monte_carlo_se(np.array([0.5, 1.0]), np.array([5, 1])) is None  # one draw: spread unknown


def test_the_simulated_outcome_is_the_share_of_draws_identified() -> None:
    hit, miss, lost = Outcome(True, 1, 0.8, 0.3), Outcome(True, 2, 0.4, 0.6), Outcome(False)
    rows = _with_draws(ROWS, [[hit, hit, miss, lost], [hit] * 4, [lost, lost, hit, hit], [lost] * 4, [hit, miss] * 2])
    figures = summarize(rows, n_resamples=50)
    # The four real-detected probes' shares 0.5, 1, 0.5, 0; detection 3/4, 1, 1/2, 0, 1 of 5 probes.
    assert figures["overall"]["sim_rank1"] == pytest.approx(0.5)
    assert figures["overall"]["sim_detection"] == pytest.approx((0.75 + 1 + 0.5 + 0 + 1) / 5)
    assert figures["overall"]["sim_rank1_mc_se"] == pytest.approx(np.sqrt(2 * 0.25 / 3) / 4)
    # The corrections' features are the draws' means: detected share and mean detected margin.
    corrections = Corrections((0.0, 1.0, 2.0, 0.0), 1.0, 4, {})
    assert predicted_success(rows.iloc[:1], corrections) == pytest.approx([1 / (1 + np.exp(-(0.75 + 2 * 0.2)))])
    # Detection: the detected share times the ratio, 0.75 x 1.2.
    assert predicted_detection(rows.iloc[:1], Corrections((0, 0, 0, 0), 1.2, 4, {})) == pytest.approx([0.9])
    # A run written before draws (one simulation a probe) reads as one draw of that simulation.
    assert simulated_outcomes(ROWS)["sim_rank1_share"].tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]
    single = _with_draws(ROWS, [[Outcome(True, 1, *scores)] for scores in ((0.8, 0.3), (0.7, 0.3), (0.9, 0.2))]
                         + [[lost], [Outcome(True, 1, 0.6, 0.4)]])
    assert simulated_outcomes(ROWS).to_numpy() == pytest.approx(simulated_outcomes(single).to_numpy())
    assert summarize(ROWS, n_resamples=50)["overall"]["sim_rank1_mc_se"] is None


def test_corrected_summary_reports_prediction_and_its_gap() -> None:
    corrections = Corrections((0.0, 0.0, 0.0, 0.0), 0.5, 3, {"run_dir": "x"})  # every probe: p = 0.5
    figures = summarize(ROWS, corrections, n_resamples=100)
    overall = figures["overall"]
    assert overall["pred_rank1"] == pytest.approx(0.5)
    assert overall["gap"] == pytest.approx(0.5 - 0.5)
    assert overall["pred_detection"] == pytest.approx(0.4)   # 0.8 simulated x 0.5
    by_bin = {row["ied_px_low"]: row for row in figures["bins"]}
    assert by_bin[12.0]["gap"] == pytest.approx(0.5 - 0.0)   # one probe, real rank 2
    assert by_bin[30.0]["n"] == 0 and by_bin[30.0]["pred_rank1"] is None  # beside sim_rank1, as the JSON says


def test_cross_validation_script_scores_a_perfect_simulation_as_exact() -> None:
    """``scripts/validation_cv.py``: where every simulation's outcome is the real one, the raw
    simulation's held-out error is zero in every group and every split."""
    rng = np.random.default_rng(3)
    records = [(f"p{k}", float(ied), rank, rank, (0.6, 0.3), (0.5 + 0.01 * ied, 0.4))
               for k in range(12) for ied, rank in zip(rng.uniform(8, 80, 3), rng.choice([1, 2], 3), strict=True)]
    errors = validation_cv.held_out_errors(_rows(records), splits=5, seed=0, size_column="real_ied_px")
    assert len(errors["raw"]) == 5 and {"overall", "IED 0-12", "c"} <= set(errors["raw"].columns)
    assert np.nanmax(np.abs(errors["raw"].to_numpy())) == 0.0
    assert np.isfinite(errors["corrected"]["overall"]).all()


def test_leave_one_out_predicts_each_person_from_the_others() -> None:
    """``validation_cv.py --leave-one-out``: a perfect simulation has no gap; where the real
    camera misses a quarter of the faces that the simulation finds, the raw detection is 25 points
    high, and the ratio fitted on the other people brings each person's prediction to the real rate."""
    records = [(f"p{k}", ied, 1 if k % 2 else 2, 1 if k % 2 else 2, (0.6, 0.3), (0.7, 0.3))
               for k in range(10) for ied in (15.0, 40.0)]
    records += [(f"p{k}", 25.0, None, 1, (np.nan, np.nan), (0.7, 0.3)) for k in range(10)]
    records += [(f"p{k}", 25.0, 1, 1, (0.6, 0.3), (0.7, 0.3)) for k in range(10)]
    table = validation_cv.leave_one_out(_rows(records), size_column="real_ied_px", n_resamples=50).set_index("group")
    assert table.loc["overall", "n"] == 30 and table.loc["detection", "n"] == 40
    assert table.loc["overall", "raw_gap"] == 0.0 and table.loc["IED 12-20", "raw_gap"] == 0.0
    assert table.loc["detection", "raw_gap"] == pytest.approx(25.0)  # 100 simulated, 75 real
    assert table.loc["detection", "corrected"] == pytest.approx(75.0)
    assert table.loc["detection", "corrected_low"] <= 0.0 <= table.loc["detection", "corrected_high"]
    # A person none of whose real faces was found still has their detection predicted (their
    # simulations found x the others' ratio, 3/4), not 0.
    blind = _rows(records + [("q", 25.0, None, 1, (np.nan, np.nan), (0.7, 0.3))] * 2)
    predicted = validation_cv.left_out(blind, size_column="real_ied_px")
    assert predicted.found["corrected"][predicted.simulated["identity"] == "q"] == pytest.approx([0.75, 0.75])


def test_measures_script_by_hand() -> None:
    """``scripts/validation_measures.py``: medians of log2 real/simulated per camera and bin."""
    rows = ROWS.assign(real_sharpness_dn2=[8.0, 2.0, 4.0, 1.0, 1.0], sim_sharpness_dn2=[2.0, 2.0, 1.0, 1.0, 1.0],
                       real_noise_dn=[1.0, 1.0, 2.0, 1.0, 1.0], sim_noise_dn=[1.0, 1.0, 1.0, 2.0, 1.0])
    table = validation_measures.measure_table(rows).set_index("ied_bin")
    # Detected and simulated: a (10 and 15 px), b (25 and 60 px); c's real face was not found.
    assert list(table.index) == ["0-12", "12-20", "20-30", "50-inf"] and (table["n"] == 1).all()
    assert table.loc["0-12", "log2_sharpness"] == 2.0 and table.loc["20-30", "log2_noise"] == 1.0
    assert table.loc["50-inf", "log2_noise"] == -1.0
    assert table.loc["12-20", "real_rank1"] == 0.0 and table.loc["12-20", "sim_rank1"] == 100.0
    assert table.loc["50-inf", "sim_rank1"] == 0.0  # the simulated face was not detected: a miss


def test_goal_criteria_by_hand() -> None:
    """The issue's criteria from a corrected summary, by hand (``validation_goal``)."""
    corrections = Corrections((0.0, 0.0, 0.0, 0.0), 0.5, 3, {"run_dir": "x"})  # every probe: p = 0.5
    summary = {"raw": summarize(ROWS, n_resamples=20), "corrected": summarize(ROWS, corrections, n_resamples=20)}
    listed, corrected = criteria(summary)
    assert corrected
    # No bin holds 15 probes: overall rank-1 (0.5 predicted, 0.5 real) and detection (0.4
    # predicted, 0.8 real), overall and for camera "c".
    assert [item.name for item in listed] == ["rank-1, all (n 4)", "detection", "detection, c"]
    assert [item.met for item in listed] == [True, False, False]
    assert listed[1].predicted - listed[1].real == pytest.approx(-40.0) and listed[1].simulated == 80.0
    assert verdict(listed) == ("goal not met: 1 of 3 criteria; not met: detection -40.0 points "
                               "(allowed +-10); detection, c -40.0 points (allowed +-10)")
    raw, corrected = criteria({"raw": summary["raw"]})
    assert not corrected and raw[0].predicted == pytest.approx(75.0)  # the raw simulation's rank-1
    assert verdict(listed[:1]) == "goal met: all 1 criteria"
    # No real face detected: no rank-1 criterion, detection still judged.
    blind = ROWS.assign(real_detected=False, real_mate_rank=None)
    listed, _ = criteria({"raw": summarize(blind, n_resamples=20)})
    assert [item.name for item in listed] == ["detection", "detection, c"]
    assert verdict([]) == "goal not judged: no criterion has probes"


def test_goal_script_exits_1_unless_met(tmp_path, capsys, monkeypatch) -> None:
    """``scripts/validation_goal.py`` prints each criterion and exits 1 when one is not met."""
    import json

    corrections = Corrections((0.0, 0.0, 0.0, 0.0), 0.5, 3, {"run_dir": "x"})
    summary = {"raw": summarize(ROWS, n_resamples=20), "corrected": summarize(ROWS, corrections, n_resamples=20)}
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["validation_goal.py", str(tmp_path)])
    with pytest.raises(SystemExit) as stopped:
        validation_goal.main()
    out = capsys.readouterr().out
    assert stopped.value.code == 1 and out.count("NOT MET") == 2 and "goal not met: 1 of 3" in out
    # A run with no criterion judged (no real face found, no simulation) is not a goal met.
    nothing = ROWS.assign(real_detected=False, real_mate_rank=None, simulated=False)
    (tmp_path / "summary.json").write_text(json.dumps({"raw": summarize(nothing, n_resamples=20)}), encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        validation_goal.main()
    assert stopped.value.code == 1 and "goal not judged" in capsys.readouterr().out


def test_pose_script_splits_faces_turned_beyond_the_sources() -> None:
    """``validation_by_pose.py``: faces turned further than any source view (45 deg here) are
    grouped apart, with their own rates, gap and probes per IED bin; and, where the rows have the
    sources' fitted yaw, faces turned further than their own source as the pose fit reads both."""
    rows = _rows([(f"p{k}", ied, real, sim, (0.6, 0.3), (0.7, 0.3))
                  for k in range(4) for ied, real, sim in ((10.0, 2, 1), (15.0, 2, 2), (40.0, 1, 1), (60.0, 1, 2))])
    rows["yaw_deg"] = np.tile([60.0, -70.0, 10.0, -30.0], 4)
    rows["source_yaw_deg"] = np.tile([45.0, -45.0, 0.0, -45.0], 4)
    table = validation_by_pose.pose_table(rows, n_resamples=50).set_index("group")
    beyond = table.loc["turned more than 45 deg"]
    assert (beyond["n"], beyond["real"], beyond["sim"], beyond["gap"]) == (8, 0.0, 50.0, 50.0)
    assert beyond["per_bin"] == [4, 4, 0, 0, 0]
    within = table.loc["turned at most 45 deg, as the sources"]
    assert (within["n"], within["real"], within["sim"], within["gap"]) == (8, 100.0, 50.0, -50.0)
    assert table.loc["turned 67.5-90 deg", "n"] == 4 and table.loc["turned 22.5-45 deg", "per_bin"] == [0, 0, 0, 0, 4]
    assert not table.index.str.contains("both read by the pose fit").any()  # a run without the sources' fit

    # Against its own source as the pose fit reads it: the 70-degree face's source reads 75 (no
    # further), the 10-degree face's reads 5 (further), the others as the nominal split has them.
    rows["source_fitted_yaw_deg"] = np.tile([44.0, -75.0, 5.0, -40.0], 4)
    table = validation_by_pose.pose_table(rows, n_resamples=50).set_index("group")
    further = table.loc["turned further than its source, both read by the pose fit"]
    assert (further["n"], further["real"], further["sim"], further["per_bin"]) == (8, 50.0, 100.0, [4, 0, 0, 4, 0])
    no_further = table.loc["turned no further than its source, both read by the pose fit"]
    assert (no_further["n"], no_further["real"], no_further["sim"], no_further["per_bin"]) == \
        (8, 50.0, 0.0, [0, 4, 0, 0, 4])


def test_summary_splits_faces_turned_beyond_the_sources() -> None:
    """``summarize``'s ``poses``: the faces turned at most as far as the widest source view and
    those turned further, each with its rates and its probes per IED bin; none without sources."""
    rows = ROWS.copy()
    rows["yaw_deg"] = [10.0, -60.0, 30.0, 50.0, 0.0]
    rows["source_yaw_deg"] = [0.0, -45.0, 45.0, 45.0, 0.0]
    poses = {group["pose"]: group for group in summarize(rows, n_resamples=20)["poses"]}
    # Detected: a (10 px, yaw 10: hit, hit), a (15 px, yaw -60: miss, hit), b (25 px, yaw 30: hit,
    # hit), b (60 px, yaw 50: miss, undetected simulation).
    within, beyond = poses["turned at most 45 deg, as the sources"], poses["turned more than 45 deg"]
    keys = ("n", "real_rank1", "sim_rank1", "n_per_bin")
    assert tuple(within[key] for key in keys) == (2, 1.0, 1.0, [1, 0, 1, 0, 0])
    assert tuple(beyond[key] for key in keys) == (2, 0.0, 0.5, [0, 1, 0, 0, 1])
    assert summarize(ROWS, n_resamples=20)["poses"] == []


def _level_rows(seed: int = 0) -> pd.DataFrame:
    """40 people with 4 probes each, whose real success does not depend on the skin level and
    whose simulated success rises steeply with it; the box level is the skin's times 1.5 in the
    simulation and 1.0 in reality, so the box-matched ratio is 0 and the skin ratio log2(1/1.5)."""
    rng = np.random.default_rng(seed)
    records = []
    for person in range(40):
        for _ in range(4):
            skin = float(rng.uniform(20, 200))
            real_hit, sim_hit = rng.random() < 0.6, rng.random() < (0.1 if skin < 80 else 0.9)
            records.append({"identity": f"p{person}", "camera": "cctv" if person % 2 else "hd",
                            "real_detected": True, "simulated": True, "sim_detected": True,
                            "sim_mate_score": 0.5, "sim_best_nonmate_score": 0.4,
                            "real_ied_px": float(rng.uniform(10, 60)), "yaw_deg": float(rng.uniform(-60, 60)),
                            "real_mate_rank": 1 if real_hit else 5, "sim_mate_rank": 1 if sim_hit else 5,
                            "real_skin_dn": skin, "real_level_dn": skin,
                            "sim_skin_dn": skin / 1.5, "sim_level_dn": skin,
                            "real_noise_dn": 2.0, "sim_noise_dn": 0.5})
    return pd.DataFrame(records).astype({"real_mate_rank": "Int64", "sim_mate_rank": "Int64"})


def test_level_script_ratios_and_slopes_by_construction(monkeypatch) -> None:
    """The ratios are those built in; the simulation's slope on the skin level is far above the
    real one's, and the difference's interval lies above zero; without the dependence the
    interval holds zero."""
    monkeypatch.setattr(validation_levels, "RESAMPLES", 200)
    rows = _level_rows()
    ratios = validation_levels.level_ratios(rows)
    assert list(ratios["n"]) == [80, 80]
    assert ratios["box"].tolist() == pytest.approx([0.0, 0.0])
    assert ratios["skin"].tolist() == pytest.approx([np.log2(1 / 1.5)] * 2)
    assert ratios["noise"].tolist() == pytest.approx([-2.0, -2.0])
    real, sim, difference, low, high = validation_levels.level_slopes(rows, "real_skin_dn")
    assert abs(real) < 1.0 < sim and difference == pytest.approx(sim - real) and 0.0 < low < difference < high
    rows["sim_mate_rank"] = rows["real_mate_rank"]  # a simulation that acts as reality does
    _, _, difference, low, high = validation_levels.level_slopes(rows, "real_skin_dn")
    assert difference == pytest.approx(0.0, abs=1e-6) and low <= 0.0 <= high


def test_level_script_measures_face_crops_of_different_sizes(tmp_path) -> None:
    """``validation_levels.py --noise --crops``: crops of one camera differ in size, so their blocks
    are pooled without the frames' one-size check and without the between-frames row; grey crops
    at 100 DN with white noise of 2 DN read about 2 DN (the flattest tenth of the blocks reads a
    little low), uncorrelated."""
    from PIL import Image

    rng = np.random.default_rng(0)
    crops = []
    for index, (height, width) in enumerate(((96, 96), (160, 128), (112, 144))):
        pixels = np.clip(np.round(100.0 + 2.0 * rng.standard_normal((height, width))), 0, 255).astype(np.uint8)
        crops.append(tmp_path / f"crop{index}.png")
        Image.fromarray(pixels, mode="L").save(crops[-1])
    lines = validation_levels.noise_by_level(crops, [], crops=True)
    assert len(lines) == 3 and lines[2].startswith("| real crops | ")
    levels = [int(v) for v in lines[0].strip("| ").split(" | ")[1:-1]]
    values = lines[2].strip("| ").split(" | ")[1:]
    assert levels == [104] and 1.7 < float(values[0]) < 2.1
    assert all(abs(float(rho)) < 0.1 for rho in values[1].split(", "))


@pytest.mark.slow
def test_level_script_noise_follows_the_gain(frmdb_dev, tmp_path) -> None:
    """Flat fields through the hand-made CCTV profile without read noise (shot noise only), and
    through the same with four times the gain, have noise in the ratio 2 at every level both
    show; the real frames' rows come first, within frames as calibrate measures them and between
    frames of one view; the measured profile (its noise measured in stored values) follows the
    frames' level by level and in its correlation."""
    from pathlib import Path

    profiles = Path(__file__).resolve().parents[2] / "configs" / "profiles" / "validation"
    quiet, louder = tmp_path / "quiet.toml", tmp_path / "louder.toml"
    quiet.write_text(f'base = "{profiles / "frmdb-cctv.toml"}"\nread_noise_e = 0.0\n', encoding="utf-8")
    louder.write_text(f'base = "{quiet}"\ngain_dn_per_e = 0.06\n', encoding="utf-8")
    measured = profiles / "frmdb-cctv-measured.toml"
    lines = validation_levels.noise_by_level(sorted((frmdb_dev / "frames").glob("*/*.jpg")),
                                  [str(quiet), str(louder), str(measured)])
    levels = [int(v) for v in lines[0].strip("| ").split(" | ")[1:-1]]
    cells = {line.split(" | ")[0].strip("| "): line.strip("| ").split(" | ")[1:] for line in lines[2:]}
    rows = {name: values[:-1] for name, values in cells.items()}
    correlation = {name: [float(v) for v in values[-1].split(", ")] for name, values in cells.items()}
    assert list(rows) == ["real frames", "real frames, between frames of one view", "quiet.toml", "louder.toml",
                          "frmdb-cctv-measured.toml"]
    both = [(float(a), float(b)) for a, b in zip(rows["quiet.toml"], rows["louder.toml"], strict=True)
            if a != "-" and b != "-"]
    assert len(both) >= 4 and len(levels) == len(rows["real frames"])
    assert all(1.7 < b / a < 2.3 for a, b in both)
    # The calibrated noise, through all 95 frames as calibrate read them: within 15% wherever the
    # frames show a level whose noise is above quantisation (calibrate leaves the others out).
    real = [(float(a), float(b)) for a, b in zip(rows["real frames"], rows["frmdb-cctv-measured.toml"], strict=True)
            if a != "-" and b != "-" and float(a) >= 1.0 / 12**0.5]
    assert len(real) >= 10 and all(abs(b / a - 1.0) < 0.15 for a, b in real)
    assert abs(correlation["frmdb-cctv-measured.toml"][0] - correlation["real frames"][0]) < 0.15
    # Between frames of one view (no static texture) the noise peaks at mid grey too, and is
    # correlated with the next pixel as within a frame: it is the camera's noise, not the scene.
    between = {level: float(v) for level, v in zip(levels, rows["real frames, between frames of one view"], strict=True)
               if v != "-"}
    assert max(between, key=between.get) in range(56, 137) and between[max(between, key=between.get)] > 2 * between[24]
    assert abs(correlation["real frames, between frames of one view"][0] - correlation["real frames"][0]) < 0.15
