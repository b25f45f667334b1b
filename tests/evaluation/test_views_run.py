"""Runs on multi-view studio photographs (FRMDB): each probe's view chosen by the camera's geometry,
and batches of photographs of several sizes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from evalharness.camera.simulate import simulate
from evalharness.config.profile import load_profile
from evalharness.data.images import load_image
from evalharness.data.views import View, read_views
from evalharness.evaluation.evaluator import _simulate_sizes
from evalharness.evaluation.runner import prepare
from evalharness.quality.pose import view_angles_deg
from evalharness.report.content import pose_limitation
from evalharness.report.rundir import read_run
from evalharness.seeding import probe_generator

#: FRMDB studio views: Img_XY, X the yaw index (2, 3, 4: -45, 0, +45 deg), Y the pitch index
#: (1, 2, 3: camera 60, 30, 0 deg above the eyes); frmdb-dev's README.
YAW_DEG = {"2": -45.0, "3": 0.0, "4": 45.0}
PITCH_DEG = {"1": 60.0, "2": 30.0, "3": 0.0}
SUBJECTS = ("001", "002", "003", "004", "005", "006", "007", "008")

EXPERIMENT = """
name = "views"
dataset = "{dataset}"
seed = 5
source_eyes = "detected"
bootstrap_resamples = 50
samples_per_condition = 1
[protocol]
gallery_choice = "frontal"
probe_view = "camera"
[[grid]]
profiles = ["ir-two-lane"]
sweep = {{ distance_m = [40] }}
[[grid]]
profiles = ["ir-two-lane"]
sweep = {{ distance_m = [12], lateral_offset_m = [10] }}
"""


@pytest.mark.slow
def test_each_condition_probes_with_the_view_nearest_its_camera(frmdb_dev: Path, tmp_path: Path) -> None:
    data = tmp_path / "studio"
    lines = ["path,yaw_deg,pitch_deg"]
    for subject in SUBJECTS:
        for photo in sorted((frmdb_dev / "mugshots" / subject).glob("Img_*.png")):
            (data / subject).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, data / subject / photo.name)
            x, y = photo.stem[-2], photo.stem[-1]
            lines.append(f"{subject}/{photo.name},{YAW_DEG[x]},{PITCH_DEG[y]}")
    (data / "views.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    experiment = tmp_path / "views.toml"
    experiment.write_text(EXPERIMENT.format(dataset=data), encoding="utf-8")

    out = tmp_path / "run"
    prepare(experiment, out, device="cpu").execute()
    views = read_views(data / "views.csv", {line.split(",")[0] for line in lines[1:]})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["views_sha256"]  # the views are part of what the run measured
    assert manifest["split"]["gallery_images"] == len(SUBJECTS)  # one frontal photograph each
    chosen, off_camera_deg = [], []
    for condition in manifest["conditions"]:
        stored = json.loads((out / "conditions" / f"{condition['id']}.json").read_text())
        rows = pd.read_parquet(out / "conditions" / f"{condition['id']}.parquet")
        yaw, pitch = stored["derived"]["yaw_deg"], stored["derived"]["pitch_deg"]
        # Every person is probed with one photograph: the non-gallery view nearest the camera's
        # (people whose photograph shows no detected face are left out, as in every run).
        candidates = sorted({v for v in views.values() if v != View(0.0, 0.0)}, key=lambda v: (v.yaw_deg, v.pitch_deg))
        angles = view_angles_deg(yaw, pitch, np.array([[v.yaw_deg, v.pitch_deg] for v in candidates]))
        nearest = candidates[int(np.argmin(angles))]
        assert len(rows) >= len(SUBJECTS) - 2
        assert {views[relpath] for relpath in rows["relpath"]} == {nearest}
        assert rows["identity"].is_unique
        assert stored["probe_views"] == [{"yaw_deg": nearest.yaw_deg, "pitch_deg": nearest.pitch_deg,
                                          "probes": len(rows),
                                          "off_camera_deg": pytest.approx(float(angles.min()), abs=1e-3)}]
        chosen.append(nearest)
        off_camera_deg.append(float(angles.min()))
    # At 40 m the camera sees the face from 7 degrees above, nearly straight: the 30-degree view
    # (the level one is the gallery's); 10 m to the side at 12 m, from 40 degrees to the side.
    assert chosen[0] == View(0.0, 30.0) and abs(chosen[1].yaw_deg) == 45.0
    # The report says what was done about pose, with the largest angle between view and camera.
    note = pose_limitation(read_run(out))
    assert "nearest the camera's view of the face" in note
    assert f"up to {max(off_camera_deg):.0f} degrees" in note


def test_photographs_of_several_sizes_are_simulated_as_one_by_one(frmdb_dev: Path) -> None:
    """A batch mixing source sizes (FRMDB's studio crops) gives each probe what it gets alone."""
    paths = [frmdb_dev / "mugshots" / subject / "Img_32.png" for subject in ("001", "002", "003")]
    faces = [load_image(path) for path in paths]
    assert len({face.shape for face in faces}) > 1
    eyes = torch.tensor([[[0.35 * f.shape[-1], 0.45 * f.shape[-2]], [0.65 * f.shape[-1], 0.45 * f.shape[-2]]]
                         for f in faces])
    profile = load_profile("ir-two-lane")

    def generators() -> list[torch.Generator]:
        return [probe_generator(1, "sizes", str(path)) for path in paths]

    together = _simulate_sizes(faces, eyes, profile, generators(), source_boxes_px=None, keep_stages=True)
    for i, face in enumerate(faces):
        alone = simulate(face[None], eyes[i:i + 1], profile, [generators()[i]], keep_stages=True)
        assert torch.equal(together.images[i], alone.images[0])
        assert together.jpeg[i] == alone.jpeg[0]
        assert torch.equal(together.face_boxes[i], alone.face_boxes[0])
        assert torch.equal(together.stages["optics"][i], alone.stages["optics"][0])
