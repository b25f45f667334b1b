"""``evalharness quality IMAGE... --run RUN_DIR``: place real photographs on a run's quality curves."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from evalharness.cli.app import app, print_json, say
from evalharness.cli.batch import each, finish

#: Said with every result: why two of the run's measures are never computed on a real image.
SIMULATION_ONLY = ("PSNR and SSIM compare a face with its undegraded original, which a real "
                   "photograph lacks: they are simulation-only and not computed here.")
NO_FACE = ("no face found by the run's detector ({detector}). A face the detector cannot find "
           "cannot be searched at all, which is itself evidence about the image's quality.")


def _percent(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100.0 * value:.1f}%"


def _rate(bin_row: dict[str, Any]) -> str:
    """Rank-1 rate with the wider of its subject-bootstrap and Wilson intervals: the bootstrap
    collapses to a point when every probe of a group succeeds or fails, Wilson never does."""
    low = min(bin_row["rank1_ci_low"], bin_row["rank1_wilson_low"])
    high = max(bin_row["rank1_ci_high"], bin_row["rank1_wilson_high"])
    return (f"{_percent(bin_row['rank1'])} (95% CI {_percent(low)}–{_percent(high)}; "
            f"{bin_row['n_rank1']} of {bin_row['n_mated']} probes)")


def _print_face(number: int, face: dict[str, Any], labels: dict[str, str]) -> None:
    box = ", ".join(f"{v:.0f}" for v in face["box"])
    typer.echo(f"  face {number} (box {box} px)")
    model = ("the validation's camera simulation, corrected against real images (validated)" if face["validated"]
             else "the run's probes; UNVALIDATED (no --validation)")
    if face["expected_rank1"] is None:
        typer.echo("    expected rank-1 identification rate: not given")
    else:
        typer.echo(f"    expected rank-1 identification rate: {_percent(face['expected_rank1'])} (95% CI "
                   f"{_percent(face['expected_rank1_ci_low'])}-{_percent(face['expected_rank1_ci_high'])}) in a "
                   f"gallery of {face['gallery_size']}, from the logistic model on IED "
                   f"{face['ied_px']:.1f} px{' and head pose' if face['validated'] else ''} fitted on {model}")
    typer.echo(f"    head pose: yaw {face['yaw_deg']:+.0f} deg, pitch {face['pitch_deg']:+.0f} deg")
    for note in face["notes"]:
        typer.echo(f"    WARNING: {note}")
    typer.echo("    detail, one measure at a time (the model above is the rate to quote):")
    estimate = face["estimate"]
    if estimate is not None:
        typer.echo(f"    expected rank-1 identification rate: {_rate(estimate)}, FNIR at FPIR 0.01 "
                   f"{_percent(estimate['fnir_at_fpir_0.01'])}: the run's {estimate['n_mated']} detected faces "
                   f"most like this one in {', '.join(labels[n] for n in estimate['measures'])} (within "
                   f"{estimate['max_percentile_distance']:.0f} percentile points)")
    outside = [labels[name] for name, placed in face["placements"].items() if not placed["inside"]]
    if outside:
        typer.echo(f"    WARNING: outside the range this run covered in {', '.join(outside)}; "
                   "rates for it are extrapolations (run conditions that reach it)")
    for name, placed in face["placements"].items():
        bin_row = placed["bin"]
        note = "" if placed["inside"] else "  OUTSIDE the run's range: extrapolated"
        typer.echo(f"    {labels[name]}: {face['measures'][name]:.4g} (bin {bin_row['low']:.4g}–"
                   f"{bin_row['high']:.4g}, FNIR at FPIR 0.01 {_percent(bin_row['fnir_at_fpir_0.01'])}): "
                   f"rank-1 {_rate(bin_row)}{note}")
    for name in face["measures"]:
        if name not in face["placements"]:
            reason = "not a JPEG file" if name == "face_jpeg_bytes" else "no value"
            typer.echo(f"    {labels[name]}: {reason}")
    nearest = "; ".join(f"{c['label']} (rank-1 {_percent(c['rank1'])}, {c['n_rank1']} of {c['n_mated']})"
                        for c in face["nearest_conditions"])
    typer.echo(f"    nearest simulated conditions: {nearest or 'none'}")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  evalharness quality still.jpg --run reports/default\n\n"
        "  evalharness quality a.jpg b.png --run reports/default --json"
    )
)
def quality(
    images: list[Path] = typer.Argument(..., metavar="IMAGE", help="Real photographs (for example ANPR stills)."),
    run: Path = typer.Option(..., "--run", metavar="RUN_DIR", help="A finished run directory (holds quality.json)."),
    device: str = typer.Option("auto", "--device", help="Where the detector runs: auto, cpu or cuda."),
    validation: Path = typer.Option(None, "--validation", metavar="VALIDATE_DIR",
                                    help="An `evalharness validate` run of a camera like this one: the "
                                         "expected rate comes from its simulation of that camera, "
                                         "corrected against its real images."),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Detect the faces in real images, measure their quality as the run measured its probes,
    and give each one expected rank-1 rate with its 95% interval: from the run's probes
    (unvalidated), or with --validation from a validation of a camera like this one (its
    simulation at the face's size and head pose, corrected against real images). The run's
    curves, one measure at a time, and its nearest conditions follow as detail.

    The same detector (and options) as the run is used. Measures outside the range the run
    covered are flagged as extrapolations. An image that cannot be read is reported and the
    others are still placed; the exit status is then 3.
    """
    from evalharness.evaluation import store
    from evalharness.evaluation.expected_rate import expected_rank1, fit_rate_model, fit_validated_model
    from evalharness.evaluation.quality_curves import read_probes, read_quality, score_image
    from evalharness.evaluation.validate_run import read_validation
    from evalharness.models import get_detector
    from evalharness.quality import MEASURES

    content = read_quality(run)
    manifest = store.read_json(run / "manifest.json")
    detector_info = manifest["models"]["detector"]
    detector = get_detector(detector_info["name"], device, **detector_info.get("options", {}))
    say(f"placing {len(images)} image(s) on the quality curves of {run}")
    probes = read_probes(run, content)
    if validation is None:
        model = fit_rate_model(probes, manifest["split"]["gallery_identities"])
    else:
        past = read_validation(validation)
        model = fit_validated_model(past.rows, past.gallery_identities, size_column=past.size_column)
        if past.recognizer not in {entry["name"] for entry in manifest["models"]["recognizers"]}:
            say(f"note: the expected rate is that of {validation}'s recognizer ({past.recognizer}), "
                "which the run did not use")
        if past.detector != detector_info["name"]:
            say(f"note: the faces are measured with the run's detector ({detector_info['name']}), the expected "
                f"rate was fitted on the sizes and poses that {validation}'s detector ({past.detector}) measured")
    scored = each(images, lambda path: score_image(path, detector, content, probes), single_raises=not json_output)
    results = [result for _, result in scored.done]
    for result in results:
        for face in result["faces"]:
            face |= asdict(expected_rank1(model, ied_px=face["measures"]["ied_px_landmarks"], **face["pose"]))
    if json_output:
        print_json({"run": str(run), "detector": detector_info["name"], "simulation_only": SIMULATION_ONLY,
                    "results": [r | ({"message": NO_FACE.format(detector=detector_info["name"])}
                                     if not r["faces"] else {}) for r in results],
                    "failed": [str(path) for path in scored.failed]})
        finish(scored)
        return
    labels = {m.name: m.label for m in MEASURES}
    for result in results:
        faces = result["faces"]
        if not faces:
            typer.echo(f"{result['image']}: {NO_FACE.format(detector=detector_info['name'])}")
            continue
        typer.echo(f"{result['image']}: {len(faces)} face(s), most probable first")
        for number, face in enumerate(faces, start=1):
            _print_face(number, face, labels)
    typer.echo(SIMULATION_ONLY)
    finish(scored)
