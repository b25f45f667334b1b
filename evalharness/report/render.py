"""Render a run directory as ``report.html`` (self-contained) and ``report.pdf``.

:func:`build_report` reads the run directory (:mod:`evalharness.report.rundir`), draws the curves
(:mod:`~evalharness.report.plots`) and contact sheets (:mod:`~evalharness.report.sheets`), fills
the Jinja2 template ``templates/report.html.j2`` (autoescaped) and prints the same HTML to PDF
with WeasyPrint. Plots and images are embedded as ``data:`` URIs, so the HTML is one file.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jinja2

from evalharness.evaluation.store import write_bytes
from evalharness.report import plots, quality
from evalharness.report.detectors import HALF, MOST, detector_section
from evalharness.report.content import (
    CLAIM,
    LIMITATIONS,
    STATISTICS,
    dataset_rows,
    gallery_size,
    headline_rows,
    headline_rule,
    model_rows,
    outside_frame,
    profile_tables,
    protocol_rows,
    reproduce_command,
    run_limitations,
    speed_rows,
    stage_rows,
)
from evalharness.report.references import link_citations, used_references
from evalharness.report.rundir import Run, read_run
from evalharness.report.samples import contact_sheets
from evalharness.report.verdicts import rule_text, scenario_methods, verdict_blocks

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("evalharness.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def data_uri(png: bytes) -> str:
    """``png`` bytes as a ``data:image/png;base64,...`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figures(run: Run) -> list[dict[str, str]]:
    figures = []
    for metric in plots.METRICS:
        if metric.column not in run.summary or run.summary[metric.column].isna().all():
            continue
        for x in plots.AXES:
            png = plots.metric_figure(run.summary, metric, x, run.swept)
            figures.append({"title": f"{metric.label} against {plots.AXES[x]}", "uri": data_uri(png)})
    return figures


def _quality(run: Run) -> dict[str, Any] | None:
    content = quality.load_quality(run.root)
    if content is None or not content["measures"]:
        return None
    return {"explanation": quality.EXPLANATION, "best": quality.best_predictor_sentence(content),
            "rows": quality.quality_rows(content),
            "uri": data_uri(quality.quality_figure(content["measures"], content["fpir"]))}


def _detectors(run: Run) -> dict[str, Any] | None:
    section = detector_section(run.root)
    if section is None:
        return None
    png = section.pop("png")
    return {**section, "half": f"{HALF:.0%}", "most": f"{MOST:.0%}", "uri": data_uri(png)}


def render_html(run: Run) -> str:
    """The report of ``run`` as one HTML document (plots and images embedded), its ``[REF: key]``
    citations linked to the list of the sources it used (from the run's ``references.toml``)."""
    manifest = run.manifest
    protocol_text, protocol = protocol_rows(run)
    limit = run.experiment.get("limit")
    title = f"Can the driver be identified? Evidence from experiment {manifest.get('experiment') or run.root.name!r}"
    context: dict[str, Any] = {
        "title": f"SMOKE TEST, NOT A MEASUREMENT (--limit {limit}): {title}" if limit else title,
        "limit": limit,
        "verdicts": verdict_blocks(run),
        "rule": rule_text(),
        "scenarios": scenario_methods(run),
        "run_dir": str(run.root),
        "started": manifest.get("started_at") or "not recorded",
        "finished": manifest.get("ended_at") or "not finished",
        "written": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "claim": CLAIM,
        "gallery_size": gallery_size(manifest),
        "headline": headline_rows(run),
        "headline_rule": headline_rule(run),
        "reproduce": reproduce_command(manifest, run.root),
        "reference_lines": plots.REFERENCE_LINES,
        "figures": _figures(run),
        "quality": _quality(run),
        "detectors": _detectors(run),
        "outside_frame": outside_frame(run),
        "sheets": [
            {"title": sheet.title, "caption": sheet.caption, "uri": data_uri(sheet.png)}
            for sheet in contact_sheets(run)
        ],
        "dataset": dataset_rows(manifest),
        "protocol_text": protocol_text,
        "protocol": protocol,
        "models": model_rows(manifest),
        "stages": stage_rows(manifest),
        "profiles": profile_tables(run),
        "statistics": STATISTICS,
        "limitations": [*LIMITATIONS, *run_limitations(run)],
        "speed": speed_rows(manifest),
        "manifest_json": json.dumps(manifest, indent=2, sort_keys=False, default=str),
        "experiment_text": run.experiment_text,
    }
    template = _TEMPLATES.get_template("report.html.j2")
    body = template.render({**context, "references": [], "has_bibliography": bool(run.references)})
    used = used_references(body, run.references)
    html = template.render({**context, "references": used, "has_bibliography": bool(run.references)})
    return link_citations(html, set(run.references))


def build_report(run_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` into ``run_dir`` and return their paths.

    Parameters
    ----------
    run_dir : Path
        A finished run directory (``summary.csv``, ``manifest.json``, ``experiment.toml``,
        ``conditions/``, ``samples/``).

    Raises
    ------
    DataError
        A file the report needs is missing or unreadable (the message names it).
    OutputError
        The report files cannot be written.
    """
    from weasyprint import HTML  # noqa: PLC0415  slow import, needed only here

    run = read_run(Path(run_dir))
    html = render_html(run)
    html_path, pdf_path = run.root / "report.html", run.root / "report.pdf"
    write_bytes(html_path, html.encode("utf-8"))
    write_bytes(pdf_path, HTML(string=html, base_url=str(run.root)).write_pdf())
    return html_path, pdf_path
