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
FRMDB_DEV = SHARED / "data" / "frmdb-dev"


@pytest.fixture(scope="session")
def lfw_devtrain() -> Path:
    """Root of the shared LFW development-training split (images/, pairs, people)."""
    if not (LFW_DEVTRAIN / "images").is_dir():
        pytest.fail(f"shared LFW data missing at {LFW_DEVTRAIN}; set EVALHARNESS_SHARED")
    return LFW_DEVTRAIN


@pytest.fixture(scope="session")
def frmdb_dev() -> Path:
    """Root of the shared FRMDB development subjects (mugshots/, surveillance/, frames/)."""
    if not (FRMDB_DEV / "mugshots").is_dir():
        pytest.fail(f"shared FRMDB data missing at {FRMDB_DEV}; set EVALHARNESS_SHARED")
    return FRMDB_DEV


@pytest.fixture(scope="session")
def frmdb_paired(frmdb_dev: Path, tmp_path_factory: pytest.TempPathFactory):
    """A factory: ``frmdb_paired(subjects)`` lays those FRMDB subjects out as a paired
    real-camera dataset (scripts/make_frmdb_paired.py) in a temporary folder."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_frmdb_paired", REPO / "scripts" / "make_frmdb_paired.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def make(subjects: list[str]) -> Path:
        return module.make_paired(frmdb_dev, tmp_path_factory.mktemp("paired"), subjects=subjects)

    return make


@pytest.fixture(scope="session")
def lfw_mini() -> Path:
    """Root of the bundled dataset ``datasets/lfw-mini``."""
    return LFW_MINI


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="session")
def run_experiment(lfw_mini: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run a small experiment on lfw-mini through the engine's API; returns a factory.

    ``run_experiment(name, experiment_text, limit)`` writes ``experiment_text`` (with
    ``{dataset}`` replaced by the lfw-mini path) to a TOML file, runs it on the CPU with
    ``--limit limit`` (the code ``evalharness run`` calls) and returns the run directory.
    """
    from evalharness.evaluation.runner import prepare

    def run(name: str, experiment_text: str, limit: int) -> Path:
        folder = tmp_path_factory.mktemp(name)
        experiment = folder / f"{name}.toml"
        experiment.write_text(experiment_text.format(dataset=lfw_mini.resolve()), encoding="utf-8")
        run_dir = folder / "run"
        command = ["evalharness", "run", str(experiment), "--out", str(run_dir),
                   "--limit", str(limit), "--device", "cpu"]
        prepare(experiment, run_dir, device="cpu", limit=limit, command=command).execute()
        return run_dir

    return run
