"""Lay out FRMDB (or its development part) as a paired real-camera dataset for `validate`.

    python scripts/make_frmdb_paired.py $FRMDB_DEV OUT [--gallery-view 33]

FRMDB (Contardo et al., Sensors 23(4):1939, 2023; github.com/airtlab/face-recognition-from-
mugshots-database) has, per person, studio photographs ``mugshots/<id>/Img_XY.png`` (X: horizontal
angle index 0-6, 3 = frontal, 45 degrees a step; Y: vertical index, 1 = camera 60 degrees above
the eyes, 2 = 30 above, 3 = level, 4 = 30 below) and real surveillance face crops
``surveillance/<id>/Img_NN.png``. The development subjects' copy holds only the views X 2-4 and
Y 1-3, and `validate`'s corrections were fitted with those sources, so by default only those
become sources (the others are counted and left out); ``--all-views`` takes every view that
shows the face (yaw within 90 degrees). This script writes (copies: the dataset reader refuses
links that leave the folder)::

    OUT/gallery/<id>/Img_33.png        the frontal, level studio photograph (enrolment)
    OUT/sources/<id>/Img_XY.png        every other studio view, with OUT/sources.csv
    OUT/probes/<id>/Img_NN.png         the surveillance crops, with OUT/probes.csv (camera group
                                       from subjects.csv)

The yaw sign follows :mod:`evalharness.quality.pose` (positive: face turned to the image's right):
on the development subjects the landmark fit puts X = 2 at negative yaw (median -33 deg for
Img_22, -58 deg for Img_23) and X = 4 at positive yaw, so ``yaw_deg = 45 (X - 3)``.
FRMDB states no licence: use the copy for development and tests, never ship it.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

#: Studio view index -> degrees (yaw from X, pitch from Y).
YAW_DEG = {str(x): 45.0 * (x - 3) for x in range(7)}
PITCH_DEG = {"1": 60.0, "2": 30.0, "3": 0.0, "4": -30.0}
#: The views of the development subjects' copy (X 2-4, Y 1-3).
DEVELOPMENT_VIEWS = frozenset(x + y for x in "234" for y in "123")
#: The widest yaw of a view that shows the face, degrees (beyond it: the back of the head).
MAX_FACE_YAW_DEG = 90.0


def source_view(photo: Path, all_views: bool) -> tuple[float, float] | None:
    """(yaw_deg, pitch_deg) of a studio photograph ``Img_XY.png``, or None for a view left out
    (see the module docstring); ValueError naming the file for a name that is not a view."""
    view = photo.stem[-2:]
    if not photo.stem.startswith("Img_") or view[0] not in YAW_DEG or view[1] not in PITCH_DEG:
        raise ValueError(f"{photo}: not a studio view Img_XY (X 0-6, Y 1-4)")
    yaw_deg, pitch_deg = YAW_DEG[view[0]], PITCH_DEG[view[1]]
    keep = abs(yaw_deg) <= MAX_FACE_YAW_DEG if all_views else view in DEVELOPMENT_VIEWS
    return (yaw_deg, pitch_deg) if keep else None


def people(frmdb: Path, subjects: list[str] | None = None) -> list[str]:
    """The people of an FRMDB folder (its ``surveillance/<id>`` folders), sorted; of them, those in
    ``subjects`` when given."""
    found = sorted(path.name for path in (frmdb / "surveillance").glob("*") if path.is_dir())
    return [person for person in found if not subjects or person in subjects]


def make_paired(frmdb: Path, out: Path, gallery_view: str = "33",
                subjects: list[str] | None = None, all_views: bool = False) -> Path:
    """Write the paired layout of ``frmdb`` under ``out`` (created) and return ``out``; ValueError
    naming what is missing for a folder that is not FRMDB's layout or subjects it does not hold."""
    if missing := [name for name in ("subjects.csv", "mugshots", "surveillance") if not (frmdb / name).exists()]:
        raise ValueError(f"{frmdb}: no {' or '.join(missing)}; an FRMDB folder holds mugshots/<id>/, "
                         "surveillance/<id>/ and subjects.csv")
    # utf-8-sig: a spreadsheet's export starts with a byte-order mark, which would rename the first column.
    with (frmdb / "subjects.csv").open(newline="", encoding="utf-8-sig") as handle:
        table = csv.DictReader(handle)
        if absent := [column for column in ("subject", "camera") if column not in (table.fieldnames or [])]:
            raise ValueError(f"{frmdb / 'subjects.csv'}: no column {' or '.join(absent)} "
                             f"(its header: {','.join(table.fieldnames or [])})")
        cameras = {row["subject"]: row["camera"] for row in table}
    chosen = people(frmdb, subjects)
    if subjects and (absent := sorted(set(subjects) - set(chosen))):
        raise ValueError(f"{frmdb / 'surveillance'}: no folder for subject {', '.join(absent)}")
    # Everything is planned, and bad input refused, before anything is written: a half-written
    # layout would pass for a whole one.
    if missing := [subject for subject in chosen if subject not in cameras]:
        raise ValueError(f"{frmdb / 'subjects.csv'}: no row for subject {', '.join(missing)}, "
                         "whose probes need a camera group")
    galleries = [frmdb / "mugshots" / subject / f"Img_{gallery_view}.png" for subject in chosen]
    if missing := [str(photo) for photo in galleries if not photo.is_file()]:
        raise ValueError(f"no gallery photograph {', '.join(missing)}: every person needs one to be "
                         "searched for (--gallery-view)")
    copies, views, probes, left_out = [], [], [], 0
    for subject in chosen:
        for photo in sorted((frmdb / "mugshots" / subject).glob("Img_*.png")):
            gallery = photo.stem[-2:] == gallery_view
            view = None if gallery else source_view(photo, all_views)
            if not gallery and view is None:
                left_out += 1
                continue
            copies.append((photo, out / ("gallery" if gallery else "sources") / subject / photo.name))
            if view is not None:
                views.append((f"{subject}/{photo.name}", *view))
        for crop in sorted((frmdb / "surveillance" / subject).glob("Img_*.png")):
            copies.append((crop, out / "probes" / subject / crop.name))
            probes.append((f"{subject}/{crop.name}", cameras[subject]))
    for source, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    with (out / "sources.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("path", "yaw_deg", "pitch_deg"), *views])
    with (out / "probes.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("path", "camera"), *probes])
    if left_out:
        kept = "views showing the face" if all_views else "the development subjects' views"
        print(f"{left_out} of the studio photographs left out as sources (only {kept} are kept)",
              file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frmdb", type=Path, help="FRMDB folder (mugshots/, surveillance/, subjects.csv)")
    parser.add_argument("out", type=Path, help="folder to write (created)")
    parser.add_argument("--gallery-view", default="33", help="studio view used as enrolment (XY)")
    parser.add_argument("--subjects", nargs="*", help="only these subject folders")
    parser.add_argument("--all-views", action="store_true",
                        help="every view showing the face as a source, not only X 2-4, Y 1-3")
    args = parser.parse_args()
    try:
        print(make_paired(args.frmdb, args.out, args.gallery_view, args.subjects, args.all_views))
    except ValueError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()
