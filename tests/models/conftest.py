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
def faces(lfw_mini) -> dict[str, torch.Tensor]:
    """Five real LFW photographs of the bundled lfw-mini: three of Al Gore, two other people."""
    picks = {"gore_1": ("Al_Gore", 1), "gore_2": ("Al_Gore", 2), "gore_3": ("Al_Gore", 3),
             "campbell_1": ("Alastair_Campbell", 1), "griggs_1": ("Andy_Griggs", 1)}
    return {key: load_image(lfw_image_path(lfw_mini, *pick)) for key, pick in picks.items()}
