"""How many probe-conditions an experiment evaluates, counted as ``evalharness run`` expands it.

Prints one line: conditions, probes per condition and their product, for the experiment as
written or with ``--limit N`` probes per condition (the run's seeded choice).

Example::

    .venv/bin/python benchmarks/experiment_size.py configs/experiments/large.toml --limit 32
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evalharness.config.experiment import load_experiment, resolve_dataset
from evalharness.data.folder import open_dataset
from evalharness.evaluation.conditions import build_grid
from evalharness.evaluation.protocol import build_split, limit_probes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="at most N probes per condition, as run --limit")
    args = parser.parse_args(argv)
    experiment = load_experiment(args.experiment, {} if args.limit is None else {"limit": args.limit})
    grid = build_grid(experiment, str(args.experiment))
    dataset = open_dataset(resolve_dataset(experiment, args.experiment))
    split = limit_probes(build_split(dataset.records, experiment.protocol, experiment.seed),
                         experiment.limit, experiment.seed)
    probes = len(split.probes())
    print(f"{args.experiment}: {len(grid)} conditions x {probes} probes = {len(grid) * probes} probe-conditions")


if __name__ == "__main__":
    main()
