"""Fixtures for end-to-end CLI tests: a tiny real dataset, experiments written on the fly, and
a helper that runs ``evalharness`` in-process and returns its exit status and output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import (  # tests/cli/ is on sys.path
    ENROLLED,
    EXPERIMENT,
    ONE_IMAGE,
    copy_people,
)

from evalharness.cli import main


@dataclass(frozen=True)
class Result:
    """What one ``evalharness`` invocation did."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``evalharness ARGS...`` in this process; returns its status, stdout and stderr."""

    def run(*args: object) -> Result:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory, lfw_mini: Path) -> Path:
    """Ten real LFW people (six enrollable), never modified by a test."""
    return copy_people(lfw_mini, tmp_path_factory.mktemp("tiny") / "faces", ENROLLED + ONE_IMAGE)


@pytest.fixture
def write_experiment(tmp_path: Path, tiny_dataset: Path) -> Callable[..., Path]:
    """Write an experiment TOML into ``tmp_path``: ``write_experiment(extra=..., grid=...,
    dataset=...)``; returns its path."""

    def write(extra: str = "", grid: str = "", dataset: Path | None = None, name: str = "exp") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(EXPERIMENT.format(dataset=dataset or tiny_dataset, extra=extra, grid=grid))
        return path

    return write
