"""dlib's ResNet descriptor: face_recognition's computation, unit embeddings, CPU only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evalharness.errors import ModelError
from evalharness.models import get_recognizer
from evalharness.models.dlib_resnet import DlibRecognizer


@pytest.fixture(scope="module")
def dlib_model():
    return get_recognizer("dlib-resnet", "auto")  # auto means CPU for dlib


def test_dlib_embeddings_are_face_recognitions_descriptors_scaled_to_unit(dlib_model, faces,
                                                                          mtcnn):
    images = list(faces.values())
    boxes = np.stack([detections.boxes[0] for detections in mtcnn.detect(images)])
    embeddings = dlib_model.embed(images, boxes, None)
    assert embeddings.shape == (5, 128) and embeddings.dtype == torch.float32
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(5))
    # face_recognition.face_encodings: compute_face_descriptor(image, shape) on 8-bit RGB.
    pixels = np.ascontiguousarray((images[3] * 255).round().byte().permute(1, 2, 0).numpy())
    reference = np.asarray(dlib_model._resnet.compute_face_descriptor(
        pixels, dlib_model.landmarks(pixels, boxes[3])))
    cosine = float(embeddings[3].double() @ torch.from_numpy(reference)) \
        / np.linalg.norm(reference)
    assert cosine > 0.99999
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1:3].min() > similarity[:3, 3:].max()


def test_dlib_refuses_a_gpu():
    with pytest.raises(ModelError, match="CPU only"):
        DlibRecognizer(torch.device("cuda"))
