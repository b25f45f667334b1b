"""One summary row per condition, from that condition's per-probe rows.

Columns of ``summary.csv`` / ``summary.json`` (rates are fractions in [0, 1]; every rate ``m``
has ``m_ci_low`` and ``m_ci_high``, a 95% percentile interval from a bootstrap over subjects,
mated and non-mated subjects resampled separately; plain proportions also carry a Wilson
interval ``m_wilson_low`` / ``m_wilson_high`` that treats probes as independent):

- ``condition_id``, ``label``, ``profile``, ``recognizer``, ``detector``, ``probe_mode``,
  ``upscale``, every swept parameter, ``distance_m``: what the condition is.
- ``ied_px``: the camera's nominal inter-eye distance at the face, pixels (from the profile's
  geometry); ``ied_px_mean``, ``ied_px_sd``: mean and standard deviation of the probes' true
  IED in the stored images; ``px_per_m``: pixel density at the face; ``dori_class``: the
  IEC 62676-4 class it reaches; ``face_in_frame``: whether the camera's frame actually contains
  the face at this distance (crop mode evaluates the face at the camera's pixel density either
  way; a False row is a "what if the camera were aimed here" condition).
- ``n_mated``, ``n_nonmated``: probes; ``n_subjects``: distinct probe identities;
  ``n_detected_mated``, ``n_detected_nonmated``: probes whose true face was detected
  (IoU >= 0.5 with the known face box); ``false_detections``: detector boxes elsewhere.
- ``detection_rate``: ``n_detected_mated / n_mated``.
- ``rank1``, ``rank5``: closed-set identification rate at rank 1 and 5 over all mated probes,
  an undetected probe counting as a miss (counts ``n_rank1``, ``n_rank5``);
  ``rank1_detected``: rank 1 over the detected mated probes only.
- ``fnir_at_fpir_0.01``, ``fnir_at_fpir_0.1``: open-set FNIR(N, R=1, T) at the threshold that
  gives that FPIR on the non-mated probes (see :mod:`evalharness.evaluation.metrics`); NaN
  without non-mated probes.
- ``tar_at_far_0.001``, ``tar_at_far_0.01``, ``auc``: one-to-one verification of every probe
  against every gallery identity (genuine: a mated probe and its mate; impostor: any other
  pair); an undetected mated probe is a genuine comparison scored below every possible cosine
  (-2), so it is always rejected; an undetected probe contributes no impostor comparisons. When
  no probe is detected TAR is 0 and AUC is NaN.
- ``cmc`` (summary.json only): identification rate at ranks 1 to 10.
- ``<m>_interval``: which interval ``m_ci_low`` / ``m_ci_high`` is: ``bootstrap``, or
  ``clopper-pearson`` where every resample gave the same 0 or 1 (:func:`intervals.settle`).
- One column group per usage scenario of :mod:`evalharness.evaluation.scenarios`
  (``keeper_1to1``, ``household``, ``database_1e3`` .. ``database_1e7``, ``best_of_k``): the
  probability ``<key>`` that one pass identifies the driver, its interval ``<key>_ci_low`` /
  ``<key>_ci_high`` (and ``<key>_interval``) and ``<key>_verdict`` under
  :data:`~evalharness.evaluation.scenarios.RULE`; summary.json gathers them per condition under
  ``scenarios``. ``best_of_k_captures_m``: the distances of the captures scored best-of.

Numbers are written with fixed formatting (:data:`FLOAT_FORMAT`), so two runs that computed the
same values write byte-identical files.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalharness.config.scenarios import ScenarioSettings
from evalharness.evaluation import metrics, scenarios, verification
from evalharness.evaluation.intervals import settle, subject_bootstrap, wilson_interval
from evalharness.evaluation.probes import Probes

#: ``printf`` format for every float in summary.csv.
FLOAT_FORMAT = "%.6f"
FPIRS = (0.01, 0.1)
FARS = (0.001, 0.01)
CMC_RANKS = 10


@dataclass(frozen=True)
class Counts:
    """One condition's mated probes: all, detected, and identified at rank 1 and 5."""

    mated: int
    detected: int
    rank1: int
    rank5: int


@dataclass(frozen=True)
class RateMetric:
    """One rate of the summary with its interval columns (see the module docstring).

    ``statistic(probes)`` gives the rate of any subset of the condition's probes (an index array,
    with repeats), for the point estimate and the subject bootstrap; ``counts`` gives
    (successes, trials) of a plain proportion, for its Wilson interval (None where the rate is
    not one); ``over_detected``: its trials are the detected mated probes, not all mated ones
    (for the exact interval where the bootstrap collapses); ``label``: its axis label where the
    report plots it (None: not plotted), the plots in the order of :data:`RATE_METRICS`."""

    column: str
    statistic: Callable[[Probes], Callable[[np.ndarray], float]]
    counts: Callable[[Counts], tuple[int, int]] | None = None
    over_detected: bool = False
    label: str | None = None


#: The rates of every condition, in summary.csv's column order; the usage scenarios' rates
#: follow them (:func:`evalharness.evaluation.scenarios.scenario_rates`). Adding a rate here adds
#: its columns, intervals and (with a label) its plot.
RATE_METRICS: tuple[RateMetric, ...] = (
    RateMetric("rank1", lambda probes: probes.rank_rate(1), lambda c: (c.rank1, c.mated),
               label="identified at rank 1 (fraction of mated probes)"),
    RateMetric("rank1_detected", lambda probes: probes.rank_rate(1, detected_only=True),
               lambda c: (c.rank1, c.detected), over_detected=True),
    RateMetric("rank5", lambda probes: probes.rank_rate(5), lambda c: (c.rank5, c.mated)),
    # The first FPIR and FAR are plotted.
    *(RateMetric(f"fnir_at_fpir_{fpir:g}", lambda probes, fpir=fpir: probes.fnir(fpir),
                 label=f"FNIR at FPIR {fpir:g} (fraction of mated probes)" if fpir == FPIRS[0] else None)
      for fpir in FPIRS),
    *(RateMetric(f"tar_at_far_{far:g}", lambda probes, far=far: probes.tar(far),
                 label=f"TAR at FAR {far:g} (fraction of mated pairs)" if far == FARS[0] else None)
      for far in FARS),
    RateMetric("detection_rate", lambda probes: probes.detection_rate, lambda c: (c.detected, c.mated),
               label="face detected (fraction of mated probes)"),
)


def bootstrap_rng(seed: int, key: str) -> np.random.Generator:
    """The bootstrap's generator for one table row: the run seed and the row's key (a condition
    id), so each row's intervals reproduce alone."""
    digest = hashlib.sha256(f"{seed}\x1fbootstrap\x1f{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def summarise(rows: pd.DataFrame, seed: int, condition_id: str, n_resamples: int,
              settings: ScenarioSettings | None = None, best_of_k: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of one condition with their intervals and counts.

    Parameters
    ----------
    rows : DataFrame
        The condition's per-probe rows (columns as written by the runner).
    seed : int
        The run seed; with ``condition_id`` it seeds the bootstrap.
    condition_id : str
        The condition's id.
    n_resamples : int
        Bootstrap resamples.
    settings : ScenarioSettings, optional
        The scenarios' settings (defaults when None).
    best_of_k : numpy.ndarray of bool, shape (P,), optional
        Whether each probe was identified in any capture of its pass
        (:func:`scenarios.best_of_k_hits`); without it ``best_of_k`` is NaN.

    Returns
    -------
    dict
        The metric columns described in the module docstring (not the condition's own fields).
    """
    probes = Probes(rows, best_of_k)
    everything = np.arange(len(rows))
    statistics: dict[str, Callable[[np.ndarray], float]] = {
        **{metric.column: metric.statistic(probes) for metric in RATE_METRICS},
        **scenarios.scenario_rates(probes, settings or ScenarioSettings()),
    }
    intervals = subject_bootstrap(statistics, rows["identity"].to_numpy(), bootstrap_rng(seed, condition_id),
                                  strata=probes.mated, n_resamples=n_resamples)

    mated = probes.mated
    n_mated, n_detected_mated = int(mated.sum()), int((mated & probes.detected).sum())
    hits = {k: int((mated & probes.detected & (probes.rank <= k)).sum()) for k in (1, 5)}
    row: dict[str, Any] = {
        "n_mated": n_mated,
        "n_nonmated": int((~mated).sum()),
        "n_subjects": int(rows["identity"].nunique()),
        "n_detected_mated": n_detected_mated,
        "n_detected_nonmated": int((~mated & probes.detected).sum()),
        "n_rank1": hits[1],
        "n_rank5": hits[5],
        "false_detections": int(rows["false_detections"].sum()),
    }
    counts = Counts(n_mated, n_detected_mated, hits[1], hits[5])
    scores, is_mated = probes.verification_scores()
    both_kinds = bool(is_mated.any() and not is_mated.all())
    rates = {metric.column: metric for metric in RATE_METRICS}
    for name, statistic in statistics.items():
        metric = rates.get(name)  # None for a scenario's rate: trials are the mated probes
        row[name] = statistic(everything)
        row[f"{name}_ci_low"], row[f"{name}_ci_high"], row[f"{name}_interval"] = settle(
            row[name], intervals[name], n_detected_mated if metric and metric.over_detected else n_mated)
        if metric and metric.counts:
            row[f"{name}_wilson_low"], row[f"{name}_wilson_high"] = wilson_interval(*metric.counts(counts))
    for far in FARS:  # the point estimate from the shared verification function
        tar = verification.tar_at_far(scores, is_mated, far) if both_kinds else math.nan
        # Nothing detected: no comparison can be accepted at any threshold.
        row[f"tar_at_far_{far:g}"] = 0.0 if not probes.detected.any() and is_mated.any() else tar
    row["auc"] = verification.roc_auc(scores, is_mated) if both_kinds else math.nan
    for key in scenarios.SCENARIO_KEYS:
        row[f"{key}_verdict"] = scenarios.RULE.verdict(row[f"{key}_ci_low"], row[f"{key}_ci_high"])
    ied = rows["ied_px"].to_numpy(dtype=np.float64)
    row["ied_px_mean"] = float(ied.mean()) if ied.size else math.nan
    row["ied_px_sd"] = float(ied.std(ddof=1)) if ied.size > 1 else math.nan
    m = everything[mated]
    row["cmc"] = metrics.cmc(probes.rank[m], probes.detected[m], CMC_RANKS).tolist()
    return row


def write_csv_text(table: pd.DataFrame) -> str:
    """``table`` as CSV text with :data:`FLOAT_FORMAT` floats and no list columns."""
    flat = table.drop(columns=[c for c in table.columns if table[c].map(lambda v: isinstance(v, list)).any()])
    return flat.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def json_ready(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``table`` as dicts with floats rounded like the CSV and NaN as None."""
    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, float | np.floating):
            return None if math.isnan(value) else float(FLOAT_FORMAT % value)
        if isinstance(value, np.integer | np.bool_):
            return value.item()
        return value
    return [scenarios.nest({key: clean(value) for key, value in record.items()})
            for record in table.to_dict("records")]
