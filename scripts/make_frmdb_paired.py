"""Lay out FRMDB (or its development part) as a paired real-camera dataset for `validate`.

    python scripts/make_frmdb_paired.py $FRMDB_DEV OUT [--gallery-view 33]

FRMDB (Contardo et al., Sensors 23(4):1939, 2023; github.com/airtlab/face-recognition-from-
mugshots-database) has, per person, studio photographs ``mugshots/<id>/Img_XY.png`` (X: horizontal
angle index, 3 = frontal, 45 degrees a step; Y: vertical index, 1 = camera 60 degrees above the
eyes, 2 = 30 above, 3 = level) and real surveillance face crops ``surveillance/<id>/Img_NN.png``.
This script writes (copies: the dataset reader refuses links that leave the folder)::

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
from pathlib import Path

#: Studio view index -> degrees (yaw from X, pitch from Y).
YAW_DEG = {"2": -45.0, "3": 0.0, "4": 45.0}
PITCH_DEG = {"1": 60.0, "2": 30.0, "3": 0.0}


def make_paired(frmdb: Path, out: Path, gallery_view: str = "33",
                subjects: list[str] | None = None) -> Path:
    """Write the paired layout of ``frmdb`` under ``out`` (created) and return ``out``."""
    cameras = {}
    with (frmdb / "subjects.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            cameras[row["subject"]] = row["camera"]
    chosen = sorted(p.name for p in (frmdb / "surveillance").iterdir() if p.is_dir())
    if subjects:
        chosen = [s for s in chosen if s in set(subjects)]
    views, probes = [], []
    for subject in chosen:
        for photo in sorted((frmdb / "mugshots" / subject).glob("Img_*.png")):
            view = photo.stem[-2:]
            part = "gallery" if view == gallery_view else "sources"
            target = out / part / subject / photo.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, target)
            if part == "sources":
                views.append((f"{subject}/{photo.name}", YAW_DEG[view[0]], PITCH_DEG[view[1]]))
        for crop in sorted((frmdb / "surveillance" / subject).glob("Img_*.png")):
            target = out / "probes" / subject / crop.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(crop, target)
            probes.append((f"{subject}/{crop.name}", cameras.get(subject, "")))
    with (out / "sources.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("path", "yaw_deg", "pitch_deg"), *views])
    with (out / "probes.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("path", "camera"), *probes])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frmdb", type=Path, help="FRMDB folder (mugshots/, surveillance/, subjects.csv)")
    parser.add_argument("out", type=Path, help="folder to write (created)")
    parser.add_argument("--gallery-view", default="33", help="studio view used as enrolment (XY)")
    parser.add_argument("--subjects", nargs="*", help="only these subject folders")
    args = parser.parse_args()
    print(make_paired(args.frmdb, args.out, args.gallery_view, args.subjects))


if __name__ == "__main__":
    main()
