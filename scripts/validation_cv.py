"""Do a validation's corrections transfer to other people? Cross-validation by subject halves.

    python scripts/validation_cv.py VALIDATION_DIR [--splits 200] [--seed 0]

Splits the validation run's people at random into two halves, fits the corrections
(`validation_summary.fit_corrections`, as `validate` does) on one half and predicts the other
half's real rank-1 from its simulations (`predicted_success`, as `validate --calibration` does),
beside the raw simulated rate. Prints, over the splits, the mean (bias) and root mean square of
prediction minus real, in points, overall, per IED bin of `validate` and per camera group; and the
same for detection (of every simulated probe: the simulated rate raw, and times the detection
ratios fitted on the other half, as `validate --calibration` predicts it).
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
    predicted_detection,
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
    simulated = rows[rows["simulated"]].reset_index(drop=True)
    real_found = simulated["real_detected"].to_numpy(float)
    sim_found = simulated["sim_detected"].to_numpy(float)
    found_groups = {"detection": np.ones(len(simulated), bool)}
    found_groups |= {f"detection {camera}": (simulated["camera"] == camera).to_numpy()
                     for camera in sorted(simulated["camera"].unique())}
    people = np.array(sorted(used["identity"].unique()))
    rng = np.random.default_rng(seed)
    errors: dict[str, list[dict[str, float]]] = {"raw": [], "corrected": []}
    for _ in range(splits):
        half = rng.permutation(people)[: len(people) // 2]
        fitted = used["identity"].isin(half).to_numpy()
        corrections = fit_corrections(rows[rows["identity"].isin(half)], {})  # as validate fits
        held = ~simulated["identity"].isin(half).to_numpy()
        corrected = predicted_success(used, corrections)
        found = {"raw": sim_found, "corrected": predicted_detection(simulated, corrections)}
        for name, predicted in (("raw", raw), ("corrected", corrected)):
            errors[name].append(_errors(predicted, real, ~fitted, groups)
                                | _errors(found[name], real_found, held, found_groups))
    return {name: pd.DataFrame(values) for name, values in errors.items()}


def _errors(predicted: np.ndarray, real: np.ndarray, held: np.ndarray,
            groups: dict[str, np.ndarray]) -> dict[str, float]:
    """Prediction minus real of the held-out probes in each group, points (NaN when none)."""
    return {group: 100.0 * (predicted[held & inside].mean() - real[held & inside].mean())
            if (held & inside).any() else np.nan for group, inside in groups.items()}


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
