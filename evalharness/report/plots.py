"""Plots of a run's metrics against inter-eye distance (IED) in pixels and against distance.

Each figure shows one metric with one line per series (a profile, recognizer, detector, probe
mode and any other swept value), its 95% confidence interval as a band, and, against IED, vertical
reference lines for published pixel requirements, each labelled with its source. Colours are the
Okabe-Ito colour-blind-safe palette; every series also has its own marker and line style so that
the figure stays readable when printed in greyscale.

Figures are returned as PNG bytes (matplotlib's Agg backend, no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  the backend must be chosen first
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402

from evalharness.camera.geometry import DORI_THRESHOLDS_PX_PER_M  # noqa: E402
from evalharness.evaluation.summary import RATE_METRICS  # noqa: E402

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour-vision
#: deficiency. Black is left out so that it stays free for the reference lines.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES = ("-", "--", "-.", ":")

#: Average adult inter-eye distance used to turn a pixel density into an IED ([REF: dodgson-2004]).
ADULT_IED_M = 0.063


_DORI_IDENTIFICATION_PX_PER_M = dict(DORI_THRESHOLDS_PX_PER_M)["identification"]


@dataclass(frozen=True)
class ReferenceLine:
    """A published pixel requirement drawn as a vertical line on IED axes."""

    ied_px: float
    label: str
    source: str


REFERENCE_LINES = (
    ReferenceLine(
        12.0,
        "MTCNN floor 12 px",
        "facenet-pytorch MTCNN: its first stage scans 12x12 px windows, the smallest face it can "
        "find (a face box, about 2.2 IED wide, may come within reach below 12 px IED) "
        "[REF: facenet-pytorch-mtcnn]",
    ),
    ReferenceLine(
        _DORI_IDENTIFICATION_PX_PER_M * ADULT_IED_M,
        f"DORI identification ≈{_DORI_IDENTIFICATION_PX_PER_M * ADULT_IED_M:.0f} px",
        f"IEC/EN 62676-4: {_DORI_IDENTIFICATION_PX_PER_M:g} px/m at the subject [REF: iec-62676-4], times a "
        "63 mm adult IED [REF: dodgson-2004]",
    ),
    ReferenceLine(70.0, "OFIQ midpoint 70 px", "OFIQ (ISO/IEC 29794-5): IED sigmoid centred at 70 px [REF: ofiq]"),
    ReferenceLine(90.0, "ICAO ≈90 px", "ICAO passport photographs: about 90 px between eye centres [REF: icao-9303]"),
)


@dataclass(frozen=True)
class Metric:
    """A summary column that can be plotted, with its axis label."""

    column: str
    label: str


#: The summary's rates that the report plots: those with a label in the summary's one table.
METRICS = tuple(Metric(rate.column, rate.label) for rate in RATE_METRICS if rate.label)

AXES = {"ied_px": "inter-eye distance in the stored image (px, log scale)", "distance_m": "distance to the face (m)"}

#: Columns that name what a condition is made of; the other non-metric columns are swept values.
IDENTITY_COLUMNS = ("profile", "recognizer", "detector", "probe_mode", "upscale")


def series_columns(summary: pd.DataFrame, swept: Sequence[str]) -> list[str]:
    """Columns that separate the lines of a plot: those of the condition's identity and the
    swept parameters other than distance, keeping only the ones that take several values."""
    candidates = [c for c in (*IDENTITY_COLUMNS, *swept) if c in summary and c != "distance_m"]
    return [c for c in candidates if summary[c].astype(str).nunique() > 1]


def series_style(index: int) -> tuple[str, str, str]:
    """Colour, marker and line style of the ``index``-th series; the three cycle at different
    lengths (7, 8, 4), so series stay distinct in greyscale where colours merge."""
    return OKABE_ITO[index % len(OKABE_ITO)], MARKERS[index % len(MARKERS)], LINE_STYLES[index % len(LINE_STYLES)]


def series_label(key: dict[str, object]) -> str:
    """Legend text of one series, e.g. ``"sicore-two-lane, jpeg_quality=50"``."""
    if not key:
        return "all conditions"
    return ", ".join(str(value) if name in IDENTITY_COLUMNS else f"{name}={value}" for name, value in key.items())


def metric_figure(summary: pd.DataFrame, metric: Metric, x: str, swept: Sequence[str] = (),
                  lines: str = "condition") -> bytes:
    """Plot one metric against ``x`` (``"ied_px"`` or ``"distance_m"``) and return PNG bytes.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per condition, with ``x``, ``metric.column`` and, when present,
        ``<column>_ci_low`` / ``<column>_ci_high`` (proportions in [0, 1]). Rows where the
        metric is missing (for example no probe was detected) are left out.
    metric : Metric
        The column to plot.
    x : str
        ``"ied_px"`` (log axis, with the reference lines) or ``"distance_m"``.
    swept : sequence of str
        The swept parameters; with the identity columns they separate the lines.
    lines : str
        What one line is, for the legend's title.

    Returns
    -------
    bytes
        A PNG image, 150 dpi.
    """
    keys = series_columns(summary, swept)
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=150, layout="constrained")
    groups = summary.groupby(keys, sort=True, dropna=False) if keys else [((), summary)]
    drawn = 0
    hollow = False
    for values, rows in groups:
        values = values if isinstance(values, tuple) else (values,)
        rows = rows.dropna(subset=[x, metric.column]).sort_values(x)
        if rows.empty:
            continue
        colour, marker, style = series_style(drawn)
        drawn += 1
        label = series_label(dict(zip(keys, values, strict=True)))
        values_y = rows[metric.column]
        low, high = f"{metric.column}_ci_low", f"{metric.column}_ci_high"
        error = None
        if low in rows and high in rows:
            # Bars as well as the band, so that a lone point still shows its interval.
            error = [(values_y - rows[low]).clip(lower=0), (rows[high] - values_y).clip(lower=0)]
            ax.fill_between(rows[x], rows[low], rows[high], color=colour, alpha=0.18, linewidth=0)
        ax.errorbar(rows[x], values_y, yerr=error, color=colour, marker=marker, linestyle=style,
                    capsize=3, elinewidth=0.8, label=label)
        if "face_in_frame" in rows:
            # Hollow markers: the camera as installed would not have the face in its frame here.
            outside = rows[~rows["face_in_frame"].astype(bool)]
            ax.plot(outside[x], outside[metric.column], linestyle="none", marker=marker,
                    markerfacecolor="white", markeredgecolor=colour, zorder=3)
            hollow = hollow or not outside.empty
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(metric.label)
    ax.set_xlabel(AXES[x])
    ax.grid(True, color="0.85", linewidth=0.6)
    if x == "ied_px":
        _draw_reference_lines(ax, summary[x].dropna())
    title = f"line: {lines} (band: 95% CI)"
    if hollow:
        title += "\nhollow marker: face outside the frame as installed"
    ax.legend(loc="best", fontsize="small", title=title, title_fontsize="small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _draw_reference_lines(ax: plt.Axes, ied_px: pd.Series) -> None:
    """Log-scale the IED axis so the data and every reference line fit, and draw the lines."""
    positions = [line.ied_px for line in REFERENCE_LINES]
    ax.set_xscale("log")
    ax.set_xlim(min([*ied_px, *positions]) / 1.25, max([*ied_px, *positions]) * 1.25)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    for line in REFERENCE_LINES:
        ax.axvline(line.ied_px, color="black", linewidth=0.9, linestyle=(0, (1, 2)))
        ax.text(line.ied_px, 0.5, line.label, rotation=90, va="center", ha="center", fontsize=7,
                transform=ax.get_xaxis_transform(),
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
