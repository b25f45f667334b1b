"""``evalharness validate``: a camera profile's simulation against real camera images."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from evalharness.cli.app import app, print_json, say
from evalharness.config.experiment import (
    DEFAULT_DETECTOR,
    DEFAULT_RECOGNIZER,
    DEFAULT_VALIDATION_DRAWS,
    DEFAULT_VALIDATION_SEED,
)
from evalharness.config.loading import parse_overrides


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:5.1f}"


@app.command("validate")
def validate_command(
    real: Path = typer.Argument(..., help="Paired dataset: gallery/, probes/, sources/ (README)."),
    profile: list[str] = typer.Option(..., "--profile", "-p", metavar="[GROUP=]PROFILE",
                                      help="Camera profile (name or TOML path) for every probe, or "
                                           "GROUP=PROFILE per camera group of probes.csv (repeat)."),
    out: Path = typer.Option(..., "--out", "-o", help="New folder for the validation run."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Override a profile field."),
    detector: str = typer.Option(DEFAULT_DETECTOR, "--detector", help="Face detector."),
    recognizer: str = typer.Option(DEFAULT_RECOGNIZER, "--recognizer", help="Face recognizer."),
    calibration: Path = typer.Option(None, "--calibration",
                                     help="An earlier validate run whose fitted corrections to apply."),
    view: str = typer.Option("pose", "--view",
                             help="Source view: pose (nearest each real probe's head pose), frontal, or camera "
                                  "(nearest the camera's view from the profile's geometry)."),
    exposure: str = typer.Option("skin", "--exposure",
                                 help="face (light scaled until each simulated face is as bright as its real "
                                      "probe's, on the centre of the face box), skin (the same on the face's "
                                      "skin, located by its landmarks) or profile (the profile's light)."),
    walk: str = typer.Option("facing", "--walk",
                             help="facing (each subject walks where the head faces: walking direction from "
                                  "the real probe's head yaw) or profile (the profile's direction)."),
    size: str = typer.Option("head", "--size",
                             help="head (each simulated head as large as its real probe's, from the fitted "
                                  "face) or eyes (the landmarks' eye distances matched)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    draws: int = typer.Option(DEFAULT_VALIDATION_DRAWS, "--draws",
                              help="Simulations of each real probe, with independent noise; its simulated "
                                   "outcome is the share identified."),
    seed: int = typer.Option(DEFAULT_VALIDATION_SEED, "--seed",
                             help="Seed of the simulated cameras' noise and of the bootstrap intervals."),
    json_output: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
) -> None:
    """Simulate each real probe of REAL with PROFILE at its real inter-eye distance and compare.

    Prints real and simulated rank-1 per inter-eye-distance bin with the gap's 95% interval
    (paired bootstrap over people); with --calibration, also the corrected prediction; then
    whether the validation goal is met (evalharness/evaluation/validation_goal.py). The run
    directory holds per-probe rows, the corrections fitted here, and validation.html.

    Example: evalharness validate REAL --profile configs/profiles/validation/frmdb-cctv.toml --out reports/val
    """
    from evalharness.evaluation.validate_run import validate
    from evalharness.evaluation.validation_goal import criteria, verdict
    from evalharness.report.validation import write_validation_report

    result = validate(real, profile, parse_overrides(set_), out, detector=detector,
                      recognizer=recognizer, device=device, calibration=calibration, view_choice=view,
                      exposure=exposure, walk=walk, size=size, seed=seed, draws=draws,
                      command=["evalharness", *sys.argv[1:]], progress=say)
    html = write_validation_report(out)
    figures = result.summary.get("corrected", result.summary["raw"])
    if json_output:
        print_json(figures)
        return
    has_pred = "corrected" in result.summary
    header = f"{'IED px':>9} {'n':>4} {'real':>6} {'sim':>6}" + (f" {'pred':>6}" if has_pred else "") + \
        f" {'gap (95% CI)':>22}"
    typer.echo(header)
    for row in [*figures["bins"], {**figures["overall"], "ied_px_low": None}]:
        label = "all" if row["ied_px_low"] is None else \
            f"{row['ied_px_low']:g}-{'' if row['ied_px_high'] is None else format(row['ied_px_high'], 'g')}"
        line = f"{label:>9} {row['n']:>4} {_percent(row['real_rank1'])} {_percent(row['sim_rank1'])}"
        if has_pred:
            line += f" {_percent(row.get('pred_rank1'))}"
        if row["gap"] is not None:
            line += f" {100 * row['gap']:+6.1f} ({100 * row['gap_ci_low']:+.1f} to {100 * row['gap_ci_high']:+.1f})"
        typer.echo(line)
    for group in figures["cameras"]:
        typer.echo(f"camera {group['camera']}: n {group['n']}, real {_percent(group['real_rank1'])}, "
                   f"simulated {_percent(group['sim_rank1'])}" +
                   (f", predicted {_percent(group.get('pred_rank1'))}" if has_pred else "") +
                   f"; detection real {_percent(group['real_detection'])}, simulated "
                   f"{_percent(group['sim_detection'])}" +
                   (f", predicted {_percent(group.get('pred_detection'))}" if has_pred else ""))
    for group in figures.get("poses", []):
        typer.echo(f"real faces {group['pose']}: n {group['n']}, real {_percent(group['real_rank1'])}, "
                   f"simulated {_percent(group['sim_rank1'])}" +
                   (f", predicted {_percent(group.get('pred_rank1'))}" if has_pred else "") +
                   f"; probes per IED bin {' / '.join(map(str, group['n_per_bin']))}")
    overall = figures["overall"]
    typer.echo(f"detection: real {_percent(overall['real_detection'])}%, simulated "
               f"{_percent(overall['sim_detection'])}%" +
               (f", predicted {_percent(overall.get('pred_detection'))}%" if has_pred else "") +
               f"; {figures['undetected_real']} real probes undetected" +
               (f"; {figures['not_simulated']} not simulated (their problem in probes.parquet), left out of "
                "every figure" if figures.get("not_simulated") else ""))
    error = overall.get("sim_rank1_mc_se")
    typer.echo(f"simulated {draws} time(s) per probe" + (
        "; another seed could move the simulated rates by several points (--draws)" if error is None else
        f"; Monte Carlo standard error of the simulated rank-1: {100 * error:.1f} points overall"))
    typer.echo(f"corrections fitted here: {result.corrections.describe()}")
    typer.echo(verdict(criteria(result.summary)[0]))
    typer.echo(str(html))
