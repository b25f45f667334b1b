"""The undegraded photographs a run compares against: their faces and gallery embeddings.

Source eye positions and gallery embeddings come from the undegraded photographs: the detector
runs on each original and keeps the face nearest the image centre
(:func:`~evalharness.models.photos.subject_face`); both are cached in ``<cache>/embeddings/``
keyed by the dataset fingerprint and the models' weights sha256 (:func:`cache_path`, where the
validation keeps its per-image caches too), so that a later run detects and embeds no original
again. :class:`DecodedBatches` keeps the decoded photographs of each batch of probes for the
next condition.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from evalharness.data.folder import FolderDataset
from evalharness.data.images import load_image
from evalharness.evaluation import manifest, store
from evalharness.evaluation.batching import batches, split_on_oom
from evalharness.evaluation.protocol import Image
from evalharness.models import Detector, Recognizer
from evalharness.models.cache import cache_dir
from evalharness.models.photos import subject_face

#: Most bytes of decoded source photographs a run keeps for its next condition (a batch of 32
#: lfw-mini photographs is 24 MB as float32; the default experiment keeps 180 MB).
DECODED_CACHE_BYTES = 2 << 30


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


def cached_arrays(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    store.write_bytes(path, buffer.getvalue())


def _load_batch(dataset: FolderDataset, relpaths: Sequence[str]) -> list[torch.Tensor]:
    return [load_image(dataset.root / relpath) for relpath in relpaths]


@dataclass
class DecodedBatches:
    """The source photographs of each batch of probes, decoded once per run: every condition
    asks for the same batches. Each batch's ``(3, H, W)`` float tensors (sizes may differ) on the
    CPU are kept up to :data:`DECODED_CACHE_BYTES`; batches beyond it are decoded again when asked for."""

    dataset: FolderDataset
    max_bytes: int = DECODED_CACHE_BYTES
    _kept: dict[tuple[str, ...], list[torch.Tensor]] = field(default_factory=dict, repr=False)

    def __call__(self, relpaths: Sequence[str]) -> list[torch.Tensor]:
        key = tuple(relpaths)
        faces = self._kept.get(key)
        if faces is None:
            faces = _load_batch(self.dataset, relpaths)
            if self._bytes(*self._kept.values()) + self._bytes(faces) <= self.max_bytes:
                self._kept[key] = faces
        return faces

    @staticmethod
    def _bytes(*batches: list[torch.Tensor]) -> int:
        return sum(face.nbytes for batch in batches for face in batch)


def cache_path(kind: str, key: dict[str, str]) -> Path:
    """``<cache>/embeddings/<kind>-<hash of key>.npz``."""
    return cache_dir() / "embeddings" / f"{kind}-{manifest.config_hash(key)[:16]}.npz"


def detect_sources(dataset: FolderDataset, relpaths: Sequence[str], detector: Detector,
                   detector_key: str) -> SourceFaces:
    """The central face of each photograph, cached per (dataset, detector and its options).

    Each photograph is detected on its own: MTCNN's batched arithmetic can move a near-tied box
    by pixels with the other images in the batch (4.3 px on lfw-mini's Nan_Wang_0001, in
    facenet-pytorch's own MTCNN too), and which photographs share a batch would otherwise depend
    on which runs filled the cache before.
    """
    path = cache_path("faces", {"dataset": dataset.fingerprint, "detector": detector_key,
                                 "images_per_call": "1"})
    cached = cached_arrays(path) or {
        "relpaths": np.zeros(0, str), "boxes": np.zeros((0, 4), np.float32),
        "landmarks": np.zeros((0, 5, 2), np.float32), "found": np.zeros(0, bool),
    }
    known = set(cached["relpaths"].tolist())
    missing = [relpath for relpath in relpaths if relpath not in known]
    boxes, landmarks, found = [], [], []
    for relpath in missing:
        image = load_image(dataset.root / relpath)
        box, points, detected = subject_face(detector.detect([image])[0], *image.shape[-2:])
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
        save_arrays(path, cached)
    return SourceFaces(cached["relpaths"].tolist(), cached["boxes"], cached["landmarks"], cached["found"])


def gallery_embeddings(dataset: FolderDataset, gallery: Sequence[Image], sources: SourceFaces,
                       recognizer: Recognizer, detector_key: str, batch_size: int) -> np.ndarray:
    """Embeddings ``(G, D)`` of the undegraded gallery photographs, cached per (dataset
    fingerprint, recognizer weights and numerics, detector and its options)."""
    path = cache_path("gallery", {"dataset": dataset.fingerprint, "recognizer": recognizer.weights_sha256,
                                   "numerics": numerics(recognizer), "detector": detector_key})
    relpaths = [image.relpath for image in gallery]
    cached = cached_arrays(path)
    if cached is not None and set(relpaths) <= set(cached["relpaths"].tolist()):
        position = {p: i for i, p in enumerate(cached["relpaths"].tolist())}
        return cached["embeddings"][[position[p] for p in relpaths]]
    rows = []
    for batch in batches(relpaths, batch_size):
        at = sources.index(batch)
        vectors = split_on_oom(recognizer.embed, _load_batch(dataset, batch), sources.boxes[at],
                               sources.landmarks[at])
        rows.append(vectors.numpy())
    embeddings = np.concatenate(rows).astype(np.float32)
    save_arrays(path, {"relpaths": np.array(relpaths, dtype=str), "embeddings": embeddings})
    return embeddings


def numerics(recognizer: Recognizer) -> str:
    """The arithmetic a recognizer embeds in (FaceNet's ``"bf16"`` fast path or ``"fp32"``);
    recognizers without the option compute in float32."""
    return getattr(recognizer, "numerics", "fp32")
