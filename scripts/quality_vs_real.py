"""How `evalharness quality` predicted real images against what happened to them.

    evalharness quality REAL/probes/*/* --run RUN --validation DEV_VALIDATION --json > quality.json
    evalharness validate REAL --profile ... --out REAL_VALIDATION      (the real outcomes)
    python scripts/quality_vs_real.py quality.json REAL_VALIDATION [quality2.json VALIDATION2 ...]
    python scripts/quality_vs_real.py --leave-one-out DEV_VALIDATION

For each real probe detected both by `quality` and by the validation, the first face's expected
rank-1 (and its 95% interval) is set against its real rank-1 outcome (`real_mate_rank` of the
validation's rows, in that validation's gallery). Prints a Markdown table per camera group and per
IED bin (the bins of `validate`): faces, mean expected (mean interval), real rate, their
difference, and whether the mean interval covers the real rate; faces given no number are counted.
Several pairs are pooled (for example the two folds of a split by subject); where the galleries
that the expected rates hold for and that the real outcomes were searched in differ in size by more
than a quarter, a warning says so. Then the quality
issue's goal, criterion by criterion: the mean expected rate within 5 points of the real rate in
each camera group, and the mean interval covering the real rate in at least 4 of the 5 IED bins;
exits 0 when it is met, 1 when not.

`--leave-one-out` rehearses the held-out check of `quality --validation` on one validation: each
person's real-detected probes are rated by the model that `quality --validation` fits
(`expected_rate.fit_validated_model`) on all the other people's rows, at the IED (landmarks) and
head pose that the validation measured on the real image, the measures `quality` takes with the
same detector, against their real outcome in that validation's gallery. It needs no `quality`
run: about 4 s a person on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.evaluation.expected_rate import expected_rank1, fit_validated_model
from evalharness.evaluation.validate_run import read_validation
from evalharness.evaluation.validation_summary import BINS_PX, real_success

#: The quality issue's goal: the mean expected rate within this many points of the real rate in
#: each camera group, and the mean 95% interval covering the real rate in at least this many of
#: the IED bins.
CAMERA_TOLERANCE_PTS, BINS_COVERED = 5.0, 4
#: Galleries whose sizes differ by more than this ratio are warned about (rank-1 falls as a
#: gallery grows); the held-out check's 34 people against the development validation's 33 are not.
GALLERY_RATIO = 1.25


def _with_real_hit(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with ``real_hit``: 1.0 where the real probe was identified at rank 1, else 0.0."""
    return rows.assign(real_hit=real_success(rows).astype(float))


def _outcome(face: dict[str, Any], real: pd.Series, real_gallery: int) -> dict[str, Any]:
    """One face's expected rate (``quality --json``'s keys) beside the real probe's outcome in a
    gallery of ``real_gallery`` people."""
    return {"camera": real["camera"], "ied_px": face["ied_px"], "expected": face["expected_rank1"],
            "low": face["expected_rank1_ci_low"], "high": face["expected_rank1_ci_high"],
            "real": real["real_hit"], "rated_gallery": face["gallery_size"], "real_gallery": real_gallery}


def paired_outcomes(quality_json: Path, validation_dir: Path) -> pd.DataFrame:
    """One row per real probe with a face in both: camera, IED, expected (low, high), real hit,
    and the two galleries: the one the expected rate holds for (``rated_gallery``) and the
    validation's, where the real outcome was searched (``real_gallery``)."""
    past = read_validation(validation_dir)
    rows, records = _with_real_hit(past.rows).set_index("relpath"), []
    for result in json.loads(quality_json.read_text(encoding="utf-8"))["results"]:
        relpath = "/".join(Path(result["image"]).parts[-2:])  # probes/<id>/<image>
        real = rows.loc[relpath]
        if not result["faces"] or not real["real_detected"]:
            continue
        records.append(_outcome(result["faces"][0], real, past.gallery_identities))
    return pd.DataFrame.from_records(records)


def leave_one_out(validation_dir: Path) -> pd.DataFrame:
    """As :func:`paired_outcomes` (with each face's ``identity``), each person's real-detected
    probes rated by the validated model fitted on every other person's rows of the validation in
    ``validation_dir``."""
    past = read_validation(validation_dir)
    rows, records = _with_real_hit(past.rows), []
    for person in sorted(rows["identity"].unique()):
        model = fit_validated_model(rows[rows["identity"] != person], past.gallery_identities,
                                    size_column=past.size_column)
        mine = rows[(rows["identity"] == person) & rows["real_detected"]]
        for _, real in mine.iterrows():
            face = expected_rank1(model, ied_px=float(real["real_ied_px"]), yaw_deg=float(real["yaw_deg"]),
                                  pitch_deg=float(real["pitch_deg"]))
            records.append({"identity": person} | _outcome(asdict(face), real, past.gallery_identities))
    return pd.DataFrame.from_records(records)


@dataclass(frozen=True)
class Group:
    """The rated faces of one group: ``faces``, and the mean expected rate, the mean of its 95%
    interval's bounds and the real rate, in percent (NaN without faces)."""

    name: str
    faces: int
    expected: float
    low: float
    high: float
    real: float

    @property
    def covers(self) -> bool:
        """Whether the mean interval covers the real rate (never for a group without faces)."""
        return self.faces > 0 and self.low <= self.real <= self.high


def groups(outcomes: pd.DataFrame) -> tuple[list[Group], list[Group], Group]:
    """The faces given a number, by camera group, by IED bin of `validate` (every bin, empty ones
    too) and all together."""
    rated = outcomes[outcomes["expected"].notna()]

    def group(name: str, faces: pd.DataFrame) -> Group:
        return Group(name, len(faces), *(100.0 * faces[c].mean() if len(faces) else math.nan
                                         for c in ("expected", "low", "high", "real")))

    return ([group(camera, faces) for camera, faces in rated.groupby("camera", sort=True)],
            [group(f"IED {low:g}-{high:g} px", rated[(rated["ied_px"] >= low) & (rated["ied_px"] < high)])
             for low, high in BINS_PX],
            group("all", rated))


def table(outcomes: pd.DataFrame) -> str:
    """The Markdown comparison (percent) of the faces that were given a number."""
    cameras, bins, everyone = groups(outcomes)
    lines = [f"{len(outcomes)} faces found by both, {everyone.faces} given a number", "",
             "| group | faces | mean expected (mean 95% CI) | real rank-1 | expected - real | CI covers real |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {g.name} | {g.faces} | {g.expected:.1f} ({g.low:.1f}-{g.high:.1f}) | {g.real:.1f} | "
              f"{g.expected - g.real:+.1f} | {'yes' if g.covers else 'no'} |"
              for g in [*cameras, *(b for b in bins if b.faces), everyone]]
    return "\n".join(lines)


@dataclass(frozen=True)
class Check:
    """One criterion of the quality issue's goal: ``criterion`` (the same for every set of faces),
    ``figure`` and ``allowed`` in words, and whether it is ``met``."""

    criterion: str
    figure: str
    allowed: str
    met: bool


def checks(cameras: list[Group], bins: list[Group]) -> list[Check]:
    """The quality issue's goal, criterion by criterion, from :func:`groups`' camera groups and
    IED bins: the mean expected rate within :data:`CAMERA_TOLERANCE_PTS` of the real rate in each
    camera group, and the mean interval covering the real rate in at least :data:`BINS_COVERED`
    of the IED bins (a bin without rated faces is not covered)."""
    listed = [Check(f"expected - real, {g.name}", f"{g.expected - g.real:+.1f} points ({g.faces} faces)",
                    f"+-{CAMERA_TOLERANCE_PTS:g}", abs(g.expected - g.real) <= CAMERA_TOLERANCE_PTS)
              for g in cameras]
    covered = [b for b in bins if b.covers]
    listed.append(Check("intervals covering the real rate, by IED bin",
                        f"{len(covered)} of {len(bins)} ({', '.join(b.name for b in covered) or 'none'})",
                        f"at least {BINS_COVERED}", len(covered) >= BINS_COVERED))
    return listed


def goal(outcomes: pd.DataFrame) -> tuple[list[str], bool]:
    """:func:`checks` as Markdown rows (criterion, figure, allowed, MET or NOT MET), and whether
    all are met."""
    listed = checks(*groups(outcomes)[:2])
    rows = [f"| {c.criterion} | {c.figure} | {c.allowed} | {'MET' if c.met else 'NOT MET'} |" for c in listed]
    return rows, all(c.met for c in listed)


def gallery_note(outcomes: pd.DataFrame) -> str | None:
    """A warning when the expected rates hold for galleries more than :data:`GALLERY_RATIO` times
    larger or smaller than the real outcomes' (rank-1 falls as a gallery grows), else None."""
    pairs = sorted({(int(a), int(b)) for a, b in zip(outcomes["rated_gallery"], outcomes["real_gallery"],
                                                      strict=True) if max(a, b) > GALLERY_RATIO * min(a, b)})
    if not pairs:
        return None
    listed = "; ".join(f"expected for a gallery of {a}, real outcomes searched in one of {b}" for a, b in pairs)
    return (f"warning: {listed}: rank-1 falls as a gallery grows, so these figures and the goal "
            "compare like with like only where the two galleries are of about one size")


def report(outcomes: pd.DataFrame) -> int:
    """Print the comparison and the goal; the exit status: 0 when the goal is met, else 1."""
    if note := gallery_note(outcomes):
        print(note)
    print(table(outcomes))
    rows, met = goal(outcomes)
    print("\n| criterion | figure | allowed | goal |\n| --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"\ngoal {'met' if met else 'not met'}")  # a paragraph: Markdown would read it as a table row
    return 0 if met else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", nargs="*", type=Path, help="QUALITY_JSON VALIDATION_DIR, repeated")
    parser.add_argument("--leave-one-out", type=Path, metavar="VALIDATION_DIR",
                        help="rate each person of this validation by a model fitted on the others")
    args = parser.parse_args()
    if args.leave_one_out is not None:
        if args.pairs:
            parser.error("--leave-one-out takes no QUALITY_JSON VALIDATION_DIR pairs")
        sys.exit(report(leave_one_out(args.leave_one_out)))
    if not args.pairs or len(args.pairs) % 2:
        parser.error("give QUALITY_JSON VALIDATION_DIR pairs")
    sys.exit(report(pd.concat([paired_outcomes(q, v) for q, v in zip(args.pairs[::2], args.pairs[1::2], strict=True)],
                              ignore_index=True)))


if __name__ == "__main__":
    main()
