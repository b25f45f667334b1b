"""Detection rate against inter-eye distance of every registered detector, on the default experiment.

For each camera condition of ``configs/experiments/default.toml`` (crop mode, as stored), a seeded
subset of ``--limit`` probes is passed through the camera model once, seeded exactly as the
default run seeds it (so MTCNN sees what it sees in the default run), and every detector searches
the same stored images: a paired comparison, measured by the code of a run's
``[detector_comparison]`` (:mod:`evalharness.evaluation.detector_comparison`; the default
experiment's report shows it). A face counts as found when a box overlaps the true face box with
IoU >= 0.5 (the runner's rule, :func:`~evalharness.evaluation.matching.match_detections`); every
other box is a false detection. All probes (mated and non-mated) are faces here, so the rate is
over all of them.

Prints one row per condition in order of IED, each detector's detection rate and false detections
per image; then the rates pooled over the conditions in bins of IED
(:data:`~evalharness.evaluation.detector_comparison.IED_BINS_PX`); then
per detector the lowest bin from which it found at least half, and at least 80 %, of the faces in
every higher bin, its false detections per image over all conditions, on blank and noise frames,
and its detection time per image. Nothing is written; recognition is not
run (``evalharness run`` with ``detectors = [...]`` gives the identification rates).

Example (the figures in the README)::

    .venv/bin/python benchmarks/detectors_ied.py --limit 30 --device cpu
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from evalharness.config.experiment import load_experiment, resolve_dataset
from evalharness.data.folder import open_dataset
from evalharness.evaluation.conditions import build_grid
from evalharness.evaluation.detector_comparison import (
    comparison_conditions,
    comparison_probes,
    detection_rows,
    lowest_bin,
    rates_by_ied_bin,
)
from evalharness.evaluation.protocol import build_split
from evalharness.models import Detections, Detector, get_detector, resolve_device
from evalharness.models.registry import detector_names
from evalharness.paths import EXPERIMENTS_DIR

DETECTORS = ["mtcnn", *sorted(set(detector_names()) - {"mtcnn"})]


@dataclass
class Timed:
    """A detector that adds the seconds it spends detecting to ``seconds``."""

    detector: Detector
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.detector.name

    @property
    def weights_sha256(self) -> str:
        return self.detector.weights_sha256

    def detect(self, images: torch.Tensor | list[torch.Tensor]) -> list[Detections]:
        start = time.perf_counter()
        found = self.detector.detect(images)
        self.seconds += time.perf_counter() - start
        return found


def measure(limit: int, device: str) -> tuple[pd.DataFrame, dict[str, float], int, int]:
    """Per-probe rows (:func:`detection_rows`) of the default experiment's crop-mode conditions,
    the seconds each detector spent, and the experiment's seed and bootstrap resamples."""
    path = EXPERIMENTS_DIR / "default.toml"
    experiment = load_experiment(path)
    if experiment.source_eyes != "lfw-deepfunneled" or experiment.upscale != 1.0:
        raise SystemExit(f"{path}: expected source_eyes = lfw-deepfunneled and upscale = 1")
    dataset = open_dataset(resolve_dataset(experiment, path))
    split = build_split(dataset.records, experiment.protocol, experiment.seed)
    conditions = [c for c in comparison_conditions(experiment, build_grid(experiment)) if c.probe_mode == "crop"]
    resolved = resolve_device(device)
    detectors = {name: Timed(get_detector(name, resolved)) for name in DETECTORS}
    probes = comparison_probes(split, limit, experiment.seed)
    rows = detection_rows(experiment, dataset, conditions, lambda condition: probes, detectors, None, resolved)
    return (rows, {name: timed.seconds for name, timed in detectors.items()}, experiment.seed,
            experiment.bootstrap_resamples)


def blank_false_detections(device: str, size_px: int = 256, frames: int = 8) -> dict[str, float]:
    """False detections per frame on ``frames`` uniform grey and ``frames`` Gaussian-noise
    frames (sigma 0.1 around mid-grey, seeded) of ``size_px`` square."""
    generator = torch.Generator().manual_seed(0)
    flat = [torch.full((3, size_px, size_px), level) for level in np.linspace(0.05, 0.95, frames)]
    noise = [(0.5 + 0.1 * torch.randn(3, size_px, size_px, generator=generator)).clamp(0, 1)
             for _ in range(frames)]
    return {name: sum(len(d) for d in get_detector(name, device).detect(flat + noise)) / (2 * frames)
            for name in DETECTORS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=40, help="probes per condition (seeded)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    rows, seconds, seed, resamples = measure(args.limit, args.device)
    blank = blank_false_detections(args.device)
    per_condition = rows.groupby(["condition_id", "detector"]).agg(
        ied_px=("ied_px", "mean"), profile=("profile", "first"), distance_m=("distance_m", "first"),
        rate=("detected", "mean"), fd=("false_detections", "mean"), images=("relpath", "size")).reset_index()
    table = per_condition.pivot_table(index=["ied_px", "profile", "distance_m"], columns="detector",
                                      values=["rate", "fd"]).sort_index()
    table = table.reindex(columns=[(kind, name) for name in DETECTORS for kind in ("rate", "fd")])
    table.columns = [f"{name} {'FD/img' if kind == 'fd' else kind}" for kind, name in table.columns]
    pd.set_option("display.width", 250)
    print(f"default experiment, crop mode, {per_condition['images'].iloc[0]} probes per condition "
          f"(--limit {args.limit}); rate: faces found (IoU >= 0.5), FD/img: other boxes per image\n")
    print(table.to_string(float_format=lambda value: f"{value:.2f}"))
    bins = rates_by_ied_bin(rows, seed, resamples)
    binned = bins.pivot_table(index=["ied_low_px", "ied_bin"], columns="detector", values="detection_rate")
    binned = binned.droplevel("ied_low_px")[DETECTORS]
    binned.index.name, binned.columns.name = "ied_px", "detector"
    print("\nfaces found, pooled in IED bins (px)\n")
    print(binned.to_string(float_format=lambda value: f"{value:.2f}"))
    print(f"\n{'detector':<18} {'IED bin, rate >= 0.5':>21} {'>= 0.8':>10} {'FD/img':>8} "
          f"{'FD/blank frame':>15} {'ms/img':>8}")
    for name in DETECTORS:
        mine, theirs = rows[rows["detector"] == name], bins[bins["detector"] == name]
        print(f"{name:<18} {lowest_bin(theirs, 0.5) or 'none':>21} {lowest_bin(theirs, 0.8) or 'none':>10} "
              f"{mine['false_detections'].mean():>8.3f} {blank[name]:>15.3f} "
              f"{1000 * seconds[name] / len(mine):>8.1f}")


if __name__ == "__main__":
    main()
