"""The extended tests' data rule (tests/conftest.py): tests that need the shared LFW data carry
the ``shared_data`` marker; without the data they are skipped with a one-line reason, unless
EVALHARNESS_SHARED is set, which makes the data required (a missing folder fails them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_shared_data_tests_are_marked_and_required_when_evalharness_shared_is_set(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "shared_data",
         "tests/models/test_models_lfw_protocol.py", "tests/cli/test_cli_help.py"],
        cwd=REPO, env=os.environ | {"EVALHARNESS_SHARED": str(absent)}, capture_output=True, text=True,
        check=False, timeout=600)
    assert result.returncode == 1, result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]
    # Only the tests that read LFW's pairs and people files were selected, and each failed in
    # its (data) fixture, which pytest reports as an error.
    assert len(failed) == 2 and all("test_models_lfw_protocol.py::" in line for line in failed)
    assert f"shared data missing: {absent / 'data' / 'lfw-devtrain' / 'images'}" in result.stdout
    assert "EVALHARNESS_SHARED is set, so it is required" in result.stdout
    assert "deselected" in result.stdout  # the help tests need no shared data
