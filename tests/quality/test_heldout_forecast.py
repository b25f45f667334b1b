"""``scripts/heldout_forecast.py``: the goals judged on groups of people drawn from a rehearsal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# scripts/, on pytest's pythonpath (pyproject.toml)
import heldout_forecast
import validation_cv


def _rows(people: int, *, camera: str, real_hit: bool, sim_hit: bool, ieds: tuple[float, ...],
          first: int = 0) -> list[dict]:
    """One probe per IED of each person, found by both; identified (rank 1) or not (rank 2)."""
    return [{"identity": f"{camera}{first + k:02d}", "relpath": f"{camera}{k}/{j}.png", "camera": camera,
             "real_detected": True, "simulated": True, "real_ied_px": ied, "real_head_ied_px": ied,
             "real_mate_rank": 1 if real_hit else 2, "sim_detected": True, "sim_mate_rank": 1 if sim_hit else 2,
             "sim_mate_score": 0.8 if sim_hit else 0.3, "sim_best_nonmate_score": 0.4}
            for k in range(people) for j, ied in enumerate(ieds)]


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"real_mate_rank": "Int64", "sim_mate_rank": "Int64"})


def test_people_are_drawn_per_camera_group_and_bad_counts_are_named() -> None:
    assert heldout_forecast.parse_people(["c=3", "d=2"]) == {"c": 3, "d": 2}
    for bad in ("c", "c=", "c=0", "c=two", "=3"):
        with pytest.raises(ValueError, match=f"--people '{bad}': expected CAMERA=N"):
            heldout_forecast.parse_people([bad])
    cameras = {"c": np.array(["c1", "c2"]), "d": np.array(["d1"])}
    groups = list(heldout_forecast.draws(cameras, {"c": 3, "d": 2}, 4, seed=0))
    assert len(groups) == 4
    for group in groups:  # three of camera c (with replacement from two), then two of d
        assert set(group[:3]) <= {"c1", "c2"} and list(group[3:]) == ["d1", "d1"]
    with pytest.raises(ValueError, match="camera group.s. e, which the validation lacks .it has c, d."):
        list(heldout_forecast.draws(cameras, {"e": 1}, 1, seed=0))


def test_the_sizes_are_read_from_a_held_out_layout(frmdb_paired, tmp_path) -> None:
    """``--people-from``: the people of each camera group of a laid-out FRMDB folder (subjects
    001-019 are filmed by the CCTV cameras, 040-053 in HD); a folder that is not a layout is
    an error that names it."""
    assert heldout_forecast.people_from(frmdb_paired(["001", "002", "003", "040"])) == {
        "cctv-352x288": 3, "hd-1920x1080": 1}
    with pytest.raises(heldout_forecast.DataError, match=f"{tmp_path / 'gallery'}: missing"):
        heldout_forecast.people_from(tmp_path)


def test_a_perfect_simulation_meets_every_judged_criterion_in_every_draw() -> None:
    """Camera c: half the people identified at every size, in reality and in simulation alike;
    camera d: nobody identified, in both. The raw simulation is then right for every probe; the
    prediction right on average (camera c's rate, one half, for each of its faces) is right for
    the development people, not for every drawn group. A bin is judged only with 15 probes: 3
    people of c and 3 of d give 6 probes a bin, 9 and 9 give 18."""
    rows = (_rows(6, camera="c", real_hit=True, sim_hit=True, ieds=(10.0, 25.0, 60.0))
            + _rows(6, camera="c", real_hit=False, sim_hit=False, ieds=(10.0, 25.0, 60.0), first=6)
            + _rows(6, camera="d", real_hit=False, sim_hit=False, ieds=(10.0, 25.0, 60.0)))
    left = validation_cv.left_out(_frame(rows), size_column="real_ied_px")
    cameras = {"c": np.array([f"c{k:02d}" for k in range(12)]), "d": np.array([f"d{k:02d}" for k in range(6)])}
    small = heldout_forecast.validation_forecast(left, list(heldout_forecast.draws(cameras, {"c": 3, "d": 3}, 20, 0)))
    assert ("raw", "rank-1, IED 0-12 px") not in small.columns      # 6 probes: never judged
    assert small[("raw", "rank-1, all")].all() and small[("raw", "goal")].all()
    large = heldout_forecast.validation_forecast(left, list(heldout_forecast.draws(cameras, {"c": 9, "d": 9}, 20, 0)))
    judged = [large[("raw", name)] for name in ("rank-1, IED 0-12 px", "rank-1, IED 20-30 px",
                                                "rank-1, IED 50+ px", "detection, c", "goal")]
    assert all(column.notna().all() and column.astype(bool).all() for column in judged)
    # Every face found in both: right on average is exact for detection, not for a drawn group's rank-1.
    assert large[("unbiased", "detection, d")].astype(bool).all()
    assert not large[("unbiased", "rank-1, all")].astype(bool).all()
    table = heldout_forecast.validation_table(large)
    assert "IED 12-20 px" not in table   # a bin without probes is never judged: no row
    assert [line.split(" | ")[0] for line in table.splitlines()[2:]] == [
        "| rank-1, IED 0-12 px", "| rank-1, IED 20-30 px", "| rank-1, IED 50+ px", "| rank-1, all", "| detection",
        "| detection, c", "| detection, d", "| the goal (every judged criterion)"]
    assert "| rank-1, IED 0-12 px | 100% | " in table
    # Bins judged in some draws only still come in their order, whatever the first draw held.
    assert heldout_forecast.validation_table(pd.concat([small, large], ignore_index=True)).splitlines()[2].startswith(
        "| rank-1, IED 0-12 px | 50% | ")


def test_a_simulation_that_identifies_everyone_misses_where_half_are_identified() -> None:
    """Every simulation identified, half of the real people: the raw simulation is 50 points
    high in every draw, so its overall criterion (+-5) is never met; the prediction right on
    average is off only by the drawn people's share, which it meets in some draws and not all."""
    rows = (_rows(10, camera="c", real_hit=True, sim_hit=True, ieds=(40.0, 60.0))
            + _rows(10, camera="c", real_hit=False, sim_hit=True, ieds=(40.0, 60.0), first=10))
    left = validation_cv.left_out(_frame(rows), size_column="real_ied_px")
    cameras = {"c": np.array([f"c{k:02d}" for k in range(20)])}
    forecast = heldout_forecast.validation_forecast(left, list(heldout_forecast.draws(cameras, {"c": 20}, 200, 1)))
    assert not forecast[("raw", "rank-1, all")].astype(bool).any()
    met = forecast[("unbiased", "rank-1, all")].astype(bool).mean()
    assert 0.0 < met < 1.0


def test_quality_goal_judged_per_draw() -> None:
    """Faces of camera c expected at their real rate with intervals covering it: every criterion
    met. Camera d's faces expected 20 points above their real rate: its criterion never met."""
    faces = [{"identity": f"{camera}{k}", "camera": camera, "ied_px": ied, "expected": expected,
              "low": expected - 0.05, "high": min(expected + 0.05, 1.0), "real": 1.0 if k % 2 else 0.0}
             for camera, offset in (("c", 0.0), ("d", 0.2)) for k in range(4)
             for ied in (8.0, 15.0, 25.0, 40.0, 60.0) for expected in [0.5 + offset]]
    outcomes = pd.DataFrame(faces)
    groups = [np.array(["c0", "c1", "d0", "d1"]), np.array(["c1", "c0", "c3", "c2"])]
    forecast = heldout_forecast.quality_forecast(outcomes, groups)
    assert forecast["expected - real, c"].tolist() == [True, True]
    assert not forecast.loc[0, "expected - real, d"] and pd.isna(forecast.loc[1, "expected - real, d"])
    assert forecast["goal"].tolist() == [False, True]  # the second group holds no one of camera d
    assert "| the goal (every criterion) | 50% |" in heldout_forecast.quality_table(forecast)


def test_profile_goal_counts_the_criteria_met_in_each_draw() -> None:
    """The calibrated profile must meet no fewer judged criteria than the hand-made one, draw by
    draw; a criterion not judged in a draw (None) counts for neither."""
    def forecast(rows: list[tuple[bool | None, bool | None, bool]]) -> pd.DataFrame:
        columns = pd.MultiIndex.from_tuples([("corrected", "bin"), ("corrected", "all"), ("corrected", "goal")])
        return pd.DataFrame(rows, columns=columns, dtype=object)

    calibrated = forecast([(True, True, True), (None, True, True), (False, True, False)])
    hand_made = forecast([(True, False, False), (True, True, True), (None, True, True)])
    assert heldout_forecast.criteria_met(calibrated).tolist() == [2, 1, 1]
    assert heldout_forecast.criteria_met(hand_made).tolist() == [1, 2, 1]
    assert heldout_forecast.profile_forecast(calibrated, hand_made).tolist() == [True, False, True]
