"""Per-probe random generators, so a probe degrades identically on every run.

A probe's seed depends only on (run seed, condition id, image key), never on batch order
or device, so any single probe can be reproduced alone.
"""

from __future__ import annotations

import hashlib

import torch


def probe_seed(run_seed: int, condition_id: str, image_key: str) -> int:
    """A 63-bit seed derived from the run seed, the condition id and the image key."""
    digest = hashlib.sha256(f"{run_seed}\x1f{condition_id}\x1f{image_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def probe_generator(run_seed: int, condition_id: str, image_key: str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded by :func:`probe_seed`.

    Noise is drawn on the CPU from this generator and moved to the run's device, so CPU and
    GPU runs draw the same numbers.
    """
    generator = torch.Generator(device="cpu")
    generator.manual_seed(probe_seed(run_seed, condition_id, image_key))
    return generator
