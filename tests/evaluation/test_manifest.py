"""The manifest records the processor whose arithmetic computed a run."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
import torch

from evalharness.evaluation.manifest import KERNEL_VARIABLES, processor

CPUINFO = Path("/proc/cpuinfo")


@pytest.mark.skipif(not CPUINFO.is_file(), reason="reads Linux's /proc/cpuinfo")
def test_processor_is_this_machines_model_vector_sets_and_torch_kernels():
    lines = CPUINFO.read_text().splitlines()
    flags = next(line for line in lines if line.startswith("flags")).split(":", 1)[1].split()
    found = processor()
    assert found["model"] == next(line for line in lines if line.startswith("model name")).split(":", 1)[1].strip()
    assert found["vector_extensions"] == sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    assert found["torch_capability"] == torch.backends.cpu.get_cpu_capability()


def test_without_cpuinfo_the_platform_names_the_processor_and_kernel_variables_are_kept(tmp_path, monkeypatch):
    for name in KERNEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert processor()["kernel_variables"] == {}
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    found = processor(tmp_path / "absent")
    assert found["model"] == (platform.processor() or None)
    assert found["vector_extensions"] == []
    assert found["kernel_variables"] == {"ONEDNN_MAX_CPU_ISA": "AVX2"}
