"""Is the validation goal met? The acceptance criteria of a `validate` run, one line each.

    python scripts/validation_goal.py VALIDATION_DIR

Reads the run's `summary.json` (the corrected figures when the run applied `--calibration`, else
the raw simulation) and checks the goal of the validation issue: the prediction of real rank-1
within +-10 points in every IED bin that holds at least 15 probes, within +-5 overall, and the
predicted detection within +-10 points of real detection (overall and per camera group). Prints
each criterion with the prediction, the real rate, the error and MET / NOT MET, the raw simulation
beside the prediction, and exits 0 when every criterion is met, 1 when not. Docs:
docs/VALIDATION.md, "Held-out check".
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

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


def criteria(summary: dict) -> tuple[list[Criterion], bool]:
    """The criteria of a validation's ``summary.json`` and whether it was corrected."""
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
    listed.append(Criterion(f"rank-1, all (n {overall['n']})", 100 * overall[rank1],
                            100 * overall["real_rank1"], 100 * overall["sim_rank1"], OVERALL_TOLERANCE_PTS))
    for group in [overall, *figures["cameras"]]:
        name = "detection" + (f", {group['camera']}" if "camera" in group else "")
        listed.append(Criterion(name, 100 * group[found], 100 * group["real_detection"],
                                100 * group["sim_detection"], DETECTION_TOLERANCE_PTS))
    return listed, corrected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    args = parser.parse_args()
    listed, corrected = criteria(json.loads((args.validation / "summary.json").read_text(encoding="utf-8")))
    print(f"{args.validation}: {'prediction (corrected)' if corrected else 'raw simulation (no --calibration)'}")
    print("| criterion | predicted | real | error | allowed | raw simulation | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for item in listed:
        print(f"| {item.name} | {item.predicted:.1f} | {item.real:.1f} | {item.predicted - item.real:+.1f} | "
              f"+-{item.tolerance_pts:g} | {item.simulated:.1f} | {'MET' if item.met else 'NOT MET'} |")
    met = all(item.met for item in listed)
    print(f"goal {'met' if met else 'not met'}: {sum(i.met for i in listed)} of {len(listed)} criteria")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
