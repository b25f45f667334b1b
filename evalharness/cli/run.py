"""``evalharness run``: evaluate an experiment's grid of camera conditions into a run directory."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from evalharness.cli.app import app, options, print_json, say
from evalharness.config.loading import parse_overrides


@app.command("run")
def run_command(
    experiment: Path = typer.Argument(..., metavar="EXPERIMENT.toml",
                                      help="Experiment TOML, e.g. configs/experiments/default.toml."),
    out: Path = typer.Option(..., "--out", "-o", metavar="RUN_DIR", help="Run directory, e.g. reports/default."),
    device: str = typer.Option("auto", "--device",
                               help="auto, cpu or cuda (cuda without a GPU is an error, exit 4)."),
    limit: int = typer.Option(None, "--limit", min=1, metavar="N",
                              help="At most N probes per condition (a seeded choice)."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                   help="Override an experiment key: KEY=VALUE (dotted for tables)."),
    executor: str = typer.Option("local", "--executor",
                                 help="local (this process) or ray (a Ray cluster; pip install '.[ray]')."),
    address: str = typer.Option(None, "--address",
                                help="Ray cluster address (HOST:PORT); default: start a local Ray instance."),
    workers: int = typer.Option(None, "--workers", min=1, metavar="N",
                                help="Ray workers; default one per GPU, or one per CPU core."),
    shard_probes: int = typer.Option(None, "--shard-probes", min=1, metavar="N",
                                     help="Ray: probes per task, rounded up to whole batches "
                                          "(default 1024)."),
    report: bool = typer.Option(True, "--report/--no-report",
                                help="Write report.html and report.pdf when the run ends."),
    json_output: bool = typer.Option(False, "--json",
                                     help="Print one JSON object of the written paths instead."),
) -> None:
    """Run EXPERIMENT's conditions and write rows, summary and manifest under --out.

    Rerunning the same command on the same --out resumes: finished conditions are kept.
    The last line printed is the path of the evidence report (unless --no-report); with --json,
    one object: run_dir, summary, manifest, log, conditions (how many), report_html and report_pdf
    (null without a report).

    With --executor ray the conditions run on Ray workers (each holding the models), and the
    results come back here to be written under --out exactly as a local run writes them.

    Example: evalharness run configs/experiments/default.toml --out reports/default
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from evalharness.evaluation.runner import prepare

    run = prepare(experiment, out, parse_overrides(set_), device=device, limit=limit,
                  command=["evalharness", *sys.argv[1:]], executor=executor, address=address,
                  workers=workers, shard_probes=shard_probes)
    pending = run.pending
    counts = [run.probes_of(condition) for condition in pending]
    each = ("nothing to evaluate" if not counts else f"{counts[0]} probes each" if len(set(counts)) == 1
            else f"{min(counts)}-{max(counts)} probes a condition")
    say(f"{run.experiment.name}: {len(run.grid)} conditions ({len(run.grid) - len(pending)} done), "
        f"{each}, on {run.device} ({executor})")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=options.quiet) as progress:
        task = progress.add_task("probes", total=sum(counts))
        summary = run.execute(lambda n: progress.advance(task, n))
    say(f"wrote {out / 'summary.csv'} ({len(summary)} conditions)")
    speed = run.throughput
    if speed is not None and speed.probe_conditions_per_s is not None:
        say(f"{speed.probe_conditions} probe-conditions in {speed.wall_s:.1f} s: "
            f"{speed.probe_conditions_per_s:.1f} a second on {speed.device} (per stage: run.log)")
    html_path = pdf_path = None
    if report:
        # Imported only now: matplotlib (and its font cache, on a fresh machine) is not needed
        # before the first condition.
        from evalharness.report import build_report

        html_path, pdf_path = build_report(out)
        say(f"wrote {pdf_path}")
    if json_output:
        print_json({"run_dir": out, "summary": out / "summary.csv", "manifest": out / "manifest.json",
                    "log": out / "run.log", "conditions": len(summary),
                    "report_html": html_path, "report_pdf": pdf_path})
    elif html_path is not None:
        typer.echo(str(html_path))
