"""The run manifest: everything needed to say exactly what produced a run's numbers.

``manifest.json`` records the resolved experiment and its hash, the dataset fingerprint and
skipped files, each model's weights sha256, package versions, device, seed, the git commit of
the code, the command line, and start and end times (UTC, ISO 8601).
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from evalharness.evaluation.conditions import canonical_json

#: Distributions whose versions can change a result.
PACKAGES = ("evalharness", "torch", "torchvision", "numpy", "scipy", "scikit-learn", "pillow",
            "facenet-pytorch", "opencv-python-headless", "pandas", "pyarrow")


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``config`` (hex)."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`PACKAGES` (None when absent)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(directory: Path) -> dict[str, Any]:
    """The commit checked out at ``directory`` and whether the tree has uncommitted changes;
    ``{"commit": None}`` outside a git checkout or without git. Only reads the repository."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True,
                                  text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def now_utc() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def environment() -> dict[str, Any]:
    """Python, platform and package versions, and the code's git state."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_commit(Path(__file__).resolve().parent),
    }
