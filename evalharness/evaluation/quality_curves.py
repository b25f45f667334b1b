"""What predicts identification: rates in bins of each quality measure, pooled over a run.

For each measure of :data:`evalharness.quality.MEASURES`, the run's mated probes (all
conditions pooled) with a finite value of it are cut into bins of equal count (quantiles, at most
:data:`N_BINS`), and each bin gets:

- ``rank1``: the rank-1 identification rate, an undetected probe counting as a miss; for a
  measure that needs a detection (landmark IED, face width, detector probability) the bin holds
  only detected probes, so it is the rate *given that a face was detected*;
- ``fnir_at_fpir_0.01``: the fraction of mated probes missed at the threshold that gives FPIR 0.01
  on the non-mated probes *of the probe's own condition* (the operating point of each condition,
  as in ``summary.csv``);
- 95% intervals for both from a bootstrap over subjects (:func:`subject_bootstrap`), and Wilson
  intervals for ``rank1``.

``auc`` is the ROC AUC of the measure alone as a score for rank-1 success: the probability that a
random identified probe has a higher value than a random missed one (0.5: no information; below
0.5: lower values go with success, as for noise). ``predictive_power`` is ``|auc - 0.5| * 2``,
which orders the measures by how well each one alone predicts identification.

The run directory gets ``quality.csv`` (one row per measure and bin) and ``quality.json`` (the
same, plus each measure's percentiles over the pooled probes and each condition's median
measures), so that the report and ``evalharness quality`` read only the run directory.

A real photograph (:func:`score_image`) is measured with the reference-free measures on the box
the run's detector finds, then placed: on each curve (:func:`place`, flagged when outside the
run's range), among the run's detected faces most like it in all those measures at once
(:func:`similar_faces`, the headline estimate) and among the conditions
(:func:`nearest_conditions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalharness.data.images import load_image
from evalharness.evaluation import metrics, store
from evalharness.evaluation.intervals import subject_bootstrap, wilson_interval
from evalharness.evaluation.summary import FLOAT_FORMAT, json_ready, write_csv_text
from evalharness.evaluation.verification import roc_auc
from evalharness.models import Detector
from evalharness.quality import MEASURES, detection_measures, face_measures

#: Most bins per measure, and the fewest mated probes a bin may hold.
N_BINS = 6
MIN_PER_BIN = 10
FPIR = 0.01
#: Group of the run's faces most like a real one: at least this many, or this fraction.
MIN_NEIGHBOURS = 20
NEIGHBOUR_FRACTION = 0.05
#: Head pose columns of the rows (degrees), kept with the outcomes to bound the poses a run covers.
POSE_COLUMNS = ("yaw_deg", "pitch_deg")

#: Percentiles stored per measure (0, 1, ..., 100), to place a value among the run's probes.
PERCENTILES = np.arange(101)


def probe_outcomes(conditions: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The mated probes of every condition with their outcome and measures.

    Parameters
    ----------
    conditions : mapping of condition id to DataFrame
        Per-probe rows as the runner writes them (with the quality measure columns).

    Returns
    -------
    DataFrame
        One row per mated probe: ``condition_id``, ``identity``, ``rank1_hit`` (detected and the
        mate at rank 1), ``fpir_hit`` (also scoring above the condition's FPIR 0.01 threshold)
        and every measure and pose column present.
    """
    tables = []
    for rows in conditions.values():
        detected = rows["detected"].to_numpy(dtype=bool)
        nonmated = (rows["probe_kind"] == "nonmated").to_numpy()
        best = np.where(detected, rows["best_nonmate_score"].to_numpy(np.float64), -np.inf)
        threshold = metrics.threshold_at_fpir(best[nonmated], FPIR)
        mated = rows[~nonmated]
        rank1 = mated["detected"].to_numpy(bool) & (mated["mate_rank"].fillna(0).to_numpy(np.int64) == 1)
        # NaN threshold (no non-mated probes): no operating point, so no FPIR hit is defined.
        fpir_hit = rank1 & (mated["mate_score"].to_numpy(np.float64) > threshold) if not math.isnan(threshold) \
            else np.full(len(mated), np.nan)
        columns = [name for name in [m.name for m in MEASURES] + list(POSE_COLUMNS) if name in mated]
        tables.append(mated[["condition_id", "identity", *columns]].assign(rank1_hit=rank1, fpir_hit=fpir_hit))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _bin_row(probes: pd.DataFrame, rng: np.random.Generator, n_resamples: int) -> dict[str, Any]:
    hits = probes["rank1_hit"].to_numpy(bool)
    fpir_hits = probes["fpir_hit"].to_numpy(np.float64)

    def rank1(idx: np.ndarray) -> float:
        return float(hits[idx].mean()) if idx.size else math.nan

    def fnir(idx: np.ndarray) -> float:
        return float(1.0 - np.mean(fpir_hits[idx])) if idx.size else math.nan

    statistics = {"rank1": rank1, f"fnir_at_fpir_{FPIR:g}": fnir}
    intervals = subject_bootstrap(statistics, probes["identity"].to_numpy(), rng, n_resamples=n_resamples)
    everything = np.arange(len(probes))
    row: dict[str, Any] = {"n_mated": len(probes), "n_subjects": int(probes["identity"].nunique()),
                           "n_rank1": int(hits.sum())}
    for name, statistic in statistics.items():
        row[name] = statistic(everything)
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = intervals[name]
    row["rank1_wilson_low"], row["rank1_wilson_high"] = wilson_interval(int(hits.sum()), len(probes))
    return row


def _rng(seed: int, name: str) -> np.random.Generator:
    """The bootstrap's generator for one curve: the run seed and the curve's name, so each
    curve's intervals reproduce alone."""
    return np.random.default_rng([seed, *name.encode()])


def measure_curve(probes: pd.DataFrame, measure: str, seed: int, n_resamples: int) -> list[dict[str, Any]]:
    """Rows of one measure's curve: one per bin, lowest values first (see the module notes).

    ``probes`` is :func:`probe_outcomes`; probes where the measure is not finite are left out.
    Bins are quantiles, merged where values tie; an empty list when fewer than
    :data:`MIN_PER_BIN` probes have the measure.
    """
    values = probes[measure].to_numpy(np.float64)
    kept = probes[np.isfinite(values)]
    n_bins = min(N_BINS, len(kept) // MIN_PER_BIN)
    if n_bins < 1:
        return []
    bins = pd.qcut(kept[measure], n_bins, duplicates="drop") if n_bins > 1 \
        else pd.Series(pd.Categorical(["all"] * len(kept)), index=kept.index)
    hits = kept["rank1_hit"].to_numpy(bool)
    auc = roc_auc(kept[measure], hits) if hits.any() and not hits.all() else math.nan
    rng = _rng(seed, measure)
    rows = []
    for number, (_, members) in enumerate(kept.groupby(bins, observed=True)):
        rows.append({"measure": measure, "bin": number, "low": float(members[measure].min()),
                     "high": float(members[measure].max()), "median": float(members[measure].median()),
                     **_bin_row(members, rng, n_resamples), "auc": auc,
                     "predictive_power": abs(auc - 0.5) * 2.0})
    return rows


def quality_tables(conditions: Mapping[str, pd.DataFrame], labels: Mapping[str, str], seed: int,
                   n_resamples: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``quality.csv``'s table and ``quality.json``'s content for a run's condition rows."""
    probes = probe_outcomes(conditions)
    names = [m.name for m in MEASURES if m.name in probes]
    table = pd.DataFrame([row for name in names for row in measure_curve(probes, name, seed, n_resamples)])
    measures = []
    for measure in MEASURES:
        curve = table[table["measure"] == measure.name] if len(table) else table
        if not len(curve):
            continue
        values = probes[measure.name].to_numpy(np.float64)
        # No AUC where every probe was identified, or none: null, as JSON has no NaN.
        auc, power = (None if math.isnan(v) else float(v) for v in curve[["auc", "predictive_power"]].iloc[0])
        measures.append({
            "name": measure.name, "label": measure.label, "reference_free": measure.reference_free,
            "needs_detection": measure.needs_detection, "auc": auc, "predictive_power": power,
            "percentiles": np.percentile(values[np.isfinite(values)], PERCENTILES).tolist(),
            "bins": json_ready(curve.drop(columns=["measure", "auc", "predictive_power"])),
        })
    per_condition = []
    for condition_id, rows in probes.groupby("condition_id", sort=False):
        medians = {name: rows[name].median() for name in names}
        per_condition.append({"condition_id": condition_id, "label": labels.get(condition_id, condition_id),
                              "rank1": float(rows["rank1_hit"].mean()), "n_rank1": int(rows["rank1_hit"].sum()),
                              "n_mated": len(rows),
                              "medians": {k: None if pd.isna(v) else float(FLOAT_FORMAT % v)
                                          for k, v in medians.items()}})
    ranked = sorted((m for m in measures if m["predictive_power"] is not None),
                    key=lambda m: -m["predictive_power"])
    content = {"fpir": FPIR, "measures": measures, "conditions": per_condition,
               "best_predictor": ranked[0]["name"] if ranked else None,
               "best_reference_free_predictor": next((m["name"] for m in ranked if m["reference_free"]), None)}
    return table, content


def write_quality(run_dir: Path, condition_ids: Sequence[str], labels: Mapping[str, str], seed: int,
                  n_resamples: int) -> None:
    """Write ``quality.csv`` and ``quality.json`` of a run from its ``conditions/*.parquet``."""
    conditions = {c: pd.read_parquet(store.condition_path(run_dir, c)) for c in condition_ids}
    table, content = quality_tables(conditions, labels, seed, n_resamples)
    store.write_text(run_dir / "quality.csv", write_csv_text(table))
    store.write_json(run_dir / "quality.json", content)


def read_quality(run_dir: Path) -> dict[str, Any]:
    """``quality.json`` of a run directory.

    Raises
    ------
    DataError
        The file is missing (a run from before quality measures, or not finished) or unreadable.
    """
    return store.read_json(Path(run_dir) / "quality.json", "the run has no quality curves (finish "
                           "it, or rerun it with this version to record the quality measures)")


def read_probes(run_dir: Path, content: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`probe_outcomes` of the conditions named in a run's ``quality.json``."""
    return probe_outcomes({c["condition_id"]: pd.read_parquet(store.condition_path(Path(run_dir), c["condition_id"]))
                           for c in content["conditions"]})


def similar_faces(values: Mapping[str, float], probes: pd.DataFrame, content: Mapping[str, Any],
                  n_resamples: int = 1000) -> dict[str, Any] | None:
    """The rank-1 rate of the run's detected faces most like a detected face in every
    reference-free measure at once: the expected rate for faces of that quality.

    Each measure becomes its percentile among the run's probes, so that measures in different
    units weigh alike; the distance is the mean absolute percentile difference over the measures
    ``values`` has; the nearest :data:`MIN_NEIGHBOURS` detected mated probes (or
    :data:`NEIGHBOUR_FRACTION` of them, if more) form the group. Pooling every measure is steadier
    than any one curve, whose bins can mix faces that differ in what matters.

    Returns
    -------
    dict or None
        :func:`_bin_row`'s rates, intervals and counts for the group, with ``measures`` (the
        names used) and ``max_percentile_distance`` (the farthest member, in percentile points);
        None when no measure is usable.
    """
    curves = {m["name"]: m for m in content["measures"] if m["reference_free"]}
    usable = [n for n in curves if n in probes and math.isfinite(values.get(n, math.nan))]
    detected = probes[probes[usable].notna().all(axis=1)] if usable else probes.iloc[:0]
    if detected.empty:
        return None
    gaps = np.mean([np.abs(np.interp(detected[n].to_numpy(np.float64), curves[n]["percentiles"], PERCENTILES)
                           - np.interp(values[n], curves[n]["percentiles"], PERCENTILES)) for n in usable], axis=0)
    count = min(len(detected), max(MIN_NEIGHBOURS, round(NEIGHBOUR_FRACTION * len(detected))))
    nearest = np.argsort(gaps, kind="stable")[:count]
    return {**_bin_row(detected.iloc[nearest], _rng(0, "similar faces"), n_resamples),
            "measures": usable, "max_percentile_distance": float(gaps[nearest].max())}


def place(value: float, measure: Mapping[str, Any]) -> dict[str, Any]:
    """Where ``value`` of a measure falls on the run's curve of it (one entry of
    ``quality.json``'s ``measures``).

    Returns
    -------
    dict
        ``bin`` (the bin's row: range, rates, intervals, counts); ``percentile``, in [0, 100],
        of ``value`` among the run's probes; ``inside``, False when ``value`` lies outside the
        range of values the run covered (the nearest bin is then given, but it is an
        extrapolation).
    """
    bins = measure["bins"]
    inside = bins[0]["low"] <= value <= bins[-1]["high"]
    # The bin whose range holds the value, else the nearest edge's bin (ranges do not overlap).
    chosen = next((b for b in bins if b["low"] <= value <= b["high"]),
                  min(bins, key=lambda b: min(abs(value - b["low"]), abs(value - b["high"]))))
    return {"bin": chosen, "inside": bool(inside),
            "percentile": float(np.interp(value, measure["percentiles"], PERCENTILES))}


def nearest_conditions(values: Mapping[str, float], content: Mapping[str, Any], count: int = 3) -> list[dict[str, Any]]:
    """The run's conditions whose median measures are nearest to ``values``.

    Distance is the mean absolute difference of percentiles (among the run's pooled probes)
    over the measures both have, so measures in different units weigh alike.
    """
    measures = {m["name"]: m for m in content["measures"]}
    usable = [n for n, v in values.items() if n in measures and v is not None and math.isfinite(v)]
    if not usable:
        return []

    def percentile(name: str, value: float) -> float:
        return float(np.interp(value, measures[name]["percentiles"], PERCENTILES))

    ranked = []
    for condition in content["conditions"]:
        gaps = [abs(percentile(n, values[n]) - percentile(n, condition["medians"][n]))
                for n in usable if condition["medians"].get(n) is not None]
        if gaps:
            ranked.append({**condition, "percentile_distance": float(np.mean(gaps))})
    return sorted(ranked, key=lambda c: c["percentile_distance"])[:count]


def score_image(path: Path, detector: Detector, content: Mapping[str, Any],
                probes: pd.DataFrame) -> dict[str, Any]:
    """Detect the faces in a real photograph, measure each and place it on a run's curves.

    Parameters
    ----------
    path : Path
        The photograph (any format :func:`~evalharness.data.images.load_image` reads;
        ``face_jpeg_bytes`` only for a JPEG file).
    detector : Detector
        The run's detector, with the run's options.
    content : mapping
        The run's ``quality.json`` (:func:`read_quality`).
    probes : DataFrame
        The run's mated probes (:func:`read_probes`).

    Returns
    -------
    dict
        ``image``, ``width_px``, ``height_px`` and ``faces``: one entry per detection, most
        probable first, each with ``box`` (x1, y1, x2, y2 px), ``measures`` (the reference-free
        ones), ``placements`` (measure name to :func:`place`'s result, for the measures the run
        has curves of, most predictive first), ``pose`` (``yaw_deg``, ``pitch_deg``), ``estimate``
        (:func:`similar_faces`) and ``nearest_conditions``.
    """
    image = load_image(path)
    data = Path(path).read_bytes()
    found = detector.detect([image])[0]
    curves = {m["name"]: m for m in content["measures"] if m["reference_free"]}
    order = sorted(curves, key=lambda n: -(curves[n]["predictive_power"] or 0.0))
    faces = []
    for box, landmarks, prob in zip(found.boxes, found.landmarks, found.probs, strict=True):
        measured = face_measures(image.numpy(), box, data) | detection_measures(box, landmarks, prob)
        measures = {m.name: measured[m.name] for m in MEASURES if m.reference_free}
        placements = {name: place(measures[name], curves[name]) for name in order
                      if math.isfinite(measures.get(name, math.nan))}
        faces.append({
            "box": [float(v) for v in box], "measures": measures, "placements": placements,
            "pose": {name: measured[name] for name in POSE_COLUMNS},
            "estimate": similar_faces(measures, probes, content),
            "nearest_conditions": nearest_conditions(measures, content),
        })
    return {"image": str(path), "height_px": int(image.shape[-2]), "width_px": int(image.shape[-1]),
            "faces": faces}
