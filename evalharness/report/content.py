"""The report's words and tables, computed from a run: summary answers, methods, provenance.

Functions here turn the run directory's records into rows of plain strings for the template;
the fixed texts (the claim, the statistics used, the limitations) are module constants so that
they are reviewed in one place.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.camera import simulate
from evalharness.config.loading import read_toml
from evalharness.evaluation.headline import HEADLINE_RULE, is_headline
from evalharness.report.plots import IDENTITY_COLUMNS
from evalharness.report.rundir import Run
from evalharness.report.sources import parameter_sources

CLAIM = {
    "text": "highly unlikely to be of sufficient quality to identify the driver or passengers",
    "source": (
        "London's Metropolitan Police, on the images of the ULEZ / congestion-charge camera "
        "network to which it was given access (quoted in the project brief)."
    ),
}

STATISTICS = (
    "Rank-1 identification rate: the fraction of mated probes (people who are enrolled) whose "
    "enrolled identity is the top candidate; a probe whose face is not detected counts as a miss "
    "(ISO/IEC 19795-1:2021 counts failures to acquire against the system). Ties count against "
    "the probe.",
    "FNIR at FPIR: the fraction of mated probes missed at the threshold where at most the stated "
    "fraction of non-mated searches (people who are not enrolled) return any candidate "
    "(ISO/IEC 19795-1 open-set identification, as NIST FRTE reports it).",
    "TAR at FAR: the fraction of mated probe-gallery comparisons accepted at the threshold where at "
    "most the stated fraction of non-mated comparisons is accepted.",
    "Detection rate: the fraction of mated probes where the detector found a face overlapping the "
    "known face position (IoU at least 0.5); a box elsewhere is a false detection, not a success.",
    "95% confidence intervals: percentile intervals from a bootstrap over subjects (all of a "
    "drawn person's probes together, mated and non-mated people resampled separately; Bolle, "
    "Ratha & Pankanti 2000), because one person's images are correlated. summary.csv also gives "
    "Wilson score intervals, which treat probes as independent and so are narrower. Counts are "
    "given beside every rate.",
)

LIMITATIONS = (
    "Head pose from a high-mounted camera is not simulated: the camera model is two-dimensional, "
    "so a face seen from above keeps its frontal appearance. Real captures look down on the driver "
    "and are harder to identify than these.",
    "Sun visors, hands, hats, glasses, reflections on the windscreen and the A-pillar are not "
    "simulated; nor is the driver's exact position in the car.",
    "The recognizers are 2018-era public models (FaceNet, dlib). Current commercial systems are "
    "markedly more accurate on low-resolution faces, so these rates are a lower bound on what a "
    "state-of-the-art system could achieve, not an upper bound.",
    "LFW's people are mostly public figures photographed by the press: not a random sample of "
    "drivers in age, ethnicity, pose or image quality. The gallery photographs are press images, "
    "not custody photographs.",
    "Camera parameters that are not published (for example windscreen transmission at 850 nm and "
    "the JPEG quality TfL uses) are estimates, marked as such in the profile sources; the sweeps "
    "show how much the answer depends on them.",
    "The gallery in this run is small compared with a police database of millions: rank-1 "
    "identification becomes harder as the gallery grows, so rates here overstate what a search "
    "of a national database would achieve.",
)


def gallery_size(manifest: Mapping[str, Any]) -> str:
    """How many people the gallery holds, in words, from the manifest's split counts."""
    identities = manifest.get("split", {}).get("gallery_identities")
    return f"{identities} people" if identities else "the run's enrolled people"


def run_limitations(run: Run) -> list[str]:
    """Limitations that follow from this run's own numbers."""
    notes = []
    smallest = int(run.summary["n_mated"].min()) if "n_mated" in run.summary else 0
    if smallest < 100:
        notes.append(
            f"Some conditions rest on only {smallest} mated probes, so their intervals are wide; "
            "read the interval, not the point estimate."
        )
    limit = run.experiment.get("limit")
    if limit:
        notes.append(f"This run was limited to {limit} probes per condition (--limit); it is a "
                     "smoke test of the pipeline, not a measurement to cite.")
    return notes


def _percent(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100.0 * float(value):.1f}%"


def rate_with_interval(row: Mapping[str, Any], column: str) -> str:
    """``"42.0% (95% CI 35.1%–49.2%)"`` from a summary row's value and ``_ci_low`` / ``_ci_high``."""
    value = row.get(column)
    if value is None or pd.isna(value):
        return "n/a"
    low, high = row.get(f"{column}_ci_low"), row.get(f"{column}_ci_high")
    if low is None or pd.isna(low):
        return f"{_percent(value)} (no interval)"
    return f"{_percent(value)} (95% CI {_percent(low)}–{_percent(high)})"


def _count(row: Mapping[str, Any], column: str) -> int:
    value = row.get(column)
    return 0 if value is None or pd.isna(value) else int(value)


def nominal_rows(run: Run) -> pd.DataFrame:
    """For each profile (and recognizer, detector, probe mode, upscaling), the condition with
    the values written in the profile's file, or the nearest one when the run did not evaluate
    those: fewest other swept values changed, then nearest distance.

    Adds ``nominal_distance_m`` (NaN when the profile file is not found) and ``at_nominal``.
    """
    summary = run.summary.copy()
    gaps = [_gap_from_nominal(run, run.conditions[str(cid)]) for cid in summary["condition_id"]]
    summary["nominal_distance_m"] = [gap[2] for gap in gaps]
    summary["_gap"] = [gap[:2] for gap in gaps]
    summary["at_nominal"] = [gap[:2] == (0, 0.0) for gap in gaps]
    keys = [c for c in IDENTITY_COLUMNS if c in summary]
    chosen = [rows.loc[rows["_gap"].idxmin()] for _, rows in summary.groupby(keys, sort=True, dropna=False)]
    return pd.DataFrame(chosen).drop(columns="_gap")


def _gap_from_nominal(run: Run, condition: Mapping[str, Any]) -> tuple[int, float, float]:
    """How far a condition is from its profile file's values: (number of swept values other than
    distance that differ, distance difference in metres, the file's distance in metres)."""
    profile = condition["values"]["profile"]
    path = run.profile_file(profile["name"])
    in_file = read_toml(path) if path else {}
    swept = condition.get("swept", {})
    nominal_m = float(in_file.get("distance_m", math.nan) if "distance_m" in swept else profile["distance_m"])
    changed = sum(axis != "distance_m" and in_file.get(axis, value) != value
                  for axis, value in swept.items())
    gap_m = abs(float(profile["distance_m"]) - nominal_m)
    return changed, 0.0 if math.isnan(gap_m) else gap_m, nominal_m


def headline_rows(run: Run) -> list[dict[str, str]]:
    """One row per profile (and recognizer, ...) at its nominal distance: the summary answers,
    the run's headline configuration first (``is_headline``; the others are shown beside it).

    Each rate is split into ``<name>`` (the estimate) and ``<name>_ci`` (its interval) for the
    table; ``sentence`` states the rank-1 answer in full.
    """
    rows = []
    for _, row in nominal_rows(run).iterrows():
        row = row.to_dict()
        n_mated, n_subjects = _count(row, "n_mated"), _count(row, "n_subjects")
        identified = _count(row, "n_rank1")
        distance_m = float(row["distance_m"])
        entry = {
            "profile": str(row["profile"]),
            "recognizer": str(row.get("recognizer", "")),
            "models": f"{row.get('recognizer', '')}, {row.get('detector', '')}",
            "is_headline": is_headline(row, run.manifest),
            "distance_m": f"{distance_m:g}",
            "ied_px": f"{float(row['ied_px']):.1f}",
            "dori_class": str(row.get("dori_class", "")),
            "rank1_counts": f"{identified} of {n_mated} mated probes",
            "fnir_counts": f"threshold from {_count(row, 'n_nonmated')} non-mated probes",
            "detection_counts": f"{_count(row, 'n_detected_mated')} of {n_mated}",
            "note": "" if row["at_nominal"] else (
                f"the profile file's settings (distance {row['nominal_distance_m']:g} m) were not "
                "evaluated in this run; the nearest condition is shown"),
            "sentence": (
                f"{row['profile']} at {distance_m:g} m (IED {float(row['ied_px']):.1f} px): a captured "
                f"driver is identified at rank 1 with probability {rate_with_interval(row, 'rank1')}: "
                f"{identified} of {n_mated} mated probes identified (probes of {n_subjects} people "
                "in all, non-mated included)."
            ),
        }
        for name, column in (("rank1", "rank1"), ("fnir", "fnir_at_fpir_0.01"), ("detection", "detection_rate")):
            estimate, _, interval = rate_with_interval(row, column).partition(" (")
            entry[name], entry[f"{name}_ci"] = estimate, f"({interval}" if interval else ""
        rows.append(entry)
    return sorted(rows, key=lambda entry: not entry["is_headline"])


def headline_rule(run: Run) -> str | None:
    """The rule that chose the headline configuration, when the run evaluated several."""
    models = [column for column in ("recognizer", "detector") if column in run.summary]
    several = len(run.summary[models].drop_duplicates()) > 1 if models else False
    return run.manifest.get("headline", {}).get("rule", HEADLINE_RULE) if several else None


def outside_frame(run: Run) -> list[str]:
    """Labels of conditions whose face lies outside the camera's frame as installed.

    The camera model still renders these at the camera's pixel density, as if the camera were
    re-aimed at the driver: they answer "what would this resolution give", not "what does this
    installed camera record".
    """
    summary = run.summary
    if "face_in_frame" not in summary:
        return []
    return [str(label) for label in summary.loc[~summary["face_in_frame"].astype(bool), "label"]]


def reproduce_command(manifest: Mapping[str, Any], run_dir: Path) -> str:
    """Shell lines that reproduce the run from its own directory: check out the recorded commit,
    rerun the run's ``experiment.toml`` (it names the run's profile copies and pins the dataset's
    fingerprint) into a new directory, and compare the two; the original command as a comment."""
    command = manifest.get("command")
    if isinstance(command, Sequence) and not isinstance(command, str):
        command = shlex.join(str(part) for part in command)
    git = manifest.get("environment", {}).get("git") or {}
    lines = []
    if git.get("commit"):
        lines.append(f"git checkout {git['commit']}")
        if git.get("dirty"):
            lines.append("# note: the run's working tree had uncommitted changes")
    again = f"{run_dir}-reproduced"
    lines += [shlex.join(["evalharness", "run", str(run_dir / "experiment.toml"), "--out", again]),
              shlex.join(["evalharness", "compare", str(run_dir), again]),
              f"# the run's own command: {command or 'not recorded'}"]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str) and not value:
        return "none"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(_show(v) for v in value) if len(value) <= 12 else f"{len(value)} entries"
    return str(value)


def mapping_rows(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested mapping as ``(dotted key, shown value)`` rows for a two-column table."""
    rows = []
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            rows.extend(mapping_rows(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", _show(value)))
    return rows


def dataset_rows(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The dataset's location, fingerprint, skipped files and split counts, from the manifest."""
    rows = mapping_rows(manifest.get("dataset", {}))
    root = manifest.get("dataset", {}).get("root")
    if root and "card" not in manifest.get("dataset", {}):
        rows.append(("card", f"{root}/README.md (the dataset's card, beside its images)"))
    return rows + mapping_rows(manifest.get("split", {}), "split.")


def protocol_rows(run: Run) -> tuple[str, list[tuple[str, str]]]:
    """A sentence describing the split, and the protocol settings the run used."""
    text = (
        "Each enrolled person's first image(s) form the gallery, undegraded, as a custody "
        "photograph would be; their other images are the mated probes and pass through the camera "
        "model. People who are not enrolled give the non-mated probes, which measure false "
        "positives. Every probe is searched against the whole gallery."
    )
    settings = {key: run.experiment[key] for key in ("dataset", "seed", "detector", "detectors", "recognizers",
                                                      "probe_modes", "upscale", "limit")
                if key in run.experiment}
    return text, mapping_rows({**settings, "protocol": run.experiment.get("protocol", {})})


def model_rows(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    """Role, name, weights sha256 and measured LFW accuracy of each model in the manifest."""
    models = manifest.get("models", {})
    detectors = models.get("detectors", [models["detector"]] if "detector" in models else [])
    entries = [("detector", info) for info in detectors]
    entries += [("recognizer", info) for info in models.get("recognizers", [])]
    return [
        {
            "role": role,
            "name": str(info.get("name")),
            "sha256": str(info.get("weights_sha256", "not recorded")),
            "lfw": _percent(info["lfw_accuracy"]) if "lfw_accuracy" in info else "not measured in this run",
        }
        for role, info in entries
    ]


_STAGE_ITEM = re.compile(r"^\d+\. ``(?P<name>\w+)`` - (?P<text>.*)$")
_RST_MARKUP = re.compile(r"``([^`]+)``|:\w+:`~?([^`]+)`")


def plain_text(rst: str) -> str:
    """Docstring text without reStructuredText markup: ````x```` and ``:mod:`~a.b``` become text."""
    return _RST_MARKUP.sub(lambda m: m[1] or m[2], rst)


def stage_rows() -> list[dict[str, str]]:
    """The camera model's stages, in order, as :mod:`evalharness.camera.simulate` documents them
    (its docstring's numbered list), so the report and the code cannot drift apart."""
    rows: list[dict[str, str]] = []
    for line in (simulate.__doc__ or "").splitlines():
        match = _STAGE_ITEM.match(line)
        if match:
            rows.append({"name": match["name"], "text": match["text"]})
        elif rows and line.startswith("   "):  # an item's indented continuation
            rows[-1]["text"] += " " + line.strip()
        elif rows:
            break
    return [{"name": row["name"], "text": plain_text(row["text"])} for row in rows]


def profile_tables(run: Run) -> list[dict[str, Any]]:
    """Per profile: every parameter's value in this run, with its source from the profile file.

    Swept parameters show every value the run used, in grid order. When the run kept no copy of
    the profile file (``profiles/<name>.toml``), sources are read from the shipped file and any
    value that differs from it is flagged.
    """
    tables = []
    by_profile: dict[str, list[Mapping[str, Any]]] = {}
    for condition in run.conditions.values():
        by_profile.setdefault(condition["values"]["profile"]["name"], []).append(condition)
    for name, conditions in sorted(by_profile.items()):
        path = run.profile_file(name)
        sources = parameter_sources(path.read_text(encoding="utf-8")) if path else {}
        in_file = read_toml(path) if path else {}
        parameters = []
        profile = conditions[0]["values"]["profile"]
        in_file_order = [k for k in in_file if k in profile] + [k for k in profile if k not in in_file]
        for key in (k for k in in_file_order if k not in ("name", "description")):
            values = list(dict.fromkeys(c["values"]["profile"][key] for c in conditions))  # grid order
            shown = ", ".join(_show(v) for v in values)
            source = sources.get(key, "no source given in the profile file")
            if len(values) > 1:
                source = f"swept in this run; file value {in_file.get(key, 'n/a')}: {source}"
            elif key in in_file and in_file[key] != profile[key]:
                source = f"DIFFERS from {path} ({in_file[key]!r}); {source}"
            parameters.append({"name": key, "value": shown, "source": source})
        nominal = min(conditions, key=lambda c: _gap_from_nominal(run, c)[:2])
        derived = {k: v for k, v in nominal.get("derived", {}).items() if k not in ("name", "inputs")}
        if path is None:
            origin = "no profile file found: sources unknown"
        elif path.parent == run.root / "profiles":
            origin = f"sources from the run's copy {path}"
        else:
            origin = (f"sources from the shipped {path}, read when this report was written (the run kept "
                      "no copy); values that differ from it are flagged")
        tables.append({
            "name": name,
            "description": f"{profile.get('description', '')} ({origin})",
            "parameters": parameters,
            "derived_at_m": f"{nominal['values']['profile']['distance_m']:g}",
            "derived": "; ".join(f"{k} = {_show(v)}" for k, v in derived.items()) or "not recorded",
        })
    return tables
