"""Detection rate against inter-eye distance of several detectors on the same stored images.

An experiment's ``[detector_comparison]`` (:class:`~evalharness.config.experiment.
DetectorComparison`) asks, beside its conditions, which detector finds faces at the smallest IED
and at what false detection rate. For each camera condition of the run's first detector and first
recognizer (:func:`comparison_conditions`: one per camera, sweep cell and probe mode), a seeded
choice of ``probes_per_condition`` of the condition's probes (:func:`comparison_probes`: those
``--limit`` would keep) is simulated as the run simulates it (:func:`~evalharness.evaluation.evaluator.capture_probes`:
the same per-probe seeds, so the first detector sees what it sees in the run), and every detector
searches the same stored images: a paired comparison. A face is found as in the run
(:func:`~evalharness.evaluation.matching.match_detections`: a box with IoU >= 0.5 with the true
face box); every other box is a false detection. All probes, mated and non-mated, are faces here.
Recognition is not run. Nothing here draws from a generator the run's conditions use: each probe's
generator is made afresh from its seed, and the bootstrap has its own.

The run directory gets :data:`ROWS_FILE` (one row per condition, probe and detector: columns in
:func:`detection_rows`) and :data:`BINS_FILE` (one row per detector and IED bin, conditions pooled:
:func:`rates_by_ied_bin`), which the report reads. ``benchmarks/detectors_ied.py`` measures the
same on the default experiment, with timings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from evalharness.config.experiment import Experiment
from evalharness.config.loading import suggest
from evalharness.data.folder import FolderDataset
from evalharness.errors import ConfigError, DataError
from evalharness.evaluation import store
from evalharness.evaluation.batching import batches, split_on_oom
from evalharness.evaluation.conditions import Condition
from evalharness.evaluation.evaluator import (
    capture_probes,
    condition_split,
    detector_input,
    probe_ied_px,
)
from evalharness.evaluation.intervals import settle, subject_bootstrap
from evalharness.evaluation.matching import match_detections
from evalharness.evaluation.originals import SourceFaces
from evalharness.evaluation.protocol import Image, Split, limit_probes
from evalharness.evaluation.summary import bootstrap_rng, write_csv_text
from evalharness.models import Detector, get_detector, resolve_device
from evalharness.models.registry import detector_names

#: Edges of the IED bins (pixels of the stored image, ``[low, high)``) the conditions are pooled in.
IED_BINS_PX = (0, 6, 8, 10, 12, 16, 24, 1000)
#: The run directory's files: per-probe detections, and rates by IED bin.
ROWS_FILE, BINS_FILE = "detectors.parquet", "detectors.csv"


def comparison_conditions(experiment: Experiment, grid: Sequence[Condition]) -> list[Condition]:
    """The conditions whose stored images are compared: those of the first detector and first
    recognizer, one per camera, sweep cell and probe mode (in grid order)."""
    return [condition for condition in grid if condition.detector == experiment.detector_names[0]
            and condition.recognizer == experiment.recognizers[0]]


def comparison_probes(split: Split, count: int, seed: int) -> tuple[Image, ...]:
    """The probes compared under a condition whose split is ``split``: the seeded choice
    ``--limit count`` keeps."""
    return limit_probes(split, count, seed).probes()


def detection_rows(experiment: Experiment, dataset: FolderDataset, conditions: Sequence[Condition],
                   probes: Callable[[Condition], Sequence[Image]], detectors: Mapping[str, Detector],
                   sources: SourceFaces | None, device: torch.device) -> pd.DataFrame:
    """Every detector on the stored images of ``probes(condition)`` under each condition.

    ``sources`` (the run's source faces) is needed only with detected source eyes; probes whose
    source shows no face are left out, as in the run. Returns one row per condition, probe and
    detector: ``condition_id``, ``label``, ``profile``, ``probe_mode``, ``distance_m``,
    ``identity``, ``relpath``, ``ied_px`` (true inter-eye distance in the stored image, px),
    ``detector``, ``detected`` (a box with IoU >= 0.5 with the true face box), ``iou``, ``det_prob``
    (that box's; NaN when none) and ``false_detections`` (the other boxes).
    """
    records = []
    for condition in conditions:
        for batch in batches(list(probes(condition)), experiment.batch_size):
            capture, keep = capture_probes(experiment, dataset, condition, [image.relpath for image in batch],
                                           sources, device, keep_stages=False)
            images, true_boxes = detector_input(capture, condition.upscale)
            ied_px = probe_ied_px(capture)
            for name, detector in detectors.items():
                found = match_detections(split_on_oom(detector.detect, images), true_boxes)
                records += [{
                    "condition_id": condition.id, "label": condition.label, "profile": condition.profile.name,
                    "probe_mode": condition.probe_mode, "distance_m": condition.profile.distance_m,
                    "identity": image.identity, "relpath": image.relpath, "ied_px": float(ied_px[i]),
                    "detector": name, "detected": hit.detected, "iou": hit.iou, "det_prob": hit.prob,
                    "false_detections": hit.false_detections,
                } for i, (image, hit) in enumerate(zip(batch, found, strict=True)) if keep[i]]
    return pd.DataFrame.from_records(records)


def rates_by_ied_bin(rows: pd.DataFrame, seed: int, n_resamples: int) -> pd.DataFrame:
    """Faces found per detector in each IED bin of :data:`IED_BINS_PX`, conditions pooled.

    One row per detector (in the rows' order) and bin holding images: ``detector``, ``ied_bin``
    (``"[6, 8)"``), ``ied_low_px``, ``ied_high_px``, ``ied_px_median``, ``images``, ``subjects``,
    ``found``, ``detection_rate`` with its 95% interval (``_ci_low``, ``_ci_high``, ``_interval``:
    a bootstrap over subjects, as every rate of the run, exact binomial where every resample gives
    the same 0 or 1; a person's images in several conditions of a bin are correlated),
    ``false_detections`` and ``false_per_image``.
    """
    table = []
    bins = pd.cut(rows["ied_px"], IED_BINS_PX, right=False)
    for detector in rows["detector"].unique():
        mine = rows["detector"] == detector
        for interval, group in rows[mine].groupby(bins[mine], observed=True, sort=True):
            found = group["detected"].to_numpy(bool)
            label = f"[{interval.left:g}, {interval.right:g})"

            def rate(index: np.ndarray, found: np.ndarray = found) -> float:
                return float(found[index].mean()) if index.size else math.nan

            bootstrap = subject_bootstrap({"rate": rate}, group["identity"].to_numpy(),
                                          bootstrap_rng(seed, f"detectors\x1f{detector}\x1f{label}"),
                                          n_resamples=n_resamples)["rate"]
            estimate = float(found.mean())
            low, high, method = settle(estimate, bootstrap, len(group))
            false = int(group["false_detections"].sum())
            table.append({
                "detector": detector, "ied_bin": label, "ied_low_px": float(interval.left),
                "ied_high_px": float(interval.right), "ied_px_median": float(group["ied_px"].median()),
                "images": len(group), "subjects": int(group["identity"].nunique()), "found": int(found.sum()),
                "detection_rate": estimate, "detection_rate_ci_low": low, "detection_rate_ci_high": high,
                "detection_rate_interval": method, "false_detections": false,
                "false_per_image": false / len(group),
            })
    return pd.DataFrame(table)


def lowest_bin(bins: pd.DataFrame, rate: float) -> str | None:
    """The lowest IED bin from which one detector's ``detection_rate`` (its rows of
    :func:`rates_by_ied_bin`, in IED order) is at least ``rate`` in every higher bin; None when
    even the highest is below."""
    good = (bins["detection_rate"].to_numpy()[::-1] >= rate).cumprod()[::-1].astype(bool)
    return str(bins["ied_bin"].to_numpy()[good.argmax()]) if good.any() else None


@dataclass(frozen=True)
class Comparison:
    """The detectors of an experiment's ``[detector_comparison]``, loaded on ``device``."""

    detectors: dict[str, Detector]
    probes_per_condition: int
    device: torch.device

    @classmethod
    def load(cls, experiment: Experiment, source: str, device: str | torch.device) -> Comparison | None:
        """The comparison ``experiment`` asks for (None: none), each detector given the options
        the experiment gives it (:meth:`Experiment.options_for`).

        Raises
        ------
        ConfigError
            A name in ``detector_comparison.detectors`` is no registered detector (the message
            starts with ``source``, the experiment file).
        ModelError
            From the device or a detector's weights.
        """
        settings = experiment.detector_comparison
        if settings is None:
            return None
        registered = detector_names()
        for name in settings.detectors:
            if name not in registered:
                raise ConfigError(f"{source}: detector_comparison.detectors: unknown detector {name!r}"
                                  f"{suggest(name, registered)}; registered: {', '.join(registered)}")
        resolved = resolve_device(device)
        return cls({name: get_detector(name, resolved, **experiment.options_for(name)) for name in settings.detectors},
                   settings.probes_per_condition, resolved)

    def describe(self) -> dict[str, object]:
        """For the manifest: each detector's name and weights sha256, the probes per condition
        and the device."""
        return {"detectors": [{"name": name, "weights_sha256": detector.weights_sha256}
                              for name, detector in self.detectors.items()],
                "probes_per_condition": self.probes_per_condition, "device": str(self.device)}

    def write(self, run_dir: Path, experiment: Experiment, dataset: FolderDataset, split: Split,
              grid: Sequence[Condition], sources: SourceFaces | None) -> None:
        """Write :data:`ROWS_FILE` (unless a resumed run has it already: it depends on nothing
        that may change within a run directory) and :data:`BINS_FILE` into ``run_dir``."""
        path = Path(run_dir) / ROWS_FILE
        if path.is_file():
            rows = store.read_parquet(path)
        else:
            def probes(condition: Condition) -> tuple[Image, ...]:
                return comparison_probes(condition_split(experiment, dataset, split, condition),
                                         self.probes_per_condition, experiment.seed)

            rows = detection_rows(experiment, dataset, comparison_conditions(experiment, grid), probes,
                                  self.detectors, sources, self.device)
            store.write_parquet(path, rows)
        bins = rates_by_ied_bin(rows, experiment.seed, experiment.bootstrap_resamples)
        store.write_text(Path(run_dir) / BINS_FILE, write_csv_text(bins))


def read_comparison(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The run's per-probe detections and rates by IED bin (:data:`ROWS_FILE`, :data:`BINS_FILE`);
    None for a run without a detector comparison.

    Raises
    ------
    DataError
        Naming the file when one is present but unreadable, or the other missing.
    """
    rows_path, bins_path = Path(run_dir) / ROWS_FILE, Path(run_dir) / BINS_FILE
    if not rows_path.exists() and not bins_path.exists():
        return None
    again = "rerun the run (same command) to rewrite it"
    rows = store.read_parquet(rows_path, again)
    try:
        return rows, pd.read_csv(bins_path)
    except (OSError, ValueError) as error:
        raise DataError(f"{bins_path}: missing or unreadable ({error}); {again}") from None
