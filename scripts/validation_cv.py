"""Do a validation's corrections transfer to other people? Cross-validation by subject halves.

    python scripts/validation_cv.py VALIDATION_DIR [--splits 200] [--seed 0]

Splits the validation run's people at random into two halves, fits the corrections
(`validation_summary.fit_corrections`, as `validate` does) on one half and predicts the other
half's real rank-1 from its simulations (`predicted_success`, as `validate --calibration` does),
beside the raw simulated rate. Prints, over the splits, the mean (bias) and root mean square of
prediction minus real, in points, overall, per IED bin of `validate` and per camera group.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.evaluation.validation_summary import (
    BINS_PX,
    fit_corrections,
    in_ied_bin,
    predicted_success,
    probe_outcomes,
)


def held_out_errors(rows: pd.DataFrame, splits: int, seed: int) -> dict[str, pd.DataFrame]:
    """``{"raw": ..., "corrected": ...}``: one row per split, one column per group (points)."""
    used = rows[rows["real_detected"] & rows["simulated"]].reset_index(drop=True)
    outcomes = probe_outcomes(used, None)
    real, raw = outcomes["real"], outcomes["sim"]
    groups = {"overall": np.ones(len(used), bool)}
    groups |= {f"IED {low:g}-{high:g}": in_ied_bin(used, low, high) for low, high in BINS_PX}
    groups |= {camera: (used["camera"] == camera).to_numpy() for camera in sorted(used["camera"].unique())}
    people = np.array(sorted(used["identity"].unique()))
    rng = np.random.default_rng(seed)
    errors: dict[str, list[dict[str, float]]] = {"raw": [], "corrected": []}
    for _ in range(splits):
        fitted = used["identity"].isin(rng.permutation(people)[: len(people) // 2]).to_numpy()
        corrected = predicted_success(used, fit_corrections(used[fitted], {}))
        for name, predicted in (("raw", raw), ("corrected", corrected)):
            errors[name].append({group: 100.0 * (predicted[~fitted & inside].mean() - real[~fitted & inside].mean())
                                 if (~fitted & inside).any() else np.nan for group, inside in groups.items()})
    return {name: pd.DataFrame(values) for name, values in errors.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    parser.add_argument("--splits", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    errors = held_out_errors(pd.read_parquet(args.validation / "probes.parquet"), args.splits, args.seed)
    print(f"prediction - real on the held-out half, points, over {args.splits} random splits by person")
    print("| group | raw: bias | raw: rms | corrected: bias | corrected: rms |")
    print("| --- | --- | --- | --- | --- |")
    for group in errors["raw"].columns:
        cells = [f"{frame[group].mean():+.1f} | {np.sqrt((frame[group] ** 2).mean()):.1f}"
                 for frame in (errors["raw"], errors["corrected"])]
        print(f"| {group} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
