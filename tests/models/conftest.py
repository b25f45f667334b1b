"""Shared model fixtures: one weights cache per test session, models loaded once."""

from __future__ import annotations

import os

import pytest
import torch

from evalharness.data import load_image
from evalharness.data.lfw import lfw_image_path
from evalharness.models.cache import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory):
    """Convert weights into a fresh cache, not the user's, and restore the setting afterwards."""
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("model-cache"))
    yield os.environ[CACHE_ENV]
    if previous is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def mtcnn():
    from evalharness.models import get_detector

    return get_detector("mtcnn", "cpu")


@pytest.fixture(scope="session")
def facenet(model_cache):
    from evalharness.models import get_recognizer

    return get_recognizer("facenet-casia", "cpu")


@pytest.fixture(scope="session")
def faces(lfw_devtrain) -> dict[str, torch.Tensor]:
    """Five real LFW photographs: three of Aaron Peirsol, two other people."""
    images = lfw_devtrain / "images"
    picks = {"peirsol_1": ("Aaron_Peirsol", 1), "peirsol_2": ("Aaron_Peirsol", 2),
             "peirsol_3": ("Aaron_Peirsol", 3), "sorkin_1": ("Aaron_Sorkin", 1),
             "cook_1": ("AJ_Cook", 1)}
    return {key: load_image(lfw_image_path(images, *pick)) for key, pick in picks.items()}
