"""Check the 1:N projection (evaluation/projection.py) against direct measurement in a large gallery.

A run whose gallery holds many identities (``protocol.gallery_size``; every row keeps all its
non-mate scores) measures identification in that gallery directly. This script hides most of it:
for each probe it keeps the scores of a seeded random ``--small`` identities only (as a run with
that gallery would have measured), projects from those to galleries of each ``--sizes`` N, and
compares with what the full gallery gives directly:

- rank 1 in a gallery of N <= the run's gallery: exact, the mean over mated probes of the chance
  that a random N - 1 of the probe's stored non-mates all score below its mate (hypergeometric);
- 1 - FNIR at FPIR in the run's whole gallery: from the stored best non-mate score of each
  non-mated search (metrics.fnir_at_fpir).

Then it checks the impostor tail that the database scenarios extrapolate into (``--draws``): it
draws runs of the default experiment's design from the large one (``--mated`` mated probes of
different people, whose people alone form the gallery, and ``--nonmated`` non-mated probes, each
probe's scores against that gallery taken from its scores against the whole one, whose order the
script rebuilds from the run's experiment and dataset and checks against the rows), projects
1 - FNIR at FPIR in galleries of each ``--tail-sizes`` N from each draw, with the subject-bootstrap
95% interval the run's summary would report, and compares both with the same mated probes' rate
under the whole run's impostor scores against the same population (its mated people), as they
are, with no tail fitted (millions of scores resolve per-identity exceedances down to a few over
their number, where a draw's resolve a few over tens of thousands; the table gives how many lie
above each threshold). The gap is the error of the tail's extrapolation (the mated scores are the
same on both sides); its mean has an interval from the draws' spread and the whole run's own (its
people resampled); the count of draws whose interval covers the whole run's rate is the
interval's coverage (the draws overlap in people: not independent trials); the table also gives
how much of the mean error is the draws' thresholds. ``--tail-fractions`` compares tail thresholds
other than the shipped ``projection.TAIL_FRACTION``.

Example (the 4,038 people of LFW's development-training split; 4 min on 2 CPU cores with the
gallery's embeddings cached; the tail check about 15 s per condition and tail fraction)::

    evalharness run benchmarks/projection_check.toml --out /tmp/projection --no-report \\
        --set dataset=/path/to/lfw-devtrain/images
    .venv/bin/python benchmarks/projection_check.py /tmp/projection --small 140
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.config.experiment import load_experiment, resolve_dataset
from evalharness.data.folder import open_dataset
from evalharness.evaluation import metrics, projection, store
from evalharness.evaluation.intervals import subject_bootstrap
from evalharness.evaluation.probes import Probes
from evalharness.evaluation.protocol import build_split, uses_views


def keep_some(scores: list[np.ndarray], count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A seeded random ``count`` of each probe's non-mate scores (all when it has fewer)."""
    return [s if s.size <= count else s[rng.choice(s.size, count, replace=False)] for s in scores]


def check(rows: pd.DataFrame, small: int, sizes: list[int], fpir: float, seed: int) -> list[dict[str, object]]:
    """Projected against direct rates of one condition's rows (see the module docstring)."""
    mated = (rows["probe_kind"] == "mated").to_numpy()
    detected = rows["detected"].to_numpy(bool)
    mate = rows["mate_score"].to_numpy(np.float64)
    rank = rows["mate_rank"].fillna(np.iinfo(np.int32).max).to_numpy(np.int64)
    scores = [np.asarray(s, np.float64) if d else np.zeros(0) for s, d in zip(rows["nonmate_scores"], detected,
                                                                              strict=True)]
    gallery = 1 + max(s.size for s, m in zip(scores, mated, strict=True) if m)
    rng = np.random.default_rng(seed)
    measured = keep_some(scores, small - 1, rng)  # a mated probe's mate is the small gallery's other one
    model = projection.fit_impostors(np.concatenate(measured))
    results = []
    for size in [s for s in sizes if s <= gallery] + [gallery]:
        chances = projection.household_chances(mate[mated], detected[mated],
                                               [s for s, m in zip(scores, mated, strict=True) if m],
                                               household_size=size)
        projected = projection.database_hit_rate(mate[mated], detected[mated], model, gallery_size=size, fpir=None)
        results.append({"N": size, "measure": "rank-1", "direct": float(chances.mean()), "projected": projected})
    best = np.where(detected, rows["best_nonmate_score"].to_numpy(np.float64), -np.inf)
    direct = 1.0 - metrics.fnir_at_fpir(rank[mated], mate[mated], detected[mated], best[~mated], fpir)
    projected = projection.database_hit_rate(mate[mated], detected[mated], model, gallery_size=gallery, fpir=fpir)
    results.append({"N": gallery, "measure": f"1-FNIR @ FPIR {fpir:g} ({int((~mated).sum())} non-mated)",
                    "direct": direct, "projected": projected})
    return results


def gallery_columns(run: Path) -> list[str]:
    """The run's gallery identities in the order of each probe's scores (sorted), from its split
    rebuilt as the runner builds it (the dataset must be where the run's experiment.toml says;
    :func:`full_scores` checks the order against the run's rows)."""
    path = run / "experiment.toml"
    experiment = load_experiment(path)
    dataset = open_dataset(resolve_dataset(experiment, path))
    if experiment.dataset_fingerprint not in (None, dataset.fingerprint):
        raise SystemExit(f"{dataset.root} is not the data {run} was run on (fingerprint)")
    views = dataset.views if uses_views(experiment.protocol) else None
    return build_split(dataset.records, experiment.protocol, experiment.seed, views).gallery_identities()


def full_scores(rows: pd.DataFrame, columns: list[str]) -> list[np.ndarray]:
    """Each probe's scores against every gallery identity, in ``columns`` order (a mated probe's
    mate put back; empty where undetected). Stops unless each detected probe's highest other score
    is in the column of its stored ``best_nonmate_identity``: the columns are then the run's."""
    position = {name: i for i, name in enumerate(columns)}
    scores = []
    for kind, identity, mate, stored, best in zip(rows["probe_kind"], rows["identity"], rows["mate_score"],
                                                  rows["nonmate_scores"], rows["best_nonmate_identity"],
                                                  strict=True):
        stored = np.asarray(stored, np.float64)
        own = position[identity] if kind == "mated" else None
        if stored.size and stored.size != len(columns) - (own is not None):
            raise SystemExit("the run keeps a sample of the non-mate scores (nonmate_scores_kept): "
                             "the tail check needs them all")
        every = stored if own is None or not stored.size else np.insert(stored, own, mate)
        others = every.copy()
        if own is not None and stored.size:
            others[own] = -np.inf
        if stored.size and columns[int(np.argmax(others))] != best:
            raise SystemExit(f"the rebuilt gallery order does not match the run's rows ({identity})")
        scores.append(every)
    return scores


def draw_run(rows: pd.DataFrame, scores: list[np.ndarray], position: dict[str, int], *, mated: int,
             nonmated: int, rng: np.random.Generator) -> pd.DataFrame:
    """A run of the default experiment's design drawn from a large one: ``mated`` mated probes of
    different people, whose people alone form the gallery, and ``nonmated`` non-mated probes, each
    probe's non-mate scores those against that gallery (``scores``: :func:`full_scores`;
    ``position``: each gallery identity's column)."""
    is_mated = (rows["probe_kind"] == "mated").to_numpy()
    first_probe: dict[str, int] = {}
    for row in np.flatnonzero(is_mated):
        first_probe.setdefault(rows["identity"].iat[row], int(row))
    people = rng.choice(sorted(first_probe), mated, replace=False)
    picked = np.concatenate([[first_probe[name] for name in people],
                             rng.choice(np.flatnonzero(~is_mated), nonmated, replace=False)])
    gallery = np.sort([position[name] for name in people])
    return rows.iloc[picked].assign(nonmate_scores=against(rows, scores, position, gallery, picked)).reset_index(
        drop=True)


def against(rows: pd.DataFrame, scores: list[np.ndarray], position: dict[str, int], gallery: np.ndarray,
            picked: np.ndarray) -> list[np.ndarray]:
    """The non-mate scores of each ``picked`` row against the gallery columns ``gallery`` (sorted
    positions): a mated probe's own column left out; none where undetected."""
    kept = []
    for row in picked:
        identity, every = rows["identity"].iat[row], scores[row]
        seen = gallery[gallery != position[identity]] if rows["probe_kind"].iat[row] == "mated" else gallery
        kept.append(every[seen] if every.size else every)
    return kept


def tail_check(rows: pd.DataFrame, columns: list[str], *, mated: int, nonmated: int, sizes: list[int],
               fpir: float, fractions: list[float], draws: int, resamples: int,
               seed: int) -> list[dict[str, object]]:
    """The database projection from draws of a default-design run (:func:`draw_run`) against the
    same mated probes' rate under the whole run's impostor scores against the same population of
    gallery people (the mated people's columns: a draw's gallery holds no one-image distractors),
    empirical (no tail fitted), as in the module docstring. One row per tail fraction and N: the
    mean error in points with its 95% interval (the spread over the draws and the reference's own,
    by a bootstrap of the whole run's people), the rms error, how many draws' intervals covered, the
    reference's mean rate, how many of its impostor scores lie above its threshold at that N
    (the fewer, the noisier the reference), and the mean error's part that is the draws'
    thresholds (the reference's rate with each draw's threshold, minus the reference's)."""
    scores = full_scores(rows, columns)
    position = {name: i for i, name in enumerate(columns)}
    is_mated = (rows["probe_kind"] == "mated").to_numpy()
    people = np.array(sorted(position[name] for name in set(rows.loc[is_mated, "identity"])))
    # The whole run's probes with their scores against its mated people only, empirical throughout.
    whole = Probes(rows.assign(nonmate_scores=against(rows, scores, position, people, np.arange(len(rows)))),
                   tail_fraction=0.0)
    reference = whole.impostor_model(np.arange(len(rows)))
    rng = np.random.default_rng(seed)
    estimates = {(f, size): [] for f in fractions for size in sizes}
    threshold_errors = {(f, size): [] for f in fractions for size in sizes}
    covered = {(f, size): 0 for f in fractions for size in sizes}
    drawn_mates = []
    for draw in range(draws):
        picked = draw_run(rows, scores, position, mated=mated, nonmated=nonmated, rng=rng)
        # One index array for the whole draw, so that Probes fits its impostor model once per
        # fraction (it keeps the fit of the last index array it was given).
        everyone = np.arange(len(picked))
        for fraction in fractions:
            probes = Probes(picked, tail_fraction=fraction)
            statistics = {size: probes.database(size, fpir) for size in sizes}
            intervals = subject_bootstrap(statistics, picked["identity"].to_numpy(),
                                          np.random.default_rng([seed, draw]), strata=probes.mated,
                                          n_resamples=resamples)
            model = probes.impostor_model(everyone)
            if model is None:
                raise SystemExit("a drawn run holds no impostor scores: draw more probes")
            mate, found = probes.mate_score[probes.mated], probes.detected[probes.mated]
            for size in sizes:
                truth = projection.database_hit_rate(mate, found, reference, gallery_size=size, fpir=fpir)
                low, high = intervals[size]
                estimates[(fraction, size)].append(statistics[size](everyone) - truth)
                covered[(fraction, size)] += int(low <= truth <= high)
                # The error's part that is the draw's threshold: the reference's rate (its rank-1
                # factor) with the draw's threshold; the rest is the draw's rank-1 factor's.
                above = mate > model.search_threshold(fpir=fpir, gallery_size=size)
                threshold_errors[(fraction, size)].append(projection.database_hit_rate(
                    mate, found & above, reference, gallery_size=size, fpir=None) - truth)
        drawn_mates.append((mate, found))

    def reference_rates(model: projection.ImpostorModel) -> np.ndarray:
        return np.array([np.mean([projection.database_hit_rate(mate, found, model, gallery_size=size, fpir=fpir)
                                  for mate, found in drawn_mates]) for size in sizes])

    # The reference's own sampling error: its people resampled (each probe repeated by its
    # person's copies, as a summary's bootstrap resample repeats it).
    person = np.unique(rows["identity"].to_numpy(), return_inverse=True)[1].ravel()
    boot = np.random.default_rng([seed, draws])
    resampled = []
    for _ in range(resamples):
        copies = np.bincount(boot.integers(0, person.max() + 1, person.max() + 1), minlength=person.max() + 1)
        resampled.append(reference_rates(whole.impostor_model(np.repeat(np.arange(len(rows)), copies[person]))))
    spread = np.std(resampled, axis=0, ddof=1)
    rates = reference_rates(reference)
    rows_out = []
    for f in fractions:
        for i, size in enumerate(sizes):
            errors = np.array(estimates[(f, size)])
            half = 1.96 * math.hypot(errors.std(ddof=1) / math.sqrt(draws), spread[i])
            rows_out.append({"fraction": f, "N": size, "large": float(rates[i]),
                             "resolved_by": int(np.sum(whole.impostor > reference.search_threshold(
                                 fpir=fpir, gallery_size=size))),
                             "mean_error": 100 * float(errors.mean()), "mean_error_half_width": 100 * half,
                             "rms_error": 100 * math.sqrt(float(np.mean(np.square(errors)))),
                             "threshold_error": 100 * float(np.mean(threshold_errors[(f, size)])),
                             "covered": covered[(f, size)]})
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run with a large gallery")
    parser.add_argument("--small", type=int, default=140, help="identities the projection may see")
    parser.add_argument("--sizes", type=int, nargs="*", default=[140, 1000])
    parser.add_argument("--fpir", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    tail = parser.add_argument_group("tail check")
    tail.add_argument("--draws", type=int, default=100, help="default-design runs drawn (0: no tail check)")
    tail.add_argument("--mated", type=int, default=140, help="mated probes per draw")
    tail.add_argument("--nonmated", type=int, default=100, help="non-mated probes per draw")
    tail.add_argument("--tail-sizes", type=int, nargs="+", default=[10**3])
    tail.add_argument("--tail-fractions", type=float, nargs="+", default=[projection.TAIL_FRACTION])
    tail.add_argument("--resamples", type=int, default=200, help="bootstrap resamples per draw")
    args = parser.parse_args()
    columns = gallery_columns(args.run) if args.draws else []
    for condition in store.read_json(args.run / "manifest.json")["conditions"]:
        rows = pd.read_parquet(store.condition_path(args.run, condition["id"]))
        print(f"{condition['label']}: {int((rows['probe_kind'] == 'mated').sum())} mated probes, projection from "
              f"{args.small} identities")
        for result in check(rows, args.small, args.sizes, args.fpir, args.seed):
            gap = 100 * (result["projected"] - result["direct"])
            print(f"  N = {result['N']:>6,}  {result['measure']:<40} direct {result['direct']:7.2%}  "
                  f"projected {result['projected']:7.2%}  ({gap:+.1f} points)")
        if args.draws:
            print(f"  1 - FNIR @ FPIR {args.fpir:g} from {args.draws} draws of {args.mated} mated probes (their "
                  f"people the gallery) and {args.nonmated} non-mated, against the same mated probes under the "
                  "whole run's impostor scores against its mated people, empirical:\n"
                  "  | tail fraction | N | whole run: rate (impostor scores above its threshold) | draw - whole "
                  "run: mean, points (95% interval: draws and whole run) | of which the threshold's | rms | 95% "
                  "intervals covering |\n"
                  "  | --- | --- | --- | --- | --- | --- | --- |")
            for r in tail_check(rows, columns, mated=args.mated, nonmated=args.nonmated,
                                sizes=args.tail_sizes, fpir=args.fpir, fractions=args.tail_fractions,
                                draws=args.draws, resamples=args.resamples, seed=args.seed):
                low, high = r["mean_error"] - r["mean_error_half_width"], r["mean_error"] + r["mean_error_half_width"]
                print(f"  | {r['fraction']:g} | {r['N']:,} | {r['large']:.1%} ({r['resolved_by']}) | "
                      f"{r['mean_error']:+.1f} ({low:+.1f} to {high:+.1f}) | {r['threshold_error']:+.1f} | "
                      f"{r['rms_error']:.1f} | {r['covered']}/{args.draws} |")


if __name__ == "__main__":
    main()
