"""How the police would use a captured face, and the rule that turns each rate into a verdict.

The claim under test (the Metropolitan Police to Sky News, 2023) is that ANPR images are
"highly unlikely to be of sufficient quality to identify the driver". :data:`SCENARIOS` declares
the ways such an image would be used, each with the probability ``p`` that one captured pass
identifies the driver; :data:`RULE` maps the claim's words onto the UK intelligence community's
probability yardstick (PHIA: "highly unlikely" is 20% or less) and is fixed here, before any data,
not a setting. The summary (one ``<key>``, ``<key>_ci_low``, ``<key>_ci_high``, ``<key>_interval``,
``<key>_verdict`` column per scenario; nested under ``scenarios`` in summary.json), the report and
the tests all read these two declarations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalharness.config.scenarios import ScenarioSettings
from evalharness.evaluation import projection
from evalharness.evaluation.probes import Probes, Rate

#: The verdicts, in the order the report explains them.
CONTRADICTED, SUPPORTED, UNDECIDED = "contradicted", "supported", "undecided"


@dataclass(frozen=True)
class VerdictRule:
    """The claim's words as a probability bound, and the verdict an interval gives.

    Contradicted when the whole 95% interval lies above ``bound`` (``ci_low > bound``); supported
    when it lies at or below it (``ci_high <= bound``); otherwise undecided, as is a rate without
    an interval.
    """

    words: str
    bound: float
    source: str  # a key of docs/references.toml
    alternatives: str

    def verdict(self, ci_low: float | None, ci_high: float | None) -> str:
        if ci_low is None or ci_high is None or math.isnan(ci_low) or math.isnan(ci_high):
            return UNDECIDED
        if ci_low > self.bound:
            return CONTRADICTED
        if ci_high <= self.bound:
            return SUPPORTED
        return UNDECIDED

    def explain(self) -> str:
        """The rule in one sentence for the report."""
        return (f"The claim's words \"{self.words}\" mean a probability of {self.bound:.0%} or less on the "
                f"PHIA probability yardstick. A verdict is {CONTRADICTED} when the 95% interval's lower bound "
                f"exceeds {self.bound:.0%}, {SUPPORTED} when its upper bound is at or below {self.bound:.0%}, "
                f"and {UNDECIDED} otherwise.")


RULE = VerdictRule(
    words="highly unlikely",
    bound=0.20,
    source="phia-yardstick",
    alternatives=("Stricter readings would move the bound down: \"remote chance\" is 5% or less on the same "
                  "yardstick; a reading as \"less likely than not\" would move it up to 50%. The verdict "
                  "columns can be recomputed under either from the stored intervals."),
)


@dataclass(frozen=True)
class Scenario:
    """One use of a captured face: what ``p`` means and how it is computed from a condition.

    ``rate(probes, settings)`` returns the rate as a function of a resample's index array.
    ``trials`` names the summary column counting the attempts (for the exact interval when the
    bootstrap collapses).
    """

    key: str
    label: str
    question: str
    method: Callable[[ScenarioSettings], str]
    rate: Callable[[Probes, ScenarioSettings], Rate]
    trials: str = "n_mated"


def _household(probes: Probes, settings: ScenarioSettings) -> Rate:
    chances = projection.household_chances(probes.mate_score, probes.detected, probes.nonmate_lists,
                                           household_size=settings.household_size)
    return probes.mean_of(chances)


def _best_of_k(probes: Probes, settings: ScenarioSettings) -> Rate:
    if probes.best_of_k is None:
        return lambda idx: math.nan
    return probes.mean_of(probes.best_of_k.astype(np.float64))


def _database(size: int) -> Scenario:
    exponent = round(math.log10(size))
    return Scenario(
        key=f"database_1e{exponent}",
        label=f"Database search (1:{size:,})",
        question=(f"The face is searched against a database of 10^{exponent} people that holds the driver; "
                  "identified when the driver is the top candidate and scores above the threshold that "
                  "keeps false candidates for people not in the database to the stated rate."),
        method=lambda s, size=size: (
            f"1 - FNIR(N = {size:,}, R = 1, T) at FPIR {s.database_fpir:g}, projected from the condition's "
            "measured mated scores and pooled non-mated scores (non-mate scores taken as independent "
            "draws from one distribution; empirical body, generalised Pareto tail above the highest "
            f"{projection.TAIL_FRACTION:.0%}; see evaluation/projection.py)."),
        rate=lambda probes, s, size=size: probes.database(size, s.database_fpir),
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        key="keeper_1to1",
        label="Keeper check (1:1)",
        question=("The plate gives the registered keeper; the face is compared with one enrolment photograph "
                  "(for example the keeper's driving-licence photograph)."),
        method=lambda s: (f"True-accept rate at a false-accept rate of {s.keeper_far:g}: genuine comparisons "
                          "accepted at the threshold set on the condition's impostor comparisons; an undetected "
                          "face is a rejection."),
        rate=lambda probes, s: probes.tar(s.keeper_far),
    ),
    Scenario(
        key="household",
        label="Household (1:few)",
        question="The face is compared with the keeper's household or named drivers, the driver among them.",
        method=lambda s: (f"Rank-1 identification in a gallery of {s.household_size}: each probe's chance that "
                          f"its mate outscores {s.household_size - 1} people drawn at random from the run's "
                          "gallery (exact, from its stored scores), averaged; an undetected face is a miss."),
        rate=_household,
    ),
    *(_database(size) for size in (10**3, 10**5, 10**7)),
    Scenario(
        key="best_of_k",
        label="Several captures per pass",
        question=("The camera keeps several photographs of one pass; the driver is identified if any of them "
                  "is identified."),
        method=lambda s: (f"Rank 1 in the run's gallery in at least one of k = {s.captures_per_pass} captures: "
                          "this condition and the next farther distances of the same camera evaluated in the "
                          "run with the face in frame (the vehicle approaching), the same source photograph "
                          "in each (same pose), camera noise drawn independently per capture. Captures are "
                          "the run's swept distances, not frames simulated at the camera's frame rate."),
        rate=_best_of_k,
    ),
)

SCENARIO_KEYS: tuple[str, ...] = tuple(s.key for s in SCENARIOS)
#: The per-scenario summary columns besides ``<key>`` itself.
FIELDS = ("ci_low", "ci_high", "interval", "verdict")


def scenario_rates(probes: Probes, settings: ScenarioSettings) -> dict[str, Rate]:
    """Each scenario's rate function for one condition, keyed as the summary columns."""
    return {scenario.key: scenario.rate(probes, settings) for scenario in SCENARIOS}


@dataclass(frozen=True)
class Capture:
    """Where a condition sits along a camera's approach: its series (same camera and models, the
    same values of every swept setting but distance), distance and whether the face is in frame."""

    condition_id: str
    series: tuple[Any, ...]
    distance_m: float
    face_in_frame: bool


def approach_captures(spots: Sequence[Capture], k: int) -> dict[str, list[str]]:
    """For each condition, the ids of the ``k`` captures of one pass: itself, then the nearest
    farther conditions of its series with the face in frame (fewer when the run has fewer)."""
    captures = {}
    for spot in spots:
        farther = sorted((s for s in spots if s.series == spot.series and s.distance_m > spot.distance_m
                          and s.face_in_frame), key=lambda s: s.distance_m)
        captures[spot.condition_id] = [spot.condition_id] + [s.condition_id for s in farther[: k - 1]]
    return captures


def best_of_k_hits(rows: Mapping[str, pd.DataFrame], captures: Mapping[str, list[str]]) -> dict[str, np.ndarray]:
    """Per condition, whether each of its probes is identified at rank 1 in any of its captures.

    Probes are matched across conditions by ``relpath`` (every condition of a run evaluates the
    same probes); a probe missing from a capture counts as not identified there.
    """
    hit = {cid: pd.Series(table["detected"].to_numpy(bool) & (table["mate_rank"].fillna(0).to_numpy() == 1),
                          index=table["relpath"].to_numpy())
           for cid, table in rows.items()}
    out = {}
    for cid, ids in captures.items():
        relpaths = rows[cid]["relpath"].to_numpy()
        any_hit = np.zeros(relpaths.size, dtype=bool)
        for other in ids:
            any_hit |= hit[other].reindex(relpaths, fill_value=False).to_numpy(bool)
        out[cid] = any_hit
    return out


def nest(record: Mapping[str, Any]) -> dict[str, Any]:
    """A summary.json row with the flat scenario columns gathered under ``scenarios``:
    ``{key: {"p", "ci_low", "ci_high", "interval", "verdict"}}``."""
    flat = {f"{key}_{field}" for key in SCENARIO_KEYS for field in FIELDS} | set(SCENARIO_KEYS)
    nested = {key: {"p": record.get(key), **{field: record.get(f"{key}_{field}") for field in FIELDS}}
              for key in SCENARIO_KEYS if key in record}
    out = {name: value for name, value in record.items() if name not in flat}
    if nested:
        out["scenarios"] = nested
    return out
