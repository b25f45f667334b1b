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
draws runs of the default experiment's size from the large one (``--mated`` mated and
``--nonmated`` non-mated probes of different people, each with the scores of ``--small - 1``
random non-mates, as that run measures them), projects 1 - FNIR at FPIR in galleries of each
``--tail-sizes`` N from each draw, with the subject-bootstrap 95% interval the run's summary would
report, and compares both with the same probes' rate under the impostor distribution of the whole
large run (millions of scores: it resolves per-identity exceedances down to about one over their
number, where the draw's resolve one over tens of thousands). The gap is the error of the tail's
extrapolation alone (the mated scores are the same on both sides); the share of draws whose
interval covers the large run's rate is the interval's coverage. ``--tail-fractions`` compares
tail thresholds other than the shipped ``projection.TAIL_FRACTION``.

Example (the 4,038 people of LFW's development-training split; 4 min on 2 CPU cores with the
gallery's embeddings cached, the tail check 5 s per condition and tail fraction)::

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

from evalharness.evaluation import metrics, projection, store
from evalharness.evaluation.intervals import subject_bootstrap
from evalharness.evaluation.probes import Probes


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


def tail_check(rows: pd.DataFrame, *, small: int, mated: int, nonmated: int, sizes: list[int], fpir: float,
               fractions: list[float], draws: int, resamples: int, seed: int) -> list[dict[str, object]]:
    """The database projection from draws of a default-sized run against the whole run's impostor
    distribution (see the module docstring): one row per tail fraction and N, with the mean and
    rms error in points, the share of draws whose interval covers, the large run's mean rate, and
    how many of its impostor scores lie above its own threshold at that N (the larger, the better
    resolved the comparison)."""
    everything = Probes(rows)
    large = projection.fit_impostors(everything.impostor, presorted=True)
    thresholds = {size: large.quantile_above(-math.expm1(math.log1p(-fpir) / size)) for size in sizes}
    mated_rows = np.flatnonzero((rows["probe_kind"] == "mated").to_numpy())
    nonmated_rows = np.flatnonzero((rows["probe_kind"] != "mated").to_numpy())
    rng = np.random.default_rng(seed)
    errors = {(f, size): [] for f in fractions for size in sizes}
    covered = {(f, size): [] for f in fractions for size in sizes}
    direct = {size: [] for size in sizes}
    for draw in range(draws):
        picked = rows.iloc[np.concatenate([rng.choice(mated_rows, mated, replace=False),
                                           rng.choice(nonmated_rows, nonmated, replace=False)])]
        picked = picked.assign(nonmate_scores=keep_some([np.asarray(s, np.float64) for s in picked["nonmate_scores"]],
                                                        small - 1, rng)).reset_index(drop=True)
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
                covered[(fraction, size)].append(low <= truth <= high)
                if fraction == fractions[0]:
                    direct[size].append(truth)
    return [{"fraction": f, "N": size, "large": float(np.mean(direct[size])),
             "resolved_by": int(np.sum(everything.impostor > thresholds[size])),
             "mean_error": 100 * float(np.mean(errors[(f, size)])),
             "rms_error": 100 * math.sqrt(float(np.mean(np.square(errors[(f, size)])))),
             "coverage": float(np.mean(covered[(f, size)]))} for f in fractions for size in sizes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run with a large gallery")
    parser.add_argument("--small", type=int, default=140, help="identities the projection may see")
    parser.add_argument("--sizes", type=int, nargs="*", default=[140, 1000])
    parser.add_argument("--fpir", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    tail = parser.add_argument_group("tail check")
    tail.add_argument("--draws", type=int, default=30, help="default-sized runs drawn (0: no tail check)")
    tail.add_argument("--mated", type=int, default=140, help="mated probes per draw")
    tail.add_argument("--nonmated", type=int, default=100, help="non-mated probes per draw")
    tail.add_argument("--tail-sizes", type=int, nargs="*", default=[10**3, 10**4, 10**5])
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
            print(f"  1 - FNIR @ FPIR {args.fpir:g} from {args.draws} draws of {args.mated} mated and {args.nonmated} "
                  f"non-mated probes, against the whole run's {len(rows):,} probes' impostor scores:\n"
                  "  | tail fraction | N | whole run: rate (impostor scores above its threshold) | draw - whole "
                  "run: mean (points) | rms | 95% intervals covering |\n  | --- | --- | --- | --- | --- | --- |")
            for r in tail_check(rows, small=args.small, mated=args.mated, nonmated=args.nonmated,
                                sizes=args.tail_sizes, fpir=args.fpir, fractions=args.tail_fractions,
                                draws=args.draws, resamples=args.resamples, seed=args.seed):
                print(f"  | {r['fraction']:g} | {r['N']:,} | {r['large']:.1%} ({r['resolved_by']}) | "
                      f"{r['mean_error']:+.1f} | {r['rms_error']:.1f} | {r['coverage']:.0%} |")


if __name__ == "__main__":
    main()
