"""Run an experiment: for each condition, simulate -> detect -> embed -> match -> rows.

:func:`prepare` resolves the experiment, the dataset split and the grid, checks the run
directory and loads the models; :meth:`Run.execute` evaluates every condition not yet
finished, writing ``conditions/<id>.parquet`` atomically as each one ends, then the summary.
A run killed at any point and started again with the same command skips the finished
conditions and ends with exactly the files an uninterrupted run writes.

Per-probe rows (``conditions/<id>.parquet``), one per probe:

- ``condition_id``, ``profile``, ``recognizer``, ``probe_mode``, every swept parameter,
  ``distance_m``: the condition.
- ``probe_kind`` (``"mated"`` / ``"nonmated"``), ``identity``, ``relpath``: the probe.
- ``detected``: a detection overlapped the true face box with IoU >= 0.5 (:data:`MIN_IOU`);
  ``box_x1 .. box_y2``, ``det_prob``, ``iou``: that detection (NaN when none), in pixels of the
  stored image; ``false_detections``: detector boxes elsewhere (never embedded).
- ``ied_px``: the true inter-eye distance in the stored image, pixels.
- Quality measures (:mod:`evalharness.quality.measures`): ``ied_px_landmarks``,
  ``face_width_px`` (from the matched detection, NaN when undetected), ``face_jpeg_bytes``,
  ``noise_sigma_dn``, ``sharpness_laplacian_dn2`` (on the true face box), ``psnr_db``, ``ssim``
  (against the undegraded face at the same scale; crop mode only, NaN in frame mode).
- ``mate_score``, ``mate_rank``: cosine similarity to the mate's gallery identity and its rank
  (ties pessimistic; null for non-mated or undetected probes); ``best_nonmate_score``,
  ``best_nonmate_identity``: the most similar other gallery identity; ``nonmate_scores``: the
  scores of every other gallery identity (for verification metrics).

Source eye positions and gallery embeddings come from the undegraded photographs: the detector
runs on each original and keeps the face nearest the image centre
(:func:`~evalharness.models.align.central_face`); both are cached in
``<cache>/embeddings/`` keyed by the dataset fingerprint and the models' weights sha256.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from torchvision.ops import box_iou

from evalharness.camera import frame
from evalharness.camera.simulate import (
    LFW_DEEPFUNNELED_EYES_PX,
    Capture,
    derive,
    simulate,
)
from evalharness.config.experiment import Experiment, load_experiment, resolve_dataset
from evalharness.config.profile import profile_path
from evalharness.data.folder import FolderDataset, open_dataset
from evalharness.data.images import load_image
from evalharness.errors import OutputError
from evalharness.evaluation import manifest, store
from evalharness.evaluation.batching import split_on_oom
from evalharness.evaluation.conditions import Condition, build_grid, canonical_json
from evalharness.evaluation.protocol import (
    Image,
    Split,
    build_split,
    check_split,
    limit_probes,
)
from evalharness.evaluation.quality_curves import write_quality
from evalharness.evaluation.summary import json_ready, summarise, write_csv_text
from evalharness.models import (
    Detector,
    Recognizer,
    get_detector,
    get_recognizer,
    resolve_device,
)
from evalharness.models.cache import cache_dir
from evalharness.models.photos import subject_face
from evalharness.quality import detection_measures, face_measures
from evalharness.seeding import probe_generator

log = logging.getLogger("evalharness.run")

#: A detection counts as the face only when it overlaps the true face box this much.
MIN_IOU = 0.5


@dataclass(frozen=True)
class SourceFaces:
    """The face found in each undegraded photograph (keyed by relpath).

    ``boxes (M, 4)`` and ``landmarks (M, 5, 2)`` in pixels; ``found (M,)`` False where the
    detector found nothing and the centre box with template landmarks stands in.
    """

    relpaths: list[str]
    boxes: np.ndarray
    landmarks: np.ndarray
    found: np.ndarray

    def index(self, relpaths: Sequence[str]) -> np.ndarray:
        position = {path: i for i, path in enumerate(self.relpaths)}
        return np.array([position[path] for path in relpaths], dtype=np.int64)


def _cached_arrays(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    store.write_bytes(path, buffer.getvalue())


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _load_batch(dataset: FolderDataset, relpaths: Sequence[str]) -> list[torch.Tensor]:
    return [load_image(dataset.root / relpath) for relpath in relpaths]


def _cache_path(kind: str, key: dict[str, str]) -> Path:
    """``<cache>/embeddings/<kind>-<hash of key>.npz``."""
    return cache_dir() / "embeddings" / f"{kind}-{manifest.config_hash(key)[:16]}.npz"


def detect_sources(dataset: FolderDataset, relpaths: Sequence[str], detector: Detector,
                   detector_key: str, batch_size: int) -> SourceFaces:
    """The central face of each photograph, cached per (dataset, detector and its options)."""
    path = _cache_path("faces", {"dataset": dataset.fingerprint, "detector": detector_key})
    cached = _cached_arrays(path) or {
        "relpaths": np.zeros(0, str), "boxes": np.zeros((0, 4), np.float32),
        "landmarks": np.zeros((0, 5, 2), np.float32), "found": np.zeros(0, bool),
    }
    known = set(cached["relpaths"].tolist())
    missing = [relpath for relpath in relpaths if relpath not in known]
    boxes, landmarks, found = [], [], []
    for batch in _batches(missing, batch_size):
        images = _load_batch(dataset, batch)
        for image, detections in zip(images, split_on_oom(detector.detect, images), strict=True):
            box, points, detected = subject_face(detections, *image.shape[-2:])
            boxes.append(box)
            landmarks.append(points)
            found.append(detected)
    if missing:
        cached = {
            "relpaths": np.concatenate([cached["relpaths"], np.array(missing, dtype=str)]),
            "boxes": np.concatenate([cached["boxes"], np.array(boxes, np.float32).reshape(-1, 4)]),
            "landmarks": np.concatenate([cached["landmarks"],
                                         np.array(landmarks, np.float32).reshape(-1, 5, 2)]),
            "found": np.concatenate([cached["found"], np.array(found, bool)]),
        }
        _save_arrays(path, cached)
    return SourceFaces(cached["relpaths"].tolist(), cached["boxes"], cached["landmarks"], cached["found"])


def gallery_embeddings(dataset: FolderDataset, gallery: Sequence[Image], sources: SourceFaces,
                       recognizer: Recognizer, detector_key: str, batch_size: int) -> np.ndarray:
    """Embeddings ``(G, D)`` of the undegraded gallery photographs, cached per (dataset
    fingerprint, recognizer weights and numerics, detector and its options)."""
    path = _cache_path("gallery", {"dataset": dataset.fingerprint, "recognizer": recognizer.weights_sha256,
                                   "numerics": numerics(recognizer), "detector": detector_key})
    relpaths = [image.relpath for image in gallery]
    cached = _cached_arrays(path)
    if cached is not None and set(relpaths) <= set(cached["relpaths"].tolist()):
        position = {p: i for i, p in enumerate(cached["relpaths"].tolist())}
        return cached["embeddings"][[position[p] for p in relpaths]]
    rows = []
    for batch in _batches(relpaths, batch_size):
        at = sources.index(batch)
        vectors = split_on_oom(recognizer.embed, _load_batch(dataset, batch), sources.boxes[at],
                               sources.landmarks[at])
        rows.append(vectors.numpy())
    embeddings = np.concatenate(rows).astype(np.float32)
    _save_arrays(path, {"relpaths": np.array(relpaths, dtype=str), "embeddings": embeddings})
    return embeddings


def numerics(recognizer: Recognizer) -> str:
    """The arithmetic a recognizer embeds in (FaceNet's ``"bf16"`` fast path or ``"fp32"``);
    recognizers without the option compute in float32."""
    return getattr(recognizer, "numerics", "fp32")


def identity_scores(embeddings: np.ndarray, gallery: np.ndarray, columns: np.ndarray,
                    n_identities: int) -> np.ndarray:
    """Cosine similarity ``(P, N)`` of unit embeddings to each gallery identity: the best over
    that identity's gallery images (``columns`` maps gallery images to identities)."""
    image_scores = embeddings.astype(np.float64) @ gallery.astype(np.float64).T
    scores = np.full((len(embeddings), n_identities), -np.inf)
    for image, identity in enumerate(columns):
        scores[:, identity] = np.maximum(scores[:, identity], image_scores[:, image])
    return scores


def _probe_measures(capture: Capture, found: list[dict[str, Any]], upscale: float) -> list[dict[str, float]]:
    """Quality measures of each probe: image measures on the true face box, against the
    undegraded face at the same scale where the capture kept it (infrared: after the channel mix)."""
    images, boxes = capture.images.cpu().numpy(), capture.face_boxes.cpu().numpy()
    ideal = capture.stages.get("spectral", capture.stages.get("resample"))
    ideal = None if ideal is None else ideal.cpu().numpy()
    return [face_measures(images[i], boxes[i], capture.jpeg[i], None if ideal is None else ideal[i])
            | detection_measures(hit["box"] if hit["detected"] else None, hit["landmarks"], hit["prob"], upscale)
            for i, hit in enumerate(found)]


@dataclass
class Run:
    """A prepared run: resolved experiment, split, grid, models and run directory."""

    experiment: Experiment
    run_dir: Path
    dataset: FolderDataset
    split: Split
    grid: list[Condition]
    detector: Detector
    recognizers: dict[str, Recognizer]
    device: torch.device
    config: dict[str, Any]
    command: list[str]
    source_fallbacks: int | None = None

    @property
    def pending(self) -> list[Condition]:
        """Conditions without stored rows, in grid order."""
        done = store.completed_conditions(self.run_dir)
        return [condition for condition in self.grid if condition.id not in done]

    @property
    def n_probes(self) -> int:
        return len(self.split.probes())

    def execute(self, advance: Callable[[int], None] = lambda n: None) -> pd.DataFrame:
        """Evaluate the pending conditions, then write the summary and the manifest.

        ``advance(n)`` is called after each batch of ``n`` probes (for a progress bar).
        Returns the summary table.
        """
        started = manifest.now_utc()
        previous = self.run_dir / "manifest.json"
        first_start = store.read_json(previous).get("started_at", started) if previous.is_file() else started
        self._write_manifest(first_start, None)
        detector_key = canonical_json({"name": self.detector.name, "sha256": self.detector.weights_sha256,
                                       "options": self.experiment.detector_options})
        probes = self.split.probes()
        # Probe sources are detected only when their landmarks place the face.
        located = self.split.gallery + (probes if self.experiment.source_eyes == "detected" else ())
        sources = detect_sources(self.dataset, [i.relpath for i in located], self.detector,
                                 detector_key, self.experiment.batch_size)
        self.source_fallbacks = int((~sources.found[sources.index([i.relpath for i in located])]).sum())
        galleries = {name: gallery_embeddings(self.dataset, self.split.gallery, sources, recognizer,
                                              detector_key, self.experiment.batch_size)
                     for name, recognizer in self.recognizers.items()}
        self._save_gallery_samples()
        for condition in self.pending:
            began = time.monotonic()
            rows = self._evaluate(condition, probes, sources, galleries[condition.recognizer], advance)
            store.write_parquet(store.condition_path(self.run_dir, condition.id), rows)
            log.info("condition %s (%s): %d probes in %.1f s", condition.id, condition.label,
                     len(rows), time.monotonic() - began)
        summary = self._summarise()
        self._write_manifest(first_start, manifest.now_utc())
        return summary

    # -- one condition -------------------------------------------------------------------
    def _evaluate(self, condition: Condition, probes: Sequence[Image], sources: SourceFaces,
                  gallery: np.ndarray, advance: Callable[[int], None]) -> pd.DataFrame:
        identities = self.split.gallery_identities()
        column = {name: i for i, name in enumerate(identities)}
        gallery_columns = np.array([column[image.identity] for image in self.split.gallery])
        recognizer = self.recognizers[condition.recognizer]
        sample_keys = {image.relpath for image in self._samples()}
        samples: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        for batch in _batches(list(probes), self.experiment.batch_size):
            relpaths = [image.relpath for image in batch]
            eyes = self._source_eyes(sources, relpaths)
            faces = torch.stack(_load_batch(self.dataset, relpaths)).to(self.device)
            generators = [probe_generator(self.experiment.seed, condition.id, p) for p in relpaths]
            capture = simulate(faces, eyes, condition.profile, generators,
                               keep_stages=condition.probe_mode == "crop",  # the PSNR/SSIM reference
                               full_frame=condition.probe_mode == "frame")
            images = capture.images.expand(-1, 3, -1, -1) if capture.images.shape[1] == 1 else capture.images
            if condition.upscale != 1.0:
                images = F.interpolate(images, scale_factor=condition.upscale, mode="bicubic",
                                       align_corners=False).clamp(0.0, 1.0)
            true_boxes = capture.face_boxes.cpu().double() * condition.upscale
            found = self._match(split_on_oom(self.detector.detect, images), true_boxes)
            embedded = [i for i, hit in enumerate(found) if hit["detected"]]
            scores = np.zeros((len(batch), len(identities)))
            if embedded:
                vectors = split_on_oom(recognizer.embed, images[embedded],
                                       np.stack([found[i]["box"] for i in embedded]),
                                       np.stack([found[i]["landmarks"] for i in embedded])).numpy()
                scores[embedded] = identity_scores(vectors, gallery, gallery_columns, len(identities))
            ied = (capture.eyes_px[:, 1] - capture.eyes_px[:, 0]).norm(dim=-1).cpu().numpy()
            measures = _probe_measures(capture, found, condition.upscale)
            for i, image in enumerate(batch):
                records.append(self._row(condition, image, found[i], float(ied[i]),
                                         scores[i] if found[i]["detected"] else None, identities, column)
                               | measures[i])
                if image.relpath in sample_keys:
                    samples.append(self._save_sample(condition, image, capture.images[i], found[i]))
            advance(len(batch))
        self._write_condition_json(condition, samples)
        return pd.DataFrame.from_records(records).astype({"mate_rank": "Int64"})

    def _source_eyes(self, sources: SourceFaces, relpaths: list[str]) -> torch.Tensor:
        """Source eye centres ``(B, 2, 2)``: detected landmarks, or LFW deep-funneled's fixed
        positions (where asked, or where no face was found). Landmark eyes come closer with
        head yaw, so on an aligned set the fixed positions give every face its true scale."""
        eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(len(relpaths), 1, 1)
        if self.experiment.source_eyes == "detected":
            at = sources.index(relpaths)
            found = torch.from_numpy(sources.found[at])
            eyes[found] = torch.from_numpy(sources.landmarks[at][:, :2].copy())[found]
        return eyes

    @staticmethod
    def _match(detections: list[Any], true_boxes: torch.Tensor) -> list[dict[str, Any]]:
        """For each image, the detection overlapping its true face box best (IoU >= MIN_IOU)
        and the number of detections elsewhere."""
        found = []
        for det, truth in zip(detections, true_boxes, strict=True):
            iou = np.zeros(0)
            if len(det):
                iou = box_iou(torch.from_numpy(det.boxes).double(), truth[None]).numpy()[:, 0]
            best = int(np.argmax(iou)) if iou.size else -1
            hit = best >= 0 and iou[best] >= MIN_IOU
            found.append({
                "detected": bool(hit),
                "box": det.boxes[best] if hit else np.full(4, np.nan, np.float32),
                "landmarks": det.landmarks[best] if hit else None,
                "prob": float(det.probs[best]) if hit else float("nan"),
                "iou": float(iou[best]) if hit else float("nan"),
                "false_detections": int((iou < MIN_IOU).sum()),
            })
        return found

    def _row(self, condition: Condition, image: Image, found: dict[str, Any], ied_px: float,
             scores: np.ndarray | None, identities: list[str], column: dict[str, int]) -> dict[str, Any]:
        mate = column.get(image.identity)
        row: dict[str, Any] = {
            "condition_id": condition.id, "profile": condition.profile.name,
            "recognizer": condition.recognizer, "probe_mode": condition.probe_mode,
            **{axis: getattr(condition.profile, axis) for axis in self._axes()},
            "distance_m": condition.profile.distance_m,
            "probe_kind": "mated" if mate is not None else "nonmated",
            "identity": image.identity, "relpath": image.relpath, "detected": found["detected"],
            **{f"box_{name}": float(value) / condition.upscale
               for name, value in zip(("x1", "y1", "x2", "y2"), found["box"], strict=True)},
            "det_prob": found["prob"], "iou": found["iou"],
            "false_detections": found["false_detections"], "ied_px": ied_px,
            "mate_score": float("nan"), "mate_rank": None, "best_nonmate_score": float("nan"),
            "best_nonmate_identity": None, "nonmate_scores": [],
        }
        if scores is not None:
            others = np.ones(len(identities), bool)
            if mate is not None:
                others[mate] = False
                row["mate_score"] = float(scores[mate])
                row["mate_rank"] = int((scores >= scores[mate]).sum())
            best = int(np.flatnonzero(others)[np.argmax(scores[others])])
            row["best_nonmate_score"] = float(scores[best])
            row["best_nonmate_identity"] = identities[best]
            row["nonmate_scores"] = scores[others].astype(np.float32).tolist()
        return row

    def _axes(self) -> list[str]:
        """Every swept parameter of the experiment, in first-seen order."""
        return list(dict.fromkeys(axis for block in self.experiment.grid for axis in block.sweep))

    # -- samples and condition files ----------------------------------------------------------
    def _samples(self) -> list[Image]:
        """A fixed sample of mated probes: the first image of each of the first identities."""
        firsts: dict[str, Image] = {}
        for image in self.split.mated:
            firsts.setdefault(image.identity, image)
        return list(firsts.values())[: self.experiment.samples_per_condition]

    def _save_sample(self, condition: Condition, image: Image, stored: torch.Tensor,
                     found: dict[str, Any]) -> dict[str, Any]:
        name = f"samples/{condition.id}/{Path(image.relpath).stem}.png"
        pixels = (stored.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
        array = pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        PILImage.fromarray(array).save(buffer, format="PNG")
        store.write_bytes(self.run_dir / name, buffer.getvalue())
        return {"identity": image.identity, "relpath": image.relpath, "file": name,
                "detected": found["detected"],
                "gallery_file": f"samples/gallery/{Path(self._gallery_of(image.identity)).name}"}

    def _gallery_of(self, identity: str) -> str:
        return next(i.relpath for i in self.split.gallery if i.identity == identity)

    def _save_gallery_samples(self) -> None:
        for image in self._samples():
            source = self._gallery_of(image.identity)
            target = self.run_dir / "samples" / "gallery" / Path(source).name
            if not target.is_file():
                store.write_bytes(target, (self.dataset.root / source).read_bytes())

    def _write_condition_json(self, condition: Condition, samples: list[dict[str, Any]]) -> None:
        store.write_json(store.condition_path(self.run_dir, condition.id, ".json"), {
            "condition_id": condition.id, "label": condition.label,
            "swept": dict(condition.swept), "values": condition.values(),
            "derived": derive(condition.profile), "samples": samples,
            # What fills the frame around the face in frame mode (camera.frame's background).
            "frame_background": (f"flat grey, linear reflectance {frame.BACKGROUND_REFLECTANCE}"
                                 if condition.probe_mode == "frame" else None),
            "upscale_before_detection": condition.upscale,
        })

    # -- summary and manifest ---------------------------------------------------------------------
    def _summarise(self) -> pd.DataFrame:
        rows = []
        for condition in self.grid:
            derived = derive(condition.profile)
            table = pd.read_parquet(store.condition_path(self.run_dir, condition.id))
            rows.append({
                "condition_id": condition.id, "label": condition.label,
                "profile": condition.profile.name, "recognizer": condition.recognizer,
                "detector": condition.detector, "probe_mode": condition.probe_mode,
                "upscale": condition.upscale,
                **{axis: getattr(condition.profile, axis) for axis in self._axes()},
                "distance_m": condition.profile.distance_m, "ied_px": derived["ied_px"],
                "px_per_m": derived["px_per_m"], "dori_class": derived["dori_class"],
                "face_in_frame": derived["face_in_frame"],
                **summarise(table, self.experiment.seed, condition.id, self.experiment.bootstrap_resamples),
            })
        summary = pd.DataFrame(rows)
        store.write_text(self.run_dir / "summary.csv", write_csv_text(summary))
        store.write_json(self.run_dir / "summary.json", json_ready(summary))
        write_quality(self.run_dir, [c.id for c in self.grid], {c.id: c.label for c in self.grid},
                      self.experiment.seed, self.experiment.bootstrap_resamples)
        return summary

    def _write_manifest(self, started_at: str, ended_at: str | None) -> None:
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
            "models": {"detector": {"name": self.detector.name,
                                    "weights_sha256": self.detector.weights_sha256,
                                    "options": self.experiment.detector_options},
                       "recognizers": [{"name": name, "weights_sha256": r.weights_sha256,
                                        "numerics": numerics(r)}
                                       for name, r in self.recognizers.items()]},
            "conditions": [{"id": c.id, "label": c.label} for c in self.grid],
            "device": str(self.device),
            "torch_threads": torch.get_num_threads(),
            "seed": self.experiment.seed,
            "environment": manifest.environment(),
            "command": self.command,
            "started_at": started_at,
            "ended_at": ended_at,
        })


def prepare(experiment_path: Path, run_dir: Path, overrides: dict[str, Any] | None = None,
            device: str = "auto", limit: int | None = None, command: Sequence[str] = ()) -> Run:
    """Resolve everything a run needs and claim ``run_dir`` for it.

    Raises
    ------
    OutputError
        ``run_dir`` holds a run of a different resolved config (pick another ``--out`` or
        delete it), or cannot be written.
    ConfigError, DataError, ModelError
        From the experiment, the dataset or the models.
    """
    overrides = dict(overrides or {})
    if limit is not None:
        overrides["limit"] = limit
    experiment = load_experiment(experiment_path, overrides)
    dataset = open_dataset(resolve_dataset(experiment, experiment_path))
    split = build_split(dataset.records, experiment.protocol, experiment.seed)
    split = limit_probes(split, experiment.limit, experiment.seed)
    check_split(split)
    grid = build_grid(experiment)
    config = {"experiment": experiment.model_dump(mode="json"), "dataset_fingerprint": dataset.fingerprint,
              "conditions": [condition.id for condition in grid]}
    # Device and models before the run directory: a run that cannot start leaves no directory
    # behind that a corrected rerun would refuse as "not a run directory".
    resolved = resolve_device(device)
    detector = get_detector(experiment.detector, resolved, **experiment.detector_options)
    recognizers = {name: get_recognizer(name, resolved) for name in experiment.recognizers}
    run_dir = Path(run_dir)
    _claim(run_dir, manifest.config_hash(config), experiment)
    _attach_log(run_dir)
    log.info("run %s: %d conditions, %d probes each, device %s", experiment.name, len(grid),
             len(split.probes()), resolved)
    return Run(experiment, run_dir, dataset, split, grid, detector, recognizers, resolved, config,
               list(command))


def _claim(run_dir: Path, config_hash: str, experiment: Experiment) -> None:
    """Create ``run_dir``, or check that the run in it is of the same config (and remove the
    partial files a killed run left)."""
    existing = run_dir / "manifest.json"
    if existing.is_file():
        found = store.read_json(existing).get("config_hash")
        if found != config_hash:
            raise OutputError(f"{run_dir}: holds a run of a different config ({str(found)[:12]}, this one "
                              f"{config_hash[:12]}); pick another --out or delete {run_dir}")
        store.remove_partial_files(run_dir)  # what a killed run was writing; redone below
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise OutputError(f"{run_dir}: exists and is not a run directory; pick another --out")
    resolved = tomli_w.dumps(experiment.model_dump(mode="json", exclude_none=True))
    store.write_text(run_dir / "experiment.toml", resolved)
    # The profiles as run, with their source comments, so the report needs nothing outside.
    for name in sorted({name for block in experiment.grid for name in block.profiles}):
        source = profile_path(name)
        store.write_bytes(run_dir / "profiles" / f"{source.stem}.toml", source.read_bytes())


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
