"""The acceptance check on FRMDB's held-out people, from their folder to both verdicts, in one command.

    python scripts/heldout_check.py --development $FRMDB_DEV --held-out FRMDB_HELDOUT \
        --run reports/default --out /tmp/heldout

Runs, in order, the commands of docs/VALIDATION.md "Held-out check" and "`quality` on the
development subjects' real images" (each FRMDB folder laid out as `scripts/make_frmdb_paired.py`
reads it; `--run` a finished run such as `make report`'s, whose detector `quality` uses):

1. lay out both folders as paired datasets (`OUT/real-dev`, `OUT/real-held`);
2. `evalharness validate` the development people: the corrections are fitted there (`OUT/final-dev`);
3. `evalharness validate` the held-out people with those corrections (`OUT/final-held`);
4. `evalharness quality` on the held-out images with the development validation (`OUT/quality-held.json`);
5. the verdicts: the validation goal (`scripts/validation_goal.py`'s criteria) on step 3, and the
   quality goal (`scripts/quality_vs_real.py`) of step 4 against step 3's real outcomes.

Every command is written to `OUT/commands.sh` as it runs and its output to `OUT/logs/<step>.log`;
the verdicts go to `OUT/verdict.md` with the date, the commit and the data folders. A step that
finished is kept when the check is run again with the same arguments at the same commit (a failed
or interrupted check resumes where it stopped); an `OUT` made with other arguments or at another
commit is refused, as corrections fitted by other code do not describe this code's simulation.
Exit status: 0 when both goals are met, 1 when one is not, 2 when a step failed (named, with its log).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import quality_vs_real  # scripts/, beside this file

from evalharness.evaluation.validation_goal import criteria, verdict

ROOT = Path(__file__).resolve().parent.parent
#: The profiles of the development validation in docs/VALIDATION.md, one per FRMDB camera group.
PROFILES = (f"cctv-352x288={ROOT / 'configs/profiles/validation/frmdb-cctv-measured.toml'}",
            f"hd-1920x1080={ROOT / 'configs/profiles/validation/frmdb-hd.toml'}")


@dataclass(frozen=True)
class Step:
    """One command of the check: ``name`` (its log's name), ``argv``, ``stdout_to`` (a file
    under OUT that keeps its standard output, else the log does) and ``partial_status`` (the exit
    status with which the command says it finished but skipped some inputs, each named in its log)."""

    name: str
    argv: list[str]
    stdout_to: str | None = None
    partial_status: int | None = None


def steps(args: argparse.Namespace) -> list[Step]:
    """The check's commands, in order (module docstring)."""
    python, evalharness = sys.executable, str(Path(sys.executable).parent / "evalharness")
    out = args.out.resolve()
    layout = [python, str(ROOT / "scripts/make_frmdb_paired.py")]
    validate = [evalharness, "validate", *(f"--profile={profile}" for profile in PROFILES), f"--draws={args.draws}"]
    held_probes = sorted(str(path) for path in (out / "real-held/probes").glob("*/*"))
    return [
        Step("layout-dev", [*layout, str(args.development.resolve()), str(out / "real-dev"),
                            *(["--subjects", *args.development_subjects] if args.development_subjects else [])]),
        Step("layout-held", [*layout, str(args.held_out.resolve()), str(out / "real-held"),
                             *(["--subjects", *args.held_out_subjects] if args.held_out_subjects else [])]),
        Step("validate-dev", [*validate, str(out / "real-dev"), "--out", str(out / "final-dev")]),
        Step("validate-held", [*validate, str(out / "real-held"), "--calibration", str(out / "final-dev"),
                               "--out", str(out / "final-held"), "--json"], stdout_to="final-held.json"),
        Step("quality-held", [evalharness, "quality", *held_probes, "--run", str(args.run.resolve()),
                              "--validation", str(out / "final-dev"), "--json"], stdout_to="quality-held.json",
             partial_status=3),
    ]


def identity(args: argparse.Namespace) -> dict[str, object]:
    """What an OUT folder's steps were made with: the commit (and whether the checkout had
    uncommitted changes) and the arguments."""
    def git(*command: str) -> str:
        found = subprocess.run(["git", "-C", str(ROOT), *command], capture_output=True, text=True, check=False)
        return found.stdout.strip() if found.returncode == 0 else "unknown"

    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": git("status", "--porcelain") != "",
            "arguments": {key: str(value.resolve() if isinstance(value, Path) else value)
                          for key, value in sorted(vars(args).items()) if key != "out"}}


def run_steps(args: argparse.Namespace) -> str | None:
    """Run each step not yet finished in OUT; None when all finished, else the failure to report."""
    out = args.out.resolve()
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    made_with, marker = identity(args), out / "check.json"
    if marker.is_file() and (earlier := json.loads(marker.read_text(encoding="utf-8"))) != made_with:
        return (f"{marker}: this folder holds a check made with other arguments or at another commit "
                f"({json.dumps(earlier)}); give a new --out")
    marker.write_text(json.dumps(made_with, indent=1) + "\n", encoding="utf-8")
    for number in range(len(steps(args))):
        step = steps(args)[number]   # made again each time: quality's images exist only after the layout
        done, log = logs / f"{step.name}.done", logs / f"{step.name}.log"
        if done.is_file():
            print(f"[{step.name}] kept: finished in an earlier run of this check ({log})")
            continue
        command = shlex.join(step.argv) + (f" > {shlex.quote(str(out / step.stdout_to))}" if step.stdout_to else "")
        with (out / "commands.sh").open("a", encoding="utf-8") as script:
            script.write(command + "\n")
        print(f"[{step.name}] {command}", flush=True)
        with log.open("w", encoding="utf-8") as log_file:
            stdout = (out / step.stdout_to).open("w", encoding="utf-8") if step.stdout_to else log_file
            with stdout:
                status = subprocess.run(step.argv, stdout=stdout, stderr=log_file, check=False).returncode
        if status == step.partial_status:
            print(f"[{step.name}] warning: some inputs could not be read, each named in {log}")
        elif status != 0:
            return f"step {step.name} failed (exit status {status}); its log: {log}. Finished steps are kept."
        done.touch()
    return None


def verdicts(out: Path) -> tuple[str, str, bool]:
    """Both goals' verdicts as Markdown, their one-line summary, and whether both are met."""
    listed, _ = criteria(json.loads((out / "final-held/summary.json").read_text(encoding="utf-8")))
    lines = ["## Validation goal (held-out people, corrections fitted on the development people)", "",
             "| criterion | predicted | real | error | allowed | raw simulation | goal |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {item.name} | {item.predicted:.1f} | {item.real:.1f} | {item.predicted - item.real:+.1f} | "
              f"+-{item.tolerance_pts:g} | {item.simulated:.1f} | {'MET' if item.met else 'NOT MET'} |"
              for item in listed]
    lines += ["", verdict(listed), "", "## Quality goal (`quality --validation` on the held-out images)", ""]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        quality_status = quality_vs_real.report(
            quality_vs_real.paired_outcomes(out / "quality-held.json", out / "final-held"))
    lines.append(printed.getvalue().rstrip())
    validation_met, quality_met = all(item.met for item in listed), quality_status == 0
    summary = (f"validation goal {'met' if validation_met else 'not met'}; "
               f"quality goal {'met' if quality_met else 'not met'}")
    return "\n".join(lines), summary, validation_met and quality_met


def main(argv: list[str] | None = None) -> int:
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
            parser.error(f"{name} {folder}: no subjects.csv; an FRMDB folder holds mugshots/, surveillance/, subjects.csv")
    if not (args.run / "manifest.json").is_file():
        parser.error(f"--run {args.run}: no manifest.json; give a finished run directory (make report's reports/default)")
    if failure := run_steps(args):
        print(f"error: {failure}", file=sys.stderr)
        return 2
    text, summary, met = verdicts(args.out.resolve())
    made_with = json.loads((args.out / "check.json").read_text(encoding="utf-8"))
    header = (f"# Held-out check, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
              f"commit {made_with['commit']}{' (with uncommitted changes)' if made_with['uncommitted_changes'] else ''}; "
              f"development {args.development.resolve()}, held-out {args.held_out.resolve()}, run {args.run.resolve()}; "
              f"commands in commands.sh\n\n")
    (args.out / "verdict.md").write_text(f"{header}{text}\n\n{summary.capitalize()}.\n", encoding="utf-8")
    print(text)
    print(f"\n{summary.capitalize()} (written to {args.out / 'verdict.md'})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
