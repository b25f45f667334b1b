"""The LFW dataset defaults in ``camera.simulate`` are what MTCNN measures on LFW (slow).

Re-measures, on 300 randomly chosen LFW deep-funneled images, the median eye centres and the
median face box relative to the eyes, with the harness's MTCNN and the face nearest the centre.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from evalharness.camera.simulate import FACE_BOX_BOTTOM, FACE_BOX_TOP, LFW_DEEPFUNNELED_EYES_PX
from evalharness.data.images import load_image

SAMPLE = 300


@pytest.mark.slow
def test_lfw_default_eyes_and_face_box_match_mtcnn(lfw_devtrain: Path):
    from evalharness.models.align import central_face
    from evalharness.models.registry import get_detector

    paths = sorted((lfw_devtrain / "images").glob("*/*.jpg"))
    random.Random(0).shuffle(paths)
    detector = get_detector("mtcnn", "cpu")
    eyes, boxes = [], []
    for start in range(0, SAMPLE, 50):
        images = torch.stack([load_image(path) for path in paths[start : start + 50]])
        for detected in detector.detect(images):
            if len(detected):
                index = central_face(detected.boxes, 250, 250)
                eyes.append(detected.landmarks[index, :2])
                boxes.append(detected.boxes[index])
    eyes, boxes = np.array(eyes), np.array(boxes)
    assert len(eyes) >= 0.95 * SAMPLE
    assert np.median(eyes, axis=0) == pytest.approx(np.array(LFW_DEEPFUNNELED_EYES_PX), abs=1.0)
    ied = np.linalg.norm(eyes[:, 1] - eyes[:, 0], axis=1)
    width = boxes[:, 2] - boxes[:, 0]
    top = (boxes[:, 1] - eyes[:, :, 1].mean(axis=1)) / width
    bottom = (boxes[:, 3] - eyes[:, :, 1].mean(axis=1)) / width
    assert np.median(width / ied) == pytest.approx(0.14 / 0.063, abs=0.05)
    assert np.median(top) == pytest.approx(FACE_BOX_TOP, abs=0.03)
    assert np.median(bottom) == pytest.approx(FACE_BOX_BOTTOM, abs=0.03)
