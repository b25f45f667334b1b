"""Compare two runs' summaries: did the same experiment give the same numbers?

Used to check a GPU run against a committed CPU reference (``evalharness compare``). Rows are
matched by ``condition_id``; every metric that has a confidence interval (``<m>_ci_low`` and
``<m>_ci_high`` columns) is compared. Where both runs' manifests record what computed them
(:func:`arithmetic`), a difference of device or processor is named (:meth:`Arithmetic.difference`),
as it can flip a probe near a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evalharness.errors import DataError
from evalharness.evaluation import store


#: The condition of a :class:`Difference` that is a metric column only one run has.
EVERY_CONDITION = "(every condition)"


@dataclass(frozen=True)
class Difference:
    """One metric of one condition that differs beyond the allowed amount; with ``only_in``, a
    condition (metric ``(condition missing)``) or a metric (condition :data:`EVERY_CONDITION`)
    that only that run has."""

    condition_id: str
    metric: str
    value_a: float
    value_b: float
    allowed: float
    only_in: Literal["a", "b"] | None = None


def read_summary(run_dir: Path) -> pd.DataFrame:
    """Read ``RUN_DIR/summary.csv``, raising :class:`DataError` naming it when unusable."""
    path = Path(run_dir) / "summary.csv"
    if not path.is_file():
        raise DataError(f"{path}: no summary.csv; is {run_dir} a finished run directory?")
    try:
        table = pd.read_csv(path, dtype={"condition_id": str})  # hex ids such as 012345678901 stay text
    except ValueError as error:  # pandas' parser errors and UnicodeDecodeError are ValueErrors
        raise DataError(f"{path}: not a readable CSV table ({error}); rerun the run to rewrite "
                        "it") from None
    if "condition_id" not in table.columns:
        raise DataError(f"{path}: no condition_id column; not a summary written by evalharness")
    if (repeated := table["condition_id"][table["condition_id"].duplicated()]).size:
        raise DataError(f"{path}: condition {repeated.iloc[0]} has more than one row; rerun the run to "
                        "rewrite it")
    for column in (c for metric in metrics_with_intervals(table)
                   for c in (metric, f"{metric}_ci_low", f"{metric}_ci_high")):
        numbers = pd.to_numeric(table[column], errors="coerce")
        if (bad := table[column][numbers.isna() & table[column].notna()]).size:
            raise DataError(f"{path}: {column} of condition {table['condition_id'][bad.index[0]]} is "
                            f"{bad.iloc[0]!r}, not a number; rerun the run to rewrite it")
        table[column] = numbers
    return table.set_index("condition_id")


def metrics_with_intervals(table: pd.DataFrame) -> list[str]:
    """Metric columns that come with ``_ci_low`` / ``_ci_high`` columns, in table order."""
    return [c for c in table.columns if f"{c}_ci_low" in table.columns and f"{c}_ci_high" in table.columns]


def compare_summaries(
    a: pd.DataFrame, b: pd.DataFrame, tolerance: float = 0.0, within_ci: bool = False
) -> list[Difference]:
    """Metrics of conditions present in both runs that differ beyond what is allowed.

    Parameters
    ----------
    a, b : summaries indexed by ``condition_id`` (from :func:`read_summary`).
    tolerance : absolute difference allowed on every metric (rates are in [0, 1]).
    within_ci : also allow, per metric, the wider of the two runs' 95% interval widths; this
        is how a GPU run is judged against a CPU reference (floating-point order differs). A
        metric that only one run could estimate (the other's is NaN) is then not a difference.

    Conditions present in only one run are reported as differences with NaN values and
    ``only_in`` saying which run has them.
    """
    differences = []
    for condition in sorted(set(a.index) ^ set(b.index)):
        differences.append(Difference(str(condition), "(condition missing)", np.nan, np.nan, 0.0,
                                      "a" if condition in a.index else "b"))
    metrics = {"a": metrics_with_intervals(a), "b": metrics_with_intervals(b)}
    for run, other in (("a", "b"), ("b", "a")):  # a metric one run lacks is not an agreement
        differences += [Difference(EVERY_CONDITION, metric, np.nan, np.nan, 0.0, run)
                        for metric in metrics[run] if metric not in metrics[other]]
    for condition in sorted(set(a.index) & set(b.index)):
        row_a, row_b = a.loc[condition], b.loc[condition]
        for metric in (m for m in metrics["a"] if m in metrics["b"]):
            value_a, value_b = float(row_a[metric]), float(row_b[metric])
            allowed = tolerance
            if within_ci:
                widths = [row[f"{metric}_ci_high"] - row[f"{metric}_ci_low"] for row in (row_a, row_b)]
                allowed += float(np.nanmax(widths)) if not np.all(np.isnan(widths)) else 0.0
            undefined = np.isnan(value_a), np.isnan(value_b)
            if within_ci and undefined[0] != undefined[1]:
                # A rate one run could not estimate (no cases: rank-1 of the detected when none was
                # detected) has the whole range as its interval. The disagreement shows in the rate
                # that counts those cases (detection_rate), which is compared on its own.
                continue
            if not all(undefined) and not abs(value_a - value_b) <= allowed:
                differences.append(Difference(str(condition), metric, value_a, value_b, allowed))
    return differences


@dataclass(frozen=True)
class Arithmetic:
    """What computed a run (its manifest's ``device`` and ``environment.processor``, written by
    :func:`~evalharness.evaluation.manifest.processor`): ``processor``, its model name;
    ``vector_extensions``, sorted; ``kernels``, torch's kernel capability and the kernel variables
    that were set, as sorted (name, value) pairs."""

    device: str
    processor: str | None
    vector_extensions: tuple[str, ...]
    kernels: tuple[tuple[str, str], ...]

    def difference(self, other: Arithmetic) -> str | None:
        """How ``other`` (the second run) differs, in words; None when alike."""
        if self.device != other.device:
            return f"devices {self.device} and {other.device}"
        if self.processor != other.processor:
            return f"processors {self.processor} and {other.processor}"
        if self.vector_extensions != other.vector_extensions:
            mine, theirs = set(self.vector_extensions), set(other.vector_extensions)
            return (f"vector instruction sets (first run only: {' '.join(sorted(mine - theirs)) or 'none'}; "
                    f"second run only: {' '.join(sorted(theirs - mine)) or 'none'})")
        if self.kernels != other.kernels:
            return "kernel choices " + " and ".join(", ".join(f"{name} {value}" for name, value in run.kernels)
                                                    for run in (self, other))
        return None


def arithmetic(run_dir: Path) -> Arithmetic | None:
    """What computed a run, from its ``manifest.json``; None where the run directory records no
    processor (a summary alone, as the committed reference, or a run made before session 21)."""
    try:
        written = store.read_json(Path(run_dir) / "manifest.json")
        processor = written["environment"]["processor"]
        kernels = {"torch": processor["torch_capability"], **processor["kernel_variables"]}
        return Arithmetic(str(written["device"]), processor["model"], tuple(sorted(processor["vector_extensions"])),
                          tuple(sorted((str(k), str(v)) for k, v in kernels.items())))
    except (DataError, KeyError, TypeError, AttributeError):
        return None
