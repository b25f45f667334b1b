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
script rebuilds from the run's experiment and dataset), projects 1 - FNIR at FPIR in galleries of
each ``--tail-sizes`` N from each draw, with the subject-bootstrap 95% interval the run's summary
would report, and compares both with the same mated probes' rate under the whole large run's
impostor scores as they are, with no tail fitted (millions of scores: they resolve per-identity
exceedances down to a few over their number, where a draw's resolve a few over tens of
thousands; the table gives how many lie above each threshold). The gap is the error of the tail's
extrapolation (the mated scores are the same on both sides); the count of draws whose interval
covers the large run's rate is the interval's coverage. ``--tail-fractions`` compares tail
thresholds other than the shipped ``projection.TAIL_FRACTION``.

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
from evalharness.evaluation.intervals import subject_bootstrap, wilson_interval
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
    rebuilt as the runner builds it (the dataset must be where the run's experiment.toml says)."""
    path = run / "experiment.toml"
    experiment = load_experiment(path)
    dataset = open_dataset(resolve_dataset(experiment, path))
    views = dataset.views if uses_views(experiment.protocol) else None
    return build_split(dataset.records, experiment.protocol, experiment.seed, views).gallery_identities()


def draw_run(rows: pd.DataFrame, columns: list[str], *, mated: int, nonmated: int,
             rng: np.random.Generator) -> pd.DataFrame:
    """A run of the default experiment's design drawn from a large one: ``mated`` mated probes of
    different people, whose people alone form the gallery, and ``nonmated`` non-mated probes, each
    probe's non-mate scores those against that gallery (as the small run scores them)."""
    position = {name: i for i, name in enumerate(columns)}
    is_mated = (rows["probe_kind"] == "mated").to_numpy()
    first_probe: dict[str, int] = {}
    for row in np.flatnonzero(is_mated):
        first_probe.setdefault(rows["identity"].iat[row], int(row))
    people = rng.choice(sorted(first_probe), mated, replace=False)
    picked = rows.iloc[np.concatenate([[first_probe[name] for name in people],
                                       rng.choice(np.flatnonzero(~is_mated), nonmated, replace=False)])]
    gallery = np.sort([position[name] for name in people])
    scores = []
    for kind, identity, mate, stored in zip(picked["probe_kind"], picked["identity"], picked["mate_score"],
                                            picked["nonmate_scores"], strict=True):
        stored = np.asarray(stored, np.float64)
        if stored.size == 0:  # undetected: no scores
            scores.append(stored)
            continue
        own = position.get(identity) if kind == "mated" else None
        if stored.size != len(columns) - (own is not None):
            raise SystemExit("the run keeps a sample of the non-mate scores (nonmate_scores_kept): "
                             "the tail check needs them all")
        every = stored if own is None else np.insert(stored, own, mate)
        scores.append(every[gallery[gallery != own]])
    return picked.assign(nonmate_scores=scores).reset_index(drop=True)


def tail_check(rows: pd.DataFrame, columns: list[str], *, mated: int, nonmated: int, sizes: list[int],
               fpir: float, fractions: list[float], draws: int, resamples: int,
               seed: int) -> list[dict[str, object]]:
    """The database projection from draws of a default-sized run (:func:`draw_run`) against the
    same mated probes' rate under the whole run's impostor scores, empirical (no tail fitted), as
    in the module docstring: one row per tail fraction and N, with the mean error and its standard
    error and the rms error in points, how many draws' intervals covered, the large run's mean rate,
    and how many of its impostor scores lie above its threshold at that N (the fewer, the noisier
    the large run's own rate)."""
    everything = Probes(rows)
    large = projection.fit_impostors(everything.impostor, presorted=True, tail_fraction=0.0)
    rng = np.random.default_rng(seed)
    errors = {(f, size): [] for f in fractions for size in sizes}
    covered = {(f, size): 0 for f in fractions for size in sizes}
    direct = {size: [] for size in sizes}
    for draw in range(draws):
        picked = draw_run(rows, columns, mated=mated, nonmated=nonmated, rng=rng)
        for fraction in fractions:
            probes = Probes(picked, tail_fraction=fraction)
            statistics = {size: probes.database(size, fpir) for size in sizes}
            intervals = subject_bootstrap(statistics, picked["identity"].to_numpy(),
                                          np.random.default_rng([seed, draw]), strata=probes.mated,
                                          n_resamples=resamples)
            for size in sizes:
                truth = projection.database_hit_rate(probes.mate_score[probes.mated], probes.detected[probes.mated],
                                                     large, gallery_size=size, fpir=fpir)
                low, high = intervals[size]
                errors[(fraction, size)].append(statistics[size](np.arange(len(picked))) - truth)
                covered[(fraction, size)] += int(low <= truth <= high)
                if fraction == fractions[0]:
                    direct[size].append(truth)
    per_identity = {size: -math.expm1(math.log1p(-fpir) / size) for size in sizes}
    return [{"fraction": f, "N": size, "large": float(np.mean(direct[size])),
             "resolved_by": int(np.sum(everything.impostor > large.quantile_above(per_identity[size]))),
             "mean_error": 100 * float(np.mean(errors[(f, size)])),
             "mean_error_se": 100 * float(np.std(errors[(f, size)], ddof=1) / math.sqrt(draws)),
             "rms_error": 100 * math.sqrt(float(np.mean(np.square(errors[(f, size)])))),
             "covered": covered[(f, size)]} for f in fractions for size in sizes]


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
    tail.add_argument("--tail-sizes", type=int, nargs="*", default=[10**3, 10**4])
    tail.add_argument("--tail-fractions", type=float, nargs="*", default=[projection.TAIL_FRACTION])
    tail.add_argument("--resamples", type=int, default=200, help="bootstrap resamples per draw")
    args = parser.parse_args()
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
                  f"whole run's {len(rows):,} probes' impostor scores, empirical:\n"
                  "  | tail fraction | N | whole run: rate (impostor scores above its threshold) | draw - whole "
                  "run: mean (its standard error), points | rms | 95% intervals covering (Wilson 95%) |\n"
                  "  | --- | --- | --- | --- | --- | --- |")
            columns = gallery_columns(args.run)
            for r in tail_check(rows, columns, mated=args.mated, nonmated=args.nonmated,
                                sizes=args.tail_sizes, fpir=args.fpir, fractions=args.tail_fractions,
                                draws=args.draws, resamples=args.resamples, seed=args.seed):
                low, high = wilson_interval(r["covered"], args.draws)
                print(f"  | {r['fraction']:g} | {r['N']:,} | {r['large']:.1%} ({r['resolved_by']}) | "
                      f"{r['mean_error']:+.1f} ({r['mean_error_se']:.1f}) | {r['rms_error']:.1f} | "
                      f"{r['covered']}/{args.draws} ({low:.0%}-{high:.0%}) |")

if __name__ == "__main__":
    main()
