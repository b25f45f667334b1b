"""Page 1 of the report: the verdict on the claim, per camera profile at its installed position
and per usage scenario, with the probability, its interval, the rule and the validation status.

Everything comes from the run directory: the scenario columns of ``summary.csv`` (written under
:data:`evalharness.evaluation.scenarios.RULE`), the run's profile copies and manifest. The rule
and the scenarios' wording come from :mod:`evalharness.evaluation.scenarios`, the one place they
are declared; the verdict shown is recomputed from the stored interval under that rule, and a
stored verdict that disagrees is flagged rather than trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evalharness.config.loading import read_toml
from evalharness.config.scenarios import ScenarioSettings
from evalharness.evaluation.intervals import CLOPPER_PEARSON
from evalharness.evaluation.scenarios import RULE, SCENARIOS, Scenario
from evalharness.report.content import Installed, installed_positions
from evalharness.report.rundir import Run

NOT_VALIDATED = "not validated"


@dataclass(frozen=True)
class VerdictCell:
    """One scenario at one installed position, as the table prints it."""

    scenario: str
    p: str
    interval: str
    verdict: str


@dataclass(frozen=True)
class VerdictBlock:
    """One profile (and models) at its installed position: its scenarios, or why there are none."""

    profile: str
    recognizer: str
    position: str
    validation: str
    note: str
    cells: tuple[VerdictCell, ...]


def validation_status(run: Run, profile: str) -> str:
    """The profile's validation as the run recorded it: ``manifest.json`` ``validation.<profile>``,
    else a ``validation`` key in the run's copy of the profile file, else "not validated"."""
    recorded = run.manifest.get("validation", {})
    status = recorded.get(profile) if isinstance(recorded, Mapping) else None
    if status is None:
        path = run.profile_file(profile)
        status = read_toml(path).get("validation") if path else None
    if not status:
        return NOT_VALIDATED
    if isinstance(status, Mapping):
        return "; ".join(f"{key}: {value}" for key, value in status.items())
    return str(status)


def _percent(value: Any) -> str:
    return f"{100.0 * float(value):.1f}%"


def _cell(row: Mapping[str, Any], scenario: Scenario) -> VerdictCell:
    p = row.get(scenario.key)
    if p is None or pd.isna(p):
        return VerdictCell(scenario.label, "not computed by this run", "", "no verdict")
    low, high = row.get(f"{scenario.key}_ci_low"), row.get(f"{scenario.key}_ci_high")
    verdict = RULE.verdict(None if pd.isna(low) else float(low), None if pd.isna(high) else float(high))
    stored = row.get(f"{scenario.key}_verdict")
    if isinstance(stored, str) and stored != verdict:
        verdict += f" (the run stored {stored!r}: a different rule)"
    method = " (exact binomial)" if row.get(f"{scenario.key}_interval") == CLOPPER_PEARSON else ""
    interval = "no interval" if pd.isna(low) else f"{_percent(low)}–{_percent(high)}{method}"
    return VerdictCell(scenario.label, _percent(p), interval, verdict)


def _block(run: Run, place: Installed) -> VerdictBlock:
    row = place.row or {}
    position = f"{place.nominal_distance_m:g} m"
    if row:
        position += f", IED {float(row['ied_px']):.1f} px"
        captures = row.get("best_of_k_captures_m")
        if isinstance(captures, str) and captures:
            position += f"; best of k from captures at {captures.replace(' ', ', ')} m"
    cells = () if not place.rated else tuple(_cell(row, scenario) for scenario in SCENARIOS)
    return VerdictBlock(place.profile, place.recognizer, position, validation_status(run, place.profile),
                        place.note, cells)


def verdict_blocks(run: Run) -> list[VerdictBlock]:
    """The page-1 table: one block per profile (and models) at its installed position."""
    return [_block(run, place) for place in installed_positions(run)]


def scenario_methods(run: Run) -> list[dict[str, str]]:
    """Each scenario's question and method, with the run's scenario settings."""
    settings = ScenarioSettings.model_validate(run.experiment.get("scenarios", {}))
    return [{"label": s.label, "key": s.key, "question": s.question, "method": s.method(settings)}
            for s in SCENARIOS]


def rule_text() -> dict[str, str]:
    """The verdict rule, its source and its alternatives, for page 1 and the methods."""
    return {"rule": RULE.explain(), "source": f"[REF: {RULE.source}]", "alternatives": RULE.alternatives}
