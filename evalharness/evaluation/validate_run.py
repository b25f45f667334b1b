"""A validation run directory: what ``evalharness validate`` writes, and reads back.

::

    OUT/
      probes.parquet         one row per real probe (evaluation/validation.py)
      summary.json           the figures (evaluation/validation_summary.py), with and without
                             the applied corrections
      corrections.json       the corrections fitted on THIS run (for --calibration elsewhere)
      profile.toml           the profile as validated (after --set)
      manifest.json          dataset fingerprints, models and sha256, profile, calibration
                             source, versions, git commit, command, times
      samples/real/..., samples/simulated/...   thumbnails for the real | simulated sheet
      validation.html        the report section
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from evalharness.camera.geometry import RESOLUTION_KEYS
from evalharness.config.profile import load_profile
from evalharness.data.paired import open_paired
from evalharness.evaluation import manifest, store
from evalharness.evaluation.validation import Validation
from evalharness.evaluation.validation_summary import Corrections, fit_corrections, summarize
from evalharness.errors import ConfigError, DataError
from evalharness.models import get_detector, get_recognizer, resolve_device

#: File names inside a validation run directory.
ROWS, SUMMARY, CORRECTIONS, MANIFEST, PROFILE = (
    "probes.parquet", "summary.json", "corrections.json", "manifest.json", "profile.toml")


@dataclass(frozen=True)
class ValidationResult:
    """What a validation wrote: its directory, rows and figures."""

    run_dir: Path
    rows: pd.DataFrame
    summary: dict[str, Any]


def read_corrections(run_dir: Path) -> Corrections:
    """The corrections an earlier validation run fitted (``--calibration DIR``)."""
    return Corrections.from_dict(store.read_json(
        Path(run_dir) / CORRECTIONS, missing=f"is {run_dir} an `evalharness validate` run directory?"))


def validate(real: Path, profile_name: str, overrides: dict[str, Any], out: Path, *,
             detector: str = "mtcnn", recognizer: str = "facenet-casia", device: str = "auto",
             calibration: Path | None = None, view_choice: str = "pose", seed: int = 20261130,
             command: list[str] | None = None,
             progress: Any = lambda message: None) -> ValidationResult:
    """Compare ``profile_name``'s simulation with the real probes of ``real``; write ``out``.

    Raises
    ------
    ConfigError
        The profile, an override, or ``ied_px`` / ``px_per_m`` (which a validation sets per probe).
    DataError
        The paired dataset or the calibration directory.
    """
    if view_choice not in ("pose", "frontal"):
        raise ConfigError(f"--view {view_choice!r}: choose pose or frontal")
    fixed = [key for key in RESOLUTION_KEYS if key in overrides]
    if fixed:
        raise ConfigError(f"--set {fixed[0]}: validate places each simulation at its real probe's "
                          "inter-eye distance; leave the resolution out")
    profile = load_profile(profile_name, overrides)
    corrections = read_corrections(calibration) if calibration is not None else None
    dataset = open_paired(real)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out}: not empty; give a new folder for the validation run")
    started = manifest.now_utc()
    resolved = resolve_device(device)
    models = (get_detector(detector, resolved), get_recognizer(recognizer, resolved))
    rows, samples = Validation(dataset, profile, *models, seed, view_choice).run(progress)  # type: ignore[arg-type]
    # Rows first: everything else is computed from them.
    store.write_parquet(out / ROWS, rows)
    for name, data in samples.items():
        store.write_bytes(out / name, data)
    store.write_text(out / PROFILE, tomli_w.dumps(profile.model_dump(exclude_none=True)))
    fitted = fit_corrections(rows, {"run_dir": str(out), "dataset": dataset.fingerprint})
    store.write_json(out / CORRECTIONS, fitted.as_dict())
    summary = {"raw": summarize(rows, seed=seed)}
    if corrections is not None:
        summary["corrected"] = summarize(rows, corrections, seed=seed)
    store.write_json(out / SUMMARY, summary)
    store.write_json(out / MANIFEST, {
        "kind": "validation", "dataset": {"root": str(dataset.root), "fingerprint": dataset.fingerprint},
        "profile": profile_name, "overrides": overrides, "view_choice": view_choice,
        "models": {"detector": {"name": models[0].name, "weights_sha256": models[0].weights_sha256},
                   "recognizer": {"name": models[1].name, "weights_sha256": models[1].weights_sha256}},
        "calibration": None if corrections is None else {"dir": str(calibration), **corrections.fitted_on},
        "device": str(resolved), "seed": seed, "command": command or [],
        "started": started, "finished": manifest.now_utc(), **manifest.environment()})
    return ValidationResult(out, rows, summary)
