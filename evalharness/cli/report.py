"""``evalharness report RUN_DIR``: write report.html and report.pdf into a finished run."""

from __future__ import annotations

from pathlib import Path

import typer

from evalharness.cli.app import app, print_json, say


@app.command(
    epilog=(
        "Examples:\n\n"
        "  evalharness report reports/default\n\n"
        "  evalharness report reports/default --json"
    )
)
def report(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A finished run directory (holds summary.csv)."),
    json_output: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Render the run's evidence report (one self-contained HTML file and a PDF) into RUN_DIR.

    The report reads only the run directory; rebuilding it never reruns the evaluation.
    """
    from evalharness.report import build_report

    say(f"rendering the report of {run_dir}")
    html_path, pdf_path = build_report(run_dir)
    if json_output:
        print_json({"html": str(html_path), "pdf": str(pdf_path)})
    else:
        typer.echo(str(pdf_path))
        typer.echo(str(html_path))  # last, so scripts can take the final line
