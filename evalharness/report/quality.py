"""The report's "what in an image predicts identification" part, from the run's ``quality.json``.

:func:`quality_figure` draws, for every quality measure, the rank-1 identification rate and the
FNIR at FPIR 0.01 in bins of the measure with their 95% intervals; :func:`quality_rows` ranks the
measures by how well each alone predicts rank-1 success (ROC AUC). The numbers come from
:mod:`evalharness.evaluation.quality_curves`, written at summary time.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalharness.errors import DataError
from evalharness.evaluation.quality_curves import read_quality
from evalharness.report.plots import MARKERS, OKABE_ITO, plt

#: Panels per row of the figure.
COLUMNS = 3
#: A measure whose range spans more than this ratio is drawn on a log axis.
LOG_RATIO = 20.0

EXPLANATION = (
    "Every probe of the run was measured as a real photograph can be: the inter-eye distance and "
    "face width the detector found, the detector's probability, the JPEG bytes spent on the face, "
    "its noise and its sharpness (PSNR and SSIM against the undegraded face need that face, so they "
    "exist only in simulation). All conditions are pooled and each measure cut into bins of equal "
    "count. A measure that needs a detection has no value for an undetected face, so its bins hold "
    "detected faces only; elsewhere an undetected face is a miss. AUC is the probability that an "
    "identified face has a higher value than a missed one (0.5: no information; below 0.5, lower "
    "values go with success). Measures that grow as the face shrinks in pixels (noise and "
    "Laplacian energy per pixel) partly predict through size. The command "
    "\"evalharness quality IMAGE --run RUN_DIR\" places a real photograph on these curves."
)


def load_quality(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``quality.json``, or None for a run written before quality measures."""
    try:
        return read_quality(run_dir)
    except DataError:
        return None


def quality_rows(content: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per measure, best predictor first: label, AUC, range and where it can be used."""
    ranked = sorted(content["measures"], key=lambda m: -(m["predictive_power"] or 0.0))
    rows = []
    for measure in ranked:
        auc = measure["auc"]
        rows.append({
            "measure": measure["label"],
            "auc": "n/a" if auc is None or math.isnan(auc) else f"{auc:.2f}",
            "range": f"{measure['bins'][0]['low']:.4g} – {measure['bins'][-1]['high']:.4g}",
            "probes": str(sum(b["n_mated"] for b in measure["bins"])),
            "use": "real images" if measure["reference_free"] else "simulation only",
        })
    return rows


def best_predictor_sentence(content: Mapping[str, Any]) -> str:
    """Which measurable property of a real image best predicts identification, in words."""
    name = content.get("best_reference_free_predictor")
    measure = next((m for m in content["measures"] if m["name"] == name), None)
    if measure is None:
        return "No measure could be related to identification (too few probes, or none identified)."
    return (f"Of the measures a real photograph allows, {measure['label']} best predicts whether its "
            f"subject is identified at rank 1 (AUC {measure['auc']:.2f} over "
            f"{sum(b['n_mated'] for b in measure['bins'])} mated probes).")


def _error_bars(bins: Sequence[Mapping[str, Any]], column: str, values: list[float]) -> list[list[float]]:
    """How far each bin's 95% interval of ``column`` reaches below and above its value (none where
    the bin has no interval; a bound of 0 is a bound, not a missing one)."""
    def bound(b: Mapping[str, Any], side: str, value: float) -> float:
        return value if b[f"{column}_ci_{side}"] is None else b[f"{column}_ci_{side}"]

    return [[max(0.0, v - bound(b, "low", v)) for v, b in zip(values, bins, strict=True)],
            [max(0.0, bound(b, "high", v) - v) for v, b in zip(values, bins, strict=True)]]


def _panel(ax: plt.Axes, measure: Mapping[str, Any], fpir: float) -> None:
    bins = measure["bins"]
    x = [b["median"] for b in bins]
    x_error = [[b["median"] - b["low"] for b in bins], [b["high"] - b["median"] for b in bins]]
    series = (("rank1", "rank 1", "-"), (f"fnir_at_fpir_{fpir:g}", f"FNIR at FPIR {fpir:g}", "--"))
    for index, (column, label, style) in enumerate(series):
        y = [math.nan if b[column] is None else b[column] for b in bins]
        ax.errorbar(x, y, xerr=x_error, yerr=_error_bars(bins, column, y), color=OKABE_ITO[3 + index],
                    marker=MARKERS[index], linestyle=style, capsize=2, elinewidth=0.7, label=label)
    low, high = bins[0]["low"], bins[-1]["high"]
    if low > 0 and high / low > LOG_RATIO:
        ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{measure['label']}\nAUC {measure['auc']:.2f}" if measure["auc"] is not None
                 else measure["label"], fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.grid(True, color="0.85", linewidth=0.6)


def quality_figure(measures: Sequence[Mapping[str, Any]], fpir: float) -> bytes:
    """One panel per measure: rates in bins of it (points at bin medians, horizontal bars the
    bin's range, vertical bars the 95% intervals). Returns PNG bytes, 150 dpi."""
    rows = math.ceil(len(measures) / COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(9.0, 2.9 * rows), dpi=150, layout="constrained",
                             squeeze=False)
    for ax, measure in zip(axes.flat, measures, strict=False):
        _panel(ax, measure, fpir)
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of mated probes", fontsize="x-small")
    for ax in list(axes.flat)[len(measures):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="best", fontsize="x-small", title="95% CI bars", title_fontsize="x-small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
