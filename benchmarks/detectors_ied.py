"""Detection rate against inter-eye distance of every registered detector, on the default experiment.

For each camera condition of ``configs/experiments/default.toml`` (crop mode, as stored), a seeded
subset of ``--limit`` probes is passed through the camera model once, seeded exactly as the
default run seeds it (so MTCNN sees what it sees in the default run), and every detector searches
the same stored images: a paired comparison. A face counts as found when a box overlaps the true
face box with IoU >= 0.5 (the runner's rule, :func:`~evalharness.evaluation.evaluator.
match_detections`); every other box is a false detection. All probes (mated and non-mated) are
faces here, so the rate is over all of them.

Prints one row per condition in order of IED, each detector's detection rate and false detections
per image; then the rates pooled over the conditions in bins of IED (:data:`IED_BINS_PX`); then
per detector the lowest bin from which it found at least half, and at least 80 %, of the faces in
every higher bin, its false detections per image over all conditions, on blank and noise frames,
and its detection time per image. Nothing is written; recognition is not
run (``evalharness run`` with ``detectors = [...]`` gives the identification rates).

Example (the figures in the README)::

    .venv/bin/python benchmarks/detectors_ied.py --limit 40 --device cpu
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import pandas as pd
import torch

from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
from evalharness.config.experiment import load_experiment, resolve_dataset
from evalharness.data.folder import open_dataset
from evalharness.data.images import load_image
from evalharness.evaluation.conditions import build_grid
from evalharness.evaluation.evaluator import batches, detector_input, match_detections
from evalharness.evaluation.protocol import build_split, limit_probes
from evalharness.models import get_detector
from evalharness.models.registry import detector_names
from evalharness.paths import EXPERIMENTS_DIR
from evalharness.seeding import probe_generator

DETECTORS = ["mtcnn", *sorted(set(detector_names()) - {"mtcnn"})]

#: Edges of the IED bins the conditions are pooled in, pixels.
IED_BINS_PX = (0, 6, 8, 10, 12, 16, 24, 1000)


def measure(limit: int, device: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """Rows (condition x detector: ``ied_px``, ``found``, ``false``, ``images``) and the
    seconds each detector spent."""
    path = EXPERIMENTS_DIR / "default.toml"
    experiment = load_experiment(path, {"limit": limit})
    if experiment.source_eyes != "lfw-deepfunneled" or experiment.upscale != 1.0:
        raise SystemExit(f"{path}: expected source_eyes = lfw-deepfunneled and upscale = 1")
    dataset = open_dataset(resolve_dataset(experiment, path))
    split = build_split(dataset.records, experiment.protocol, experiment.seed)
    probes = limit_probes(split, experiment.limit, experiment.seed).probes()
    detectors = {name: get_detector(name, device) for name in DETECTORS}
    seconds: dict[str, float] = defaultdict(float)
    rows = []
    for condition in build_grid(experiment):
        if condition.probe_mode != "crop":
            continue
        counts = {name: np.zeros(2, np.int64) for name in detectors}  # found, false
        ied_px = []
        for batch in batches(probes, experiment.batch_size):
            relpaths = [image.relpath for image in batch]
            faces = torch.stack([load_image(dataset.root / p) for p in relpaths])
            eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(len(batch), 1, 1)
            generators = [probe_generator(experiment.seed, condition.noise_id, p) for p in relpaths]
            capture = simulate(faces, eyes, condition.profile, generators)
            images, true_boxes = detector_input(capture, condition.upscale)
            ied_px += (capture.eyes_px[:, 1] - capture.eyes_px[:, 0]).norm(dim=-1).tolist()
            for name, detector in detectors.items():
                start = time.perf_counter()
                found = match_detections(detector.detect(images), true_boxes)
                seconds[name] += time.perf_counter() - start
                counts[name] += [sum(f["detected"] for f in found),
                                 sum(f["false_detections"] for f in found)]
        for name, (found, false) in counts.items():
            rows.append({"profile": condition.profile.name, "distance_m": condition.profile.distance_m,
                         "ied_px": float(np.mean(ied_px)), "detector": name, "found": int(found),
                         "false": int(false), "images": len(probes)})
    return pd.DataFrame(rows), dict(seconds)


def blank_false_detections(device: str, size_px: int = 256, frames: int = 8) -> dict[str, float]:
    """False detections per frame on ``frames`` uniform grey and ``frames`` Gaussian-noise
    frames (sigma 0.1 around mid-grey, seeded) of ``size_px`` square."""
    generator = torch.Generator().manual_seed(0)
    flat = [torch.full((3, size_px, size_px), level) for level in np.linspace(0.05, 0.95, frames)]
    noise = [(0.5 + 0.1 * torch.randn(3, size_px, size_px, generator=generator)).clamp(0, 1)
             for _ in range(frames)]
    return {name: sum(len(d) for d in get_detector(name, device).detect(flat + noise)) / (2 * frames)
            for name in DETECTORS}


def by_ied_bin(rows: pd.DataFrame) -> pd.DataFrame:
    """Faces found per image pooled over the conditions of each IED bin: one row per bin, one
    column per detector."""
    bins = pd.cut(rows["ied_px"], IED_BINS_PX, right=False)
    pooled = rows.groupby([bins, "detector"], observed=True)[["found", "images"]].sum()
    return (pooled["found"] / pooled["images"]).unstack("detector")[DETECTORS]


def lowest_bin(rates: pd.Series, rate: float) -> str:
    """The lowest IED bin from which ``rates`` (one detector, by bin) reach ``rate`` in every
    higher bin ("none" when even the highest does not)."""
    good = (rates[::-1] >= rate).cummin()[::-1]
    return str(good[good].index[0]) if good.any() else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=40, help="probes per condition (seeded)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    rows, seconds = measure(args.limit, args.device)
    blank = blank_false_detections(args.device)
    rows["rate"] = rows["found"] / rows["images"]
    rows["FD/img"] = rows["false"] / rows["images"]
    table = rows.pivot_table(index=["ied_px", "profile", "distance_m"], columns="detector",
                             values=["rate", "FD/img"]).sort_index()
    table = table.reindex(columns=[(kind, name) for name in DETECTORS for kind in ("rate", "FD/img")])
    table.columns = [f"{name} {kind}" for kind, name in table.columns]
    pd.set_option("display.width", 250)
    print(f"default experiment, crop mode, {rows['images'].iloc[0]} probes per condition "
          f"(--limit {args.limit}); rate: faces found (IoU >= 0.5), FD/img: other boxes per image\n")
    print(table.to_string(float_format=lambda value: f"{value:.2f}"))
    binned = by_ied_bin(rows)
    print("\nfaces found, pooled in IED bins (px)\n")
    print(binned.to_string(float_format=lambda value: f"{value:.2f}"))
    print(f"\n{'detector':<18} {'IED bin, rate >= 0.5':>21} {'>= 0.8':>10} {'FD/img':>8} "
          f"{'FD/blank frame':>15} {'ms/img':>8}")
    for name in DETECTORS:
        mine = rows[rows["detector"] == name]
        per_image_ms = 1000 * seconds[name] / mine["images"].sum()
        print(f"{name:<18} {lowest_bin(binned[name], 0.5):>21} {lowest_bin(binned[name], 0.8):>10} "
              f"{mine['false'].sum() / mine['images'].sum():>8.3f} {blank[name]:>15.3f} "
              f"{per_image_ms:>8.1f}")


if __name__ == "__main__":
    main()
