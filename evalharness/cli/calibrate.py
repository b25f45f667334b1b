"""``evalharness calibrate``: a camera profile measured from stored frames of one real camera."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typing import TYPE_CHECKING

import tomli_w
import typer

from evalharness.cli.app import app, print_json, say
from evalharness.config.profile import load_profile, resolve_profile
from evalharness.errors import ConfigError, DataError, HarnessError, OutputError

if TYPE_CHECKING:
    from evalharness.camera.calibration import Calibrated
    from evalharness.camera.frame_measures import CameraMeasures, FrameMeasures

@app.command("calibrate")
def calibrate_command(
    frames: list[Path] = typer.Argument(..., help="Stored frames of one camera (about 20)."),
    base: str = typer.Option(..., "--base", help="Profile to inherit from: name or .toml path."),
    out: Path = typer.Option(..., "--out", help="The calibrated profile to write (.toml)."),
    as_json: bool = typer.Option(False, "--json", help="Print the measures and values as JSON."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulated chart's and flat fields' noise."),
) -> None:
    """Measure a camera from its frames and write a profile on --base with what was measured.

    Measures frame size, colour or monochrome, JPEG quality and chroma subsampling (from the
    files' tables), noise against signal level and its grain (flat areas) and sharpness (MTF50 of
    the natural edges of the static scene: those recurring in another frame), and matches the
    last two in closed loop through the simulated camera (noise on flat fields at every level the
    frames show: by the sensor's Poisson-Gaussian curve where it follows the frames' noise within
    15%, else as measured in stored values, stored_noise_dn). When the edges cannot be one
    lens's (their MTF50 differs with the window's width or the edges' contrast), the base's lens
    blur is kept and the warning says why. What frames cannot tell (field of view,
    distances, speed) is the base's. Unreadable frames are reported
    and skipped. Each value in NEW.toml is commented with what it was measured from, how, and
    its spread.

    Example: evalharness calibrate frames/*.jpg --base legacy-interlaced --out my-camera.toml
    """
    from evalharness.camera.calibration import calibrate, sharpness_not_measured
    from evalharness.camera.frame_measures import summarise

    if out.suffix != ".toml":
        raise typer.BadParameter(f"--out must end in .toml (got {out})")
    base_profile = load_profile(base)
    if out.resolve() in {path.resolve() for path in resolve_profile(base).chain}:
        raise ConfigError(f"--out {out}: is the base profile (or one of its bases); writing it would "
                          "replace the profile it inherits from: give a new file")
    measured_frames, names, bad = [], [], []
    for path in frames:
        try:
            measured_frames.append(_measure_file(path))
            names.append(str(path))
        except HarnessError as error:
            bad.append(str(path))
            typer.echo(f"error: {error}", err=True)
    if not measured_frames:
        raise DataError(f"none of the {len(frames)} frames could be read")
    measured = summarise(measured_frames, names)
    say(f"measured {measured.frames} frames; matching noise and sharpness through the simulated camera")
    result = calibrate(measured, base_profile, seed=seed)
    if result.sharpness_check is None:
        typer.echo(f"warning: aberration_blur_um is {sharpness_not_measured(measured.sharpness)}",
                   err=True)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    text = _profile_text(base, out, measured, result, names)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(f"{out}: cannot write: {error}") from None
    load_profile(out)  # what was written must load
    if as_json:
        print_json({"out": str(out), "base": base, "frames": names, "skipped": bad,
                    "measured": measured.as_dict(), "values": result.values,
                    "comments": result.comments, "remarks": result.remarks, "warnings": result.warnings,
                    "sharpness_check": result.sharpness_check,
                    "checks": {key: {"real": real, "simulated": sim}
                               for key, (real, sim) in result.checks.items()}})
    else:
        for key, value in result.values.items():
            typer.echo(f"  {key:<26} {value!s:<10} # {result.comments[key]}")
        say(f"wrote {out}")
    if bad:
        raise DataError(f"{len(bad)} of {len(frames)} frames could not be read (listed above); "
                        f"{out} was written from the other {len(names)}")


def _measure_file(path: Path) -> FrameMeasures:
    """Measure one frame file (checked by :func:`read_image` first: a bad file is one error)."""
    from PIL import Image

    from evalharness.camera.frame_measures import measure_image
    from evalharness.data.images import read_image

    read_image(path)
    with Image.open(path) as image:
        return measure_image(image)


def _profile_text(
    base: str, out: Path, measured: CameraMeasures, result: Calibrated, names: list[str]
) -> str:
    """The calibrated profile: ``base``, then each measured value with its comment."""
    # A path base is written relative to the new file, as `base = ...` is read.
    base_ref = base
    if Path(base).suffix == ".toml":
        base_ref = os.path.relpath(Path(base).resolve(), out.resolve().parent)
    folder = os.path.commonpath([str(Path(name).parent) for name in names]) or "."
    lines = [
        f"# Calibrated by `evalharness calibrate` from {measured.frames} frames under {folder}.",
        "# Values not below are the base's (not measurable from frames).",
        *(["# Closed-loop checks (real -> simulated with this profile): " + "; ".join(
            f"{key} {real:.3g} -> {sim:.3g}" for key, (real, sim) in result.checks.items())]
          if result.checks else []),
        *(f"# Measured, not applied: {remark}" for remark in result.remarks),
        tomli_w.dumps({"base": base_ref}).strip(),
        tomli_w.dumps({"description": f"Calibrated from {measured.frames} frames of one camera "
                       f"({measured.width_px}x{measured.height_px})"}).strip()
        + "  # calibrate",
    ]
    for key, value in result.values.items():
        # A table (stored_noise_dn) on one line, as the hand-written profiles give theirs.
        text = (f"{key} = {json.dumps(value)}" if isinstance(value, list)
                else tomli_w.dumps({key: value}).strip())
        lines.append(f"{text}  # {result.comments[key]}")
    return "\n".join(lines) + "\n"
