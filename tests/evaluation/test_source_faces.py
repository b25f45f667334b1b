"""With detected source eyes, a probe whose photograph shows no face is left out and counted,
never simulated from the LFW default eye positions (which would put hair where the face is)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from evalharness.evaluation.runner import prepare

EXPERIMENT = """
name = "no-face-source"
dataset = "{dataset}"
seed = 11
source_eyes = "detected"
bootstrap_resamples = 20
samples_per_condition = 1
batch_size = 8
[protocol]
mated_per_identity = 1
nonmated_identities = 2
[[grid]]
profiles = ["control-passport"]
"""


@pytest.mark.slow
def test_probe_without_a_source_face_is_excluded_and_counted(lfw_mini: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    people = sorted(p.name for p in lfw_mini.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) >= 3)[:4]
    singles = sorted(p.name for p in lfw_mini.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) == 1)[:2]
    for name in people + singles:
        shutil.copytree(lfw_mini / name, data / name)
    # Every image of the first person after the enrolment one is blank: no face to find.
    blank = Image.fromarray(np.full((250, 250, 3), 128, np.uint8))
    for path in sorted((data / people[0]).glob("*.jpg"))[1:]:
        blank.save(path)
    experiment = tmp_path / "e.toml"
    experiment.write_text(EXPERIMENT.format(dataset=data), encoding="utf-8")
    run = prepare(experiment, tmp_path / "run", device="cpu")
    run.execute()
    rows = pd.read_parquet(next((tmp_path / "run" / "conditions").glob("*.parquet")))
    assert people[0] not in set(rows["identity"])                  # left out
    assert set(people[1:]) <= set(rows["identity"])                # the others evaluated
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["dataset"]["source_faces_not_detected"] >= 1   # and counted
