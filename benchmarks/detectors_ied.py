"""Detection rate against inter-eye distance of every registered detector, on the default experiment.

Runs ``configs/experiments/default.toml`` with ``detectors`` set to all four detectors (MTCNN
first: it also locates the source faces, as in the default run, so its conditions keep their
ids) and the default recognizer, a seeded subset of ``--limit`` probes per condition, then prints
one row per condition in order of IED: each detector's detection rate on mated probes (a box
with IoU >= 0.5 with the true face box) and its false detections (boxes not overlapping the
true face, per probe image, mated and non-mated). Last, for each detector, the smallest IED at
which it found at least half, and at least 90 %, of the faces, and its false detections per
image over the whole run. The run directory is kept (resumable; ``evalharness report`` works on
it).

Example (the figures in the README)::

    .venv/bin/python benchmarks/detectors_ied.py --limit 40 --out reports/detectors-ied
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from evalharness.evaluation.runner import prepare
from evalharness.models.registry import detector_names
from evalharness.paths import EXPERIMENTS_DIR

DETECTORS = ["mtcnn", *sorted(set(detector_names()) - {"mtcnn"})]


def detection_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per camera condition (profile, distance), one column pair per detector:
    ``<detector>`` detection rate on mated probes, ``<detector> FD/img`` false detections per
    probe image; sorted by IED."""
    summary = summary.assign(false_per_image=summary["false_detections"]
                             / (summary["n_mated"] + summary["n_nonmated"]))
    keys = ["ied_px", "profile", "distance_m"]
    rates = summary.pivot_table(index=keys, columns="detector", values="detection_rate")
    false = summary.pivot_table(index=keys, columns="detector", values="false_per_image")
    table = pd.concat({"rate": rates, "FD/img": false}, axis=1).sort_index()
    table.columns = [f"{detector} {kind}" if kind != "rate" else detector
                     for kind, detector in table.columns]
    return table[[c for d in DETECTORS for c in (d, f"{d} FD/img") if c in table]]


def smallest_ied(summary: pd.DataFrame, detector: str, rate: float) -> float:
    """The smallest IED (px) of the conditions where ``detector`` found at least ``rate`` of the
    mated faces and did so at every larger IED too (NaN when none)."""
    rows = summary[summary["detector"] == detector].sort_values("ied_px", ascending=False)
    found = (rows["detection_rate"] >= rate).cummin()
    return float(rows.loc[found, "ied_px"].min()) if found.any() else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=40, help="probes per condition (seeded)")
    parser.add_argument("--out", type=Path, default=Path("reports/detectors-ied"))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    overrides = {"name": "detectors-ied", "detectors": DETECTORS, "samples_per_condition": 0}
    run = prepare(EXPERIMENTS_DIR / "default.toml", args.out, overrides, device=args.device,
                  limit=args.limit, command=sys.argv)
    summary = run.execute()
    pd.set_option("display.width", 200)
    print(f"default experiment, {args.limit} probes per condition; detection rate of mated "
          "probes and false detections per probe image\n")
    print(detection_table(summary).to_string(float_format=lambda value: f"{value:.2f}"))
    print("\ndetector           smallest IED px with rate >= 0.5 / >= 0.9   false detections/img")
    for detector in DETECTORS:
        rows = summary[summary["detector"] == detector]
        per_image = rows["false_detections"].sum() / (rows["n_mated"] + rows["n_nonmated"]).sum()
        print(f"{detector:<18} {smallest_ied(summary, detector, 0.5):>8.1f} / "
              f"{smallest_ied(summary, detector, 0.9):<8.1f}{'':22}{per_image:.3f}")


if __name__ == "__main__":
    main()
