"""``evalharness compare RUN_A RUN_B``: exit non-zero when two runs' summaries differ."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from evalharness.cli.app import app, print_json
from evalharness.errors import ComparisonError


@app.command(
    epilog=(
        "Examples:\n\n"
        "  evalharness compare reports/cpu reports/gpu --within-ci\n\n"
        "  evalharness compare reports/reference reports/today --tolerance 0.01"
    )
)
def compare(
    run_a: Path = typer.Argument(..., metavar="RUN_A", help="First run directory (holds summary.csv)."),
    run_b: Path = typer.Argument(..., metavar="RUN_B", help="Second run directory."),
    tolerance: float = typer.Option(0.0, min=0.0, help="Absolute difference allowed per metric."),
    within_ci: bool = typer.Option(
        False, "--within-ci", help="Also allow the wider 95% interval width per metric."
    ),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Compare two runs condition by condition; exit 6 when any metric differs beyond the allowed.
    Names a difference of device or processor where both runs' manifests record them."""
    from evalharness.evaluation.compare import EVERY_CONDITION, arithmetic, compare_summaries, read_summary

    differences = compare_summaries(read_summary(run_a), read_summary(run_b), tolerance, within_ci)
    first, second = arithmetic(run_a), arithmetic(run_b)
    unlike = first.difference(second) if first is not None and second is not None else None
    if json_output:
        print_json({"identical_within_tolerance": not differences,
                    "differences": [asdict(d) for d in differences],
                    "arithmetic": {"a": first and asdict(first), "b": second and asdict(second),
                                   "difference": unlike}})
    else:
        runs = {"a": run_a, "b": run_b}
        for d in differences:
            if d.only_in is not None:
                missing = runs["b" if d.only_in == "a" else "a"]
                lacks = "this condition" if d.condition_id != EVERY_CONDITION else f"the metric {d.metric}"
                typer.echo(f"{d.condition_id}  only in {runs[d.only_in]}: {missing} lacks {lacks}")
            else:
                typer.echo(f"{d.condition_id}  {d.metric}: {d.value_a:.4f} vs {d.value_b:.4f} "
                           f"(allowed {d.allowed:.4f})")
        if unlike is not None:
            typer.echo(f"note: the runs were computed on {unlike}: another device or processor can "
                       "sum in another order and flip a probe near a threshold; --within-ci allows for that")
    if differences:
        raise ComparisonError(f"{len(differences)} metric(s) differ between {run_a} and {run_b}")
    if not json_output:
        typer.echo(f"{run_a} and {run_b} agree within the tolerance")
