"""Commands that need no model start without importing torch or the plotting and table stacks
(their import takes seconds on a small CPU); ``run`` imports the report's stack only at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "matplotlib", "pandas", "pyarrow", "skimage", "sklearn", "scipy")

#: Runs the CLI in-process on argv, then prints (on the last stdout line) which heavy modules
#: were imported.
PROBE = (
    "import json, sys\n"
    "from evalharness.cli import main\n"
    "code = main(sys.argv[1:])\n"
    f"print(json.dumps({{'code': code, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
)


def _imported(*argv: str) -> dict:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], env=environment, capture_output=True,
                          text=True, timeout=120, check=False)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [("--help",), ("profiles", "list"), ("run", "--help"),
                                  ("compare", "--help"), ("pairs", "--help")])
def test_light_commands_import_no_heavy_library(argv):
    found = _imported(*argv)
    assert found == {"code": 0, "heavy": []}


def test_a_model_command_does_import_torch():
    # The probe can see an import: `models` lists the weights through the registry (torch).
    assert "torch" in _imported("models", "--json")["heavy"]


def test_python_dash_m_runs_the_same_command_line():
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "evalharness", "profiles", "list"], env=environment,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "ir-two-lane" in done.stdout
    wrong = subprocess.run([sys.executable, "-m", "evalharness", "nonsense"], env=environment,
                           capture_output=True, text=True, timeout=120, check=False)
    assert wrong.returncode == 2
