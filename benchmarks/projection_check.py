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

Example (the 4,038 people of LFW's development-training split; about 20 min on 2 CPU cores)::

    evalharness run benchmarks/projection_check.toml --out /tmp/projection --no-report \\
        --set dataset=/path/to/lfw-devtrain/images
    .venv/bin/python benchmarks/projection_check.py /tmp/projection --small 140
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.evaluation import metrics, projection, store


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run with a large gallery")
    parser.add_argument("--small", type=int, default=140, help="identities the projection may see")
    parser.add_argument("--sizes", type=int, nargs="*", default=[140, 1000])
    parser.add_argument("--fpir", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for condition in store.read_json(args.run / "manifest.json")["conditions"]:
        rows = pd.read_parquet(store.condition_path(args.run, condition["id"]))
        print(f"{condition['label']}: {int((rows['probe_kind'] == 'mated').sum())} mated probes, projection from "
              f"{args.small} identities")
        for result in check(rows, args.small, args.sizes, args.fpir, args.seed):
            gap = 100 * (result["projected"] - result["direct"])
            print(f"  N = {result['N']:>6,}  {result['measure']:<40} direct {result['direct']:7.2%}  "
                  f"projected {result['projected']:7.2%}  ({gap:+.1f} points)")


if __name__ == "__main__":
    main()
