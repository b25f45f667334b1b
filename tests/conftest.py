"""Shared test fixtures: where the real data lives.

Tests run on real photographs: the bundled ``datasets/lfw-mini`` and the LFW
development-training split in ``../shared/data/lfw-devtrain`` (beside the checkout, as in CI;
``EVALHARNESS_SHARED`` overrides the location).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EVALHARNESS_SHARED", REPO.parent / "shared"))
LFW_DEVTRAIN = SHARED / "data" / "lfw-devtrain"
LFW_MINI = REPO / "datasets" / "lfw-mini"


@pytest.fixture(scope="session")
def lfw_devtrain() -> Path:
    """Root of the shared LFW development-training split (images/, pairs, people)."""
    if not (LFW_DEVTRAIN / "images").is_dir():
        pytest.fail(f"shared LFW data missing at {LFW_DEVTRAIN}; set EVALHARNESS_SHARED")
    return LFW_DEVTRAIN


@pytest.fixture(scope="session")
def lfw_mini() -> Path:
    """Root of the bundled dataset ``datasets/lfw-mini``."""
    return LFW_MINI


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
