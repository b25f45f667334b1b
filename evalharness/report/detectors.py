"""The report's "Detector comparison" part, from the run's ``detectors.csv`` and ``detectors.parquet``.

Written by :mod:`evalharness.evaluation.detector_comparison` when the experiment has a
``[detector_comparison]`` table: detection only, every listed detector on the same stored images
of a seeded sample of probes per camera condition. :func:`detector_section` turns it into the
sentences, tables and figure of the report; a run without it has no such section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.evaluation.detector_comparison import BINS_FILE, ROWS_FILE, lowest_bin, read_comparison
from evalharness.evaluation.intervals import CLOPPER_PEARSON
from evalharness.report.plots import Metric, metric_figure

#: The rates the summary table reads each detector's lowest IED bin at: half, and most.
HALF, MOST = 0.5, 0.8
METRIC = Metric("detection_rate", "face found (fraction of probes, IoU >= 0.5)")

EXPLANATION = (
    "Detection only: no recognition is run here. For each camera condition of the run (those of "
    "its first detector and recognizer) the same seeded sample of probes, mated and non-mated, "
    "passes through the camera model exactly as in the run, and every detector searches the same "
    "stored images. A face counts as found when a box overlaps the true face box with IoU at least "
    "0.5, as in the run; every other box is a false detection. The conditions are pooled in bins of "
    "the true inter-eye distance (IED) in the stored image; 95% intervals are from a bootstrap over "
    "people (one person's images in several conditions of a bin are correlated), exact binomial "
    "where every face or none was found. \"From\" is the lowest bin from which the detector reaches "
    f"the rate in every higher bin. The numbers are in {BINS_FILE} (bins) and {ROWS_FILE} (every "
    "probe and detector) beside this report."
)


def _percent(value: float) -> str:
    return f"{100.0 * value:.0f}%"


def _cell(row: pd.Series) -> dict[str, str]:
    exact = ", exact" if row["detection_rate_interval"] == CLOPPER_PEARSON else ""
    return {"rate": _percent(row["detection_rate"]),
            "ci": f"({_percent(row['detection_rate_ci_low'])}–{_percent(row['detection_rate_ci_high'])}{exact})",
            "counts": f"{int(row['found'])} of {int(row['images'])}"}


def detector_section(run_dir: Path) -> dict[str, Any] | None:
    """The section's content (None for a run without a detector comparison): ``explanation``,
    ``sample`` (the sample size, in words), ``answer`` (which detector finds faces at the
    smallest IED, at what false detection rate), ``detectors`` (one summary row each),
    ``bins`` (one row per IED bin, a cell per detector) and ``png`` (the figure)."""
    comparison = read_comparison(run_dir)
    if comparison is None:
        return None
    rows, bins = comparison
    names = list(dict.fromkeys(rows["detector"]))
    summary = []
    for name in names:
        mine, theirs = rows[rows["detector"] == name], bins[bins["detector"] == name]
        half, most = lowest_bin(theirs, HALF), lowest_bin(theirs, MOST)
        summary.append({
            "name": name, "from_half": half, "from_most": most,
            "low_px": theirs.loc[theirs["ied_bin"] == half, "ied_low_px"].min(),
            "false_per_image": f"{mine['false_detections'].sum() / len(mine):.3f}",
            "found": f"{int(mine['detected'].sum())} of {len(mine)}",
        })
    table = []
    for label, group in bins.sort_values("ied_low_px").groupby("ied_bin", sort=False):
        by_name = {row["detector"]: _cell(row) for _, row in group.iterrows()}
        table.append({"bin": label, "median_px": f"{group['ied_px_median'].median():.1f}",
                      "cells": [by_name.get(name, {"rate": "–", "ci": "", "counts": "no images"}) for name in names]})
    first = rows[rows["detector"] == names[0]]
    sample = (f"{first.groupby('condition_id').size().max()} probes per camera condition (a seeded choice), "
              f"{first['condition_id'].nunique()} conditions, {first['identity'].nunique()} people: "
              f"{len(first)} stored images, searched by each of {len(names)} detectors.")
    figure = bins.rename(columns={"ied_px_median": "ied_px"})
    return {"explanation": EXPLANATION, "sample": sample, "answer": _answer(summary), "names": names,
            "detectors": summary, "bins": table,
            "png": metric_figure(figure, METRIC, "ied_px", lines="detector")}


def _answer(summary: list[dict[str, Any]]) -> str:
    """Which detector finds at least half the faces from the smallest IED, in words."""
    reaching = [entry for entry in summary if not pd.isna(entry["low_px"])]
    if not reaching:
        return "No detector found half of the faces in any IED bin and every bin above it."
    smallest = min(entry["low_px"] for entry in reaching)
    best = [entry for entry in reaching if entry["low_px"] == smallest]
    return " ".join(
        f"{entry['name']} finds faces at the smallest IED: at least {_percent(HALF)} of them from the "
        f"{entry['from_half']} px bin on ("
        + (f"{_percent(MOST)} from {entry['from_most']} px" if entry["from_most"] else f"{_percent(MOST)} in no bin")
        + f"), with {entry['false_per_image']} false detections per image." for entry in best)
