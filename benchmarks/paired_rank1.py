"""Paired rank-1 difference between two runs of the same experiment and split.

Made for checking a faster computation against the exact one (bf16 against float32
embeddings): run the experiment twice, changing only how embeddings are computed, so every probe
is degraded identically (conditions pair up in grid order; their camera noise is the same), then
compare each mated probe-condition's rank-1 outcome. Prints the pooled rank-1 of each run, the
difference with a 95% interval from a bootstrap over people (each person's probes appear in
every condition, so they are resampled together), the discordant probes, how far mate scores
moved, and the conditions whose rank-1 moved most.

Example::

    evalharness run configs/experiments/default.toml --out /tmp/fp32 --no-report
    evalharness run configs/experiments/default.toml --out /tmp/bf16 --no-report \\
        --set recognizer_options.numerics=bf16
    .venv/bin/python benchmarks/paired_rank1.py /tmp/fp32 /tmp/bf16
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.evaluation import store


def mated_rows(run: Path, position: dict[str, int]) -> pd.DataFrame:
    """The run's mated rows, with each condition's position in the grid."""
    rows = store.read_rows(run, list(position))
    rows = rows[rows["probe_kind"] == "mated"].copy()
    rows["position"] = rows["condition_id"].map(position)
    rows["rank1"] = (rows["mate_rank"] == 1).fillna(False).astype(bool)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_a", type=Path, help="the reference run (e.g. float32)")
    parser.add_argument("run_b", type=Path, help="the run to check (e.g. bf16)")
    parser.add_argument("--resamples", type=int, default=10_000)
    args = parser.parse_args()
    grids = [store.read_json(run / "manifest.json")["conditions"] for run in (args.run_a, args.run_b)]
    if len(grids[0]) != len(grids[1]):
        parser.error("the runs have different numbers of conditions: not the same experiment")
    a, b = (mated_rows(run, {c["id"]: i for i, c in enumerate(grid)})
            for run, grid in zip((args.run_a, args.run_b), grids, strict=True))
    both = a.merge(b, on=["position", "relpath"], suffixes=("_a", "_b"))
    if not len(both) == len(a) == len(b):
        parser.error("the runs' mated probes differ: not the same split")
    ra, rb = both["rank1_a"].to_numpy(), both["rank1_b"].to_numpy()
    print(f"mated probe-conditions: {len(both):,} ({len(grids[0])} conditions)")
    print(f"detection differs on {(both['detected_a'] != both['detected_b']).sum()} probe-conditions")
    print(f"pooled rank-1: A {ra.mean():.3%}, B {rb.mean():.3%}, B - A {100 * (rb.mean() - ra.mean()):+.3f} points")
    print(f"right only in A: {(ra & ~rb).sum()}, only in B: {(rb & ~ra).sum()}")
    moved = (both["mate_score_b"] - both["mate_score_a"]).abs().dropna()
    print(f"mate score |B - A|: median {moved.median():.1e}, max {moved.max():.1e}")

    per_person = pd.DataFrame({"identity": both["identity_a"], "d": rb.astype(float) - ra.astype(float)})
    per_person = per_person.groupby("identity")["d"].agg(["sum", "count"])
    rng = np.random.default_rng(0)
    draw = rng.integers(0, len(per_person), size=(args.resamples, len(per_person)))
    sums, counts = per_person["sum"].to_numpy(), per_person["count"].to_numpy()
    low, high = np.percentile(100 * sums[draw].sum(1) / counts[draw].sum(1), [2.5, 97.5])
    print(f"B - A, 95% interval (bootstrap over {len(per_person)} people, {args.resamples:,} resamples): "
          f"{low:+.3f} to {high:+.3f} points")

    labels = {i: c["label"] for i, c in enumerate(grids[0])}
    per_condition = both.groupby("position")[["rank1_a", "rank1_b"]].mean() * 100
    per_condition["B - A"] = per_condition["rank1_b"] - per_condition["rank1_a"]
    print(f"conditions with the same rank-1: {(per_condition['B - A'] == 0).sum()} of {len(per_condition)}; "
          f"largest moves (points):")
    largest = per_condition.reindex(per_condition["B - A"].abs().sort_values(ascending=False).index).head(5)
    for position, row in largest.iterrows():
        print(f"  {labels[position]}: {row['rank1_a']:.2f} -> {row['rank1_b']:.2f} ({row['B - A']:+.2f})")


if __name__ == "__main__":
    main()
