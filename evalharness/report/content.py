"""The report's words and tables, computed from a run: summary answers, methods, provenance.

Functions here turn the run directory's records into rows of plain strings for the template;
the fixed texts (the claim, the statistics used, the limitations) are module constants so that
they are reviewed in one place.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.config.loading import read_toml
from evalharness.evaluation.headline import HEADLINE_RULE, is_headline
from evalharness.evaluation.intervals import CLOPPER_PEARSON
from evalharness.report.plots import IDENTITY_COLUMNS
from evalharness.report.rundir import Run
from evalharness.report.sources import parameter_sources

CLAIM = {
    "text": "highly unlikely to be of sufficient quality to identify the driver or passengers",
    "source": (
        "The Metropolitan Police Service to Sky News (2023), on the images of the ULEZ / "
        "congestion-charge camera network to which it was given access [REF: sky-news-2023-met]."
    ),
}

STATISTICS = (
    "Rank-1 identification rate: the fraction of mated probes (people who are enrolled) whose "
    "enrolled identity is the top candidate; a probe whose face is not detected counts as a miss "
    "(ISO/IEC 19795-1:2021 counts failures to acquire against the system [REF: iso-iec-19795-1]). "
    "Ties count against the probe.",
    "FNIR at FPIR: the fraction of mated probes missed at the threshold where at most the stated "
    "fraction of non-mated searches (people who are not enrolled) return any candidate "
    "(ISO/IEC 19795-1 open-set identification, as NIST FRTE reports it) [REF: iso-iec-19795-1] "
    "[REF: nist-frte].",
    "TAR at FAR: the fraction of mated probe-gallery comparisons accepted at the threshold where at "
    "most the stated fraction of non-mated comparisons is accepted.",
    "Detection rate: the fraction of mated probes where the detector found a face overlapping the "
    "known face position (IoU at least 0.5); a box elsewhere is a false detection, not a success.",
    "95% confidence intervals: percentile intervals from a bootstrap over subjects (all of a "
    "drawn person's probes together, mated and non-mated people resampled separately; Bolle, "
    "Ratha & Pankanti 2000 [REF: bolle-2000]), because one person's images are correlated. Where "
    "every resample gives the same 0 or 1 (all probes succeed, or none) that interval collapses to "
    "a point, and the exact binomial interval (Clopper-Pearson [REF: clopper-pearson-1934]) is given "
    "instead; summary.csv names the interval used for each rate (<rate>_interval). summary.csv also "
    "gives Wilson score intervals [REF: wilson-1927], which treat probes as independent: where a "
    "person gives several probes they are too narrow, and where each gives one they differ from the "
    "bootstrap's by method alone. Counts are given beside every rate.",
)

#: The size of the pose mismatch, measured on real images (docs/VALIDATION.md, section Pose).
POSE_EFFECT = (
    "The size of that mismatch was measured on real CCTV and HD images (docs/VALIDATION.md, section "
    "Pose): simulating each real probe from the near-frontal studio view instead of the view nearest "
    "its own head pose changed simulated rank-1 by -33.1 points overall, -36.3 at 20-30 px between "
    "the eyes and -6.5 above 50 px."
)
POSE_ONE_VIEW = (
    "Head pose from a high-mounted camera is not simulated in this run: the camera model is "
    "two-dimensional, and a dataset with one view per photograph (LFW: near-frontal press photographs) "
    "keeps its frontal appearance however high the camera. " + POSE_EFFECT
)
LIMITATIONS = (
    "Sun visors, hands, hats, glasses, reflections on the windscreen and the A-pillar are not "
    "simulated; nor is the driver's exact position in the car.",
    "The recognizers are 2018-era public models (FaceNet, dlib), trained on high-resolution "
    "photographs. Models trained for low-resolution faces identify native low-resolution faces "
    "better [REF: cheng-2018-tinyface], and no commercial system was measured: a stronger "
    "recognizer could give higher rates than these. The camera model's check against real cameras "
    "(below) found the opposite bias where faces are small: its simulation identified more of the "
    "real faces than the real cameras did. Neither bias is measured for ANPR cameras, and nothing "
    "makes them cancel.",
    "LFW's people are mostly public figures photographed by the press: not a random sample of "
    "drivers in age, ethnicity, pose or image quality. The gallery photographs are press images, "
    "not custody photographs.",
    "Camera parameters that are not published (for example windscreen transmission at 850 nm and "
    "the JPEG quality TfL uses) are estimates, marked as such in the profile sources; the sweeps "
    "show how much the answer depends on them.",
    "The camera model was checked against real surveillance images (FRMDB: 33 people filmed by "
    "352x288 CCTV and 1920x1080 HD cameras, each real image simulated from a studio photograph of "
    "the same person at the real face's size and head pose; docs/VALIDATION.md). With the CCTV "
    "camera's noise measured from its own frames, level by level and in its grain, the simulation "
    "identified 11.7 points more of the faces than the real camera did; over both cameras, 23.9 "
    "more at 12-20 px between the eyes and 32.7 more below 12 px, where every real face was turned "
    "further than the studio photographs' 45 degrees (11 of 13 further than their own source as one "
    "pose estimate reads both); on the HD camera, whose noise no frames measure, it was 0.6 points "
    "above "
    "(each real face simulated 8 times, Monte Carlo error under 2 points), with an assumed video "
    "quantiser: one fine enough to keep the noise that the real HD images show in flat areas made "
    "that camera's simulation about 6 points optimistic. "
    "Where faces are small, the simulated rates here may overstate what a real camera allows.",
    "The gallery in this run is small compared with a police database of millions: rank-1 "
    "identification becomes harder as the gallery grows, so the run's own rank-1 rates overstate "
    "what a search of a national database would achieve. The database scenarios project to 10^3-10^7 "
    "people from the measured score distributions, taking non-mate scores as independent draws "
    "from one distribution with a fitted extreme-value tail [REF: pickands-1975] "
    "[REF: hosking-wallis-1987]: an extrapolation, checked against direct measurement in a gallery of "
    "thousands (benchmarks/projection_check.py), not a measurement at 10^7. Its tail was checked "
    "against the impostor scores of large LFW runs (2 million each, against their 1,184 enrolled "
    "people, in seven camera conditions): from 100 runs of the default experiment's design drawn from "
    "each, the rate projected to 10^3 was 1.3-5.2 points too high on average (the fitted tail is "
    "lighter than the far tail, so the threshold comes out low) and 4-13 points off rms, and its 95% "
    "intervals covered the large run's rate in 91-97 of 100 (benchmarks/RESULTS.md); 10^5 and 10^7 "
    "lie beyond any gallery here. The database rates lean towards identification, and one run's rate "
    "is imprecise: read its interval, not the point.",
    "The several-captures scenario takes the same source photograph (the same pose) at the run's "
    "swept distances as the frames of one pass; real frames of one pass differ in pose and light "
    "less than different photographs do but more than this assumes, and are taken at the camera's "
    "frame rate, not at the swept distances.",
)


def gallery_size(manifest: Mapping[str, Any]) -> str:
    """How many people the gallery holds, in words, from the manifest's split counts."""
    identities = manifest.get("split", {}).get("gallery_identities")
    return f"{identities} people" if identities else "the run's enrolled people"


def pose_limitation(run: Run) -> str:
    """What the run did about head pose: views chosen by the camera's geometry, or none."""
    if run.experiment.get("protocol", {}).get("probe_view") != "camera":
        return POSE_ONE_VIEW
    off = [view["off_camera_deg"] for condition in run.conditions.values()
           for view in condition.get("probe_views", [])]
    return ("Head pose: each condition probed each person only with the photographs whose view "
            "(the dataset's views.csv) is nearest the camera's view of the face, from the camera's "
            "geometry (elevation pitch_deg and azimuth yaw_deg among each condition's derived values; "
            "the views used in conditions/<id>.json, probe_views). Between the dataset's views the "
            "camera model does not turn the head: the views used lie "
            f"{f'up to {max(off):.0f} degrees' if off else 'an unrecorded angle'} from the camera's. "
            + POSE_EFFECT)


def run_limitations(run: Run) -> list[str]:
    """Limitations that follow from this run's own settings and numbers."""
    notes = [pose_limitation(run)]
    backgrounds = sorted({c["frame_background"] for c in run.conditions.values() if c.get("frame_background")})
    if backgrounds:
        notes.append("In frame mode the face is shown in the camera's full frame, surrounded by: "
                     f"{'; '.join(backgrounds)}."
                     + (" A flat grey frame holds nothing a detector could mistake for a face, so false "
                        "detections and faces missed in clutter are underestimated there."
                        if any(b.startswith("flat") for b in backgrounds) else ""))
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
    exact = ", exact binomial" if row.get(f"{column}_interval") == CLOPPER_PEARSON else ""
    return f"{_percent(value)} (95% CI {_percent(low)}–{_percent(high)}{exact})"


def _count(row: Mapping[str, Any], column: str) -> int:
    value = row.get(column)
    return 0 if value is None or pd.isna(value) else int(value)


@dataclass(frozen=True)
class Installed:
    """A profile (with its recognizer, detector, probe mode, upscaling) at its installed position.

    ``row`` is the summary row of the condition with every value of the run's copy of the profile
    file (distance included); None when the run did not evaluate it. ``note`` says why no rate
    is given (not evaluated, or the face outside the installed camera's frame); empty when
    ``row`` is the headline.
    """

    profile: str
    recognizer: str
    nominal_distance_m: float
    row: dict[str, Any] | None
    note: str

    @property
    def rated(self) -> bool:
        return self.row is not None and not self.note


def installed_positions(run: Run) -> list[Installed]:
    """One :class:`Installed` per profile (and models): the report's headline rows."""
    summary = run.summary.copy()
    gaps = [_gap_from_nominal(run, run.conditions[str(cid)]) for cid in summary["condition_id"]]
    summary["_nominal_m"] = [gap[2] for gap in gaps]
    summary["_at_nominal"] = [gap[:2] == (0, 0.0) for gap in gaps]
    keys = [c for c in IDENTITY_COLUMNS if c in summary]
    installed = []
    for _, rows in summary.groupby(keys, sort=True, dropna=False):
        first = rows.iloc[0]
        nominal_m = float(rows["_nominal_m"].iloc[0])
        at = rows[rows["_at_nominal"]]
        row = at.iloc[0].drop(["_nominal_m", "_at_nominal"]).to_dict() if len(at) else None
        if row is None:
            note = (f"the installed position ({nominal_m:g} m, the profile file's settings) was not evaluated "
                    "in this run: no rate is given")
        elif not bool(row.get("face_in_frame", True)):
            note = (f"at its installed position ({nominal_m:g} m) this camera does not have the driver's face in "
                    "its frame: no rate is given")
        else:
            note = ""
        installed.append(Installed(str(first["profile"]), str(first.get("recognizer", "")), nominal_m, row, note))
    return installed


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
    return changed, math.inf if math.isnan(gap_m) else gap_m, nominal_m


def headline_rows(run: Run) -> list[dict[str, str]]:
    """One row per profile (and recognizer, ...) at its installed position: the summary answers,
    the run's headline configuration first (``is_headline``; the others are shown beside it).

    Each rate is split into ``<name>`` (the estimate) and ``<name>_ci`` (its interval) for the
    table; ``sentence`` states the rank-1 answer in full, or why there is none.
    """
    rows = []
    for place in installed_positions(run):
        if not place.rated:
            row = place.row or {}
            rows.append({
                "profile": place.profile, "recognizer": place.recognizer,
                "models": f"{row.get('recognizer', '')}, {row.get('detector', '')}" if row else place.recognizer,
                "is_headline": bool(row) and is_headline(row, run.manifest),
                "distance_m": f"{place.nominal_distance_m:g}",
                "ied_px": f"{float(row['ied_px']):.1f}" if row else "n/a",
                "dori_class": str(row.get("dori_class", "")), "note": place.note,
                **{f"{name}{part}": "no rate" if part == "" else ""
                   for name in ("rank1", "fnir", "detection") for part in ("", "_ci", "_counts")},
                "sentence": f"{place.profile}: {place.note}.",
            })
            continue
        row = place.row
        n_mated, n_subjects = _count(row, "n_mated"), _count(row, "n_subjects")
        identified = _count(row, "n_rank1")
        distance_m = float(row["distance_m"])
        entry = {
            "profile": place.profile,
            "recognizer": place.recognizer,
            "models": f"{row.get('recognizer', '')}, {row.get('detector', '')}",
            "is_headline": is_headline(row, run.manifest),
            "distance_m": f"{distance_m:g}",
            "ied_px": f"{float(row['ied_px']):.1f}",
            "dori_class": str(row.get("dori_class", "")),
            "rank1_counts": f"{identified} of {n_mated} mated probes",
            "fnir_counts": f"threshold from {_count(row, 'n_nonmated')} non-mated probes",
            "detection_counts": f"{_count(row, 'n_detected_mated')} of {n_mated}",
            "note": "",
            "sentence": (
                f"{place.profile} at {distance_m:g} m (IED {float(row['ied_px']):.1f} px): a captured "
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
    fingerprint) into a new directory, and compare the two; the processor that computed it and the
    original command as comments."""
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
              shlex.join(["evalharness", "compare", str(run_dir), again])]
    processor = manifest.get("environment", {}).get("processor")
    if processor:
        lines.append(f"# computed on {manifest.get('device', 'cpu')}, processor {processor['model']} (torch kernels "
                     f"{processor['torch_capability']}): another processor can flip a probe near a threshold, "
                     "which compare names and --within-ci allows for")
    lines.append(f"# the run's own command: {command or 'not recorded'}")
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
                                                      "probe_modes", "upscale", "limit",
                                                      "detector_comparison")
                if key in run.experiment}
    return text, mapping_rows({**settings, "protocol": run.experiment.get("protocol", {})})


def model_rows(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    """Role, name, weights sha256 and measured LFW accuracy of each model in the manifest."""
    models = manifest.get("models", {})
    detectors = models.get("detectors", [models["detector"]] if "detector" in models else [])
    entries = [("detector", info) for info in detectors]
    entries += [("recognizer", info) for info in models.get("recognizers", [])]
    entries += [("detector, comparison only", info)
                for info in manifest.get("detector_comparison", {}).get("detectors", [])]
    return [
        {
            "role": role,
            "name": str(info.get("name")),
            "sha256": str(info.get("weights_sha256", "not recorded")),
            "lfw": _percent(info["lfw_accuracy"]) if "lfw_accuracy" in info else "not measured in this run",
        }
        for role, info in entries
    ]


def stage_rows(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    """The camera model's stages as the run recorded them (``manifest.json`` ``camera_stages``);
    empty for a run that recorded none."""
    return [{"name": str(stage["name"]), "text": str(stage["text"])} for stage in manifest.get("camera_stages", [])]


def speed_rows(manifest: Mapping[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The run's own measure of its speed (``manifest.json`` ``throughput``, written by
    :class:`~evalharness.evaluation.timing.Throughput`): a sentence, and one row per stage then
    overall (seconds, probe-conditions a second); empty for a run that recorded none."""
    speed = manifest.get("throughput")
    if not speed:
        return "", []

    def row(stage: str, seconds: float, per_s: float | None) -> dict[str, str]:
        return {"stage": stage, "seconds": f"{seconds:.1f}", "per_s": "-" if per_s is None else f"{per_s:,.1f}"}

    text = (f"{speed['probe_conditions']:,} probe-conditions evaluated on {speed['device']} by the run's "
            "last invocation; a stage's rate is what the run would reach were that stage all it did.")
    return text, [*(row(s["stage"], s["seconds"], s["probe_conditions_per_s"]) for s in speed["stages"]),
                  row("overall", speed["wall_s"], speed["probe_conditions_per_s"])]


def profile_tables(run: Run) -> list[dict[str, Any]]:
    """Per profile: every parameter's value in this run, with its source from the profile file.

    Swept parameters show every value the run used, in grid order. Sources come from the run's
    copy of the profile file (``profiles/<name>.toml``) only; without one they are unknown.
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
        origin = (f"sources from the run's copy {path}" if path else
                  "the run kept no copy of the profile file: sources unknown")
        tables.append({
            "name": name,
            "description": f"{profile.get('description', '')} ({origin})",
            "parameters": parameters,
            "derived_at_m": f"{nominal['values']['profile']['distance_m']:g}",
            "derived": "; ".join(f"{k} = {_show(v)}" for k, v in derived.items()) or "not recorded",
        })
    return tables
