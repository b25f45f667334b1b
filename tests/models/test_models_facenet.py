"""FaceNet-CASIA: the offline conversion, its cache, and agreement with OpenCV running the graph."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from facenet_pytorch import InceptionResnetV1
from facenet_pytorch import extract_face as facenet_pytorch_extract_face

from evalharness.errors import ModelError
from evalharness.models.align import extract_face
from evalharness.models.cache import cache_dir, load_state_dict, save_atomically, state_dict_sha256
from evalharness.models.facenet import (
    CASIA_CACHE_NAME,
    CASIA_WEIGHTS_SHA256,
    casia_weights,
    load_facenet_vggface2,
)
from evalharness.models.facenet_tf import convert_graph, packaged_graph_path, read_graph_constants


@pytest.fixture(scope="module")
def constants():
    return read_graph_constants(packaged_graph_path())


def test_conversion_covers_every_torch_key_and_is_deterministic(constants):
    first, second = convert_graph(constants), convert_graph(constants)
    assert list(first) == list(InceptionResnetV1().state_dict())  # all 714, in torch's order
    assert len(first) == 714
    assert state_dict_sha256(first) == state_dict_sha256(second) == CASIA_WEIGHTS_SHA256


def test_folded_batch_norm_is_a_pure_offset(constants):
    state = convert_graph(constants)
    offset = constants["InceptionResnetV1/Conv2d_1a_3x3/Conv2D_bn_offset"]
    np.testing.assert_array_equal(state["conv2d_1a.bn.bias"].numpy(), offset)
    bn = torch.nn.BatchNorm2d(32, eps=0.001).eval()
    bn.load_state_dict({key.removeprefix("conv2d_1a.bn."): value
                        for key, value in state.items() if key.startswith("conv2d_1a.bn.")})
    x = torch.randn(2, 32, 4, 4)
    torch.testing.assert_close(bn(x), x + torch.from_numpy(offset)[:, None, None])


def test_conversion_refuses_a_graph_with_a_different_residual_scale(constants):
    altered = dict(constants)
    altered["InceptionResnetV1/Repeat/block35_1/mul/x"] = np.float32(0.5)
    with pytest.raises(ModelError, match="residual scale"):
        convert_graph(altered)


def test_cache_is_written_once_and_a_corrupt_one_is_converted_again(facenet):
    path = cache_dir() / CASIA_CACHE_NAME
    assert path.is_file()
    assert load_state_dict(path, CASIA_WEIGHTS_SHA256)[1] == CASIA_WEIGHTS_SHA256
    state = torch.load(path, weights_only=True)
    state["last_bn.bias"][0] += 1e-3  # a silent change of one number
    torch.save(state, path)
    with pytest.raises(ModelError, match="differs from the expected"):
        load_state_dict(path, CASIA_WEIGHTS_SHA256)
    with pytest.warns(UserWarning, match="converting again"):
        _, written = casia_weights()
    assert load_state_dict(written, CASIA_WEIGHTS_SHA256)[1] == CASIA_WEIGHTS_SHA256


def test_torch_model_agrees_with_opencv_dnn_running_the_graph(facenet, faces, mtcnn):
    net = cv2.dnn.readNetFromTensorflow(str(packaged_graph_path()))
    images = list(faces.values())
    boxes = np.stack([detections.boxes[0] for detections in mtcnn.detect(images)])
    inputs = facenet.crops(images, boxes)
    ours = facenet.embed(images, boxes, None)
    for i in range(len(images)):  # OpenCV, one face at a time
        net.setInput(inputs[i:i + 1].numpy())
        theirs = net.forward().ravel()
        cosine = float(ours[i] @ torch.from_numpy(theirs)) / np.linalg.norm(theirs)
        assert cosine >= 0.9999


def test_embeddings_are_unit_and_separate_people(facenet, faces, mtcnn):
    images = list(faces.values())
    boxes = np.stack([detections.boxes[0] for detections in mtcnn.detect(images)])
    embeddings = facenet.embed(torch.stack(images), boxes, None)
    assert embeddings.shape == (5, 512) and embeddings.dtype == torch.float32
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(5))
    similarity = embeddings @ embeddings.T
    same = similarity[0, 1:3]  # Gore with Gore
    different = similarity[:3, 3:]  # Gore with Campbell and Griggs
    assert same.min() > different.max()


def test_extract_face_matches_facenet_pytorch(faces, mtcnn):
    image = faces["campbell_1"]
    box = mtcnn.detect([image])[0].boxes[0]
    pixels = image * 255
    theirs = facenet_pytorch_extract_face(pixels.permute(1, 2, 0), box, 160, margin=32)
    ours = extract_face(pixels, box, 160, margin=32)
    # facenet-pytorch truncates to 8-bit levels; this does not.
    assert (ours - theirs).abs().max() < 1.0
    assert (ours.floor() == theirs).float().mean() > 0.99


def test_extract_face_gives_a_crop_for_a_box_outside_the_image(faces):
    crop = extract_face(faces["griggs_1"], np.array([300.0, 300.0, 320.0, 330.0]), 160)
    assert crop.shape == (3, 160, 160)


def test_vggface2_absent_file_says_where_it_comes_from(tmp_path):
    missing = tmp_path / "20180402-114759-vggface2.pt"
    with pytest.raises(ModelError) as error:
        load_facenet_vggface2(torch.device("cpu"), missing)
    assert "github.com/timesler/facenet-pytorch/releases" in str(error.value)
    assert str(missing) in str(error.value)


def test_vggface2_file_drops_the_classifier_and_honours_a_pinned_sha256(tmp_path, facenet):
    # A file laid out as facenet-pytorch's release (backbone + 'logits.' classifier); the
    # numbers are the CASIA weights, since the VGGFace2 file cannot be fetched here.
    state, _ = casia_weights()
    path = tmp_path / "weights.pt"
    torch.save({**state, "logits.weight": torch.zeros(3, 512), "logits.bias": torch.zeros(3)},
               path)
    model = load_facenet_vggface2(torch.device("cpu"), path)
    assert model.weights_sha256 == CASIA_WEIGHTS_SHA256
    with pytest.raises(ModelError, match="differs from the expected"):
        load_facenet_vggface2(torch.device("cpu"), path, sha256="0" * 64)
    torch.save({"conv2d_1a.conv.weight": torch.zeros(1)}, path)
    with pytest.raises(ModelError, match="not facenet-pytorch InceptionResnetV1 weights"):
        load_facenet_vggface2(torch.device("cpu"), path)


def test_a_cache_that_cannot_be_written_is_named(tmp_path):
    """EVALHARNESS_CACHE naming a file: the model error names the folder and the variable."""
    in_the_way = tmp_path / "afile"
    in_the_way.write_text("")
    with pytest.raises(ModelError, match=f"{in_the_way}: cannot write there .*EVALHARNESS_CACHE"):
        save_atomically({"w": torch.zeros(1)}, in_the_way / "weights.pt")
