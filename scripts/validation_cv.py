"""Do a validation's corrections transfer to other people? Cross-validation by person.

    python scripts/validation_cv.py VALIDATION_DIR [--splits 200] [--seed 0]
    python scripts/validation_cv.py VALIDATION_DIR --leave-one-out

By halves (the default): splits the validation run's people at random into two halves, fits the
corrections (`validation_summary.fit_corrections`, as `validate` does) on one half and predicts
the other half's real rank-1 from its simulations (`predicted_success`, as `validate
--calibration` does), beside the raw simulated rate. Prints, over the splits, the mean (bias) and
root mean square of prediction minus real, in points, overall, per IED bin of `validate` and per
camera group; and the same for detection (of every simulated probe: the simulated rate raw, and
times the detection ratios fitted on the other half, as `validate --calibration` predicts it).

`--leave-one-out`: each person's probes predicted by corrections fitted on all the other people,
as a held-out check predicts new people from the whole development validation (fitted on all but
one, not on half). Prints, per group, real, raw and corrected rates of the pooled held-out
predictions and their gaps, with a 95% interval by bootstrap over people.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.evaluation.intervals import subject_bootstrap
from evalharness.evaluation.validate_run import read_corrections
from evalharness.evaluation.validation_summary import (
    BINS_PX,
    fit_corrections,
    in_ied_bin,
    predicted_detection,
    predicted_success,
    probe_outcomes,
    simulated_outcomes,
)


def _probe_sets(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, np.ndarray],
                                             pd.DataFrame, dict[str, np.ndarray]]:
    """The rank-1 probes (real face detected, simulated) and their groups (overall, IED bins,
    cameras); the detection probes (every simulated one) and theirs (overall, cameras)."""
    used = rows[rows["real_detected"] & rows["simulated"]].reset_index(drop=True)
    groups = {"overall": np.ones(len(used), bool)}
    groups |= {f"IED {low:g}-{high:g}": in_ied_bin(used, low, high) for low, high in BINS_PX}
    groups |= {camera: (used["camera"] == camera).to_numpy() for camera in sorted(used["camera"].unique())}
    simulated = rows[rows["simulated"]].reset_index(drop=True)
    found_groups = {"detection": np.ones(len(simulated), bool)}
    found_groups |= {f"detection {camera}": (simulated["camera"] == camera).to_numpy()
                     for camera in sorted(simulated["camera"].unique())}
    return used, groups, simulated, found_groups


def held_out_errors(rows: pd.DataFrame, splits: int, seed: int, *, size_column: str) -> dict[str, pd.DataFrame]:
    """``{"raw": ..., "corrected": ...}``: one row per split, one column per group (points);
    corrections fitted reading the face's size from ``size_column``, as the validation's were."""
    used, groups, simulated, found_groups = _probe_sets(rows)
    outcomes = probe_outcomes(used, None)
    real, raw = outcomes["real"], outcomes["sim"]
    real_found = simulated["real_detected"].to_numpy(float)
    sim_found = simulated_outcomes(simulated)["sim_detected_share"].to_numpy(float)
    people = np.array(sorted(used["identity"].unique()))
    rng = np.random.default_rng(seed)
    errors: dict[str, list[dict[str, float]]] = {"raw": [], "corrected": []}
    for _ in range(splits):
        half = rng.permutation(people)[: len(people) // 2]
        fitted = used["identity"].isin(half).to_numpy()
        # fitted as `validate` fits them
        corrections = fit_corrections(rows[rows["identity"].isin(half)], {}, size_column=size_column)
        held = ~simulated["identity"].isin(half).to_numpy()
        corrected = predicted_success(used, corrections)
        found = {"raw": sim_found, "corrected": predicted_detection(simulated, corrections)}
        for name, predicted in (("raw", raw), ("corrected", corrected)):
            errors[name].append(_errors(predicted, real, ~fitted, groups)
                                | _errors(found[name], real_found, held, found_groups))
    return {name: pd.DataFrame(values) for name, values in errors.items()}


@dataclass(frozen=True)
class LeftOut:
    """Each person's probes predicted by corrections fitted on all the other people. ``used``: the
    rank-1 probes (real face detected, simulated), with ``rank1`` their ``real``, ``raw`` and
    ``corrected`` outcomes (0-1, one value a probe); ``simulated``: every simulated probe, with
    ``found`` the same of detection."""

    used: pd.DataFrame
    rank1: dict[str, np.ndarray]
    simulated: pd.DataFrame
    found: dict[str, np.ndarray]


def left_out(rows: pd.DataFrame, *, size_column: str) -> LeftOut:
    """Every person's probes predicted as `validate --calibration` predicts new people, by
    corrections fitted on all other people (reading the size from ``size_column``)."""
    used, _, simulated, _ = _probe_sets(rows)
    outcomes = probe_outcomes(used, None)
    corrected, corrected_found = np.zeros(len(used)), np.zeros(len(simulated))
    for person in simulated["identity"].unique():  # everyone simulated: some have no rank-1 probe
        corrections = fit_corrections(rows[rows["identity"] != person], {}, size_column=size_column)
        mine = (used["identity"] == person).to_numpy()
        found_mine = (simulated["identity"] == person).to_numpy()
        corrected[mine] = predicted_success(used[mine], corrections)
        corrected_found[found_mine] = predicted_detection(simulated[found_mine], corrections)
    return LeftOut(used, {"real": outcomes["real"], "raw": outcomes["sim"], "corrected": corrected}, simulated,
                   {"real": simulated["real_detected"].to_numpy(float),
                    "raw": simulated_outcomes(simulated)["sim_detected_share"].to_numpy(float),
                    "corrected": corrected_found})


def leave_one_out(rows: pd.DataFrame, *, size_column: str, seed: int = 0, n_resamples: int = 2000) -> pd.DataFrame:
    """One row per group with probes: ``n``, ``real``, ``raw`` and ``corrected`` rates (points)
    of every person's probes predicted by corrections fitted on all other people
    (:func:`left_out`), and each gap to the real rate with its 95% interval (bootstrap over
    people, ``raw_low`` ... ``corrected_high``)."""
    _, groups, _, found_groups = _probe_sets(rows)
    predicted = left_out(rows, size_column=size_column)
    rng = np.random.default_rng(seed)
    table = []
    for frame, predictions, group_masks in ((predicted.used, predicted.rank1, groups),
                                            (predicted.simulated, predicted.found, found_groups)):
        for group, inside in group_masks.items():
            if not inside.any():
                continue
            index, people = np.flatnonzero(inside), frame["identity"].to_numpy()[inside]
            row: dict[str, object] = {"group": group, "n": int(inside.sum())}
            row |= {name: 100.0 * values[inside].mean() for name, values in predictions.items()}
            gaps = {name: (lambda sub, values=predictions[name]:
                           100.0 * float(values[index[sub]].mean() - predictions["real"][index[sub]].mean()))
                    for name in ("raw", "corrected")}
            intervals = subject_bootstrap(gaps, people, rng, n_resamples=n_resamples)
            for name in ("raw", "corrected"):
                row[f"{name}_gap"] = row[name] - row["real"]
                row[f"{name}_low"], row[f"{name}_high"] = intervals[name]
            table.append(row)
    return pd.DataFrame(table)


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
    parser.add_argument("--leave-one-out", action="store_true",
                        help="fit on all people but one, predict that one, for each person")
    args = parser.parse_args()
    rows = pd.read_parquet(args.validation / "probes.parquet")
    size_column = read_corrections(args.validation).size_column  # refit as the validation fitted
    if args.leave_one_out:
        print("each person predicted by corrections fitted on all the others; rates in points, "
              "gap to real with its 95% interval (bootstrap over people)")
        print("| group | n | real | raw | raw - real | corrected | corrected - real |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in leave_one_out(rows, size_column=size_column, seed=args.seed).itertuples():
            print(f"| {row.group} | {row.n} | {row.real:.1f} | {row.raw:.1f} | {row.raw_gap:+.1f} "
                  f"({row.raw_low:+.1f} to {row.raw_high:+.1f}) | {row.corrected:.1f} | "
                  f"{row.corrected_gap:+.1f} ({row.corrected_low:+.1f} to {row.corrected_high:+.1f}) |")
        return
    errors = held_out_errors(rows, args.splits, args.seed, size_column=size_column)
    print(f"prediction - real on the held-out half, points, over {args.splits} random splits by person")
    print("| group | raw: bias | raw: rms | corrected: bias | corrected: rms |")
    print("| --- | --- | --- | --- | --- |")
    for group in errors["raw"].columns:
        cells = [f"{frame[group].mean():+.1f} | {np.sqrt((frame[group] ** 2).mean()):.1f}"
                 for frame in (errors["raw"], errors["corrected"])]
        print(f"| {group} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
