"""Where the project's shipped files live: configs, bundled datasets, the bibliography.

The harness runs from a checkout (``pip install -e .``); these paths are relative to it.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIGS_DIR = PROJECT_ROOT / "configs"
PROFILES_DIR = CONFIGS_DIR / "profiles"
EXPERIMENTS_DIR = CONFIGS_DIR / "experiments"
DATASETS_DIR = PROJECT_ROOT / "datasets"
DEFAULT_DATASET = DATASETS_DIR / "lfw-mini"
#: The bibliography every ``[REF: key]`` of the profiles and the report resolves against.
REFERENCES_FILE = PROJECT_ROOT / "docs" / "references.toml"
