"""The acceptance check on FRMDB's held-out people, from their folder to every goal's verdict, in one command.

    python scripts/heldout_check.py --development $FRMDB_DEV --held-out FRMDB_HELDOUT \
        --run reports/default --out /tmp/heldout

Runs, in order, the commands of docs/VALIDATION.md "Held-out check" and "`quality` on the
development subjects' real images" (each FRMDB folder laid out as `scripts/make_frmdb_paired.py`
reads it; `--run` a finished run such as `make report`'s, whose detector `quality` uses):

1. lay out both folders as paired datasets (`OUT/real-dev`, `OUT/real-held`);
2. `evalharness validate` the development people: the corrections are fitted there (`OUT/final-dev`);
3. `evalharness validate` the held-out people with those corrections (`OUT/final-held`);
4. `evalharness quality` on the held-out images with the development validation (`OUT/quality-held.json`);
5. `evalharness validate` both groups of people with the CCTV profile as `calibrate` wrote it
   (`frmdb-cctv-calibrated-walking.toml`: no stand-in), the held-out people with the corrections of
   the development people (`OUT/dev-as-calibrated`, `OUT/held-as-calibrated`);
6. the same with the hand-made CCTV profile (`OUT/dev-hand-made`, `OUT/held-hand-made`);
7. `scripts/heldout_forecast.py` on the development validations of steps 2, 5 and 6, with as many
   people per camera group as the held-out layout holds: how often groups of development people of
   that size meet each goal (`OUT/forecast.md`; context for the verdicts, not judged, and read from
   the development people's outcomes alone; should it fail, the check warns and goes on);
8. `evalharness calibrate` on the held-out CCTV camera's frames (`frames/`, when the folder has them;
   `OUT/held-calibrated.toml`, `OUT/calibrate-held.json`);
9. the verdicts: the validation goal (`scripts/validation_goal.py`'s criteria) on step 3; the
   quality goal (`scripts/quality_vs_real.py`) of step 4 against step 3's real outcomes; and the
   quality issue's profile goal: step 8's closed loop reproduces the frames' noise and sharpness
   within 15%, and the CCTV profile calibrated from the camera's frames passes `validate` on the
   held-out people as well as the hand-made one (step 5 meets no fewer of the validation goal's
   criteria than step 6; the raw and corrected CCTV gaps of both are shown).

Every command is written to `OUT/commands.sh` as it runs and its output to `OUT/logs/<step>.log`;
the verdicts go to `OUT/verdict.md` with the date, the commit, the data folders and the people of
each. A step that finished is kept when the check is run again with the same arguments at the
same commit, while the files of the data folders it reads are unchanged (a failed or interrupted
check resumes where it stopped; a step whose data changed runs again); an `OUT` made with other
arguments or at another commit is refused, as corrections fitted by other code do not describe
this code's simulation. People in both folders are refused: corrections fitted on a person do not
predict them.
Exit status: 0 when every goal is met, 1 when one is not, 2 when a step failed (named, with its log).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import quality_vs_real  # scripts/, beside this file
import validation_goal as validation_goal_script
from make_frmdb_paired import people

from evalharness.camera.calibration import MATCH_TOLERANCE
from evalharness.evaluation.validation_goal import Criterion, criteria, goal_met, verdict

ROOT = Path(__file__).resolve().parent.parent
VALIDATION_PROFILES = ROOT / "configs/profiles/validation"
#: The profiles of the development validation in docs/VALIDATION.md, one per FRMDB camera group:
#: the CCTV camera's calibrated from its frames (with the people's walking), the HD camera's hand-made.
PROFILES = (f"cctv-352x288={VALIDATION_PROFILES / 'frmdb-cctv-measured.toml'}",
            f"hd-1920x1080={VALIDATION_PROFILES / 'frmdb-hd.toml'}")
#: The same with the CCTV profile as `calibrate` wrote it from the development frames, with only what
#: frames cannot show added (the people's walking; no stand-in for the codec's loss), and with the
#: hand-made CCTV profile: the quality issue's profile goal compares how the two pass `validate`.
CALIBRATED_PROFILES = (f"cctv-352x288={VALIDATION_PROFILES / 'frmdb-cctv-calibrated-walking.toml'}", PROFILES[1])
HAND_MADE_PROFILES = (f"cctv-352x288={VALIDATION_PROFILES / 'frmdb-cctv.toml'}", PROFILES[1])
#: What a step reads of the data folders (``Step.reads``), when not both.
DEVELOPMENT, HELD_OUT = ("development",), ("held_out",)
#: The camera group whose profile `calibrate` measured, and the base it was calibrated on.
CALIBRATED_CAMERA, CALIBRATION_BASE = "cctv-352x288", "legacy-interlaced"


@dataclass(frozen=True)
class Step:
    """One command of the check: ``name`` (its log's name), ``argv``, ``writes`` (what it makes
    under OUT, removed before it runs, so that a step interrupted half-way starts afresh),
    ``stdout_to`` (a file under OUT that keeps its standard output, else the log does) and
    ``partial_status`` (the exit status with which the command says it finished but skipped some
    inputs, each named in its log), ``context`` (a step whose output is context for the
    verdicts, not needed by them: its failure is named and the check goes on, and a later run of
    the check tries it again) and ``reads`` (the data folders its output depends on, through the
    steps before it too: a finished step is kept only while their files are unchanged)."""

    name: str
    argv: list[str]
    writes: str
    stdout_to: str | None = None
    partial_status: int | None = None
    context: bool = False
    reads: tuple[str, ...] = ("development", "held_out")


def steps(args: argparse.Namespace) -> list[Step]:
    """The check's commands, in order (module docstring)."""
    python, evalharness = sys.executable, str(Path(sys.executable).parent / "evalharness")
    out = args.out.resolve()
    layout = [python, str(ROOT / "scripts/make_frmdb_paired.py")]
    def validate(profiles: tuple[str, ...]) -> list[str]:
        return [evalharness, "validate", *(f"--profile={profile}" for profile in profiles), f"--draws={args.draws}"]

    held_probes = sorted(str(path) for path in (out / "real-held/probes").glob("*/*"))
    frames = held_frames(args)
    return [
        Step("layout-dev", [*layout, str(args.development.resolve()), str(out / "real-dev"),
                            *(["--subjects", *args.development_subjects] if args.development_subjects else [])],
             "real-dev", reads=DEVELOPMENT),
        Step("layout-held", [*layout, str(args.held_out.resolve()), str(out / "real-held"),
                             *(["--subjects", *args.held_out_subjects] if args.held_out_subjects else [])],
             "real-held", reads=HELD_OUT),
        Step("validate-dev", [*validate(PROFILES), str(out / "real-dev"), "--out", str(out / "final-dev")],
             "final-dev", reads=DEVELOPMENT),
        Step("validate-held", [*validate(PROFILES), str(out / "real-held"), "--calibration", str(out / "final-dev"),
                               "--out", str(out / "final-held"), "--json"], "final-held", stdout_to="final-held.json"),
        Step("quality-held", [evalharness, "quality", *held_probes, "--run", str(args.run.resolve()),
                              "--validation", str(out / "final-dev"), "--json"], "quality-held.json",
             stdout_to="quality-held.json", partial_status=3),
        *(step for name, profiles in (("as-calibrated", CALIBRATED_PROFILES), ("hand-made", HAND_MADE_PROFILES))
          for step in (
              Step(f"validate-dev-{name}",
                   [*validate(profiles), str(out / "real-dev"), "--out", str(out / f"dev-{name}")],
                   f"dev-{name}", reads=DEVELOPMENT),
              Step(f"validate-held-{name}", [*validate(profiles), str(out / "real-held"), "--calibration",
                                             str(out / f"dev-{name}"), "--out", str(out / f"held-{name}")],
                   f"held-{name}"))),
        Step("forecast", [python, str(ROOT / "scripts/heldout_forecast.py"), str(out / "final-dev"), "--people-from",
                          str(out / "real-held"), "--profile-goal", str(out / "dev-as-calibrated"),
                          str(out / "dev-hand-made")], "forecast.md", stdout_to="forecast.md", context=True),
        *([Step("calibrate-held", [evalharness, "calibrate", *frames, "--base", CALIBRATION_BASE,
                                   "--out", str(out / "held-calibrated.toml"), "--json"], "held-calibrated.toml",
                stdout_to="calibrate-held.json", reads=HELD_OUT)] if frames else []),
    ]


def held_frames(args: argparse.Namespace) -> list[str]:
    """The held-out CCTV camera's full frames (``frames/<id>/*.jpg``), of the chosen people."""
    return sorted(str(path) for path in (args.held_out / "frames").resolve().glob("*/*.jpg")
                  if not args.held_out_subjects or path.parent.name in args.held_out_subjects)


def identity(args: argparse.Namespace) -> dict[str, object]:
    """What an OUT folder's steps were made with: the commit, the checkout's uncommitted changes
    (the sha256 of their diff and list, None when there are none; OUT itself left out, should it
    lie in the checkout) and the arguments."""
    def git(*command: str) -> str:
        found = subprocess.run(["git", "-C", str(ROOT), *command], capture_output=True, text=True, check=False)
        return found.stdout.strip() if found.returncode == 0 else "unknown"

    out = args.out.resolve()
    outside = [f":(exclude){out.relative_to(ROOT)}"] if out.is_relative_to(ROOT) else []
    changes = git("diff", "HEAD") + git("status", "--porcelain", "--", ".", *outside)
    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted_changes_sha256": hashlib.sha256(changes.encode()).hexdigest() if changes else None,
            "arguments": {key: str(value.resolve() if isinstance(value, Path) else value)
                          for key, value in sorted(vars(args).items()) if key != "out"}}


def data_fingerprints(args: argparse.Namespace) -> dict[str, str]:
    """The sha256 of each FRMDB folder's files (their paths and contents), so that a check run
    again on changed data does not keep steps made from the old."""
    def fingerprint(folder: Path) -> str:
        listing = hashlib.sha256()
        for directory, subfolders, files in os.walk(folder, followlinks=True):
            subfolders.sort()
            for name in sorted(files):
                path = Path(directory) / name
                content = hashlib.sha256(path.read_bytes()).hexdigest()
                listing.update(f"{path.relative_to(folder)}\0{content}\n".encode())
        return listing.hexdigest()

    return {"development": fingerprint(args.development.resolve()), "held_out": fingerprint(args.held_out.resolve())}


def run_steps(args: argparse.Namespace) -> str | None:
    """Run each step not yet finished in OUT; None when all finished, else the failure to report."""
    out = args.out.resolve()
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    made_with, marker, data = identity(args), out / "check.json", data_fingerprints(args)
    if marker.is_file() and (earlier := json.loads(marker.read_text(encoding="utf-8"))) != made_with:
        return (f"{marker}: this folder holds a check made with other arguments or at another commit "
                f"({json.dumps(earlier)}); give a new --out")
    marker.write_text(json.dumps(made_with, indent=1) + "\n", encoding="utf-8")
    for number in range(len(steps(args))):
        step = steps(args)[number]   # made again each time: quality's images exist only after the layout
        done, log = logs / f"{step.name}.done", logs / f"{step.name}.log"
        stamp = json.dumps({folder: data[folder] for folder in step.reads}, sort_keys=True)
        if done.is_file() and done.read_text(encoding="utf-8") == stamp:
            print(f"[{step.name}] kept: finished in an earlier run of this check ({log})")
            continue
        if done.is_file():
            print(f"[{step.name}] runs again: the data it reads changed since it finished")
        for path in (out / step.writes, *([out / step.stdout_to] if step.stdout_to else [])):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        command = shlex.join(step.argv) + (f" > {shlex.quote(str(out / step.stdout_to))}" if step.stdout_to else "")
        with (out / "commands.sh").open("a", encoding="utf-8") as script:
            script.write(command + "\n")
        print(f"[{step.name}] {command}", flush=True)
        with log.open("w", encoding="utf-8") as log_file:
            stdout = (out / step.stdout_to).open("w", encoding="utf-8") if step.stdout_to else log_file
            with stdout:
                status = subprocess.run(step.argv, stdout=stdout, stderr=log_file, check=False).returncode
        if status == step.partial_status and _written(out / step.stdout_to if step.stdout_to else None):
            print(f"[{step.name}] warning: some inputs could not be read, each named in {log}")
        elif status != 0 and step.context:
            print(f"[{step.name}] warning: failed (exit status {status}), its log: {log}; it gives context, "
                  "not a verdict, so the check goes on (a later run tries it again)")
            continue
        elif status != 0:
            return f"step {step.name} failed (exit status {status}); its log: {log}. Finished steps are kept."
        done.write_text(stamp, encoding="utf-8")
    return None


def _written(path: Path | None) -> bool:
    """Whether a step that exits with its partial status wrote its JSON output (the same status
    also says that it failed outright, having read nothing)."""
    try:
        return path is not None and bool(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False


def validation_goal(out: Path) -> tuple[list[str], bool]:
    """The validation issue's goal on the held-out people, as Markdown, and whether it is met."""
    listed, _ = criteria(json.loads((out / "final-held/summary.json").read_text(encoding="utf-8")))
    return ["## Validation goal (held-out people, corrections fitted on the development people)", "",
            *validation_goal_script.table(listed), "", verdict(listed)], goal_met(listed)


def quality_goal(out: Path) -> tuple[list[str], bool]:
    """The quality issue's goal for `quality --validation` on the held-out images (its script's
    table and criteria), as Markdown, and whether it is met."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = quality_vs_real.report(quality_vs_real.paired_outcomes(out / "quality-held.json", out / "final-held"))
    return ["## Quality goal (`quality --validation` on the held-out images)", "", printed.getvalue().rstrip()], \
        status == 0


def _camera_figures(validation: Path) -> tuple[dict[str, float], dict[str, float], list[Criterion]]:
    """Of a validation with corrections: the raw and the corrected rank-1 figures (points) of
    :data:`CALIBRATED_CAMERA`, and the validation goal's criteria."""
    summary = json.loads((validation / "summary.json").read_text(encoding="utf-8"))
    raw, corrected = (next(group for group in summary[kind]["cameras"] if group["camera"] == CALIBRATED_CAMERA)
                      for kind in ("raw", "corrected"))
    figures = [{key: 100 * group[key] for key in keys if key in group}
               for group, keys in ((raw, ("real_rank1", "sim_rank1", "gap")), (corrected, ("pred_rank1", "gap")))]
    return figures[0], figures[1], criteria(summary)[0]


def calibrated_profile_goal(out: Path) -> tuple[list[str], bool]:
    """The quality issue's profile goal: `calibrate` on the held-out camera's frames reproduces
    their noise (each level within :data:`MATCH_TOLERANCE`, correlations within as much) and
    sharpness (within as much) in closed loop (its compression is read from the JPEG tables, not
    fitted); and the CCTV profile as `calibrate` wrote it from the development frames
    (:data:`CALIBRATED_PROFILES`, no stand-in) passes `validate` on the held-out people as well as
    the hand-made one: each with the corrections of its own development validation, it meets no
    fewer of the validation goal's criteria (the raw and corrected CCTV rank-1 of both are shown).
    Until session 21 this compared the raw CCTV gap of the validation's own profile, whose
    stand-in overrides the sampling and lens `calibrate` measured. Sharpness is what `calibrate` matched: the
    MTF50 where the frames' edges measure one lens, else the stated proxy, the core (25-75% rise)
    of the fastest-rising contrast class; the other sharpness checks are shown, not judged, as
    natural edges that no one lens renders measure the scene (docs/VALIDATION.md, "The CCTV
    edges' halo and core"). As Markdown, and whether it is met."""
    lines = ["## Calibrated-profile goal (the CCTV camera)", "", "| criterion | figure | allowed | goal |",
             "| --- | --- | --- | --- |"]
    met = []
    if (out / "calibrate-held.json").is_file():
        calibrated = json.loads((out / "calibrate-held.json").read_text(encoding="utf-8"))
        checks = calibrated["checks"]
        cores = [key for key in checks if key.startswith("rise_25_75_")]
        matched = calibrated["sharpness_check"]  # what calibrate matched its lens on, None: the base's
        by_mtf50 = matched == "mtf50_cyc_per_px"
        # Each group of closed-loop checks: which keys, whether its miss is relative (sigma, MTF50,
        # rise) or a difference (correlations, whose 0 is no correlation), and whether it is judged.
        for name, belongs, relative, judged in (
                ("noise by level", lambda key: key.startswith("noise_sigma_") and key.endswith("_dn"), True, True),
                ("sharpness (MTF50)", lambda key: key == "mtf50_cyc_per_px", True, by_mtf50),
                ("sharpness (stated proxy: core of the fastest edges)", lambda key: key == matched and key in cores,
                 True, not by_mtf50),
                ("sharpness (edge core, every contrast class)", lambda key: key in cores, True, False),
                ("noise correlation", lambda key: key.startswith("noise_correlation_"), False, True)):
            misses = {key: check["simulated"] / check["real"] - 1 if relative else check["simulated"] - check["real"]
                      for key, check in checks.items() if belongs(key)}
            worst = max(misses, key=lambda key: abs(misses[key]), default=None)
            ok = worst is not None and abs(misses[worst]) <= MATCH_TOLERANCE
            figure = "not measured" if worst is None else (
                f"worst {worst} {100 * misses[worst]:+.0f}%" if relative else f"worst {worst} {misses[worst]:+.2f}")
            allowed = f"+-{MATCH_TOLERANCE:.0%}" if relative else f"+-{MATCH_TOLERANCE:g}"
            judgement = ("MET" if ok else "NOT MET") if judged else "shown"
            lines.append(f"| calibrate closed loop, {name} ({len(misses)} check{'' if len(misses) == 1 else 's'}, "
                         f"{len(calibrated['frames'])} frames) | {figure} | {allowed} | {judgement} |")
            if judged:
                met.append(ok)
        lines.append(f"| compression | JPEG quality {calibrated['values']['jpeg_quality']} "
                     f"({calibrated['comments']['jpeg_quality']}) | read, not fitted | - |")
    else:
        lines.append("| calibrate closed loop | no frames/ in the held-out folder | - | NOT CHECKED |")
        met.append(False)
    shown = {}
    for name, label in (("as-calibrated", "calibrated (as `calibrate` wrote it)"), ("hand-made", "hand-made")):
        raw, corrected, listed = _camera_figures(out / f"held-{name}")
        shown[name] = sum(item.met for item in listed), len(listed)
        lines.append(f"| {CALIBRATED_CAMERA} rank-1, {label} profile | real {raw['real_rank1']:.1f}: raw "
                     f"{raw['sim_rank1']:.1f} ({raw['gap']:+.1f}), predicted {corrected['pred_rank1']:.1f} "
                     f"({corrected['gap']:+.1f}) | - | shown |")
    ok = shown["as-calibrated"][0] >= shown["hand-made"][0]
    lines.append(f"| `validate` on the held-out people: the validation goal's criteria met, calibrated profile "
                 f"against the hand-made | {shown['as-calibrated'][0]} of {shown['as-calibrated'][1]} against "
                 f"{shown['hand-made'][0]} of {shown['hand-made'][1]} | no fewer | {'MET' if ok else 'NOT MET'} |")
    met.append(ok)
    return [*lines, "", f"goal {'met' if all(met) else 'not met'}"], all(met)


#: The goals the check gives verdicts on, each as (name, its verdict from OUT).
GOALS = (("validation goal", validation_goal), ("quality goal", quality_goal),
         ("calibrated-profile goal", calibrated_profile_goal))


def verdicts(out: Path) -> tuple[str, str, bool]:
    """Every goal's verdict as Markdown, their one-line summary, and whether all are met."""
    judged = [(name, *judge(out)) for name, judge in GOALS]
    return ("\n\n".join("\n".join(lines) for _, lines, _ in judged),
            "; ".join(f"{name} {'met' if met else 'not met'}" for name, _, met in judged),
            all(met for _, _, met in judged))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The check's arguments, checked: both folders hold FRMDB's subjects.csv, the run its manifest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--development", type=Path, required=True, help="FRMDB folder of the development people")
    parser.add_argument("--held-out", type=Path, required=True, help="FRMDB folder of the held-out people")
    parser.add_argument("--run", type=Path, required=True, help="a finished run directory (make report's)")
    parser.add_argument("--out", type=Path, required=True, help="folder for every step's output")
    parser.add_argument("--draws", type=int, default=8, help="simulations of each real probe (validate's default)")
    parser.add_argument("--development-subjects", nargs="*", help="only these development people (a rehearsal)")
    parser.add_argument("--held-out-subjects", nargs="*", help="only these held-out people (a rehearsal)")
    args = parser.parse_args(argv)
    for name, folder in (("--development", args.development), ("--held-out", args.held_out)):
        if not (folder / "subjects.csv").is_file():
            parser.error(f"{name} {folder}: no subjects.csv; "
                         "an FRMDB folder holds mugshots/, surveillance/, subjects.csv")
    if not (args.run / "manifest.json").is_file():
        parser.error(f"--run {args.run}: no manifest.json; "
                     "give a finished run directory (make report's reports/default)")
    if shared := sorted(set(people(args.development, args.development_subjects))
                        & set(people(args.held_out, args.held_out_subjects))):
        parser.error(f"people {', '.join(shared)} are in both --development and --held-out: corrections "
                     "fitted on a person do not predict them (choose the people with --development-subjects "
                     "and --held-out-subjects)")
    return args


def roster(args: argparse.Namespace) -> str:
    """Who each side of the check holds, as Markdown paragraphs (a rehearsal on chosen people says so)."""
    lines = []
    for name, folder, chosen, option in (("Development", args.development, args.development_subjects,
                                          "--development-subjects"),
                                         ("Held out", args.held_out, args.held_out_subjects, "--held-out-subjects")):
        ids = people(folder, chosen)
        lines.append(f"{name}: {len(ids)} people ({', '.join(ids)}){f', chosen by {option}' if chosen else ''}\n\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if failure := run_steps(args):
        print(f"error: {failure}", file=sys.stderr)
        return 2
    text, summary, met = verdicts(args.out.resolve())
    made_with = json.loads((args.out / "check.json").read_text(encoding="utf-8"))
    dirty = " (with uncommitted changes)" if made_with["uncommitted_changes_sha256"] else ""
    header = (f"# Held-out check, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
              f"commit {made_with['commit']}{dirty}; "
              f"development {args.development.resolve()}, held-out {args.held_out.resolve()}, "
              f"run {args.run.resolve()}; "
              f"commands in commands.sh\n\n" + roster(args))
    done = (args.out / "logs/forecast.done").is_file()
    forecast = ((args.out / "forecast.md").read_text(encoding="utf-8").strip() if done else
                f"not available: the forecast step failed; its log: {args.out / 'logs/forecast.log'}")
    context = ("## Context, not a verdict: the development rehearsal's forecast\n\n"
               "Groups of development people of the held-out folder's size, drawn with replacement, each person "
               "predicted from the others, judged by the same criteria (scripts/heldout_forecast.py; "
               "docs/VALIDATION.md, \"How likely the check is to pass\"):\n\n" + forecast)
    (args.out / "verdict.md").write_text(f"{header}{text}\n\n{context}\n\n{summary.capitalize()}.\n",
                                         encoding="utf-8")
    print(text)
    print(f"\n{summary.capitalize()} (written to {args.out / 'verdict.md'})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
