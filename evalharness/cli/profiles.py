"""``evalharness profiles list|show`` and ``evalharness degrade``: camera profiles at work."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from evalharness.cli.app import app, print_json, say
from evalharness.cli.batch import each, finish
from evalharness.cli.plain import PlainTyper
from evalharness.config.loading import parse_overrides
from evalharness.config.profile import (
    CameraProfile,
    field_rows,
    list_profiles,
    load_profile,
    profile_from_layers,
    resolve_profile,
)
from evalharness.errors import ConfigError, DataError, OutputError

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from evalharness.camera.scene import SceneOptions
    from evalharness.camera.simulate import Capture
    from evalharness.models import Detector

profiles_app = PlainTyper(
    help="Camera profiles (configs/profiles/*.toml): list them, show their derived figures.",
    no_args_is_help=True,
)
app.add_typer(profiles_app, name="profiles")

SET_HELP = ("Override a profile field, e.g. --set distance_m=25 (repeatable); --set ied_px=24 or "
            "px_per_m=400 moves distance_m to give that resolution.")


def _at_target(profile: CameraProfile, target: dict[str, float]) -> CameraProfile:
    """The profile moved to a ``--set ied_px=`` / ``px_per_m=`` resolution, saying where to."""
    if not target:
        return profile
    from evalharness.camera.geometry import at_resolution

    moved = at_resolution(profile, **target)
    say(f"{_asked(target)}: distance_m = {moved.distance_m:.3f} m (the rest of the geometry kept)")
    return moved


def _asked(target: dict[str, float]) -> str:
    """A resolution target as the command line gave it: ``ied_px=24``."""
    return " ".join(f"{key}={value:g}" for key, value in target.items())

#: Degrade sheets show one stored pixel as ``zoom x zoom`` screen pixels, the same zoom for every
#: distance (so that a face at 40 m looks smaller and coarser than at 20 m), up to this largest
#: zoom and this largest panel height.
SHEET_MAX_ZOOM = 4
SHEET_MAX_PANEL_PX = 768

#: What ``degrade`` writes per photograph: NAME followed by each of these.
DEGRADE_OUTPUTS = (".jpg", "_sheet.png", "_frame.jpg", "_frame_sheet.png")

#: Units printed beside the figures of ``profiles show``.
_UNITS = {
    "slant_range_m": "m", "px_per_m": "px/m", "ied_px": "px", "face_width_px": "px",
    "pitch_deg": "deg", "yaw_deg": "deg", "focal_length_px": "px", "focal_length_mm": "mm",
    "hfov_deg": "deg", "focus_range_m": "m", "motion_blur_px": "px", "motion_angle_deg": "deg",
    "face_x_px": "px", "face_y_px": "px", "defocus_blur_px": "px",
    "diffraction_cutoff_cyc_per_px": "cycles/px", "mtf50_cyc_per_px": "cycles/px",
    "white_signal_e": "e-", "face_signal_e": "e-", "snr_db": "dB", "canvas_px": "px",
}


@profiles_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List the shipped camera profiles with their description.

    Example: evalharness profiles list
    """
    rows = [load_profile(name) for name in list_profiles()]
    if as_json:
        print_json([{"name": p.name, "description": p.description} for p in rows])
        return
    for profile in rows:
        typer.echo(f"{profile.name:<24} {profile.description}")


@profiles_app.command("show")
def show_command(
    name: str = typer.Argument(..., metavar="NAME", help="Profile name (file stem) or path to a .toml file."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show a profile's fields (value, unit, source) and derived figures (pixels on the face,
    blur, noise, DORI class).

    Each field is marked set (by the file itself), overridden (the file replaces its base's
    value), inherited (from a base file), --set, derived or default, with the comment of the line
    that set it. --json prints the derived figures with a "fields" list.

    Example: evalharness profiles show ir-two-lane --set distance_m=25 --json
    """
    from evalharness.camera.geometry import split_resolution
    from evalharness.camera.simulate import derive

    overrides, target = split_resolution(parse_overrides(set_))
    layers = resolve_profile(name)
    profile = _at_target(profile_from_layers(layers, overrides), target)
    # A resolution target moves the camera: its distance is the command line's, solved.
    solved = {"distance_m": profile.distance_m} if target else {}
    rows = [dataclasses.replace(row, comment=f"solved from --set {_asked(target)}") if row.name in solved else row
            for row in field_rows(layers, profile, overrides | solved)]
    figures = derive(profile)
    _warn_out_of_frame(profile)
    if as_json:
        print_json({**figures, "profile_files": [str(p) for p in layers.chain],
                    "fields": [dataclasses.asdict(row) for row in rows]})
        return
    typer.echo(f"{profile.name}: {profile.description}")
    typer.echo(f"  file: {' on '.join(str(p) for p in layers.chain)}")
    typer.echo("  fields (value unit, how it was set [file]  # source comment):")
    for row in rows:
        where = f"{row.status} [{row.file}]" if row.file else row.status
        value = f"{_shown(row.value)} {row.unit}".rstrip()
        typer.echo(f"  {row.name:<32} {value:<22} {where}" + (f"  # {row.comment}" if row.comment else ""))
    typer.echo("  derived figures:")
    for key, value in figures.items():
        if key in ("name", "inputs"):
            continue
        typer.echo(f"  {key:<32} {_shown(value)} {_UNITS.get(key, '')}".rstrip())
    typer.echo("  (pitch and yaw are reported, not simulated: the camera model is 2-D)")


def _shown(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@app.command("degrade")
def degrade_command(
    images: list[Path] = typer.Argument(..., metavar="IMAGE", help="Face photographs to degrade."),
    profile_name: str = typer.Option(..., "--profile", metavar="NAME", help="Profile name or .toml path."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Directory for the results (created)."),
    eyes: str = typer.Option(
        "detect", "--eyes", metavar="detect|lfw",
        help="Source eye positions: 'detect' (MTCNN landmarks; a photograph without a face is an "
        "error) or 'lfw' (the LFW deep-funneled 250x250 default).",
    ),
    full_frame: bool = typer.Option(False, "--frame", help="Also store the full sensor frame."),
    scene_name: str = typer.Option(
        "flat", "--scene", metavar="flat|road",  # camera.scene.SCENES, which imports torch
        help="The frame around the face (with --frame): 'flat' (18% grey) or 'road' (the driver "
        "behind the windscreen of a car on a road; also writes NAME_frame_sheet.png).",
    ),
    sun_visor: bool = typer.Option(False, "--sun-visor", help="With --scene road: the sun visor down."),
    a_pillar: bool = typer.Option(
        False, "--a-pillar", help="With --scene road: the A-pillar in front of half the face."),
    seed: int = typer.Option(0, "--seed", help="Run seed for the noise."),
) -> None:
    """Degrade photographs as the profile's camera would store them.

    Writes, per image, NAME.jpg (the stored JPEG file, byte for byte), NAME_sheet.png (the
    original beside each stage's result) and, with --frame, NAME_frame.jpg (not written, with a
    warning, when the face is outside the frame); with --scene road also NAME_frame_sheet.png
    (the frame beside an enlargement around the face). An image that cannot be read is reported
    and the others are still degraded; the exit status is then 3.

    Example: evalharness degrade face.jpg --profile ir-two-lane --set distance_m=25 --out out/

    Example: evalharness degrade face.jpg --profile ir-two-lane --frame --scene road --out out/
    """
    import torch

    from evalharness.camera.geometry import split_resolution
    from evalharness.camera.sheet import contact_sheet
    from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
    from evalharness.data.images import load_image
    from evalharness.seeding import probe_generator

    if eyes not in ("detect", "lfw"):
        raise typer.BadParameter(f"--eyes must be 'detect' or 'lfw' (got {eyes!r})")
    scene_options = _scene_options(scene_name, full_frame, sun_visor=sun_visor, a_pillar=a_pillar)
    overrides, target = split_resolution(parse_overrides(set_))
    profile = _at_target(load_profile(profile_name, overrides), target)
    condition_id = _condition_id(profile)
    in_frame = _warn_out_of_frame(profile)
    stems: dict[str, Path] = {}
    for path in images:
        if path.stem in stems and stems[path.stem] != path:
            raise ConfigError(f"{stems[path.stem]} and {path} would both be written as {out / path.stem}.jpg; "
                              "give the photographs different names or degrade them separately")
        stems[path.stem] = path
    written = {(out / f"{path.stem}{suffix}").resolve() for path in images for suffix in DEGRADE_OUTPUTS}
    if clash := next((path for path in images if path.resolve() in written), None):
        raise ConfigError(f"{clash}: degrade would write its results over this photograph; give another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{out}: cannot create the output directory: {error}") from None

    detector = _mtcnn() if eyes == "detect" else None

    def degrade_one(path: Path) -> None:
        face = load_image(path)
        eye_px = torch.tensor(LFW_DEEPFUNNELED_EYES_PX) if detector is None else _eyes(face, path, detector)
        capture = simulate(face[None], eye_px[None], profile,
                           [probe_generator(seed, condition_id, path.name)], keep_stages=True)
        stem = out / path.stem
        _write(stem.with_suffix(".jpg"), capture.jpeg[0])
        side = capture.images.shape[-2]
        zoom = max(1, min(SHEET_MAX_ZOOM, SHEET_MAX_PANEL_PX // side))
        caption = (f"{path.name}: {profile.name}, distance_m={profile.distance_m:g}; IED "
                   f"{capture.ied_px:.1f} px; stored {side}x{capture.images.shape[-1]} px JPEG, "
                   f"{len(capture.jpeg[0])} bytes; shown at {zoom}x (one stored pixel = {zoom}x{zoom})")
        sheet = contact_sheet({"original": face, **{k: v[0] for k, v in capture.stages.items()}},
                              panel_px=zoom * side, caption=caption)
        sheet.save(f"{stem}_sheet.png")
        if full_frame and in_frame:
            frame = simulate(face[None], eye_px[None], profile, [probe_generator(seed, condition_id, path.name)],
                             full_frame=True, scene_options=scene_options)
            _write(Path(f"{stem}_frame.jpg"), frame.jpeg[0])
            if scene_options is not None:
                _frame_sheet(frame, f"{path.name}: {profile.name}, distance_m={profile.distance_m:g}, "
                             f"scene road{_option_names(scene_options)}; IED {frame.ied_px:.1f} px; stored "
                             f"{frame.images.shape[-1]}x{frame.images.shape[-2]} px JPEG, "
                             f"{len(frame.jpeg[0])} bytes").save(f"{stem}_frame_sheet.png")
        say(f"{path} -> {stem}.jpg (IED {capture.ied_px:.1f} px, {len(capture.jpeg[0])} bytes)")

    finish(each(images, degrade_one))


def _scene_options(name: str, full_frame: bool, *, sun_visor: bool, a_pillar: bool) -> SceneOptions | None:
    """The road scene's options, None for the flat frame; usage errors for options that do not fit."""
    from evalharness.camera.scene import SCENES, SceneOptions

    if name not in SCENES:
        raise typer.BadParameter(f"--scene must be one of {', '.join(SCENES)} (got {name!r})")
    if name != "flat" and not full_frame:
        raise typer.BadParameter("--scene draws the full frame: give --frame too")
    if name != "road" and (sun_visor or a_pillar):
        raise typer.BadParameter("--sun-visor and --a-pillar need --frame --scene road")
    return SceneOptions(sun_visor=sun_visor, a_pillar=a_pillar) if name == "road" else None


def _option_names(options: SceneOptions) -> str:
    chosen = options.occlusions()
    return f" with {' and '.join(chosen)}" if chosen else ""


#: The frame sheet: the whole frame, and beside it a crop of FRAME_CROP_IED inter-eye distances
#: around the face, both FRAME_SHEET_PX high.
FRAME_SHEET_PX = 540
FRAME_CROP_IED = 10


def _frame_sheet(capture: Capture, caption: str) -> Image.Image:
    """The stored frame beside an enlargement around the face (for a person to judge)."""
    from evalharness.camera.sheet import contact_sheet

    image = capture.images[0]
    height, width = image.shape[-2:]
    side = min(height, width, max(48, round(FRAME_CROP_IED * capture.ied_px)))
    x, y = capture.eyes_px[0].mean(dim=0).tolist()
    left = min(max(round(x - side / 2), 0), width - side)
    top = min(max(round(y - side / 2), 0), height - side)
    zoom = FRAME_SHEET_PX / side
    return contact_sheet({"stored frame": image,
                          f"around the face, {zoom:.1f}x": image[:, top:top + side, left:left + side]},
                         panel_px=FRAME_SHEET_PX, caption=caption)


def _warn_out_of_frame(profile: CameraProfile) -> bool:
    """Warn (one ``warning:`` line) when the face is outside the camera's frame; True when inside."""
    from evalharness.camera.geometry import derive_geometry, out_of_frame

    outside = out_of_frame(profile, derive_geometry(profile))
    if outside is not None:
        warnings.warn(outside, stacklevel=2)
    return outside is None


def _condition_id(profile: CameraProfile) -> str:
    """A stable id of the profile's values (the seed of its noise)."""
    return hashlib.sha256(profile.model_dump_json().encode()).hexdigest()[:16]


def _mtcnn() -> Detector:
    """The detector that places the eyes for ``degrade --eyes detect``, loaded once per command."""
    from evalharness.models.registry import get_detector

    return get_detector("mtcnn", "cpu")


def _eyes(face: torch.Tensor, path: Path, detector: Detector) -> torch.Tensor:
    """Eye centres (2, 2) from the landmarks of the face nearest the image's centre.

    Raises
    ------
    DataError
        No face is found: the camera model would be placed on hair or background.
    """
    import torch

    from evalharness.models.align import central_face

    detected = detector.detect([face])[0]
    if len(detected):
        eye_px = torch.from_numpy(detected.landmarks[central_face(detected.boxes, *face.shape[-2:]), :2].copy())
        if math.isfinite(float(eye_px.sum())):
            return eye_px
    raise DataError(f"{path}: no face found to place the camera model on; give a photograph of a face, "
                    "or --eyes lfw for an LFW deep-funneled 250x250 image")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error}") from None
