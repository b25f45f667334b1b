"""The acceptance goal of a validation (the validation issue), criterion by criterion.

The prediction of real rank-1 (the corrected figures when the run applied ``--calibration``,
else the raw simulation) must lie within :data:`BIN_TOLERANCE_PTS` points of the real rate in
every bin of the real inter-eye distance that holds at least :data:`MIN_BIN_PROBES` probes, within
:data:`OVERALL_TOLERANCE_PTS` overall, and the predicted detection within
:data:`DETECTION_TOLERANCE_PTS` of real detection, overall and per camera group. Read from a
``validate`` run's ``summary.json`` by ``validate`` itself, its report and
``scripts/validation_goal.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The goal: points of rank-1 per bin and overall, points of detection, fewest probes for a bin.
BIN_TOLERANCE_PTS, OVERALL_TOLERANCE_PTS, DETECTION_TOLERANCE_PTS, MIN_BIN_PROBES = 10.0, 5.0, 10.0, 15


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion: what, the predicted and real rates and the raw simulated rate
    (percent), and how far the prediction may be from the real rate (points)."""

    name: str
    predicted: float
    real: float
    simulated: float
    tolerance_pts: float

    @property
    def met(self) -> bool:
        return abs(self.predicted - self.real) <= self.tolerance_pts


def criteria(summary: dict[str, Any]) -> tuple[list[Criterion], bool]:
    """The criteria of a validation's ``summary.json`` and whether it was corrected (a rate
    without probes, None there, gives no criterion)."""
    corrected = "corrected" in summary
    figures = summary.get("corrected", summary["raw"])
    rank1 = "pred_rank1" if corrected else "sim_rank1"
    found = "pred_detection" if corrected else "sim_detection"
    listed = []
    for row in figures["bins"]:
        if row["n"] >= MIN_BIN_PROBES:
            span = (f"{row['ied_px_low']:g}+" if row["ied_px_high"] is None
                    else f"{row['ied_px_low']:g}-{row['ied_px_high']:g}")
            listed.append(Criterion(f"rank-1, IED {span} px (n {row['n']})",
                                    100 * row[rank1], 100 * row["real_rank1"], 100 * row["sim_rank1"],
                                    BIN_TOLERANCE_PTS))
    overall = figures["overall"]
    if overall["n"]:
        listed.append(Criterion(f"rank-1, all (n {overall['n']})", 100 * overall[rank1],
                                100 * overall["real_rank1"], 100 * overall["sim_rank1"],
                                OVERALL_TOLERANCE_PTS))
    for group in [overall, *figures["cameras"]]:
        if group.get(found) is None or group["real_detection"] is None:
            continue  # no simulated probe in the group
        name = "detection" + (f", {group['camera']}" if "camera" in group else "")
        listed.append(Criterion(name, 100 * group[found], 100 * group["real_detection"],
                                100 * group["sim_detection"], DETECTION_TOLERANCE_PTS))
    return listed, corrected


def goal_met(listed: list[Criterion]) -> bool:
    """Whether every criterion is met; a goal with no criterion judged (no probes) is not met."""
    return bool(listed) and all(item.met for item in listed)


def verdict(listed: list[Criterion]) -> str:
    """One sentence: met or not, how many criteria, and which are not met."""
    missed = [item for item in listed if not item.met]
    if not listed:
        return "goal not judged: no criterion has probes"
    if not missed:
        return f"goal met: all {len(listed)} criteria"
    return (f"goal not met: {len(listed) - len(missed)} of {len(listed)} criteria; not met: "
            + "; ".join(f"{item.name} {item.predicted - item.real:+.1f} points (allowed "
                        f"+-{item.tolerance_pts:g})" for item in missed))
