"""MTCNN: real faces found with five landmarks, batching, empty images, CPU/GPU agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from facenet_pytorch import extract_face as facenet_pytorch_extract_face
from skimage import data

from evalharness.models import Detections, get_detector
from evalharness.models.mtcnn import MtcnnDetector


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    return torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255


def _check_face(detections: Detections, image: torch.Tensor) -> None:
    assert detections.boxes.dtype == detections.probs.dtype == detections.landmarks.dtype \
        == np.float32
    box, points = detections.boxes[0], detections.landmarks[0]
    assert points.shape == (5, 2)
    assert detections.probs[0] > 0.99
    # All five landmarks inside the box; eyes above the nose above the mouth; left eye on the left.
    assert (points[:, 0] > box[0]).all() and (points[:, 0] < box[2]).all()
    assert (points[:, 1] > box[1]).all() and (points[:, 1] < box[3]).all()
    assert points[:2, 1].max() < points[2, 1] < points[3:, 1].min()
    assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]
    assert 0 <= box[0] < box[2] <= image.shape[2] and 0 <= box[1] < box[3] <= image.shape[1]


def test_mtcnn_finds_the_astronauts_face_with_five_landmarks(mtcnn, astronaut):
    (detections,) = mtcnn.detect(astronaut[None])
    assert len(detections) == 1
    _check_face(detections, astronaut)
    # Eileen Collins' face lies in the upper middle of the 512 x 512 picture.
    x1, y1, x2, y2 = detections.boxes[0]
    assert 150 < (x1 + x2) / 2 < 260 and 50 < (y1 + y2) / 2 < 170


def test_mtcnn_detects_batches_and_lists_of_different_sizes(mtcnn, faces, astronaut):
    images = [faces["gore_1"], astronaut, faces["campbell_1"]]
    listed = mtcnn.detect(images)
    batched = mtcnn.detect(torch.stack([faces["gore_1"], faces["campbell_1"]]))
    for detections, image in zip(listed, images, strict=True):
        _check_face(detections, image)
    np.testing.assert_allclose(listed[0].boxes, batched[0].boxes, atol=1e-3)
    np.testing.assert_allclose(listed[2].landmarks, batched[1].landmarks, atol=1e-3)


def test_mtcnn_crops_faces_as_facenet_pytorch_extracts_them(faces):
    detector = MtcnnDetector(torch.device("cpu"), image_size=100, margin=10)
    image = faces["griggs_1"]
    detections = detector.detect([image, torch.full((3, 90, 90), 0.5)])
    crops = detector.crops([image, torch.full((3, 90, 90), 0.5)], detections)
    assert crops[0].shape == (1, 3, 100, 100) and crops[1].shape == (0, 3, 100, 100)
    theirs = facenet_pytorch_extract_face(image.permute(1, 2, 0) * 255, detections[0].boxes[0],
                                          100, margin=10)
    assert (crops[0][0] * 255 - theirs).abs().max() < 1.0  # theirs is truncated to 8 bits


def test_mtcnn_returns_empty_float_arrays_for_an_image_without_a_face(mtcnn):
    (detections,) = mtcnn.detect(torch.full((1, 3, 120, 160), 0.5))
    assert len(detections) == 0
    assert detections.boxes.shape == (0, 4) and detections.landmarks.shape == (0, 5, 2)
    assert detections.boxes.dtype == np.float32


def test_min_face_size_is_honoured_loosely(faces):
    # A face about 25 px wide on a 200 x 200 grey canvas. The pyramid starts at 12 px /
    # min_face_size, but box regression still finds faces a good deal smaller than that.
    canvas = torch.full((1, 3, 200, 200), 0.5)
    canvas[..., 70:130, 70:130] = torch.nn.functional.interpolate(
        faces["campbell_1"][None], size=(60, 60), mode="area")
    assert len(MtcnnDetector(torch.device("cpu"), min_face_size=12).detect(canvas)[0]) == 1
    assert len(MtcnnDetector(torch.device("cpu"), min_face_size=80).detect(canvas)[0]) == 0


@pytest.mark.gpu
def test_mtcnn_on_gpu_agrees_with_cpu(mtcnn, faces, astronaut):
    gpu = get_detector("mtcnn", "cuda")
    images = [astronaut, *faces.values()]
    for on_cpu, on_gpu in zip(mtcnn.detect(images), gpu.detect(images), strict=True):
        assert len(on_cpu) == len(on_gpu)
        np.testing.assert_allclose(on_cpu.boxes, on_gpu.boxes, atol=0.5)
        np.testing.assert_allclose(on_cpu.landmarks, on_gpu.landmarks, atol=0.5)
        np.testing.assert_allclose(on_cpu.probs, on_gpu.probs, atol=1e-3)
