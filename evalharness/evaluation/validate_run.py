"""A validation run directory: what ``evalharness validate`` writes, and reads back.

::

    OUT/
      probes.parquet         one row per real probe (evaluation/validation.py)
      summary.json           the figures (evaluation/validation_summary.py), with and without
                             the applied corrections
      corrections.json       the corrections fitted on THIS run (for --calibration elsewhere)
      profiles/<group>.toml  each camera group's profile as validated (bases merged in; --set is
                             in the manifest), all.toml for one profile serving every group
      manifest.json          dataset fingerprints, models and sha256, profile, calibration
                             source, versions, git commit, command, times
      samples/real/..., samples/simulated/...   thumbnails for the real | simulated sheet
      validation.html        the report section
"""

from __future__ import annotations

import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.camera.geometry import RESOLUTION_KEYS
from evalharness.config.experiment import DEFAULT_VALIDATION_DRAWS, DEFAULT_VALIDATION_SEED
from evalharness.config.profile import CameraProfile, load_profile, resolved_toml
from evalharness.data.paired import open_paired
from evalharness.evaluation import manifest, store
from evalharness.evaluation.validation import Validation, ied_column
from evalharness.evaluation.validation_summary import Corrections, fit_corrections, summarize
from evalharness.errors import ConfigError, DataError
from evalharness.models import get_detector, get_recognizer, resolve_device

#: File names inside a validation run directory.
ROWS, SUMMARY, CORRECTIONS, MANIFEST = ("probes.parquet", "summary.json", "corrections.json", "manifest.json")


@dataclass(frozen=True)
class ValidationResult:
    """What a validation wrote: its directory, rows, figures and the corrections fitted on it."""

    run_dir: Path
    rows: pd.DataFrame
    summary: dict[str, Any]
    corrections: Corrections


#: What a validation's simulation depends on besides its data and profiles (manifest keys):
#: corrections fitted on a run that differs in any of them describe another simulation.
SIMULATION_SETTINGS = ("view_choice", "exposure", "walk", "size", "overrides")
#: Profile fields that describe a profile without changing its simulation.
PROFILE_METADATA = ("description", "validation")


def calibration_mismatches(calibration: Path, here: dict[str, Any], run_dir: Path) -> list[str]:
    """How the simulation of the validation run ``run_dir`` (its manifest entries ``here`` and its
    ``profiles/<group>.toml``) differs from that of ``calibration``, whose corrections it applies:
    one phrase per setting (:data:`SIMULATION_SETTINGS`), model and camera group's profile value
    (metadata aside) that differs; empty when both simulated alike. A setting the calibration's
    manifest lacks (an older evalharness) counts as differing."""
    there = store.read_json(Path(calibration) / MANIFEST,
                            missing=f"is {calibration} an `evalharness validate` run directory?")
    found = [f"{key} {there.get(key, 'not recorded')!r} there, {here[key]!r} here"
             for key in SIMULATION_SETTINGS if there.get(key) != here[key]]
    def model(entry: dict[str, str] | None) -> str:
        return "not recorded" if entry is None else f"{entry['name']} (weights {entry['weights_sha256'][:12]})"

    found += [f"{role} {model(there.get('models', {}).get(role))} there, {model(entry)} here"
              for role, entry in here["models"].items() if there.get("models", {}).get(role) != entry]
    for group in here["profiles"]:
        name = f"{'all' if group == '*' else group}.toml"
        theirs_path = Path(calibration) / "profiles" / name
        if not theirs_path.is_file():
            found.append(f"no profile for camera group {group!r} there")
            continue
        theirs, ours = (tomllib.loads(path.read_text(encoding="utf-8"))
                        for path in (theirs_path, Path(run_dir) / "profiles" / name))
        changed = sorted(key for key in theirs.keys() | ours.keys()
                         if key not in PROFILE_METADATA and theirs.get(key) != ours.get(key))
        found += [f"camera group {group!r}: {key} {theirs.get(key)!r} there, {ours.get(key)!r} here"
                  for key in changed]
    return found


def probes_in_fit(calibration: Path, rows: pd.DataFrame) -> int | None:
    """How many of ``rows``' real probes (by their image's sha256) are among those of the
    validation ``calibration`` whose corrections are applied to them: corrections fitted on the
    probes they predict are in sample, not a prediction. None when either run does not record its
    images' sha256 (runs before session 23)."""
    theirs = store.read_parquet(Path(calibration) / ROWS, f"is {calibration} an `evalharness validate` run directory?")
    if "sha256" not in theirs or "sha256" not in rows:
        return None
    return int(rows["sha256"].isin(set(theirs["sha256"])).sum())


def read_corrections(run_dir: Path) -> Corrections:
    """The corrections an earlier validation run fitted (``--calibration DIR``)."""
    path = Path(run_dir) / CORRECTIONS
    written = store.read_json(path, missing=f"is {run_dir} an `evalharness validate` run directory?")
    try:
        return Corrections.from_dict(written)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path}: not corrections that evalharness validate wrote ({error})") from error


@dataclass(frozen=True)
class PastValidation:
    """What ``quality --validation DIR`` takes from an earlier validation run: its per-probe rows,
    the number of people in its gallery, its detector's and recognizer's names and the column its
    corrections read the face's size from (``Corrections.size_column``), with which they are refitted."""

    rows: pd.DataFrame
    gallery_identities: int
    detector: str
    recognizer: str
    size_column: str


def read_validation(run_dir: Path) -> PastValidation:
    """An earlier validation run's rows and what they hold for (``quality --validation DIR``)."""
    missing = f"is {run_dir} an `evalharness validate` run directory?"
    rows = store.read_parquet(Path(run_dir) / ROWS, missing)
    written = store.read_json(Path(run_dir) / MANIFEST, missing)
    if "gallery_identities" not in written:
        raise DataError(f"{Path(run_dir) / MANIFEST}: no gallery_identities (written by an older "
                        "evalharness); run `evalharness validate` again")
    return PastValidation(rows, int(written["gallery_identities"]), written["models"]["detector"]["name"],
                          written["models"]["recognizer"]["name"], read_corrections(run_dir).size_column)


def camera_profiles(specs: list[str], overrides: dict[str, Any]) -> dict[str, CameraProfile]:
    """``["PROFILE"]`` or ``["GROUP=PROFILE", ...]`` (camera groups of ``probes.csv``) as
    ``{group: profile}``, ``"*"`` for a profile without group; ``overrides`` apply to each."""
    if not specs:
        raise ConfigError("give --profile PROFILE, or --profile GROUP=PROFILE for each camera group")
    profiles = {}
    for spec in specs:
        group, _, name = spec.rpartition("=") if "=" in spec else ("*", "", spec)
        if group in profiles:
            raise ConfigError(f"--profile {spec}: camera group {group!r} given twice")
        profiles[group] = load_profile(name, overrides)
    return profiles


def validate(real: Path, profile_specs: list[str], overrides: dict[str, Any], out: Path, *,
             detector: str = "mtcnn", recognizer: str = "facenet-casia", device: str = "auto",
             calibration: Path | None = None, view_choice: str = "pose", exposure: str = "skin",
             walk: str = "facing", size: str = "head", seed: int = DEFAULT_VALIDATION_SEED,
             draws: int = DEFAULT_VALIDATION_DRAWS,
             command: list[str] | None = None,
             progress: Any = lambda message: None) -> ValidationResult:
    """Compare the profiles' simulation with the real probes of ``real``; write ``out``.

    Raises
    ------
    ConfigError
        A profile, an override, ``ied_px`` / ``px_per_m`` (which a validation sets per probe), or
        a camera group of the data without a profile.
    DataError
        The paired dataset or the calibration directory.
    """
    for option, value, choices in (("--view", view_choice, ("pose", "frontal", "camera")),
                                   ("--exposure", exposure, ("face", "skin", "profile")),
                                   ("--walk", walk, ("facing", "profile")),
                                   ("--size", size, ("head", "eyes"))):
        if value not in choices:
            raise ConfigError(f"{option} {value!r}: choose {', '.join(choices[:-1])} or {choices[-1]}")
    if draws < 1:
        raise ConfigError(f"--draws {draws}: simulate each probe at least once")
    fixed = [key for key in RESOLUTION_KEYS if key in overrides]
    if fixed:
        raise ConfigError(f"--set {fixed[0]}: validate places each simulation at its real probe's "
                          "inter-eye distance; leave the resolution out")
    profiles = camera_profiles(profile_specs, overrides)
    corrections = read_corrections(calibration) if calibration is not None else None
    dataset = open_paired(real)
    groups = sorted({dataset.camera_of(r.relpath) for r in dataset.probes.records})
    unserved = [group for group in groups if group not in profiles and "*" not in profiles]
    if unserved:
        raise ConfigError(f"{real}: camera group {unserved[0]!r} (probes.csv) has no profile; give "
                          f"--profile {unserved[0]}=PROFILE or one --profile for every group")
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out}: not empty; give a new folder for the validation run")
    started = manifest.now_utc()
    resolved = resolve_device(device)
    models = (get_detector(detector, resolved), get_recognizer(recognizer, resolved))
    # The choices were checked above; the Literal fields cannot see that.
    rows, samples = Validation(dataset, profiles, *models, seed, view_choice,  # type: ignore[arg-type]
                               exposure, walk, size, draws).run(progress)
    # Rows first: everything else is computed from them.
    store.write_parquet(out / ROWS, rows)
    for name, data in samples.items():
        store.write_bytes(out / name, data)
    for spec, group in zip(profile_specs, profiles, strict=True):
        name = spec.rpartition("=")[2]
        store.write_text(out / "profiles" / f"{'all' if group == '*' else group}.toml", resolved_toml(name))
    fitted = fit_corrections(rows, {"run_dir": str(out), "dataset": dataset.fingerprint},
                             size_column=ied_column(size))
    store.write_json(out / CORRECTIONS, fitted.as_dict())
    summary = {"raw": summarize(rows, seed=seed)}
    if corrections is not None:
        summary["corrected"] = summarize(rows, corrections, seed=seed)
    store.write_json(out / SUMMARY, summary)
    meta: dict[str, Any] = {
        "kind": "validation", "dataset": {"root": str(dataset.root), "fingerprint": dataset.fingerprint},
        "gallery_identities": len(dataset.gallery.identities()),
        "profiles": {group: {"spec": spec, "name": profile.name, "validation": profile.validation}
                     for spec, (group, profile) in zip(profile_specs, profiles.items(), strict=True)},
        "overrides": overrides, "view_choice": view_choice, "exposure": exposure, "walk": walk, "size": size,
        "models": {"detector": {"name": models[0].name, "weights_sha256": models[0].weights_sha256},
                   "recognizer": {"name": models[1].name, "weights_sha256": models[1].weights_sha256}},
        "calibration": None if corrections is None else {"dir": str(calibration), **corrections.fitted_on,
                                                         "corrections": corrections.as_dict()},
        "device": str(resolved), "seed": seed, "draws": draws, "command": command or [],
        "started": started, "finished": manifest.now_utc(), **manifest.environment()}
    if calibration is not None:
        meta["calibration"]["mismatches"] = calibration_mismatches(calibration, meta, out)
        for mismatch in meta["calibration"]["mismatches"]:
            warnings.warn(f"--calibration {calibration} was fitted on another simulation: {mismatch}",
                          stacklevel=2)
        shared = meta["calibration"]["probes_in_fit"] = probes_in_fit(calibration, rows)
        if shared:
            warnings.warn(f"--calibration {calibration} was fitted on {shared} of these {len(rows)} real probes "
                          "(the same images): the corrected figures are in sample, not a prediction for "
                          "new people", stacklevel=2)
    store.write_json(out / MANIFEST, meta)
    return ValidationResult(out, rows, summary, fitted)
