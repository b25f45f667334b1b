"""One geometry in every command, and batches that survive a bad file, through the real CLI.

``profiles show``, ``degrade`` and ``run`` give the same face position and the same answer to
"is the face in the frame?" (a ``warning:`` line, never a silent exit 0); a bad image among good
ones is named, the good ones are still written, and the exit status is 3 at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from evalharness.data.images import load_image
from evalharness.models.align import central_face
from evalharness.models.registry import get_detector
from evalharness.report.content import run_limitations
from evalharness.report.rundir import read_run

DATA_ERROR = 3
#: ir-two-lane's face is in the frame at 15 m and above it at 30 m (its aim is the plate at 20 m).
INSIDE, OUTSIDE = "distance_m=15", "distance_m=30"


def _face(lfw_mini: Path) -> Path:
    return lfw_mini / "Al_Gore" / "Al_Gore_0001.jpg"


def test_profiles_show_warns_when_the_face_is_outside_the_frame(cli):
    shown = cli("profiles", "show", "ir-two-lane", "--set", OUTSIDE, "--json")
    assert shown.code == 0 and json.loads(shown.out)["face_in_frame"] is False
    (warning,) = shown.err_lines
    assert warning.startswith("warning: ir-two-lane at distance_m=30: the face is at (")
    assert "px, outside the 1920x1200 frame; the camera as aimed would not see it" in warning
    inside = cli("profiles", "show", "ir-two-lane", "--set", INSIDE)
    assert inside.code == 0 and inside.err_lines == []


@pytest.mark.parametrize(("scene", "distance"), [
    ("flat", INSIDE),
    # The road scene at the profile's nominal distance; the stored frame shows the car alone.
    pytest.param("road", "distance_m=20", marks=pytest.mark.slow),
])
def test_degrade_frame_puts_the_face_where_profiles_show_says(cli, lfw_mini, tmp_path, scene, distance):
    figures = json.loads(cli("profiles", "show", "ir-two-lane", "--set", distance, "--json").out)
    result = cli("--quiet", "degrade", _face(lfw_mini), "--profile", "ir-two-lane", "--set", distance,
                 "--eyes", "lfw", "--frame", "--scene", scene, "--out", tmp_path)
    assert result.code == 0, result.err
    frame = load_image(tmp_path / "Al_Gore_0001_frame.jpg")
    (detected,) = get_detector("mtcnn", "cpu").detect([frame])
    index = central_face(detected.boxes, *frame.shape[-2:])
    eye_mid = detected.landmarks[index, :2].mean(axis=0)
    # The eye midpoint MTCNN finds in the stored frame is the geometry's face position.
    assert np.hypot(*(eye_mid - [figures["face_x_px"], figures["face_y_px"]])) < 0.5 * figures["ied_px"]
    assert (tmp_path / "Al_Gore_0001_frame_sheet.png").exists() == (scene == "road")


@pytest.mark.parametrize(("options", "message"), [
    (("--frame", "--scene", "beach"), "--scene must be one of flat, road (got 'beach')"),
    (("--scene", "road"), "--scene draws the full frame: give --frame too"),
    (("--frame", "--sun-visor"), "--sun-visor and --a-pillar need --frame --scene road"),
    (("--frame", "--scene", "flat", "--a-pillar"), "--sun-visor and --a-pillar need --frame --scene road"),
])
def test_degrade_refuses_scene_options_that_do_not_fit(cli, lfw_mini, tmp_path, options, message):
    result = cli("degrade", _face(lfw_mini), "--profile", "ir-two-lane", "--eyes", "lfw", *options,
                 "--out", tmp_path / "out")
    assert result.code == 2 and "Traceback" not in result.err
    assert message in " ".join(result.err.split())
    assert not (tmp_path / "out").exists()


def test_degrade_outside_the_frame_warns_and_writes_no_frame(cli, lfw_mini, tmp_path):
    result = cli("--quiet", "degrade", _face(lfw_mini), "--profile", "ir-two-lane", "--set", OUTSIDE,
                 "--eyes", "lfw", "--frame", "--out", tmp_path)
    assert result.code == 0 and "Traceback" not in result.err
    (warning,) = result.err_lines
    assert warning.startswith("warning: ir-two-lane at distance_m=30: the face is at (")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Al_Gore_0001.jpg", "Al_Gore_0001_sheet.png"]


def test_degrade_reports_a_bad_file_and_degrades_the_rest(cli, lfw_mini, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photograph\n")
    out = tmp_path / "out"
    result = cli("--quiet", "degrade", bad, _face(lfw_mini), "--profile", "control-passport", "--eyes", "lfw",
                 "--out", out)
    assert result.code == DATA_ERROR and "Traceback" not in result.err
    first, last = result.err_lines
    assert first.startswith(f"error: {bad}: ") and "not an image" in first
    assert last == "error: 1 of 2 file(s) could not be processed (each named above); the other 1 were processed"
    assert sorted(p.name for p in out.iterdir()) == ["Al_Gore_0001.jpg", "Al_Gore_0001_sheet.png"]


def test_run_warns_of_conditions_outside_the_frame_in_run_log(cli, write_experiment, tmp_path):
    experiment = write_experiment(grid='[[grid]]\nprofiles = ["ir-two-lane"]\nsweep = { distance_m = [15, 30] }')
    out = tmp_path / "run"
    result = cli("--quiet", "run", experiment, "--out", out, "--limit", "1", "--device", "cpu", "--no-report")
    assert result.code == 0, result.err
    (warning,) = result.err_lines
    assert warning.startswith("warning: 1 condition(s) place the face outside the camera's frame")
    assert "ir-two-lane distance_m=30" in warning
    log = (out / "run.log").read_text()
    assert "WARNING evalharness.run: ir-two-lane at distance_m=30: the face is at (" in log
    assert "distance_m=15: the face" not in log
    summary = {row["label"]: row["face_in_frame"] for row in json.loads((out / "summary.json").read_text())}
    assert summary == {"control-passport": True, "ir-two-lane distance_m=15": True,
                       "ir-two-lane distance_m=30": False}


def test_frame_mode_outside_the_frame_is_refused_before_the_run(cli, write_experiment, tmp_path):
    experiment = write_experiment(extra='probe_modes = ["frame"]',
                                  grid='[[grid]]\nprofiles = ["ir-two-lane"]\nsweep = { distance_m = [30] }')
    out = tmp_path / "run"
    result = cli("run", experiment, "--out", out, "--device", "cpu")
    assert result.code == 2 and "Traceback" not in result.err
    (line,) = result.err_lines
    assert line.startswith(f"error: {experiment}: probe_modes: 'frame' needs the face inside")
    assert "ir-two-lane distance_m=30 [frame]" in line
    assert not out.exists()


def test_eye_positions_agree_with_the_geometry_in_the_library(lfw_mini):
    """The same agreement without a detector: the frame's eye midpoint is the geometry's point."""
    from evalharness.camera.geometry import derive_geometry
    from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
    from evalharness.config.profile import load_profile
    from evalharness.seeding import probe_generator

    profile = load_profile("ir-two-lane", {"distance_m": 15})
    geo = derive_geometry(profile)
    capture = simulate(load_image(_face(lfw_mini))[None], torch.tensor(LFW_DEEPFUNNELED_EYES_PX)[None],
                       profile, [probe_generator(0, "g", "x")], full_frame=True)
    eye_mid = capture.eyes_px[0].mean(dim=0).tolist()
    assert np.allclose(eye_mid, [geo.face_x_px, geo.face_y_px], atol=0.5)


@pytest.mark.slow
def test_frame_mode_runs_draw_the_road_scene_when_asked(cli, write_experiment, tmp_path):
    """[frame] scene = "road": a run's frame-mode probes are the driver in the road scene (its
    condition JSON says so, the report's limitations too), not the flat grey frame."""
    grid = '[[grid]]\nprofiles = ["ir-two-lane"]\nsweep = { distance_m = [20] }'
    stored = {}
    for scene in ("flat", "road"):
        experiment = write_experiment(extra=f'probe_modes = ["frame"]\n[frame]\nscene = "{scene}"', grid=grid,
                                      name=scene)
        out = tmp_path / scene
        result = cli("--quiet", "run", experiment, "--out", out, "--device", "cpu", "--limit", "4", "--no-report")
        assert result.code == 0, result.err
        conditions = {path.stem: json.loads(path.read_text()) for path in (out / "conditions").glob("*.json")}
        (road_id,) = [key for key, value in conditions.items() if "ir-two-lane" in value["label"]]
        stored[scene] = conditions[road_id]
        (sample,) = [s["file"] for s in conditions[road_id]["samples"] if s["file"].endswith(".png")][:1]
        stored[scene]["pixels"] = load_image(out / sample)
        stored[scene]["limitations"] = " ".join(run_limitations(read_run(out)))
    assert stored["flat"]["frame_background"].startswith("flat grey")
    assert stored["road"]["frame_background"].startswith("road scene")
    # The same probe, the same noise seed: only what surrounds the face differs.
    assert stored["flat"]["pixels"].shape == stored["road"]["pixels"].shape
    assert not torch.equal(stored["flat"]["pixels"], stored["road"]["pixels"])
    assert "surrounded by: road scene" in stored["road"]["limitations"]
    assert "flat grey frame holds nothing" in stored["flat"]["limitations"]
