"""Is the validation goal met? The acceptance criteria of a `validate` run, one line each.

    python scripts/validation_goal.py VALIDATION_DIR

Reads the run's `summary.json` (the corrected figures when the run applied `--calibration`, else
the raw simulation) and checks the goal of the validation issue: the prediction of real rank-1
within +-10 points in every IED bin that holds at least 15 probes, within +-5 overall, and the
predicted detection within +-10 points of real detection (overall and per camera group). Prints
each criterion with the prediction, the real rate, the error and MET / NOT MET, the raw simulation
beside the prediction, and exits 0 when every criterion is met, 1 when not (or when no
criterion has probes). The criteria are `evalharness/evaluation/validation_goal.py`'s, which
`validate` and its report state too. Docs: docs/VALIDATION.md, "Held-out check".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evalharness.evaluation.validation_goal import Criterion, criteria, goal_met, verdict


def table(listed: list[Criterion]) -> list[str]:
    """The criteria as Markdown table rows, header first."""
    return ["| criterion | predicted | real | error | allowed | raw simulation | goal |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *(f"| {item.name} | {item.predicted:.1f} | {item.real:.1f} | {item.predicted - item.real:+.1f} | "
              f"+-{item.tolerance_pts:g} | {item.simulated:.1f} | {'MET' if item.met else 'NOT MET'} |"
              for item in listed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    args = parser.parse_args()
    listed, corrected = criteria(json.loads((args.validation / "summary.json").read_text(encoding="utf-8")))
    print(f"{args.validation}: {'prediction (corrected)' if corrected else 'raw simulation (no --calibration)'}")
    print("\n".join(table(listed)))
    print(verdict(listed))
    sys.exit(0 if goal_met(listed) else 1)


if __name__ == "__main__":
    main()
