"""Which detection is the face, and how similar a face is to each gallery identity.

Shared by the run (:mod:`~evalharness.evaluation.evaluator`), the detector comparison and the
validation, so that all three count a detection and rank an identity by one rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import box_iou

from evalharness.models import Detections

#: A detection counts as the face only when it overlaps the true face box this much.
MIN_IOU = 0.5


def identity_scores(embeddings: np.ndarray, gallery: np.ndarray, columns: np.ndarray,
                    n_identities: int) -> np.ndarray:
    """Cosine similarity ``(P, N)`` of unit embeddings to each gallery identity: the best over
    that identity's gallery images (``columns (G,)`` maps gallery images to identities 0..N-1,
    each present at least once)."""
    image_scores = embeddings.astype(np.float64) @ gallery.astype(np.float64).T
    order = np.argsort(columns, kind="stable")
    grouped = columns[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    scores = np.full((len(embeddings), n_identities), -np.inf)
    scores[:, grouped[starts]] = np.maximum.reduceat(image_scores[:, order], starts, axis=1)
    return scores


@dataclass(frozen=True)
class DetectionMatch:
    """The detection taken as an image's face: ``detected`` when one overlaps the true face box
    with IoU >= :data:`MIN_IOU`; then its ``box (4,)`` (pixels; NaN when none), ``landmarks
    (5, 2)`` (pixels; None when none), detector ``prob`` and ``iou`` (NaN when none); and
    ``false_detections``, the detector's boxes elsewhere."""

    detected: bool
    box: np.ndarray
    landmarks: np.ndarray | None
    prob: float
    iou: float
    false_detections: int


def match_detections(detections: Sequence[Detections], true_boxes: torch.Tensor) -> list[DetectionMatch]:
    """For each image, the detection overlapping its true face box ``(4,)`` best (IoU >=
    :data:`MIN_IOU`), its landmarks and probability, and the number of detections elsewhere."""
    found = []
    for det, truth in zip(detections, true_boxes, strict=True):
        iou = np.zeros(0)
        if len(det):
            iou = box_iou(torch.from_numpy(det.boxes).double(), truth[None]).numpy()[:, 0]
        best = int(np.argmax(iou)) if iou.size else -1
        hit = best >= 0 and iou[best] >= MIN_IOU
        found.append(DetectionMatch(
            detected=bool(hit),
            box=det.boxes[best] if hit else np.full(4, np.nan, np.float32),
            landmarks=det.landmarks[best] if hit else None,
            prob=float(det.probs[best]) if hit else float("nan"),
            iou=float(iou[best]) if hit else float("nan"),
            false_detections=int((iou < MIN_IOU).sum()),
        ))
    return found


def detected_faces(found: Sequence[DetectionMatch]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Of :func:`match_detections`' results, the indices of the images whose face was detected,
    with their boxes ``(D, 4)`` and landmarks ``(D, 5, 2)``: what a recognizer embeds."""
    indices = [i for i, hit in enumerate(found) if hit.detected]
    if not indices:
        return [], np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32)
    return (indices, np.stack([found[i].box for i in indices]),
            np.stack([found[i].landmarks for i in indices]))
