"""How likely is the held-out check to meet its goals? A forecast from the development rehearsal.

    python scripts/heldout_forecast.py DEV_VALIDATION --people cctv-352x288=20 --people hd-1920x1080=14
    python scripts/heldout_forecast.py DEV_VALIDATION --people-from REAL_HELD_OUT
        [--draws 2000] [--seed 0] [--no-quality] [--profile-goal CALIBRATED_DIR HAND_MADE_DIR]

Each development person's probes are predicted by corrections fitted on all the other people
(`validation_cv.left_out`, as `validate --calibration` predicts the held-out people from the
development validation) and rated by the `quality --validation` model fitted on all the others
(`quality_vs_real.leave_one_out`). Then groups of people are drawn with replacement, as many of
each camera group as `--people` says (the held-out part of FRMDB: 20 CCTV and 14 HD people), or
as the held-out folder's layout holds (`--people-from`, its `probes.csv`: `heldout_check.py` does
this, from the layout alone, never from an outcome), and
each draw is judged by the goals' own criteria (`validation_goal.criteria`,
`quality_vs_real.checks`). For each criterion it prints in what share of the draws it is judged
(a bin needs 15 probes) and how often it is met when judged:
- by the corrected prediction, which the held-out check judges;
- by the raw simulation;
- by a prediction right on average for the development people: each probe given their real rate
  in its camera group and IED bin (detection: in its camera group). What that one misses is the
  criteria's sampling noise in a group of this size, not an error of the camera model.

`--profile-goal` forecasts the `validate` half of the quality issue's profile goal as
`heldout_check.py` judges it: on the same draws, the corrected prediction with the CCTV profile as
`calibrate` wrote it meets no fewer criteria than with the hand-made profile.

It assumes that the held-out people are like the development people, and that corrections fitted
on 32 people stand for those fitted on 33. It forecasts the check; the check decides.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import quality_vs_real  # scripts/, beside this file
import validation_cv

from evalharness.data.paired import open_paired
from evalharness.errors import DataError
from evalharness.evaluation.validate_run import read_corrections
from evalharness.evaluation.validation_goal import criteria, goal_met
from evalharness.evaluation.validation_summary import BINS_PX, in_ied_bin

#: The predictions judged: the corrected one, the raw simulation, one right on average.
PREDICTORS = ("corrected", "raw", "unbiased")


def parse_people(values: list[str]) -> dict[str, int]:
    """``CAMERA=N`` pairs as ``{camera: N}``; a malformed pair is a ValueError naming it."""
    counts = {}
    for value in values:
        camera, _, count = value.partition("=")
        if not camera or not count.isdigit() or int(count) < 1:
            raise ValueError(f"--people {value!r}: expected CAMERA=N with N a whole number of people, at least 1")
        counts[camera] = int(count)
    return counts


def people_from(real: Path) -> dict[str, int]:
    """The people of each camera group of a paired real-camera dataset (``probes.csv``), as
    ``{camera: N}``: the held-out folder's sizes, read from its layout and nothing else."""
    paired = open_paired(real)
    groups: dict[str, set[str]] = {}
    for record in paired.probes.records:
        groups.setdefault(paired.camera_of(record.relpath), set()).add(record.identity)
    return {camera: len(people) for camera, people in sorted(groups.items())}


def draws(cameras: dict[str, np.ndarray], people: dict[str, int], n_draws: int, seed: int) -> Iterator[np.ndarray]:
    """``n_draws`` groups of people, each ``people[camera]`` drawn with replacement from
    ``cameras[camera]`` (the development people of that camera group)."""
    if unknown := sorted(set(people) - set(cameras)):
        raise ValueError(f"--people names camera group(s) {', '.join(unknown)}, which the validation lacks "
                         f"(it has {', '.join(sorted(cameras))})")
    rng = np.random.default_rng(seed)
    for _ in range(n_draws):
        yield np.concatenate([rng.choice(cameras[camera], count) for camera, count in people.items()])


def left_out(validation: Path) -> validation_cv.LeftOut:
    """A `validate` run's people, each predicted by corrections fitted on the others, refitted
    reading the size column that the run's own corrections read."""
    rows = pd.read_parquet(validation / "probes.parquet")
    return validation_cv.left_out(rows, size_column=read_corrections(validation).size_column)


def _cell_rate(groups: pd.Series, real: np.ndarray) -> np.ndarray:
    """Each probe's mean real outcome over all probes of its group (the unbiased predictor)."""
    return pd.Series(real).groupby(groups.to_numpy()).transform("mean").to_numpy()


def _predictions(left: validation_cv.LeftOut) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Rank-1 and detection predictions of each of :data:`PREDICTORS` (0-1, one value a probe)."""
    used, simulated = left.used, left.simulated
    bin_index = np.select([in_ied_bin(used, low, high) for low, high in BINS_PX], range(len(BINS_PX)), -1)
    cell = used["camera"].astype(str) + " " + pd.Series(bin_index, index=used.index).astype(str)
    rank1 = {"corrected": left.rank1["corrected"], "raw": left.rank1["raw"],
             "unbiased": _cell_rate(cell, left.rank1["real"])}
    found = {"corrected": left.found["corrected"], "raw": left.found["raw"],
             "unbiased": _cell_rate(simulated["camera"], left.found["real"])}
    return rank1, found


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _summary(left: validation_cv.LeftOut, rank1: np.ndarray, found: np.ndarray, used: np.ndarray,
             simulated: np.ndarray) -> dict[str, object]:
    """The figures ``validation_goal.criteria`` reads, in ``summary.json``'s form, of the probes at
    positions ``used`` (rank-1) and ``simulated`` (detection), ``rank1`` and ``found`` predicted."""
    real, raw = left.rank1["real"], left.rank1["raw"]
    real_found, raw_found = left.found["real"], left.found["raw"]

    def rates(index: np.ndarray) -> dict[str, float | None]:
        return {"n": len(index), "real_rank1": _mean(real[index]), "sim_rank1": _mean(raw[index]),
                "pred_rank1": _mean(rank1[index])}

    def detection(index: np.ndarray) -> dict[str, float | None]:
        return {"real_detection": _mean(real_found[index]), "sim_detection": _mean(raw_found[index]),
                "pred_detection": _mean(found[index])}

    bins = [rates(used[in_ied_bin(left.used.iloc[used], low, high)])
            | {"ied_px_low": low, "ied_px_high": None if math.isinf(high) else high} for low, high in BINS_PX]
    camera = left.simulated["camera"].to_numpy()[simulated]
    cameras = [{"camera": name} | detection(simulated[camera == name]) for name in sorted(set(camera))]
    figures = {"bins": bins, "overall": rates(used) | detection(simulated), "cameras": cameras}
    return {"raw": figures, "corrected": figures}  # read as corrected: ``pred_*`` is the prediction judged


def _criterion(name: str) -> str:
    """A criterion's name without its probe count, which differs from draw to draw."""
    return name.split(" (n ")[0]


def validation_forecast(left: validation_cv.LeftOut, groups: list[np.ndarray]) -> pd.DataFrame:
    """One row per draw in ``groups`` (arrays of identities), one column per (predictor, criterion)
    of the validation goal and (predictor, ``"goal"``): met (True, False), or None where the
    criterion is not judged in that draw."""
    rank1, found = _predictions(left)
    used_ids, simulated_ids = left.used["identity"].to_numpy(), left.simulated["identity"].to_numpy()
    used_at = {person: np.flatnonzero(used_ids == person) for person in np.unique(simulated_ids)}
    simulated_at = {person: np.flatnonzero(simulated_ids == person) for person in np.unique(simulated_ids)}
    rows = []
    for group in groups:
        used = np.concatenate([used_at[person] for person in group])
        simulated = np.concatenate([simulated_at[person] for person in group])
        row: dict[tuple[str, str], bool | None] = {}
        for predictor in PREDICTORS:
            listed, _ = criteria(_summary(left, rank1[predictor], found[predictor], used, simulated))
            row |= {(predictor, _criterion(item.name)): item.met for item in listed}
            row[(predictor, "goal")] = goal_met(listed)
        rows.append(row)
    return pd.DataFrame(rows)


def quality_forecast(outcomes: pd.DataFrame, groups: list[np.ndarray]) -> pd.DataFrame:
    """One row per draw in ``groups``, one column per criterion of the quality goal
    (``quality_vs_real.checks`` of the drawn people's rated faces), per IED bin whether its mean
    interval covers the real rate (in brackets: what the bins' criterion counts) and ``"goal"``:
    met or not."""
    at = {person: np.flatnonzero(outcomes["identity"].to_numpy() == person) for person in outcomes["identity"].unique()}
    rows = []
    for group in groups:
        drawn = outcomes.iloc[np.concatenate([at.get(person, np.array([], int)) for person in group])]
        cameras, bins, _ = quality_vs_real.groups(drawn)
        listed = quality_vs_real.checks(cameras, bins)
        covers = {f"(the mean interval covers the real rate, {b.name})": b.covers for b in bins}
        rows.append({item.criterion: item.met for item in listed} | covers
                    | {"goal": all(item.met for item in listed)})
    return pd.DataFrame(rows)


def criteria_met(forecast: pd.DataFrame, predictor: str = "corrected") -> pd.Series:
    """Per draw of a :func:`validation_forecast`, how many of the validation goal's criteria the
    predictor meets (criteria not judged in a draw do not count)."""
    columns = [column for column in forecast.columns if column[0] == predictor and column[1] != "goal"]
    return forecast[columns].apply(lambda row: int(sum(bool(met) for met in row.dropna())), axis=1)


def profile_forecast(calibrated: pd.DataFrame, hand_made: pd.DataFrame) -> pd.Series:
    """Per draw, the `validate` half of the quality issue's profile goal as `heldout_check.py`
    judges it: the calibrated profile's corrected prediction meets no fewer of the validation
    goal's criteria than the hand-made profile's (two forecasts over the same draws)."""
    return criteria_met(calibrated) >= criteria_met(hand_made)


def _share(column: pd.Series) -> tuple[float, float]:
    """Share of draws in which a criterion is judged, and met when judged (NaN if never)."""
    judged = column.dropna().astype(bool)
    return len(judged) / len(column), judged.mean() if len(judged) else math.nan


def _order(criterion: str) -> tuple[int, float, str]:
    """The validation goal's order: the IED bins from the smallest, all, detection, the goal
    (a draw lists only the bins it judges, so the columns come in the order the draws met them)."""
    if criterion == "goal":
        return 3, 0.0, criterion
    if bin_ := re.match(r"rank-1, IED ([\d.]+)", criterion):
        return 0, float(bin_.group(1)), criterion
    return (1 if criterion.startswith("rank-1") else 2), 0.0, criterion


def validation_table(forecast: pd.DataFrame) -> str:
    """Markdown: per criterion of the validation goal, judged in, and met by each predictor."""
    lines = ["| criterion | judged in (share of draws) | met: corrected | met: raw | met: right on average |",
             "| --- | --- | --- | --- | --- |"]
    for criterion in sorted({name for _, name in forecast.columns}, key=_order):
        judged = _share(forecast[("corrected", criterion)])[0]
        met = [_share(forecast[(predictor, criterion)])[1] for predictor in PREDICTORS]
        label = "the goal (every judged criterion)" if criterion == "goal" else criterion
        lines.append(f"| {label} | {judged:.0%} | " + " | ".join(f"{share:.0%}" for share in met) + " |")
    return "\n".join(lines)


def quality_table(forecast: pd.DataFrame) -> str:
    """Markdown: per criterion of the quality goal, how often it is met (when judged: a draw
    holds every camera group that ``--people`` names)."""
    lines = ["| criterion | met (share of draws) |", "| --- | --- |"]
    lines += [f"| {'the goal (every criterion)' if name == 'goal' else name} | {_share(forecast[name])[1]:.0%} |"
              for name in forecast.columns]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("validation", type=Path, help="the development people's `evalharness validate` run directory")
    sizes = parser.add_mutually_exclusive_group(required=True)
    sizes.add_argument("--people", action="append", metavar="CAMERA=N",
                       help="people of a camera group in the held-out folder (repeat per group)")
    sizes.add_argument("--people-from", type=Path, metavar="REAL_DIR",
                       help="read them from a paired dataset's layout (the held-out folder's, probes.csv)")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-quality", action="store_true", help="forecast the validation goal only")
    parser.add_argument("--profile-goal", nargs=2, type=Path, metavar=("CALIBRATED_DIR", "HAND_MADE_DIR"),
                        help="development validations with the CCTV profile as `calibrate` wrote it and with "
                             "the hand-made one: forecast the profile goal's `validate` half too")
    args = parser.parse_args()
    try:
        people = people_from(args.people_from) if args.people_from else parse_people(args.people)
    except (ValueError, DataError) as error:
        parser.error(str(error))
    left = left_out(args.validation)
    cameras = {str(camera): np.array(sorted(group["identity"].unique()))
               for camera, group in left.simulated.groupby("camera")}
    try:
        groups = list(draws(cameras, people, args.draws, args.seed))
    except ValueError as error:
        parser.error(str(error))
    described = ", ".join(f"{count} {camera}" for camera, count in people.items())
    print(f"{args.draws} groups of people drawn with replacement from {args.validation} ({described} each); "
          "each person predicted from the others")
    print("\n### Validation goal\n")
    validation = validation_forecast(left, groups)
    print(validation_table(validation))
    if not args.no_quality:
        print("\n### Quality goal\n")
        quality = quality_forecast(quality_vs_real.leave_one_out(args.validation), groups)
        print(quality_table(quality))
        both = (validation[("corrected", "goal")] & quality["goal"]).mean()
        print(f"\nboth goals met, corrected prediction: {both:.0%} of draws")
    if args.profile_goal:
        calibrated, hand_made = (validation_forecast(left_out(folder), groups) for folder in args.profile_goal)
        counts = [criteria_met(forecast).mean() for forecast in (calibrated, hand_made)]
        print("\n### Profile goal, its `validate` half\n")
        print(f"the calibrated profile meets no fewer of the validation goal's criteria than the hand-made one in "
              f"{profile_forecast(calibrated, hand_made).mean():.0%} of draws (criteria met, mean: "
              f"{counts[0]:.2f} against {counts[1]:.2f}); the validation goal itself in "
              f"{calibrated[('corrected', 'goal')].mean():.0%} and {hand_made[('corrected', 'goal')].mean():.0%}")


if __name__ == "__main__":
    main()
