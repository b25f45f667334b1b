"""Shared test fixtures: where the real data lives.

Tests run on real photographs. Most use the bundled ``datasets/lfw-mini``, which every clone
has. The few that need the larger sets (LFW's development-training split with its pairs and
people files; FRMDB's development subjects, real surveillance images) read them from
``../shared/data/`` beside the checkout, or from ``$EVALHARNESS_SHARED/data/``; they are marked
``shared_data`` and are skipped, with the reason, when the data is absent. When
``EVALHARNESS_SHARED`` is set (CI sets it) the data is required: a missing folder fails those
tests instead of skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_REQUIRED = "EVALHARNESS_SHARED" in os.environ
SHARED = Path(os.environ.get("EVALHARNESS_SHARED") or REPO.parent / "shared")
LFW_DEVTRAIN = SHARED / "data" / "lfw-devtrain"
LFW_MINI = REPO / "datasets" / "lfw-mini"
FRMDB_DEV = SHARED / "data" / "frmdb-dev"

#: Fixtures that read the larger shared data sets; tests using them get the ``shared_data`` marker.
SHARED_FIXTURES = frozenset({"lfw_devtrain", "frmdb_dev", "frmdb_paired"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses shared data, so ``-m "not shared_data"`` selects the rest; skip
    the ``gpu`` tests (``pytest -m gpu`` selects them all) where no CUDA device is usable."""
    no_cuda = pytest.mark.skip(reason="needs a CUDA GPU") if not torch.cuda.is_available() else None
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_data)
        if no_cuda is not None and "gpu" in item.keywords:
            item.add_marker(no_cuda)


def _shared_folder(folder: Path, needed: str) -> Path:
    """``folder`` if ``needed`` exists inside it; else skip the test, or fail it in CI."""
    if (folder / needed).exists():
        return folder
    reason = f"shared data missing: {folder / needed} (README: 'Extended tests')"
    if SHARED_REQUIRED:
        pytest.fail(f"{reason}; EVALHARNESS_SHARED is set, so it is required", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lfw_devtrain() -> Path:
    """Root of LFW's development-training split (images/, pairsDevTrain.txt, peopleDevTrain.txt)."""
    return _shared_folder(LFW_DEVTRAIN, "images")


@pytest.fixture(scope="session")
def frmdb_dev() -> Path:
    """Root of the shared FRMDB development subjects (mugshots/, surveillance/, frames/)."""
    return _shared_folder(FRMDB_DEV, "mugshots")


@pytest.fixture(scope="session")
def frmdb_paired(frmdb_dev: Path, tmp_path_factory: pytest.TempPathFactory):
    """A factory: ``frmdb_paired(subjects)`` lays those FRMDB subjects out as a paired
    real-camera dataset (scripts/make_frmdb_paired.py) in a temporary folder."""
    import make_frmdb_paired  # scripts/, on pytest's pythonpath (pyproject.toml)


    def make(subjects: list[str]) -> Path:
        return make_frmdb_paired.make_paired(frmdb_dev, tmp_path_factory.mktemp("paired"), subjects=subjects)

    return make


@pytest.fixture(scope="session")
def lfw_mini() -> Path:
    """Root of the bundled dataset ``datasets/lfw-mini`` (``<Person>/<Person>_NNNN.jpg``)."""
    return LFW_MINI




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
