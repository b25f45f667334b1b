"""``evalharness validate`` end to end on FRMDB development subjects, and its refusals."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.config.profile import load_profile
from evalharness.data.paired import open_paired
from evalharness.evaluation.validation_goal import criteria, verdict
from evalharness.evaluation.validation_summary import Corrections

CCTV = "configs/profiles/validation/frmdb-cctv.toml"
BIN_KEYS = {"ied_px_low", "ied_px_high", "n", "real_rank1", "sim_rank1", "gap", "gap_ci_low", "gap_ci_high"}
OVERALL_KEYS = {"n", "real_rank1", "sim_rank1", "gap", "gap_ci_low", "gap_ci_high", "real_detection",
                "sim_detection"}


@pytest.mark.slow
def test_validate_then_apply_its_corrections(cli, frmdb_paired, tmp_path: Path) -> None:
    real = frmdb_paired(["002", "003", "004"])
    first = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "dev", "--device", "cpu", "--draws", "2",
                "--json")
    assert first.code == 0, first.err
    figures = json.loads(first.out)
    assert OVERALL_KEYS <= set(figures["overall"])
    assert [(b["ied_px_low"], b["ied_px_high"]) for b in figures["bins"]] == \
        [(0, 12), (12, 20), (20, 30), (30, 50), (50, None)]
    assert all(BIN_KEYS <= set(b) for b in figures["bins"])
    rows = pd.read_parquet(tmp_path / "dev" / "probes.parquet")
    assert len(rows) == 15 and figures["undetected_real"] == int((~rows["real_detected"]).sum())
    detected = rows[rows["real_detected"]]
    assert figures["overall"]["n"] == len(detected)
    assert figures["overall"]["real_rank1"] == pytest.approx((detected["real_mate_rank"] == 1).mean())
    # Two simulations of each probe: its simulated outcome is the share of the two identified.
    assert (rows.loc[rows["simulated"], "sim_draws"] == 2).all()
    assert set(rows["sim_rank1_share"]) <= {0.0, 0.5, 1.0} and set(rows["sim_detected_share"]) <= {0.0, 0.5, 1.0}
    assert figures["overall"]["sim_rank1"] == pytest.approx(detected["sim_rank1_share"].mean())
    assert 0.0 <= figures["overall"]["sim_rank1_mc_se"] < 0.2
    assert json.loads((tmp_path / "dev" / "manifest.json").read_text())["draws"] == 2
    # Every detected face with a measured pose is turned within or beyond the widest source view.
    poses = {group["pose"]: group for group in figures["poses"]}
    assert set(poses) == {"turned at most 45 deg, as the sources", "turned more than 45 deg"}
    assert sum(group["n"] for group in poses.values()) == int(np.isfinite(detected["yaw_deg"]).sum())
    assert all(sum(group["n_per_bin"]) == group["n"] for group in poses.values())
    # Each simulation comes from another photograph than the gallery's frontal one, chosen by pose.
    assert not rows["source"].str.endswith("Img_33.png").any()
    # The pose fit's own reading of each chosen source (the instrument that reads the real face):
    # near its stated view (on all 165 development probes' sources, at most 35 degrees off).
    assert (rows["source_fitted_yaw_deg"] - rows["source_yaw_deg"]).abs().max() < 40.0
    for name in ("corrections.json", "summary.json", "manifest.json", "profiles/all.toml", "validation.html"):
        assert (tmp_path / "dev" / name).is_file(), name
    page = (tmp_path / "dev" / "validation.html").read_text(encoding="utf-8")
    assert "source photograph nearest its head pose" in page and "By head pose" in page
    assert "simulated 2 times with independent noise" in page and " of 2 draws)" in page

    second = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "held", "--device", "cpu",
                 "--calibration", tmp_path / "dev", "--json")
    assert second.code == 0, second.err
    corrected = json.loads(second.out)
    assert "pred_rank1" in corrected["overall"] and "pred_detection" in corrected["overall"]
    assert corrected["overall"]["gap"] == pytest.approx(
        corrected["overall"]["pred_rank1"] - corrected["overall"]["real_rank1"])
    page = (tmp_path / "held" / "validation.html").read_text(encoding="utf-8")
    assert "corrections fitted on" in page
    # The page states the corrections it applied and those fitted on its own probes.
    applied = Corrections.from_dict(json.loads((tmp_path / "dev" / "corrections.json").read_text()))
    assert f"Applied here: {html.escape(applied.describe())}" in page
    own = Corrections.from_dict(json.loads((tmp_path / "held" / "corrections.json").read_text()))
    assert html.escape(own.describe()) in page and "detection ratio cctv" in own.describe()
    # ... and whether the validation goal is met, judged on the corrected prediction.
    listed, judged_corrected = criteria(json.loads((tmp_path / "held" / "summary.json").read_text()))
    assert judged_corrected and "<h2>Goal</h2>" in page and html.escape(verdict(listed)) in page
    # Corrections fitted on the same simulation apply without a mismatch; fitted on these very
    # probes (this test applies them to the data they came from), they are said to be in sample.
    calibration = json.loads((tmp_path / "held" / "manifest.json").read_text())["calibration"]
    assert calibration["mismatches"] == [] and calibration["probes_in_fit"] == 15
    assert [line for line in second.err_lines if line.startswith("warning:")] == [
        f"warning: --calibration {tmp_path / 'dev'} was fitted on 15 of these 15 real probes (the same images): "
        "the corrected figures are in sample, not a prediction for new people"]
    assert "fitted on 15 of these real probes: the corrected figures are in sample" in page
    assert dict(zip(rows["relpath"], rows["sha256"], strict=True)) == {
        r.relpath: r.sha256 for r in open_paired(real).probes.records}
    # ... those of another simulation (another exposure match, profile and override) with a warning
    # naming each difference, kept in the manifest and on the page.
    other = cli("validate", real, "--profile", CCTV.replace("frmdb-cctv", "frmdb-cctv-measured"), "--out",
                tmp_path / "other", "--device", "cpu", "--calibration", tmp_path / "dev", "--exposure", "face",
                "--set", "subject_speed_mps=1.0")
    assert other.code == 0, other.err
    warned = [line for line in other.err_lines if line.startswith("warning: --calibration")
              and "in sample" not in line]
    mismatches = json.loads((tmp_path / "other" / "manifest.json").read_text())["calibration"]["mismatches"]
    assert len(warned) == len(mismatches) >= 4
    assert "exposure 'skin' there, 'face' here" in mismatches
    assert "overrides {} there, {'subject_speed_mps': 1.0} here" in mismatches
    measured_gain = load_profile(CCTV.replace("frmdb-cctv", "frmdb-cctv-measured")).gain_dn_per_e
    assert f"camera group '*': gain_dn_per_e 0.015 there, {measured_gain!r} here" in mismatches
    assert "by a simulation that differs from this one" in (tmp_path / "other" / "validation.html").read_text(
        encoding="utf-8")


def test_validate_refusals_name_the_problem(cli, frmdb_paired, tmp_path: Path) -> None:
    real = frmdb_paired(["002", "003"])
    fixed = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "a", "--set", "ied_px=20")
    assert fixed.code == 2 and "leave the resolution out" in fixed.err_lines[-1]
    never = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "a", "--draws", "0")
    assert never.code == 2 and "--draws 0: simulate each probe at least once" in never.err_lines[-1]
    broken = tmp_path / "broken"
    shutil.copytree(real, broken)
    shutil.rmtree(broken / "gallery" / "002")
    (broken / "gallery" / "other").mkdir()
    shutil.copyfile(real / "gallery" / "002" / "Img_33.png", broken / "gallery" / "other" / "x.png")
    missing = cli("validate", broken, "--profile", CCTV, "--out", tmp_path / "b")
    assert missing.code == 3 and "probes/002/Img_01.png: person '002' has no gallery" in missing.err_lines[-1]
    ungrouped = cli("validate", real, "--profile", f"hd-1920x1080={CCTV}", "--out", tmp_path / "d")
    assert ungrouped.code == 2 and "camera group 'cctv-352x288' (probes.csv) has no profile" in ungrouped.err_lines[-1]
    calibration = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "c",
                      "--calibration", tmp_path / "nowhere")
    assert calibration.code == 3 and "corrections.json: missing" in calibration.err_lines[-1]
    assert not (tmp_path / "c").exists()
    alone = cli("validate", frmdb_paired(["004"]), "--profile", CCTV, "--out", tmp_path / "e")
    assert alone.code == 3 and "gallery: holds 1 person" in alone.err_lines[-1]


@pytest.mark.slow
def test_validate_chooses_the_view_the_camera_geometry_gives(cli, frmdb_paired, tmp_path: Path) -> None:
    """--view camera: each source is the studio view nearest the camera's view of the face at the
    solved distance (here a camera 0.6 m above the eyes, on the walking line). With the landmarks'
    eye distances (--size eyes) the solved distances are longer than with the fitted faces', so more
    probes lie within the camera's reach, steep ones among them."""
    real = frmdb_paired(["002", "003"])
    done = cli("validate", real, "--profile", CCTV, "--set", "mounting_height_m=2.2", "--view", "camera",
               "--size", "eyes", "--out", tmp_path / "camera", "--device", "cpu", "--json")
    assert done.code == 0, done.err
    rows = pd.read_parquet(tmp_path / "camera" / "probes.parquet")
    reached = rows[rows["simulated"]]
    assert len(reached) >= 3
    # Elevation by hand: atan(height above the eyes / horizontal distance), no lateral offset.
    assert reached["camera_pitch_deg"].to_numpy() == pytest.approx(
        np.degrees(np.arctan2(2.2 - 1.6, reached["distance_m"].to_numpy())), abs=1e-6)
    assert (reached["camera_yaw_deg"] == 0).all()
    # The nearest of the person's non-gallery views: 30 deg above below 45 deg of elevation, 60 deg
    # above it, unless the detector finds no face in that one (MTCNN misses most of them: 003's).
    chosen = reached["source"].str.split("/").str[-1].to_numpy()
    steep = reached["camera_pitch_deg"].to_numpy() > 45.0
    assert (chosen[~steep] == "Img_32.png").all() and set(chosen[steep]) <= {"Img_31.png", "Img_32.png"}
    assert "Img_31.png" in chosen
    page = (tmp_path / "camera" / "validation.html").read_text(encoding="utf-8")
    assert "nearest the camera's view of the face" in page


@pytest.mark.slow
def test_validate_matches_each_simulation_to_its_real_probe(cli, frmdb_paired, tmp_path: Path) -> None:
    """By default each simulated face's skin is stored as bright as its real probe's, the subject walks
    where the head faces and the head is as large as the real one; ``--exposure profile --walk
    profile --size eyes`` keeps the profile's light and direction and matches the landmarks' eye
    distances. Probes without a detected face take their camera group's medians."""
    from evalharness.evaluation.validation import LEVEL_TOLERANCE_DN

    real = frmdb_paired(["002", "003"])
    done = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "matched", "--device", "cpu", "--json")
    assert done.code == 0, done.err
    rows = pd.read_parquet(tmp_path / "matched" / "probes.parquet")
    found = rows[rows["real_detected"] & rows["simulated"]]
    assert len(found) >= 5
    # 002's side view Img_23 (turned about 53 degrees) has its landmarks beyond the face, so the
    # probe simulated from it is matched on the lit skin of the box's centre; every other one on
    # the skin: the other real faces' landmarks read their skin (0.72-1.33 times their box's centre).
    by_box = found["sim_exposure_region"] == "lit"
    assert set(found.loc[by_box, "source"]) == {"002/Img_23.png"}
    on_skin = found[~by_box]
    assert len(on_skin) >= 5 and (abs(on_skin["sim_skin_dn"] - on_skin["real_skin_dn"]) <= LEVEL_TOLERANCE_DN).all()
    assert (abs(found.loc[by_box, "sim_lit_dn"] - found.loc[by_box, "real_lit_dn"]) <= LEVEL_TOLERANCE_DN).all()
    # The box's centre holds hair and background, which differ between studio and scene.
    assert (abs(found["sim_level_dn"] - found["real_level_dn"]) > LEVEL_TOLERANCE_DN).any()
    assert found["sim_subject_direction_deg"].to_numpy() == pytest.approx(found["yaw_deg"].abs().to_numpy())
    # Motion blur by hand: a level camera on the walking line sees sin(direction) of 1.4 m/s for
    # 1/50 s, at real_head_ied_px / 0.063 m pixels per metre.
    assert found["sim_motion_blur_px"].to_numpy() == pytest.approx(
        1.4 * 0.02 * np.sin(np.radians(found["yaw_deg"].abs().to_numpy()))
        * found["real_head_ied_px"].to_numpy() / 0.063)
    # The fitted face's eye distance does not shrink with yaw as the landmarks' does.
    turned = found["yaw_deg"].abs() > 30
    assert turned.sum() >= 2 and (found["real_head_ied_px"][turned] > 1.1 * found["real_ied_px"][turned]).all()
    # The CCTV faces are far darker than the studio photographs through the profile: less light.
    assert (found["sim_exposure_scale"] < 1.0).mean() > 0.5
    missed = rows[~rows["real_detected"] & rows["simulated"]]
    assert len(missed) >= 1
    assert (abs(missed["sim_skin_dn"] - found["real_skin_dn"].median()) <= LEVEL_TOLERANCE_DN).all()
    assert missed["sim_subject_direction_deg"].to_numpy() == pytest.approx(found["yaw_deg"].abs().median())
    page = (tmp_path / "matched" / "validation.html").read_text(encoding="utf-8")
    assert "skin was stored as bright as the real one's" in page and "walking where the head faces" in page
    assert "its head as large as the real one's" in page
    assert "On 1 of them the landmarks of the source photograph or of the real face missed the skin, so their " \
        "light was matched on the lit skin of the centre of the face box" in page
    meta = json.loads((tmp_path / "matched" / "manifest.json").read_text())
    assert (meta["exposure"], meta["walk"], meta["size"]) == ("skin", "facing", "head")

    plain = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "plain", "--device", "cpu",
                "--exposure", "profile", "--walk", "profile", "--size", "eyes")
    assert plain.code == 0, plain.err
    fitted = Corrections.from_dict(json.loads((tmp_path / "plain" / "corrections.json").read_text()))
    assert f"corrections fitted here: {fitted.describe()}" in plain.out  # the table's run prints them
    # Its session calibration reads the size that placed its simulations: the landmarks' here,
    # the fitted head's with the default --size head.
    assert fitted.size_column == "real_ied_px" and "log2 ied)))" in fitted.describe()
    matched = Corrections.from_dict(json.loads((tmp_path / "matched" / "corrections.json").read_text()))
    assert matched.size_column == "real_head_ied_px" and "log2 head ied)))" in matched.describe()
    # ... and the goal's verdict, here on the raw simulation (no corrections applied).
    listed, judged_corrected = criteria(json.loads((tmp_path / "plain" / "summary.json").read_text()))
    assert not judged_corrected and verdict(listed) in plain.out
    rows = pd.read_parquet(tmp_path / "plain" / "probes.parquet")
    simulated = rows[rows["simulated"]]
    assert (simulated["sim_exposure_scale"] == 1.0).all() and (simulated["sim_subject_direction_deg"] == 40.0).all()
    # The distance now comes from the landmarks' eye distance: the blur by hand at 40 degrees.
    assert simulated["sim_motion_blur_px"].to_numpy() == pytest.approx(
        1.4 * 0.02 * np.sin(np.radians(40.0)) * simulated["real_ied_px"].to_numpy() / 0.063)
    page = (tmp_path / "plain" / "validation.html").read_text(encoding="utf-8")
    assert "the profile's light on the face" in page and "the landmarks' inter-eye distance matched" in page
    wrong = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "wrong", "--exposure", "auto")
    assert wrong.code == 2 and "--exposure 'auto': choose face, skin or profile" in wrong.err_lines[-1]
    wrong = cli("validate", real, "--profile", CCTV, "--out", tmp_path / "wrong", "--size", "face")
    assert wrong.code == 2 and "--size 'face': choose head or eyes" in wrong.err_lines[-1]
