"""How a face's size is measured when it turns: the landmarks' eye distance against the fitted face's.

FRMDB's studio photographs of one person are taken from one distance by cameras on a rotating
arm, so a measure of the face's size should not change with the view. For each person and view,
prints the median (and quartiles) over people of each measure divided by the frontal view's
(`Img_33`): the landmarks' inter-eye distance (`Face.ied_px`, which shrinks about as cos(yaw)) and
the fitted generic face's (`Face.head_ied_px`, `HeadPose.ied_px`), which `validate --size head`
uses.

Usage: python scripts/studio_head_scale.py $FRMDB_DEV
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from evalharness.data.images import load_image
from evalharness.evaluation.validation import find_face
from evalharness.models import get_detector

VIEWS = ("23", "43", "22", "42", "32")


def measure(frmdb: Path, subjects: list[str] | None = None) -> dict[str, dict[str, list[float]]]:
    """Per view: each person's ratio to their frontal view of the landmarks' eye distance
    (``"landmarks"``) and the fitted face's (``"fitted"``), and the fitted yaw (``"yaw"``, degrees).
    People whose frontal view, or a view, has no detected face are left out of that view."""
    detector = get_detector("mtcnn", "cpu")
    ratios: dict[str, dict[str, list[float]]] = {view: {"landmarks": [], "fitted": [], "yaw": []} for view in VIEWS}
    folders = sorted(p for p in (frmdb / "mugshots").iterdir()
                     if p.is_dir() and (subjects is None or p.name in subjects))
    for subject in folders:
        faces = {view: find_face(load_image(subject / f"Img_{view}.png"), detector)
                 for view in ("33", *VIEWS) if (subject / f"Img_{view}.png").is_file()}
        frontal = faces.get("33")
        if frontal is None or not frontal.found:
            continue
        for view in VIEWS:
            if view in faces and faces[view].found:
                ratios[view]["landmarks"].append(faces[view].ied_px / frontal.ied_px)
                ratios[view]["fitted"].append(faces[view].head_ied_px / frontal.head_ied_px)
                ratios[view]["yaw"].append(faces[view].yaw_deg)
    return ratios


def table(ratios: dict[str, dict[str, list[float]]]) -> list[str]:
    """Markdown rows: median (quartiles) over people of each ratio, per view."""
    def spread(values: list[float]) -> str:
        q1, q2, q3 = np.percentile(values, [25, 50, 75])
        return f"{q2:.2f} ({q1:.2f}-{q3:.2f})"

    lines = ["| view | people | fitted yaw (median, deg) | landmarks / frontal | fitted face / frontal |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| Img_{view} | {len(values['yaw'])} | {np.median(values['yaw']):+.1f} | "
              f"{spread(values['landmarks'])} | {spread(values['fitted'])} |"
              for view, values in ratios.items() if values["yaw"]]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frmdb", type=Path, help="FRMDB folder holding mugshots/<subject>/Img_XY.png")
    parser.add_argument("--subjects", nargs="*", help="only these subjects (default: all)")
    args = parser.parse_args(argv)
    print("\n".join(table(measure(args.frmdb, args.subjects))))


if __name__ == "__main__":
    main()
