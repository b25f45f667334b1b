"""Reading a finished run directory: everything the report shows comes from here.

The report reads only the run directory (see "The run directory" in docs/ARCHITECTURE.md), so
that a report can be rebuilt, and checked, from the directory alone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.errors import DataError
from evalharness.evaluation import store
from evalharness.evaluation.compare import read_summary
from evalharness.report.references import Reference, read_references


@dataclass(frozen=True)
class Run:
    """The contents of a run directory that the report uses.

    Attributes
    ----------
    root : Path
        The run directory.
    summary : pandas.DataFrame
        ``summary.csv``: one row per condition, ``condition_id`` a column.
    manifest : dict
        ``manifest.json``.
    experiment_text : str
        ``experiment.toml`` as written (the resolved experiment).
    experiment : dict
        ``experiment_text`` parsed.
    conditions : dict of str to dict
        ``conditions/<id>.json`` by condition id.
    references : dict of str to Reference
        ``references.toml`` (the bibliography the run stored); empty for a run that stored none.
    """

    root: Path
    summary: pd.DataFrame
    manifest: dict[str, Any]
    experiment_text: str
    experiment: dict[str, Any]
    conditions: dict[str, dict[str, Any]]
    references: dict[str, Reference] = field(default_factory=dict)

    def profile_file(self, name: str) -> Path | None:
        """The profile TOML as the run used it (with its source comments), ``profiles/<name>.toml``
        in the run directory; None when the run kept no copy (never today's shipped file)."""
        path = self.root / "profiles" / f"{name}.toml"
        return path if path.is_file() else None

    def probe_rows(self, condition_id: str, columns: list[str]) -> pd.DataFrame:
        """``columns`` of the condition's per-probe rows (``conditions/<id>.parquet``)."""
        path = self.root / "conditions" / f"{condition_id}.parquet"
        try:
            return pd.read_parquet(path, columns=columns)
        except (OSError, ValueError, KeyError) as error:
            raise DataError(f"{path}: per-probe rows missing or unreadable: {error}") from None

    @property
    def swept(self) -> list[str]:
        """The experiment's sweep axes besides distance (the curves' x axis), in table order:
        each of their values gets its own curve and contact sheet."""
        axes = {axis for block in self.experiment.get("grid", []) for axis in block.get("sweep", {})}
        return [column for column in self.summary.columns if column in axes and column != "distance_m"]


def read_run(run_dir: Path) -> Run:
    """Read the files of a finished run that the report needs.

    Raises
    ------
    DataError
        Naming the file when ``summary.csv``, ``manifest.json``, ``experiment.toml`` or a
        ``conditions/<id>.json`` of a summarised condition is missing or unreadable.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise DataError(f"{root}: no such run directory")
    summary = read_summary(root).reset_index()
    experiment_path = root / "experiment.toml"
    if not experiment_path.is_file():
        raise DataError(f"{experiment_path}: missing; is {root} a finished evalharness run directory?")
    experiment_text = experiment_path.read_text(encoding="utf-8")
    try:
        experiment = tomllib.loads(experiment_text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{experiment_path}: not valid TOML: {error}") from None
    conditions = {
        str(cid): store.read_json(root / "conditions" / f"{cid}.json") for cid in summary["condition_id"]
    }
    bibliography = root / "references.toml"
    references = read_references(bibliography) if bibliography.is_file() else {}
    return Run(root, summary, store.read_json(root / "manifest.json"), experiment_text, experiment, conditions,
               references)
