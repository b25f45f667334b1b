"""Embed the one subject of each photograph file, as LFW-style verification needs.

Each image is read with :func:`~evalharness.data.images.load_image`, its faces detected, and the
face nearest the image centre kept (:func:`~evalharness.models.align.central_face`, FaceNet's
author's rule for LFW). An image with no detected face is not dropped, which would flatter the
result: its centre (:func:`~evalharness.models.align.centre_box`) is embedded instead, and it is
counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from evalharness.data.images import load_image
from evalharness.models.align import central_face, centre_box, template_landmarks
from evalharness.models.base import Detections, Detector, Recognizer


@dataclass(frozen=True)
class PhotoEmbeddings:
    """Embeddings of photographs, one face each.

    Attributes
    ----------
    embeddings : Tensor, shape (N, D), float32, unit rows
    no_face : ndarray of bool, shape (N,)
        True where no face was detected and the image centre was embedded.
    boxes : ndarray of float32, shape (N, 4)
        The box embedded (x1, y1, x2, y2 pixels).
    """

    embeddings: torch.Tensor
    no_face: np.ndarray
    boxes: np.ndarray


def subject_face(detections: Detections, height: int,
                 width: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The face to embed in a photograph of one subject, and whether it was detected.

    Parameters
    ----------
    detections : Detections
        The detector's faces in the image.
    height, width : int
        Image size in pixels.

    Returns
    -------
    box : ndarray of float32, shape (4,)
        The detection nearest the centre (:func:`~evalharness.models.align.central_face`), or
        :func:`~evalharness.models.align.centre_box` when there is none.
    landmarks : ndarray of float32, shape (5, 2)
        Its landmarks, or :func:`~evalharness.models.align.template_landmarks` of the centre box.
    found : bool
        False when no face was detected.
    """
    if len(detections):
        best = central_face(detections.boxes, height, width)
        return detections.boxes[best], detections.landmarks[best], True
    box = centre_box(height, width)
    return box, template_landmarks(box), False


def embed_photos(paths: Sequence[str | os.PathLike[str]], detector: Detector,
                 recognizer: Recognizer, batch_size: int = 32,
                 progress: Callable[[int], None] | None = None) -> PhotoEmbeddings:
    """Detect, choose and embed the subject of each image file.

    Parameters
    ----------
    paths
        Image files, any size (same-sized ones are detected together).
    detector, recognizer
        From :mod:`evalharness.models.registry`.
    batch_size
        Images read and processed at once.
    progress
        Called with the number of images finished after each batch.

    Returns
    -------
    PhotoEmbeddings
        In the order of ``paths``.

    Raises
    ------
    ImageError
        An image cannot be read (names the file).
    """
    embeddings, no_face, chosen = [], [], []
    for start in range(0, len(paths), batch_size):
        images = [load_image(path) for path in paths[start:start + batch_size]]
        boxes, landmarks = [], []
        for image, detections in zip(images, detector.detect(images), strict=True):
            box, points, found = subject_face(detections, *image.shape[-2:])
            boxes.append(box)
            landmarks.append(points)
            no_face.append(not found)
        embeddings.append(recognizer.embed(images, np.stack(boxes), np.stack(landmarks)))
        chosen.extend(boxes)
        if progress is not None:
            progress(start + len(images))
    dim = recognizer.embedding_dim
    return PhotoEmbeddings(
        embeddings=torch.cat(embeddings) if embeddings else torch.zeros((0, dim)),
        no_face=np.array(no_face, dtype=bool),
        boxes=np.stack(chosen).astype(np.float32) if chosen else np.zeros((0, 4), np.float32))
