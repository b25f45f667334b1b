"""The registry, offline loading, the photo pipeline and the ``models`` / ``pairs`` commands."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch

from evalharness.errors import ConfigError, ModelError
from evalharness.models import get_detector, get_recognizer, list_models, resolve_device
from evalharness.models.align import central_face, centre_box
from evalharness.models.cache import CACHE_ENV
from evalharness.models.facenet import CASIA_WEIGHTS_SHA256
from evalharness.models.photos import embed_photos


def test_unknown_names_and_options_are_refused_with_the_choices():
    with pytest.raises(ConfigError, match="available: dlib-resnet, facenet-casia"):
        get_recognizer("arcface", "cpu")
    with pytest.raises(ConfigError, match="unknown option.*min_face_px.*allowed: factor"):
        get_detector("mtcnn", "cpu", min_face_px=20)
    with pytest.raises(ConfigError, match="takes no ':' argument"):
        get_recognizer("facenet-casia:file.pt", "cpu")
    with pytest.raises(ConfigError, match="needs its spec file"):
        get_recognizer("onnx", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_says_so():
    with pytest.raises(ModelError, match="no CUDA GPU.*--device cpu"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")


def test_list_models_reports_availability_paths_and_fingerprints(model_cache, facenet):
    infos = {info.name: info for info in list_models()}
    assert set(infos) == {"mtcnn", "yunet", "centerface", "retinaface-mobile", "facenet-casia",
                          "facenet-vggface2", "dlib-resnet", "sface", "onnx"}
    assert infos["facenet-casia"].available and infos["facenet-casia"].required
    assert infos["facenet-casia"].sha256 == CASIA_WEIGHTS_SHA256 == facenet.weights_sha256
    assert infos["facenet-casia"].path.startswith(model_cache)
    assert infos["mtcnn"].sha256 == get_detector("mtcnn", "cpu").weights_sha256
    assert infos["dlib-resnet"].available and len(infos["dlib-resnet"].sha256) == 64
    vggface2 = infos["facenet-vggface2"]  # not shipped by any package
    assert not vggface2.available and not vggface2.required and "fetch" in vggface2.problem


def test_everything_loads_with_the_network_off(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # convert FaceNet afresh, offline
    assert get_detector("mtcnn", "cpu").weights_sha256
    assert get_recognizer("facenet-casia", "cpu").weights_sha256 == CASIA_WEIGHTS_SHA256
    assert get_recognizer("dlib-resnet", "cpu").weights_sha256
    assert (tmp_path / "facenet-casia-20180408-102900.pt").is_file()


def test_central_face_prefers_the_middle_face_over_a_larger_one_at_the_edge():
    boxes = np.array([[0, 0, 120, 120], [90, 90, 160, 160]], dtype=np.float32)
    assert central_face(boxes, 250, 250) == 1
    assert central_face(boxes[:1], 250, 250) == 0
    np.testing.assert_array_equal(centre_box(250, 250), [62.5, 62.5, 187.5, 187.5])


def test_embed_photos_counts_images_without_a_face(tmp_path, lfw_mini, mtcnn, facenet):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (250, 250), (128, 128, 128)).save(blank)
    face = lfw_mini / "Al_Gore" / "Al_Gore_0001.jpg"
    photos = embed_photos([face, blank, face], mtcnn, facenet, batch_size=2)
    assert photos.no_face.tolist() == [False, True, False]
    np.testing.assert_array_equal(photos.boxes[1], centre_box(250, 250))
    assert photos.embeddings.shape == (3, 512)
    torch.testing.assert_close(photos.embeddings[0], photos.embeddings[2])


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``evalharness ARGS``; return the exit status, stdout and stderr."""
    import evalharness.cli.models  # noqa: F401  registers the commands
    from evalharness.cli import main

    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_models_command_lists_every_model_as_json(capsys, facenet):
    status, out, _ = _cli(capsys, "models", "--json")
    assert status == 0
    listed = {entry["name"]: entry for entry in json.loads(out)}
    assert listed["facenet-casia"]["sha256"] == CASIA_WEIGHTS_SHA256


def test_pairs_command_on_a_small_real_pairs_file(capsys, tmp_path, lfw_devtrain, facenet):
    lines = (lfw_devtrain / "pairsDevTrain.txt").read_text().splitlines()
    small = tmp_path / "pairs.txt"
    small.write_text("\n".join(["4", *lines[1:5], *lines[1101:1105]]) + "\n")
    status, out, _ = _cli(capsys, "--quiet", "pairs", str(lfw_devtrain / "images"), str(small),
                       "--recognizer", "facenet-casia", "--device", "cpu", "--json")
    assert status == 0
    result = json.loads(out)
    assert result["pairs"] == 8 and result["no_face"] == 0
    assert result["auc"] > 0.9 and result["accuracy"] >= 0.875
    assert {"accuracy", "auc", "tar_at_far_1e-3", "pairs", "no_face"} <= set(result)


def test_pairs_command_names_a_missing_image(capsys, tmp_path, lfw_mini):
    small = tmp_path / "pairs.txt"
    small.write_text("1\nNobody_Here\t1\t2\nAl_Gore\t1\tNobody_Else\t1\n")
    status, _, err = _cli(capsys, "pairs", str(lfw_mini), str(small))
    assert status == 3
    assert "3 listed image(s) missing" in err and "Nobody_" in err


@pytest.mark.slow
def test_facenet_casia_reaches_98_percent_on_lfw_devtrain(capsys, lfw_devtrain):
    """The README's figure (0.9905 measured): about 5 CPU-minutes single-threaded."""
    status, out, _ = _cli(capsys, "--quiet", "pairs", str(lfw_devtrain / "images"),
                       str(lfw_devtrain / "pairsDevTrain.txt"), "--recognizer", "facenet-casia",
                       "--json")
    assert status == 0
    result = json.loads(out)
    assert result["pairs"] == 2200
    assert result["accuracy"] >= 0.98
