"""Helpers shared by the CLI tests: which real LFW people make the tiny dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

#: Six people with several photographs (enrolled, mated probes) and four with one (non-mated).
ENROLLED = ["Aaron_Peirsol", "Aaron_Sorkin", "Abdel_Nasser_Assidi", "Abdoulaye_Wade", "Abdullah",
            "Abdullah_al-Attiyah"]
ONE_IMAGE = ["AJ_Cook", "Aaron_Eckhart", "Aaron_Patterson", "Aaron_Pena"]

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
    """Copy the named identity folders of an ``images/<Name>/`` dataset into ``target``."""
    for name in names:
        shutil.copytree(source / "images" / name, target / name)
    return target
