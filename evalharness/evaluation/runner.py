"""Run an experiment into a run directory, resumably.

:func:`prepare` resolves the experiment, the dataset split and the grid, starts an executor
(the models loaded in this process, or workers on a Ray cluster) and claims the run directory;
:meth:`Run.execute` has the executor evaluate every condition not yet finished
(:mod:`~evalharness.evaluation.evaluator` says what a row holds), writing
``conditions/<id>.parquet`` atomically as each one ends, then the summary. A run killed at any
point and started again with the same command (with either executor) skips the finished
conditions and ends with exactly the files an uninterrupted run writes.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
import torch

from evalharness.camera.geometry import derive_geometry, dori_class, out_of_frame
from evalharness.camera.simulate import LFW_DEEPFUNNELED_SIDE_PX, derive, describe_stages
from evalharness.config.experiment import Experiment, FrameScene, load_experiment, resolve_dataset
from evalharness.config.profile import profile_path, resolved_toml
from evalharness.data.folder import FolderDataset, RequiredSize, open_dataset
from evalharness.errors import ConfigError, DataError, ModelSettingError, OutputError
from evalharness.evaluation import manifest, store
from evalharness.evaluation.conditions import Condition, build_grid, sweep_axes
from evalharness.evaluation.detector_comparison import Comparison
from evalharness.evaluation.evaluator import (
    Part,
    condition_split,
    frame_background,
    gallery_image_of,
    sample_probes,
)
from evalharness.evaluation.executor import Executor, LocalExecutor
from evalharness.evaluation.headline import choose_headline
from evalharness.evaluation.protocol import (
    Split,
    build_split,
    check_split,
    limit_probes,
    uses_views,
)
from evalharness.evaluation.quality_curves import write_quality
from evalharness.evaluation.scenarios import Capture, approach_captures, best_of_k_hits
from evalharness.evaluation.summary import json_ready, summarise, write_csv_text
from evalharness.evaluation.timing import StageClock, Throughput
from evalharness.paths import REFERENCES_FILE
from evalharness.quality.pose import view_angles_deg

log = logging.getLogger("evalharness.run")

#: The ``--executor`` choices.
EXECUTORS = ("local", "ray")


@dataclass
class Run:
    """A prepared run: resolved experiment, split, grid, executor and run directory."""

    experiment: Experiment
    run_dir: Path
    dataset: FolderDataset
    split: Split
    grid: list[Condition]
    executor: Executor
    config: dict[str, Any]
    command: list[str]
    comparison: Comparison | None = None
    source_fallbacks: int | None = None
    throughput: Throughput | None = None

    @property
    def pending(self) -> list[Condition]:
        """Conditions without stored rows, in grid order."""
        done = store.completed_conditions(self.run_dir)
        return [condition for condition in self.grid if condition.id not in done]

    def probes_of(self, condition: Condition) -> int:
        """How many probes ``condition`` evaluates (fewer than the split's with the camera view)."""
        return len(condition_split(self.experiment, self.dataset, self.split, condition).probes())

    @property
    def device(self) -> str:
        return self.executor.describe()["device"]

    def execute(self, advance: Callable[[int], None] = lambda n: None) -> pd.DataFrame:
        """Evaluate the pending conditions, then write the summary and the manifest.

        ``advance(n)`` is called after each batch of ``n`` probes (for a progress bar). Each
        condition is stored the moment it finishes, so an error or interruption loses at most
        the conditions still being evaluated. Returns the summary table; :attr:`throughput`
        then holds how fast it went (also in the manifest and the log).
        """
        started = manifest.now_utc()
        previous = self.run_dir / "manifest.json"
        first_start = store.read_json(previous).get("started_at", started) if previous.is_file() else started
        described = self.executor.describe()
        # The batches' stages are timed where they run (the parts bring their clocks); the run's
        # own stages here, on the driver's CPU.
        clock = StageClock(torch.device("cpu"))
        began = time.perf_counter()
        try:
            self._write_manifest(first_start, None)
            with clock.stage("references"):
                references = self.executor.references()
            self.source_fallbacks = references.source_fallbacks
            self._save_gallery_samples()
            for condition, part in self.executor.evaluate(self.pending, references, advance):
                clock.add(part.clock)
                with clock.stage("write"):
                    self._store(condition, part)
                log.info("condition %s (%s): %d probes, %.1f s into the run", condition.id,
                         condition.label, len(part.rows), time.perf_counter() - began)
        finally:
            self.executor.close()
        if self.comparison is not None:
            # After the conditions, on generators of its own: their results cannot depend on it.
            compared = time.perf_counter()
            self.comparison.write(self.run_dir, self.experiment, self.dataset, self.split, self.grid,
                                  references.sources)
            log.info("detector comparison (%s): %.1f s", ", ".join(self.comparison.detectors),
                     time.perf_counter() - compared)
        with clock.stage("summary"):
            summary = self._summarise()
        self.throughput = Throughput.of(clock, time.perf_counter() - began, described["device_name"])
        for line in self.throughput.table():
            log.info("throughput: %s", line)
        self._write_manifest(first_start, manifest.now_utc())
        return summary

    # -- storing a condition -------------------------------------------------------------------
    def _store(self, condition: Condition, part: Part) -> None:
        """Samples and the condition JSON first, the rows last: a condition counts as finished
        only once its Parquet file exists."""
        for sample in part.samples:
            store.write_bytes(self.run_dir / sample.file, sample.png)
        store.write_json(store.condition_path(self.run_dir, condition.id, ".json"), {
            "condition_id": condition.id, "label": condition.label,
            "swept": dict(condition.swept), "values": condition.values(),
            "derived": derive(condition.profile), "samples": [s.record for s in part.samples],
            # What fills the frame around the face in frame mode.
            "frame_background": frame_background(self.experiment) if condition.probe_mode == "frame" else None,
            "upscale_before_detection": condition.upscale,
            **({"probe_views": self._probe_views(condition, part.rows)}
               if self.experiment.protocol.probe_view == "camera" else {}),
        })
        store.write_parquet(store.condition_path(self.run_dir, condition.id), part.rows)

    def _probe_views(self, condition: Condition, rows: pd.DataFrame) -> list[dict[str, float | int]]:
        """The views of the probes evaluated under ``condition`` (probe_view = "camera"): each
        view, how many probes, and its angle from the camera's view of the face, degrees."""
        geometry = derive_geometry(condition.profile)
        counts = Counter(self.dataset.views[relpath] for relpath in rows.get("relpath", []))
        views = list(counts)
        angles = view_angles_deg(geometry.yaw_deg, geometry.pitch_deg,
                                 np.array([[v.yaw_deg, v.pitch_deg] for v in views]).reshape(-1, 2))
        return [{"yaw_deg": view.yaw_deg, "pitch_deg": view.pitch_deg, "probes": counts[view],
                 "off_camera_deg": round(float(angle), 3)} for view, angle in zip(views, angles, strict=True)]

    def _save_gallery_samples(self) -> None:
        for image in sample_probes(self.split, self.experiment.samples_per_condition):
            source = gallery_image_of(self.split, image.identity)
            target = self.run_dir / "samples" / "gallery" / Path(source).name
            if not target.is_file():
                store.write_bytes(target, (self.dataset.root / source).read_bytes())

    # -- summary and manifest ---------------------------------------------------------------------
    def _summarise(self) -> pd.DataFrame:
        tables = {c.id: pd.read_parquet(store.condition_path(self.run_dir, c.id)) for c in self.grid}
        geometry_of = {c.id: derive_geometry(c.profile) for c in self.grid}
        axes = sweep_axes(self.experiment)
        captures = approach_captures([
            Capture(c.id, (c.profile.name, c.recognizer, c.detector, c.probe_mode, c.upscale,
                           *(getattr(c.profile, axis) for axis in axes if axis != "distance_m")),
                    c.profile.distance_m, geometry_of[c.id].face_in_frame)
            for c in self.grid], self.experiment.scenarios.captures_per_pass)
        best_of_k = best_of_k_hits(tables, captures)
        distance_of = {c.id: c.profile.distance_m for c in self.grid}
        rows = []
        for condition in self.grid:
            geo = geometry_of[condition.id]
            rows.append({
                "condition_id": condition.id, "label": condition.label,
                "profile": condition.profile.name, "recognizer": condition.recognizer,
                "detector": condition.detector, "probe_mode": condition.probe_mode,
                "upscale": condition.upscale,
                **{axis: getattr(condition.profile, axis) for axis in axes},
                "distance_m": condition.profile.distance_m, "ied_px": geo.ied_px,
                "px_per_m": geo.px_per_m, "dori_class": dori_class(geo.px_per_m),
                "face_in_frame": geo.face_in_frame,
                **summarise(tables[condition.id], self.experiment.seed, condition.id,
                            self.experiment.bootstrap_resamples, self.experiment.scenarios,
                            best_of_k[condition.id]),
                "best_of_k_captures_m": " ".join(f"{distance_of[c]:g}" for c in captures[condition.id]),
            })
        summary = pd.DataFrame(rows)
        store.write_text(self.run_dir / "summary.csv", write_csv_text(summary))
        store.write_json(self.run_dir / "summary.json", json_ready(summary))
        write_quality(self.run_dir, [c.id for c in self.grid], {c.id: c.label for c in self.grid},
                      self.experiment.seed, self.experiment.bootstrap_resamples)
        return summary

    def _write_manifest(self, started_at: str, ended_at: str | None) -> None:
        executor = self.executor.describe()
        store.write_json(self.run_dir / "manifest.json", {
            "config_hash": manifest.config_hash(self.config),
            "config": self.config,
            "experiment": self.experiment.name,
            "dataset": {"root": str(self.dataset.root), "fingerprint": self.dataset.fingerprint,
                        "skipped": [asdict(s) for s in self.dataset.skipped],
                        "source_faces_not_detected": self.source_fallbacks},
            "split": {"gallery_images": len(self.split.gallery),
                      "gallery_identities": len(self.split.gallery_identities()),
                      "mated_probes": len(self.split.mated), "nonmated_probes": len(self.split.nonmated)},
            "models": executor["models"],
            "headline": asdict(choose_headline(self.experiment)),
            **({"detector_comparison": self.comparison.describe()} if self.comparison is not None else {}),
            "conditions": [{"id": c.id, "label": c.label} for c in self.grid],
            "device": executor["device"],
            "torch_threads": executor["torch_threads"],
            "executor": {key: value for key, value in executor.items()
                         if key not in ("models", "device", "device_name", "torch_threads")},
            "seed": self.experiment.seed,
            # What the report says the camera did: stored, so an old run's report describes it.
            "camera_stages": [asdict(stage) for stage in describe_stages()],
            "environment": manifest.environment(),
            "command": self.command,
            "started_at": started_at,
            "ended_at": ended_at,
            # This invocation's speed (a resumed run: what it evaluated); None until it ends.
            "throughput": None if self.throughput is None else asdict(self.throughput),
        })


def prepare(experiment_path: Path, run_dir: Path, overrides: dict[str, Any] | None = None,
            device: str = "auto", limit: int | None = None, command: Sequence[str] = (),
            executor: str = "local", **executor_options: Any) -> Run:
    """Resolve everything a run needs, start its executor and claim ``run_dir`` for it.

    ``executor`` is ``"local"`` (this process) or ``"ray"``; ``executor_options`` go to
    :class:`~evalharness.evaluation.ray_executor.RayExecutor` (``address``, ``workers``,
    ``shard_probes``; None values are left at its defaults).

    Raises
    ------
    OutputError
        ``run_dir`` cannot be written, or is a folder that is not a run directory.
    ConfigError
        ``run_dir`` holds a run of a different resolved config (pick another ``--out`` or delete
        it); or from the experiment.
    DataError, ModelError, ExecutorError
        From the dataset, the models or the cluster.
    """
    overrides = dict(overrides or {})
    if limit is not None:
        overrides["limit"] = limit
    experiment = load_experiment(experiment_path, overrides)
    grid = build_grid(experiment, str(experiment_path))
    outside = {c.label: message for c in grid
               if (message := out_of_frame(c.profile, derive_geometry(c.profile))) is not None}
    framed = [c.label for c in grid if c.probe_mode == "frame" and c.label in outside]
    if framed:
        raise ConfigError(f"{experiment_path}: probe_modes: 'frame' needs the face inside the camera's "
                          f"frame; it is outside in {', '.join(framed)}")
    # The fixed eye centres are where LFW's aligned images have them; in a photograph of another
    # size they mark no eyes, and its face would be placed at a wrong size.
    dataset = open_dataset(resolve_dataset(experiment, experiment_path), size=RequiredSize(
        LFW_DEEPFUNNELED_SIDE_PX, LFW_DEEPFUNNELED_SIDE_PX, "source_eyes = 'lfw-deepfunneled' assumes LFW's "
        "aligned images; use source_eyes = 'detected' for other photographs")
        if experiment.source_eyes == "lfw-deepfunneled" else None)
    if experiment.dataset_fingerprint not in (None, dataset.fingerprint):
        raise DataError(f"{experiment_path}: dataset_fingerprint: {dataset.root} has fingerprint "
                        f"{dataset.fingerprint}, not {experiment.dataset_fingerprint}; point dataset at "
                        "the data this experiment was run on")
    views = dataset.views if uses_views(experiment.protocol) else None
    split = build_split(dataset.records, experiment.protocol, experiment.seed, views)
    split = limit_probes(split, experiment.limit, experiment.seed)
    check_split(split)
    # The executor is not part of the config: a run started on one may be resumed on the other.
    # Nor are paths: the data is its fingerprint and the profiles are in the condition ids, so the
    # run's own experiment.toml, rerun from anywhere into the same directory, resumes it.
    # An experiment without a detector comparison keeps the hash it had before the option existed.
    # Likewise one that chooses no photograph by view or draws no frame scene.
    unhashed: dict[str, Any] = {"dataset": True, "dataset_fingerprint": True} | (
        {"detector_comparison": True} if experiment.detector_comparison is None else {}) | (
        {"protocol": {"probe_view"}} if experiment.protocol.probe_view == "all" else {}) | (
        {"frame": True} if experiment.frame == FrameScene() else {})
    config = {"experiment": experiment.model_dump(mode="json", exclude=unhashed)
              | {"grid": [{**block.model_dump(mode="json"), "profiles": [Path(name).stem for name in block.profiles]}
                          for block in experiment.grid]},
              "dataset_fingerprint": dataset.fingerprint, "conditions": [condition.id for condition in grid]} | (
                  {"views_sha256": dataset.views_sha256} if views is not None else {})
    # Models (and workers) before the run directory: a run that cannot start leaves no
    # directory behind that a corrected rerun would refuse as "not a run directory". The detector
    # comparison runs in this process (on a Ray head: on its own best device).
    try:
        comparison = Comparison.load(experiment, str(experiment_path), device if executor == "local" else "auto")
        backend = _start_executor(executor, experiment, dataset, split, device,
                                  {key: value for key, value in executor_options.items() if value is not None})
    except ModelSettingError as error:  # a model name or option the experiment sets: name its file
        raise ConfigError(f"{experiment_path}: {error}") from error
    run_dir = Path(run_dir)
    try:
        _claim(run_dir, manifest.config_hash(config), experiment, dataset)
    except BaseException:
        backend.close()
        raise
    _attach_log(run_dir)
    for message in outside.values():
        log.warning("%s (evaluated as the face canvas; face_in_frame is False in the summary)", message)
    if outside:
        warnings.warn(f"{len(outside)} condition(s) place the face outside the camera's frame, so the "
                      f"camera as aimed would not see it: {', '.join(outside)} (details in run.log; "
                      "face_in_frame in summary.csv)", stacklevel=2)
    described = backend.describe()
    log.info("run %s: %d conditions, %d probes%s, executor %s, device %s", experiment.name, len(grid),
             len(split.probes()), " (each condition: those nearest its camera's view)"
             if experiment.protocol.probe_view == "camera" else " each", described["name"], described["device"])
    return Run(experiment, run_dir, dataset, split, grid, backend, config, list(command), comparison)


def _start_executor(name: str, experiment: Experiment, dataset: FolderDataset, split: Split,
                    device: str, options: dict[str, Any]) -> Executor:
    if name == "local":
        if options:
            flags = ", ".join(f"--{key.replace('_', '-')}" for key in options)
            raise ConfigError(f"{flags}: only with --executor ray")
        return LocalExecutor(experiment, dataset, split, device)
    if name == "ray":
        # Imported here: Ray is an optional extra.
        from evalharness.evaluation.ray_executor import RayExecutor

        return RayExecutor(experiment, dataset, split, device, **options)
    raise ConfigError(f"--executor {name!r}: use one of {', '.join(EXECUTORS)}")


def _claim(run_dir: Path, config_hash: str, experiment: Experiment, dataset: FolderDataset) -> None:
    """Create ``run_dir``, or check that the run in it is of the same config (and remove the
    partial files a killed run left); write the experiment and profiles it reruns from."""
    existing = run_dir / "manifest.json"
    if existing.is_file():
        found = store.read_json(existing).get("config_hash")
        if found != config_hash:
            raise ConfigError(f"{run_dir}: holds a run of a different config ({str(found)[:12]}, this one "
                              f"{config_hash[:12]}); pick another --out or delete {run_dir}")
        store.remove_partial_files(run_dir)  # what a killed run was writing; redone below
    elif run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise OutputError(f"{run_dir}: exists and is not a run directory; pick another --out")
    # The profiles as run, bases merged in and source comments kept, so that neither the report
    # nor a rerun needs anything outside; the stored experiment names these copies and pins the
    # data, so that it reruns from anywhere.
    copies = {}
    for name in sorted({name for block in experiment.grid for name in block.profiles}):
        copies[name] = f"profiles/{profile_path(name).stem}.toml"
        if profile_path(name).resolve() != (run_dir / copies[name]).resolve():  # a rerun from the copy keeps it
            store.write_text(run_dir / copies[name], resolved_toml(name))
    stored = experiment.model_copy(update={
        "dataset": str(dataset.root), "dataset_fingerprint": dataset.fingerprint,
        "grid": [block.model_copy(update={"profiles": [copies[name] for name in block.profiles]})
                 for block in experiment.grid]})
    store.write_text(run_dir / "experiment.toml", tomli_w.dumps(stored.model_dump(mode="json", exclude_none=True)))
    # The bibliography their [REF: key] comments and the report cite.
    store.write_bytes(run_dir / "references.toml", REFERENCES_FILE.read_bytes())


def _attach_log(run_dir: Path) -> None:
    """Send this package's log records to ``RUN_DIR/run.log`` (appending, one handler)."""
    path = str((run_dir / "run.log").resolve())
    logger = logging.getLogger("evalharness")
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
