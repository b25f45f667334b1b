"""The run manifest: everything needed to say exactly what produced a run's numbers.

``manifest.json`` records the resolved experiment and its hash, the dataset fingerprint and
skipped files, each model's weights sha256, package versions, device, the processor whose
arithmetic computed it, seed, the git commit of the code, the command line, and start and end
times (UTC, ISO 8601).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
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


#: The processor flags that name vector instruction sets (AVX, AVX-512, AMX, FMA...).
VECTOR_FLAG = re.compile(r"^(avx|amx|fma)")
#: Environment variables that make torch, oneDNN or MKL choose other kernels than the processor's
#: best (pinned to AVX2, the default experiment moved 100 metrics on an AMX Xeon, 2026-12-02).
KERNEL_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR",
                    "MKL_ENABLE_INSTRUCTIONS")


def processor(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """The processor whose float arithmetic computed a run: another can sum in another order, round
    a score differently and flip a probe near a threshold (README, "Reproducible GPU runs in CI").

    ``model``: its name (``cpuinfo``, Linux's; else :func:`platform.processor`; None where neither
    says); ``vector_extensions``: its vector instruction sets, sorted (empty where ``cpuinfo`` is
    not readable), which decide the kernels that torch's oneDNN and MKL choose;
    ``torch_capability``: the set that torch's own kernels dispatch to (``"AVX2"``, ``"AVX512"``...);
    ``kernel_variables``: those of :data:`KERNEL_VARIABLES` that are set, with their values.
    """
    import torch  # only when a run is written, with torch loaded: the CLI's start must not load it

    fields: dict[str, str] = {}
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())  # the first processor's
    except OSError:
        pass
    return {"model": fields.get("model name") or platform.processor() or None,
            "vector_extensions": sorted(f for f in fields.get("flags", "").split() if VECTOR_FLAG.match(f)),
            "torch_capability": torch.backends.cpu.get_cpu_capability(),
            "kernel_variables": {name: os.environ[name] for name in KERNEL_VARIABLES if name in os.environ}}


def environment() -> dict[str, Any]:
    """Python, platform, processor and package versions, and the code's git state."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": processor(),
        "packages": package_versions(),
        "git": git_commit(Path(__file__).resolve().parent),
    }
