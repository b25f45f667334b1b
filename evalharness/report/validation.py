"""``validation.html``: the report section of an ``evalharness validate`` run directory.

Reads only that directory (``summary.json``, ``probes.parquet``, ``manifest.json``,
``samples/``): real and simulated rank-1 by inter-eye distance on one plot with intervals, the
gap table, the validation goal criterion by criterion (met or not), and a real | simulated
contact sheet.
"""

from __future__ import annotations

import html
import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  the backend must be chosen first
import pandas as pd  # noqa: E402

from evalharness.evaluation import store  # noqa: E402
from evalharness.evaluation.validation_goal import Criterion, criteria, verdict  # noqa: E402
from evalharness.evaluation.validation_summary import BINS_PX, Corrections  # noqa: E402
from evalharness.report.plots import OKABE_ITO  # noqa: E402
from evalharness.report.render import data_uri  # noqa: E402

#: Probes shown on the contact sheet, per inter-eye-distance bin.
SHEET_PER_BIN = 6


def _percent(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def _label(row: dict[str, Any]) -> str:
    high = row["ied_px_high"]
    return f"{row['ied_px_low']:g}-{'' if high is None else format(high, 'g')} px"


def _plot(figures: dict[str, Any]) -> bytes:
    """Rank-1 per bin: real, simulated and (when corrected) predicted, gap interval as bars."""
    bins = [row for row in figures["bins"] if row["n"]]
    labels = [_label(row) for row in bins]
    x = range(len(bins))
    fig, ax = plt.subplots(figsize=(6.5, 3.6), dpi=110)
    series = [("real_rank1", "real camera", "o", "-"), ("sim_rank1", "simulated", "s", "--")]
    if "pred_rank1" in (bins[0] if bins else {}):
        series.append(("pred_rank1", "predicted (simulated + corrections)", "^", "-."))
    for (key, name, marker, style), colour in zip(series, OKABE_ITO, strict=False):
        ax.plot(list(x), [100 * row[key] for row in bins], marker=marker, linestyle=style, color=colour, label=name)
    model = "pred_rank1" if len(series) == 3 else "sim_rank1"
    for i, row in zip(x, bins, strict=True):
        if row["gap_ci_low"] is not None:
            low = 100 * (row[model] - (row["gap"] - row["gap_ci_low"]))
            high = 100 * (row[model] + (row["gap_ci_high"] - row["gap"]))
            ax.plot([i, i], [low, high], color="grey", linewidth=4, alpha=0.35)
    ax.set_xticks(list(x), [f"{label}\nn={row['n']}" for label, row in zip(labels, bins, strict=True)])
    ax.set_ylabel("rank-1 identification (%)")
    ax.set_xlabel("inter-eye distance of the real probe; grey: 95% interval of the model (paired gap)", fontsize=8)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _table(figures: dict[str, Any]) -> str:
    """Rank-1 per IED bin and overall."""
    rows = [*figures["bins"], figures["overall"]]
    return _rates("IED", [*map(_label, figures["bins"]), "all"], rows, "pred_rank1" in figures["overall"])


def _poses(figures: dict[str, Any]) -> str:
    """Rank-1 of the faces turned within and beyond the sources' widest view, with their bins."""
    poses = figures.get("poses", [])  # runs before session 11 have none
    if not poses:
        return ""
    bins = " / ".join(_label(row) for row in figures["bins"])
    return ("<p>By head pose: a real face turned further than every source view is simulated from a "
            "face turned less, which is easier to identify; the camera model cannot remove that "
            f"difference. Probes per IED bin ({html.escape(bins)}): "
            + "; ".join(f"{html.escape(row['pose'])} {' / '.join(map(str, row['n_per_bin']))}" for row in poses)
            + ".</p>" + _rates("real face", [row["pose"] for row in poses], poses,
                               "pred_rank1" in figures["overall"]))


def _rates(first: str, labels: list[str], rows: list[dict[str, Any]], predicted: bool) -> str:
    """A table of real, simulated (and predicted) rank-1 and the gap, one row per label."""
    head = f"<tr><th>{html.escape(first)}</th><th>n</th><th>real</th><th>simulated</th>" + \
        ("<th>predicted</th>" if predicted else "") + "<th>gap (95% CI)</th></tr>"
    body = []
    for label, row in zip(labels, rows, strict=True):
        gap = "-" if row["gap"] is None else \
            f"{100 * row['gap']:+.1f} ({100 * row['gap_ci_low']:+.1f} to {100 * row['gap_ci_high']:+.1f})"
        cells = [label, str(row["n"]), _percent(row["real_rank1"]), _percent(row["sim_rank1"])]
        cells += [_percent(row.get("pred_rank1"))] if predicted else []
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in [*cells, gap]) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _goal(listed: list[Criterion], corrected: bool) -> str:
    """The validation goal's criteria as a table, and the verdict."""
    model = "predicted" if corrected else "simulated (no corrections applied)"
    head = (f"<tr><th>criterion</th><th>{model}</th><th>real</th><th>error</th><th>allowed</th>"
            "<th>raw simulation</th><th>goal</th></tr>")
    body = [f"<tr><td>{html.escape(item.name)}</td><td>{item.predicted:.1f}%</td><td>{item.real:.1f}%</td>"
            f"<td>{item.predicted - item.real:+.1f}</td><td>+-{item.tolerance_pts:g}</td>"
            f"<td>{item.simulated:.1f}%</td><td>{'met' if item.met else '<b>not met</b>'}</td></tr>"
            for item in listed]
    return (f"<h2>Goal</h2><p>{html.escape(verdict(listed))}. The goal is judged on people whose "
            "images fitted none of the corrections applied (a held-out check).</p>"
            f"<table>{head}{''.join(body)}</table>")


def _draws(meta: dict[str, Any], figures: dict[str, Any]) -> str:
    """How many simulations each probe had, and how far the seed could move the overall rate."""
    draws = meta.get("draws", 1)  # runs before --draws (session 15) simulated each probe once
    if draws == 1:
        return ("Each probe was simulated once: its simulated outcome is one draw of the camera's noise, "
                "and another seed could move the simulated rates by several points (<code>--draws</code>).")
    error = figures["overall"].get("sim_rank1_mc_se")
    return (f"Each probe was simulated {draws} times with independent noise; its simulated outcome is the "
            f"share identified (Monte Carlo standard error of the overall simulated rank-1: "
            f"{'-' if error is None else format(100 * error, '.1f')} points).")


def _sheet(run_dir: Path, rows: pd.DataFrame) -> str:
    detected = rows[rows["real_detected"]].sort_values(["real_ied_px", "relpath"])
    cells = []
    edges = [low for low, _ in BINS_PX] + [BINS_PX[-1][1]]
    for _, row in detected.groupby(pd.cut(detected["real_ied_px"], edges, right=False), observed=True):
        for _, probe in row.head(SHEET_PER_BIN).iterrows():
            real = run_dir / "samples" / "real" / f"{probe['relpath']}.png"
            sim = run_dir / "samples" / "simulated" / f"{probe['relpath']}.png"
            outcome = (f"real rank {probe['real_mate_rank']}, sim "
                       + (f"rank {probe['sim_mate_rank']}" if probe["sim_detected"] else "undetected")
                       + (f" (identified in {round(probe['sim_rank1_share'] * probe['sim_draws'])} of "
                          f"{probe['sim_draws']} draws)" if probe.get("sim_draws", 1) > 1 else ""))
            images = "".join(f'<img src="{data_uri(p.read_bytes())}" alt="{html.escape(kind)}">' for kind, p in
                             (("real", real), ("simulated", sim)) if p.is_file())
            cells.append(f"<figure>{images}<figcaption>{html.escape(probe['relpath'])}: "
                         f"{probe['real_ied_px']:.1f} px, yaw {probe['yaw_deg']:+.0f}, pitch "
                         f"{probe['pitch_deg']:+.0f}; source {html.escape(probe['source'])}; "
                         f"{html.escape(outcome)}</figcaption></figure>")
    return "".join(cells)


#: How each ``--view`` chose the photograph a real probe was simulated from.
VIEW_CHOICES = {
    "pose": "its person's source photograph nearest its head pose",
    "frontal": "its person's source photograph nearest a frontal, level view (as a run on one-view data does)",
    "camera": "its person's source photograph nearest the camera's view of the face, from the profile's geometry",
}
#: How ``--exposure`` and ``--walk`` matched each simulation to its real probe (old runs: "profile").
EXPOSURE_CHOICES = {
    "face": "the light on the face scaled until the simulated face was stored as bright as the real one",
    "skin": "the light on the face scaled until the simulated face's skin was stored as bright as the real one's",
    "profile": "the profile's light on the face",
}
WALK_CHOICES = {
    "facing": "the subject walking where the head faces (direction from the real probe's head yaw)",
    "profile": "the profile's walking direction",
}
#: How ``--size`` scaled each simulation (old runs: "eyes").
SIZE_CHOICES = {
    "head": ("its head as large as the real one's (the fitted face's inter-eye distance, which does not shrink "
             "with yaw)"),
    "eyes": "the landmarks' inter-eye distance matched (a source turned less than its probe comes out smaller)",
}


#: Where ``--exposure skin`` matched the light of a probe whose landmarks missed the skin
#: (``sim_exposure_region``): since session 33 the lit skin of the face box's centre, before it
#: the centre's median.
SKIN_FALLBACKS = {
    "lit": "the lit skin of the centre of the face box (its brightest tenth)",
    "face": "the centre of the face box (its median)",
}


def _matched_on_box(meta: dict[str, Any], rows: pd.DataFrame) -> str:
    """With ``--exposure skin``, a sentence on the probes whose light was matched on the face
    box's centre because the landmarks of their source or of the real face missed its skin (none,
    or a run before ``sim_exposure_region``: empty)."""
    if meta.get("exposure") != "skin":
        return ""
    regions = rows.get("sim_exposure_region", pd.Series(dtype=object)).value_counts()
    return "".join(f" On {regions[region]} of them the landmarks of the source photograph or of the real face "
                   f"missed the skin, so their light was matched on {where} (<code>sim_exposure_region</code>)."
                   for region, where in SKIN_FALLBACKS.items() if regions.get(region, 0))


def _not_simulated(figures: dict[str, Any]) -> str:
    """A sentence on the probes that could not be simulated, left out of every figure (none: empty)."""
    count = figures.get("not_simulated") or 0
    return (f" {count} real probe{'s' if count > 1 else ''} could not be simulated (the reason in "
            "<code>probes.parquet</code>, <code>problem</code>) and are left out of every figure, real and "
            "simulated." if count else "")


def write_validation_report(run_dir: Path) -> Path:
    """Write ``run_dir/validation.html`` from the validation run directory; return its path."""
    run_dir = Path(run_dir)
    summary = store.read_json(run_dir / "summary.json")
    meta = store.read_json(run_dir / "manifest.json")
    rows = pd.read_parquet(run_dir / "probes.parquet")
    figures = summary.get("corrected", summary["raw"])
    names = ", ".join(f"{p['name']} ({'every camera' if group == '*' else group})"
                      for group, p in meta["profiles"].items())
    plot = data_uri(_plot(figures))
    calibration = meta.get("calibration")
    status = ("corrections fitted on " + html.escape(str(calibration.get("run_dir")))
              if calibration else "raw simulation, no corrections applied")
    if calibration and calibration.get("mismatches"):
        status += (" <strong>by a simulation that differs from this one</strong> ("
                   + html.escape("; ".join(calibration["mismatches"])) + ")")
    if calibration and calibration.get("probes_in_fit"):
        status += (f" <strong>fitted on {calibration['probes_in_fit']} of these real probes: the corrected "
                   "figures are in sample, not a prediction for new people</strong>")
    fitted = Corrections.from_dict(store.read_json(run_dir / "corrections.json")).describe()
    applied = ""
    if calibration and "corrections" in calibration:  # runs before session 8 did not keep them
        used = Corrections.from_dict(calibration["corrections"])
        applied = f"<br>Applied here: {html.escape(used.describe())}."
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Validation of {html.escape(names)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}}td,th{{padding:2px 8px;text-align:right}}
figure{{display:inline-block;width:14em;vertical-align:top;margin:4px}}figure img{{width:6.5em;image-rendering:pixelated}}
figcaption{{font-size:70%}}</style></head><body>
<h1>Validation of camera profiles {html.escape(names)} against real images</h1>
<p>Real probes: {html.escape(meta['dataset']['root'])} (fingerprint {html.escape(meta['dataset']['fingerprint'][:16])}...).
Detector {html.escape(meta['models']['detector']['name'])}, recognizer {html.escape(meta['models']['recognizer']['name'])}.
Each detected real probe was simulated from {VIEW_CHOICES[meta.get('view_choice', 'pose')]}, at its own
size: {SIZE_CHOICES[meta.get('size', 'eyes')]}; with {EXPOSURE_CHOICES[meta.get('exposure', 'profile')]} and
{WALK_CHOICES[meta.get('walk', 'profile')]}.{_matched_on_box(meta, rows)}
{_draws(meta, figures)} Prediction: {status}. Intervals: 95%, paired
bootstrap over people.</p>
<img src="{plot}" alt="real and simulated rank-1 by inter-eye distance">
{_table(figures)}
{_poses(figures)}
<p>Detection: real {_percent(figures['overall']['real_detection'])}, simulated {_percent(figures['overall']['sim_detection'])}
{'' if 'pred_detection' not in figures['overall'] else ', predicted ' + _percent(figures['overall']['pred_detection'])};
{figures['undetected_real']} real probes had no detected face.{_not_simulated(figures)}</p>
<p>Corrections fitted on this run (<code>corrections.json</code>, for <code>--calibration</code> elsewhere):
{html.escape(fitted)}.{applied}</p>
{_goal(*criteria(summary))}
<h2>Real | simulated</h2>{_sheet(run_dir, rows)}
<p>Command: <code>{html.escape(' '.join(meta.get('command', [])))}</code></p></body></html>"""
    return store.write_text(run_dir / "validation.html", page)
