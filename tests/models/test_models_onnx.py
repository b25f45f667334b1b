"""ONNX recognizers: an ONNX export of the converted FaceNet must embed as the torch model does."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from evalharness.errors import ConfigError, ModelError
from evalharness.models import get_recognizer
from evalharness.models.align import ARCFACE_TEMPLATE_112
from evalharness.models.cache import file_sha256
from evalharness.models.onnx import arcface_crop, load_onnx_spec

FACENET_SPEC = """
model = "facenet.onnx"
input_size_px = 160
colour_order = "rgb"
mean = [127.5, 127.5, 127.5]
std = [128.0, 128.0, 128.0]
layout = "nchw"
alignment = "box"
margin_px = 32
"""


@pytest.fixture(scope="module")
def facenet_onnx_spec(tmp_path_factory, facenet):
    folder = tmp_path_factory.mktemp("onnx")
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, still exact
        warnings.simplefilter("ignore")
        torch.onnx.export(facenet.network, (torch.zeros(2, 3, 160, 160),),
                          str(folder / "facenet.onnx"), input_names=["input"],
                          output_names=["embedding"], dynamic_axes={"input": {0: "batch"}},
                          dynamo=False)
    spec = folder / "facenet.toml"
    spec.write_text(FACENET_SPEC)
    return spec


def test_onnx_export_of_facenet_embeds_as_the_torch_model(facenet_onnx_spec, facenet, faces,
                                                          mtcnn):
    model = get_recognizer(f"onnx:{facenet_onnx_spec}", "cpu")
    assert model.embedding_dim == 512
    assert model.weights_sha256 == file_sha256(facenet_onnx_spec.parent / "facenet.onnx")
    images = list(faces.values())
    boxes = np.stack([detections.boxes[0] for detections in mtcnn.detect(images)])
    cosine = (model.embed(images, boxes, None) * facenet.embed(images, boxes, None)).sum(dim=1)
    assert cosine.min() >= 0.9999


def test_onnx_spec_is_validated_and_a_pinned_sha256_enforced(facenet_onnx_spec, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(FACENET_SPEC.replace('layout = "nchw"', 'layout = "chw"'))
    with pytest.raises(ConfigError, match="layout"):
        load_onnx_spec(bad)
    pinned = facenet_onnx_spec.parent / "pinned.toml"
    pinned.write_text(FACENET_SPEC + f'sha256 = "{"0" * 64}"\n')
    with pytest.raises(ModelError, match="differs from the spec's"):
        get_recognizer(f"onnx:{pinned}", "cpu")


def test_arcface_crop_puts_the_landmarks_on_the_template():
    # An image whose pixels hold their own coordinates: channel 0 is x, channel 1 is y.
    ys, xs = np.mgrid[0:200, 0:240].astype(np.float32)
    image = np.dstack([xs, ys, np.zeros_like(xs)])
    # Landmarks of a face rotated by 10 degrees, scaled by 1.5 and shifted.
    angle = np.deg2rad(10)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = ARCFACE_TEMPLATE_112 @ rotation.T * 1.5 + [40, 20]
    crop = arcface_crop(image, points, 112)
    assert crop.shape == (112, 112, 3)
    for template_point, source_point in zip(ARCFACE_TEMPLATE_112, points, strict=True):
        tx, ty = np.round(template_point).astype(int)
        # Within the 1.5x-scaled rounding of the template position.
        np.testing.assert_allclose(crop[ty, tx, :2], source_point, atol=1.5)
    with pytest.raises(ModelError, match="degenerate"):
        arcface_crop(image, np.zeros((5, 2)), 112)
