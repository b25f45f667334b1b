"""Evaluate probes under one condition: simulate -> detect -> embed -> match -> rows.

:class:`Evaluator` holds what evaluating needs (experiment, dataset, split, loaded models,
device) and nothing of the run directory: it returns rows and sample images, and its caller
stores them. The same code so runs in the local process (:mod:`~evalharness.evaluation.executor`)
and in Ray workers (:mod:`~evalharness.evaluation.ray_executor`), and a condition evaluated in
shards whose boundaries fall on batch boundaries gives the rows of the whole condition.

Per-probe rows (``conditions/<id>.parquet``), one per probe:

- ``condition_id``, ``profile``, ``recognizer``, ``detector``, ``probe_mode``, every swept parameter,
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
  scores of every other gallery identity (for verification metrics), or a seeded sample of
  ``nonmate_scores_kept`` of them where the experiment sets it.

What every condition is compared against (the faces in the undegraded photographs, the gallery
embeddings) comes from :mod:`~evalharness.evaluation.originals`; which detection is the face and
how each identity scores, from :mod:`~evalharness.evaluation.matching`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from evalharness.camera import frame
from evalharness.camera.scene import SceneOptions
from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, Capture, simulate
from evalharness.config.experiment import Experiment
from evalharness.config.profile import CameraProfile
from evalharness.data.folder import FolderDataset
from evalharness.errors import DataError
from evalharness.evaluation.batching import batches, split_on_oom
from evalharness.evaluation.conditions import Condition, canonical_json, sweep_axes
from evalharness.evaluation.matching import (
    DetectionMatch,
    detected_faces,
    identity_scores,
    match_detections,
)
from evalharness.evaluation.metrics import mate_ranks
from evalharness.evaluation.originals import (
    DecodedBatches,
    SourceFaces,
    detect_sources,
    gallery_embeddings,
    numerics,
)
from evalharness.evaluation.protocol import Image, Split, for_condition
from evalharness.evaluation.timing import StageClock, summed
from evalharness.models import (
    Detector,
    Recognizer,
    get_detector,
    get_recognizer,
    resolve_device,
)
from evalharness.models.registry import lfw_accuracy
from evalharness.quality import detection_measures, face_measures
from evalharness.quality.pose import head_poses
from evalharness.seeding import probe_generator, probe_seed


def _probe_measures(capture: Capture, found: list[DetectionMatch], upscale: float) -> list[dict[str, float]]:
    """Quality measures of each probe: image measures on the true face box, against the
    undegraded face at the same scale where the capture kept it (infrared: after the channel mix);
    the head poses of the detected faces fitted together."""
    images, boxes = capture.images.cpu().numpy(), capture.face_boxes.cpu().numpy()
    ideal = capture.stages.get("spectral", capture.stages.get("resample"))
    ideal = None if ideal is None else ideal.cpu().numpy()
    detected = [i for i, hit in enumerate(found) if hit.detected]
    poses = dict(zip(detected, head_poses(np.stack([found[i].landmarks for i in detected])), strict=True)) \
        if detected else {}
    return [face_measures(images[i], boxes[i], capture.jpeg[i], None if ideal is None else ideal[i])
            | detection_measures(hit.box if hit.detected else None, hit.landmarks, hit.prob, upscale,
                                 pose=poses.get(i))
            for i, hit in enumerate(found)]


def png_bytes(image: torch.Tensor, max_side_px: int | None = None) -> bytes:
    """A ``(C, H, W)`` image in [0, 1] (C = 1 or 3) as 8-bit PNG bytes, reduced to fit
    ``max_side_px`` (aspect kept) when given."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    picture = PILImage.fromarray(pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy())
    if max_side_px is not None:
        picture.thumbnail((max_side_px, max_side_px))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def sample_probes(split: Split, count: int) -> list[Image]:
    """The probes whose stored images a run keeps for contact sheets: the first mated image of
    each of the first ``count`` enrolled identities."""
    firsts: dict[str, Image] = {}
    for image in split.mated:
        firsts.setdefault(image.identity, image)
    return list(firsts.values())[:count]


def gallery_image_of(split: Split, identity: str) -> str:
    """The relpath of ``identity``'s first gallery photograph."""
    return next(image.relpath for image in split.gallery if image.identity == identity)


@dataclass(frozen=True)
class References:
    """What every condition is compared against, computed once per run.

    ``sources``: the face in each undegraded photograph; ``galleries``: each recognizer's
    gallery embeddings ``(G, D)``, rows in :attr:`Split.gallery` order; ``source_fallbacks``:
    photographs where no face was found: for a gallery photograph the centre box stood in; a probe
    from such a photograph is left out of the rows when the experiment's source eyes are detected.
    """

    sources: SourceFaces
    galleries: dict[str, np.ndarray]
    source_fallbacks: int


@dataclass(frozen=True)
class Sample:
    """A stored probe image kept for the contact sheets: ``file`` (path in the run directory),
    its PNG bytes, and what the condition JSON records of it."""

    file: str
    png: bytes
    record: dict[str, Any]


@dataclass(frozen=True)
class Part:
    """The result of evaluating some probes under one condition: one row per probe (in probe
    order), the samples among them, and the time each stage took."""

    rows: pd.DataFrame
    samples: list[Sample]
    clock: StageClock

    @staticmethod
    def join(parts: Sequence[Part]) -> Part:
        """The parts of one condition, in probe order, as one (their clocks summed)."""
        rows = pd.concat([part.rows for part in parts], ignore_index=True)
        return Part(rows.astype({"mate_rank": "Int64"}), [s for part in parts for s in part.samples],
                    summed([part.clock for part in parts], parts[0].clock.device))


def detector_input(capture: Capture, upscale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """What the detector is shown of a capture: the stored images as RGB ``(B, 3, S', S')``
    (monochrome repeated), enlarged ``upscale`` times (bicubic) as an examiner's viewer would,
    and the true face boxes ``(B, 4)`` float64 in those pixels."""
    images = capture.images.expand(-1, 3, -1, -1) if capture.images.shape[1] == 1 else capture.images
    if upscale != 1.0:
        images = F.interpolate(images, scale_factor=upscale, mode="bicubic",
                               align_corners=False).clamp(0.0, 1.0)
    return images, capture.face_boxes.cpu().double() * upscale


def capture_probes(experiment: Experiment, dataset: FolderDataset, condition: Condition,
                   relpaths: Sequence[str], sources: SourceFaces | None, device: torch.device, *,
                   keep_stages: bool, clock: StageClock | None = None,
                   decoded: DecodedBatches | None = None) -> tuple[Capture, np.ndarray]:
    """The stored images of ``relpaths`` under ``condition``, as a run makes them (each probe's
    noise from its own seeded generator, so the same whatever the batch), and ``keep (B,)``:
    False for a probe whose source photograph shows no face when the source eyes are detected.

    Source eye centres are the detected landmarks, or LFW deep-funneled's fixed positions (where
    asked, or where no face was found): landmark eyes come closer with head yaw, so on an aligned
    set the fixed positions give every face its true scale. ``sources`` is needed only with
    detected source eyes. ``keep_stages`` keeps the undegraded face (the PSNR/SSIM reference).
    ``clock`` times the loading and the simulation as its stages ``load`` and ``simulate``;
    ``decoded`` holds the photographs a run decoded already (without it they are decoded here).
    """
    clock = clock or StageClock(device)
    eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(len(relpaths), 1, 1)
    keep, source_boxes = np.ones(len(relpaths), bool), None
    if experiment.source_eyes == "detected":
        if sources is None:
            raise ValueError("detected source eyes need the source faces")
        at = sources.index(relpaths)
        found = torch.from_numpy(sources.found[at])
        eyes[found] = torch.from_numpy(sources.landmarks[at][:, :2].copy())[found]
        # The true face box follows the source's own detected box (right for turned faces too);
        # a probe whose source shows no face is simulated with the batch (so batches stay those
        # of every other run) but left out of the rows.
        source_boxes, keep = torch.from_numpy(sources.boxes[at]), sources.found[at]
    with clock.stage("load"):
        faces = [face.to(device) for face in (decoded or DecodedBatches(dataset))(relpaths)]
    with clock.stage("simulate"):
        generators = [probe_generator(experiment.seed, condition.noise_id, p) for p in relpaths]
        capture = _simulate_sizes(faces, eyes, condition.profile, generators, keep_stages=keep_stages,
                                  full_frame=condition.probe_mode == "frame", source_boxes_px=source_boxes,
                                  scene_options=scene_options(experiment, condition))
    return capture, keep


def _road(experiment: Experiment) -> SceneOptions | None:
    """The road scene's options when the experiment draws the road (``[frame] scene = "road"``);
    None for the flat grey frame."""
    if experiment.frame.scene != "road":
        return None
    return SceneOptions(sun_visor=experiment.frame.sun_visor, a_pillar=experiment.frame.a_pillar)


def scene_options(experiment: Experiment, condition: Condition) -> SceneOptions | None:
    """The scene options a condition's capture is simulated with: the road's for a frame-mode
    condition of an experiment that draws it; None for the flat grey frame and for face crops."""
    return _road(experiment) if condition.probe_mode == "frame" else None


def frame_background(experiment: Experiment) -> str:
    """What surrounds the face in frame mode, in words (a condition JSON's ``frame_background``)."""
    road = _road(experiment)
    if road is None:
        return f"flat grey, linear reflectance {frame.BACKGROUND_REFLECTANCE}"
    occluded = road.occlusions()
    return ("road scene: the driver behind the windscreen of a car on a road (camera/scene.py)"
            + (f", with the {' and the '.join(occluded)} in front of the face" if occluded else ""))


def _simulate_sizes(faces: Sequence[torch.Tensor], eyes: torch.Tensor, profile: CameraProfile,
                    generators: Sequence[torch.Generator], *, source_boxes_px: torch.Tensor | None,
                    **options: Any) -> Capture:
    """:func:`simulate` of source photographs that may differ in size (a studio set's crops):
    one call per size, the results put back in batch order. Each probe draws from its own
    generator, so the images are those of one call; photographs of one size (LFW) make one call."""
    sizes: dict[tuple[int, ...], list[int]] = {}
    for i, face in enumerate(faces):
        sizes.setdefault(tuple(face.shape), []).append(i)
    parts = []
    for at in sizes.values():
        parts.append(simulate(torch.stack([faces[i] for i in at]), eyes[at], profile, [generators[i] for i in at],
                              source_boxes_px=None if source_boxes_px is None else source_boxes_px[at], **options))
    if len(parts) == 1:
        return parts[0]
    order = torch.argsort(torch.tensor([i for at in sizes.values() for i in at]))

    def joined(tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(tensors)[order.to(tensors[0].device)]

    jpeg = [data for part in parts for data in part.jpeg]
    return Capture(images=joined([part.images for part in parts]), jpeg=[jpeg[i] for i in order.tolist()],
                   face_boxes=joined([part.face_boxes for part in parts]),
                   eyes_px=joined([part.eyes_px for part in parts]), ied_px=parts[0].ied_px,
                   stages={name: joined([part.stages[name] for part in parts]) for name in parts[0].stages})


def condition_split(experiment: Experiment, dataset: FolderDataset, split: Split, condition: Condition) -> Split:
    """The split ``condition`` evaluates (:func:`~evalharness.evaluation.protocol.for_condition`:
    the run's, or with ``protocol.probe_view = "camera"`` each person's probes nearest the
    camera's view)."""
    views = dataset.views if experiment.protocol.probe_view == "camera" else {}
    return for_condition(split, experiment.protocol, views, condition.profile)


def probe_ied_px(capture: Capture) -> np.ndarray:
    """The true inter-eye distance ``(B,)`` of each face in the stored images, pixels."""
    return (capture.eyes_px[:, 1] - capture.eyes_px[:, 0]).norm(dim=-1).cpu().numpy()


def _recorded_lfw_accuracy(recognizer: str) -> dict[str, float]:
    """``{"lfw_accuracy": ...}`` as the registry records it for ``recognizer``, or nothing."""
    accuracy = lfw_accuracy(recognizer)
    return {} if accuracy is None else {"lfw_accuracy": accuracy}


@dataclass
class Evaluator:
    """The experiment, its data and loaded models: evaluates probes, writes nothing."""

    experiment: Experiment
    dataset: FolderDataset
    split: Split
    detectors: dict[str, Detector]
    recognizers: dict[str, Recognizer]
    device: torch.device
    decoded: DecodedBatches = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.decoded = DecodedBatches(self.dataset)

    @classmethod
    def load(cls, experiment: Experiment, dataset: FolderDataset, split: Split,
             device: str | torch.device = "auto") -> Evaluator:
        """Resolve ``device`` and load the experiment's models on it.

        Raises
        ------
        DataError
            The dataset folder is not on this machine (a Ray worker on another node).
        ModelError
            From the device or the models.
        """
        if not dataset.root.is_dir():
            raise DataError(f"{dataset.root}: dataset folder not found on this machine; every "
                            "machine that evaluates must see it at the same path")
        resolved = resolve_device(device)
        detectors = {name: get_detector(name, resolved, **experiment.options_for(name))
                     for name in experiment.detector_names}
        recognizers = {name: get_recognizer(name, resolved, **experiment.recognizer_options)
                       for name in experiment.recognizers}
        return cls(experiment, dataset, split, detectors, recognizers, resolved)

    @property
    def source_detector(self) -> Detector:
        """The experiment's first detector: it locates the faces of the undegraded photographs
        (source eyes, gallery crops) for every condition, so conditions differ only in the
        detector that searches the stored probe images."""
        return self.detectors[self.experiment.detector_names[0]]

    @property
    def detector_key(self) -> str:
        """The source detector and its options, as the source-face and gallery caches key them."""
        detector = self.source_detector
        return canonical_json({"name": detector.name, "sha256": detector.weights_sha256,
                               "options": self.experiment.options_for(detector.name)})

    def models(self) -> dict[str, Any]:
        """The models as the run's manifest records them (names, weights sha256, numerics):
        ``detector`` is the source detector, ``detectors`` every detector evaluated."""
        detectors = [{"name": name, "weights_sha256": d.weights_sha256,
                      "options": self.experiment.options_for(name)}
                     for name, d in self.detectors.items()]
        return {"detector": detectors[0],
                **({"detectors": detectors} if len(detectors) > 1 else {}),
                "recognizers": [{"name": name, "weights_sha256": r.weights_sha256, "numerics": numerics(r),
                                 "options": self.experiment.recognizer_options,
                                 **_recorded_lfw_accuracy(name)}
                                for name, r in self.recognizers.items()]}

    def references(self) -> References:
        """Detect the source faces and embed the gallery (each cached across runs)."""
        probes = self.split.probes()
        # Probe sources are detected only when their landmarks place the face.
        located = self.split.gallery + (probes if self.experiment.source_eyes == "detected" else ())
        relpaths = [image.relpath for image in located]
        sources = detect_sources(self.dataset, relpaths, self.source_detector, self.detector_key)
        galleries = {name: gallery_embeddings(self.dataset, self.split.gallery, sources, recognizer,
                                              self.detector_key, self.experiment.batch_size)
                     for name, recognizer in self.recognizers.items()}
        return References(sources, galleries, int((~sources.found[sources.index(relpaths)]).sum()))

    def evaluate(self, condition: Condition, probes: Sequence[Image], references: References,
                 advance: Callable[[int], None] = lambda n: None) -> Part:
        """Rows and samples of ``probes`` under ``condition``, batch by batch of
        ``experiment.batch_size``; ``advance(n)`` is called after each batch of ``n`` probes."""
        identities = self.split.gallery_identities()
        column = {name: i for i, name in enumerate(identities)}
        gallery_columns = np.array([column[image.identity] for image in self.split.gallery])
        gallery = references.galleries[condition.recognizer]
        recognizer = self.recognizers[condition.recognizer]
        sample_keys = {image.relpath for image in sample_probes(self.split, self.experiment.samples_per_condition)}
        samples: list[Sample] = []
        records: list[dict[str, Any]] = []
        clock = StageClock(self.device)
        for batch in batches(list(probes), self.experiment.batch_size):
            capture, keep = capture_probes(self.experiment, self.dataset, condition,
                                           [image.relpath for image in batch], references.sources,
                                           self.device, keep_stages=condition.probe_mode == "crop", clock=clock,
                                           decoded=self.decoded)
            with clock.stage("detect"):
                images, true_boxes = detector_input(capture, condition.upscale)
                found = match_detections(split_on_oom(self.detectors[condition.detector].detect, images),
                                         true_boxes)
            embedded, boxes, landmarks = detected_faces(found)
            scores = np.zeros((len(batch), len(identities)))
            if embedded:
                with clock.stage("embed"):
                    vectors = split_on_oom(recognizer.embed, images[embedded], boxes, landmarks).numpy()
                with clock.stage("match"):
                    scores[embedded] = identity_scores(vectors, gallery, gallery_columns, len(identities))
            with clock.stage("measures"):
                ied = probe_ied_px(capture)
                measures = _probe_measures(capture, found, condition.upscale)
            with clock.stage("rows"):
                for i, image in enumerate(batch):
                    if not keep[i]:
                        continue
                    records.append(self._row(condition, image, found[i], float(ied[i]),
                                             scores[i] if found[i].detected else None, identities, column)
                                   | measures[i])
                    if image.relpath in sample_keys:
                        samples.append(self._sample(condition, image, capture.images[i], found[i]))
            clock.probes += len(batch)
            advance(len(batch))
        return Part(pd.DataFrame.from_records(records).astype({"mate_rank": "Int64"}), samples, clock)

    def _row(self, condition: Condition, image: Image, found: DetectionMatch, ied_px: float,
             scores: np.ndarray | None, identities: list[str], column: dict[str, int]) -> dict[str, Any]:
        mate = column.get(image.identity)
        row: dict[str, Any] = {
            "condition_id": condition.id, "profile": condition.profile.name,
            "recognizer": condition.recognizer, "detector": condition.detector,
            "probe_mode": condition.probe_mode,
            **{axis: getattr(condition.profile, axis) for axis in sweep_axes(self.experiment)},
            "distance_m": condition.profile.distance_m,
            "probe_kind": "mated" if mate is not None else "nonmated",
            "identity": image.identity, "relpath": image.relpath, "detected": found.detected,
            **{f"box_{name}": float(value) / condition.upscale
               for name, value in zip(("x1", "y1", "x2", "y2"), found.box, strict=True)},
            "det_prob": found.prob, "iou": found.iou,
            "false_detections": found.false_detections, "ied_px": ied_px,
            "mate_score": float("nan"), "mate_rank": None, "best_nonmate_score": float("nan"),
            "best_nonmate_identity": None, "nonmate_scores": [],
        }
        if scores is not None:
            others = np.ones(len(identities), bool)
            if mate is not None:
                others[mate] = False
                row["mate_score"] = float(scores[mate])
                row["mate_rank"] = int(mate_ranks(scores[None], [mate])[0])
            best = int(np.flatnonzero(others)[np.argmax(scores[others])])
            row["best_nonmate_score"] = float(scores[best])
            row["best_nonmate_identity"] = identities[best]
            row["nonmate_scores"] = self._kept(scores[others], condition, image).astype(np.float32).tolist()
        return row

    def _kept(self, nonmate: np.ndarray, condition: Condition, image: Image) -> np.ndarray:
        """``nonmate`` scores, or a seeded sample of ``experiment.nonmate_scores_kept`` of them
        (in gallery order), the same for a probe on every run."""
        kept = self.experiment.nonmate_scores_kept
        if kept is None or nonmate.size <= kept:
            return nonmate
        rng = np.random.default_rng(probe_seed(self.experiment.seed, condition.id, f"nonmate\x1f{image.relpath}"))
        return nonmate[np.sort(rng.choice(nonmate.size, kept, replace=False))]

    def _sample(self, condition: Condition, image: Image, stored: torch.Tensor,
                found: DetectionMatch) -> Sample:
        name = f"samples/{condition.id}/{Path(image.relpath).stem}.png"
        gallery = Path(gallery_image_of(self.split, image.identity)).name
        return Sample(name, png_bytes(stored), {
            "identity": image.identity, "relpath": image.relpath, "file": name,
            "detected": found.detected, "gallery_file": f"samples/gallery/{gallery}"})
