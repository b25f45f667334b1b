"""Helpers shared by the CLI tests: which real LFW people (of the bundled lfw-mini) make the tiny
dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

#: Six people with several photographs (enrolled, mated probes) and four with one (non-mated).
ENROLLED = ["Abdoulaye_Wade", "Abel_Pacheco", "Al_Gore", "Al_Sharpton", "Alastair_Campbell",
            "Alejandro_Toledo"]
ONE_IMAGE = ["Abdel_Madi_Shabneh", "Ahmet_Demir", "Alexander_Lukashenko", "Alfred_Ford"]

#: A one-condition experiment that runs in seconds on a CPU; ``{extra}`` adds TOML lines.
EXPERIMENT = """
name = "cli-tiny"
dataset = "{dataset}"
seed = 5
source_eyes = "lfw-deepfunneled"
bootstrap_resamples = 20
samples_per_condition = 1
batch_size = 8
{extra}
[[grid]]
profiles = ["control-passport"]
{grid}
"""


def copy_people(source: Path, target: Path, names: list[str]) -> Path:
    """Copy the named identity folders of a ``<Name>/`` dataset (lfw-mini) into ``target``."""
    for name in names:
        shutil.copytree(source / name, target / name)
    return target
