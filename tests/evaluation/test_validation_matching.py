"""What validate matches each simulation to, from its real probe: the face's level (exposure)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from evalharness.camera.geometry import at_resolution
from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, Capture, simulate
from evalharness.config.profile import load_profile, with_overrides
from evalharness.data.images import load_image
from evalharness.evaluation.validation import (
    EXPOSURE_ITERATIONS,
    LEVEL_TOLERANCE_DN,
    Face,
    capture_landmarks,
    exposure_region,
    find_face,
    matched_exposure,
    reads_skin,
    simulate_source,
)
from evalharness.models import get_detector
from evalharness.quality.measures import LIT_QUANTILE, face_level_dn, skin_level_dn
from evalharness.seeding import probe_generator

# scripts/, on pytest's pythonpath (pyproject.toml)
import face_motion_blur

CCTV = Path(__file__).resolve().parents[2] / "configs" / "profiles" / "validation" / "frmdb-cctv.toml"


def _box_level(capture: Capture) -> float:
    """The level ``--exposure face`` matches: the centre of the true box."""
    return face_level_dn(capture.images[0].numpy(), capture.face_boxes[0].numpy())


@pytest.mark.parametrize(("target_dn", "tone_curve"), [(70.0, "srgb"), (180.0, "srgb"), (60.0, "linear")])
def test_exposure_brings_a_real_face_to_the_target_level(lfw_mini: Path, target_dn: float, tone_curve: str) -> None:
    """A real LFW face through the FRMDB CCTV profile at 20 px between the eyes reaches the
    target level within the tolerance, the scale moving the light the right way; each call is one
    full simulation with the same noise, so the result is the scale's own capture."""
    image = load_image(sorted(lfw_mini.glob("*/*_0001.jpg"))[0])
    profile = with_overrides(at_resolution(load_profile(CCTV), ied_px=20.0), {"tone_curve": tone_curve})
    calls: list[float] = []

    def simulate_at(scale: float) -> Capture:
        calls.append(scale)
        lit = with_overrides(profile, {"face_irradiance_w_m2": profile.face_irradiance_w_m2 * scale})
        return simulate(image[None], torch.tensor(LFW_DEEPFUNNELED_EYES_PX)[None], lit, [probe_generator(1, "t", "x")])

    plain = simulate_at(1.0)
    unscaled = face_level_dn(plain.images[0].numpy(), plain.face_boxes[0].numpy())
    calls.clear()
    capture, scale, level_dn = matched_exposure(simulate_at, target_dn, tone_curve, _box_level)
    assert abs(level_dn - target_dn) <= LEVEL_TOLERANCE_DN and len(calls) <= EXPOSURE_ITERATIONS
    assert scale == calls[-1] and level_dn == face_level_dn(capture.images[0].numpy(), capture.face_boxes[0].numpy())
    assert (scale < 1.0) == (target_dn < unscaled)


def test_exposure_stops_after_its_iterations_when_the_target_cannot_be_reached(lfw_mini: Path) -> None:
    """A target above white (255 DN cannot be the median of a face) ends after the last try with
    that try's capture and scale."""
    image = load_image(sorted(lfw_mini.glob("*/*_0001.jpg"))[0])
    profile = at_resolution(load_profile(CCTV), ied_px=20.0)
    calls: list[float] = []

    def simulate_at(scale: float) -> Capture:
        calls.append(scale)
        lit = with_overrides(profile, {"face_irradiance_w_m2": profile.face_irradiance_w_m2 * scale})
        return simulate(image[None], torch.tensor(LFW_DEEPFUNNELED_EYES_PX)[None], lit, [probe_generator(1, "t", "x")])

    _, scale, level_dn = matched_exposure(simulate_at, 300.0, "srgb", _box_level)
    assert len(calls) == EXPOSURE_ITERATIONS and scale == calls[-1] and level_dn < 300.0 - LEVEL_TOLERANCE_DN


def test_capture_landmarks_follow_the_source_through_the_camera() -> None:
    """By hand: placed eyes (40, 50) and (60, 50) stored at (10, 20) and (15, 20) (scale 0.25
    about the midpoints), so the nose at (50, 62) is stored at (12.5, 23); with ``size="head"``
    the eyes are first spread to the fitted 40 px, the scale halves and the nose lands at
    (12.5, 21.5)."""
    landmarks = np.array([[40, 50], [60, 50], [50, 62], [42, 70], [58, 70]], dtype=np.float32)
    eyes_face = Face(np.zeros(4, np.float32), landmarks, True, 0.0, 0.0, 40.0)
    capture = Capture(torch.zeros(1, 3, 32, 32), [b""], torch.zeros(1, 4),
                      torch.tensor([[[10.0, 20.0], [15.0, 20.0]]]), 5.0)
    stored = capture_landmarks(eyes_face, "eyes", capture)
    np.testing.assert_allclose(stored[:2], [[10, 20], [15, 20]])
    np.testing.assert_allclose(stored[2], [12.5, 23.0])
    np.testing.assert_allclose(capture_landmarks(eyes_face, "head", capture)[2], [12.5, 21.5])


def test_skin_exposure_brings_the_skin_of_a_real_face_to_the_target(lfw_mini: Path) -> None:
    """Matched on the skin (validate ``--exposure skin``), a real LFW face through the FRMDB CCTV
    profile reaches the target on the skin at its landmarks carried through the camera."""
    image = load_image(sorted(lfw_mini.glob("*/*_0001.jpg"))[0])
    source = find_face(image, get_detector("mtcnn", "cpu"))
    profile = at_resolution(load_profile(CCTV), ied_px=30.0)

    def simulate_at(scale: float) -> Capture:
        lit = with_overrides(profile, {"face_irradiance_w_m2": profile.face_irradiance_w_m2 * scale})
        return simulate(image[None], torch.from_numpy(source.placed_eyes_px("eyes")[None]), lit,
                        [probe_generator(1, "t", "x")])

    def skin(capture: Capture) -> float:
        return skin_level_dn(capture.images[0].numpy(), capture_landmarks(source, "eyes", capture))

    capture, _, level_dn = matched_exposure(simulate_at, 60.0, "srgb", skin)
    assert abs(level_dn - 60.0) <= LEVEL_TOLERANCE_DN and level_dn == skin(capture)
    assert abs(face_level_dn(capture.images[0].numpy(), capture.face_boxes[0].numpy()) - level_dn) > 0.1


def _studio(landmarks: list[list[float]]) -> tuple[torch.Tensor, Face]:
    """A 100 px photograph: a dark backdrop (0.1), a face at 0.8 filling the box 20-60 x 20-80,
    and a face record with that box and ``landmarks``."""
    image = torch.full((3, 100, 100), 0.1)
    image[:, 20:80, 20:60] = 0.8
    face = Face(np.array([20, 20, 60, 80], np.float32), np.array(landmarks, np.float32), True, 0.0, 0.0, 20.0)
    return image, face


#: A real probe whose skin discs read its skin (ratio 1 to its box's centre).
REAL_ON_SKIN = {"skin": 100.0, "face": 100.0}


def test_exposure_region_keeps_the_skin_only_where_the_source_landmarks_lie_on_the_face() -> None:
    """The skin discs read 204 DN on the face, as its box's centre does (ratio 1: the skin); with
    the nose tip and the far eye beyond the face's edge (x = 60), as the detector places them on a
    turned face, more than half of the discs' pixels lie on the backdrop and the discs read 25.5
    DN, 0.125 of the box's centre: the lit skin of the box's centre is matched instead."""
    on_face, face = _studio([[30, 40], [50, 40], [40, 55], [32, 65], [48, 65]])
    assert exposure_region(on_face, face, real_levels_dn=REAL_ON_SKIN) == "skin"
    off_face, face = _studio([[45, 40], [75, 38], [78, 55], [50, 65], [70, 64]])
    assert skin_level_dn(off_face.numpy(), face.landmarks) == pytest.approx(0.1 * 255)
    assert exposure_region(off_face, face, real_levels_dn=REAL_ON_SKIN) == "lit"


def test_exposure_region_leaves_the_skin_where_the_real_probes_landmarks_miss_it() -> None:
    """A source that reads its skin is still matched on the box's centre (its lit skin) when the real probe's discs
    read outside 0.5-2 times its box's centre (FRMDB 014/Img_04: 210.6 against 23.9 DN, 8.8) or read
    nothing (NaN); at exactly 2 they read the skin, just above it not."""
    image, face = _studio([[30, 40], [50, 40], [40, 55], [32, 65], [48, 65]])
    assert exposure_region(image, face, real_levels_dn={"skin": 210.6, "face": 23.9}) == "lit"
    assert exposure_region(image, face, real_levels_dn={"skin": float("nan"), "face": 50.0}) == "lit"
    assert exposure_region(image, face, real_levels_dn={"skin": 45.0, "face": 50.0}) == "skin"
    assert reads_skin(100.0, 50.0) and reads_skin(25.0, 50.0)
    assert not reads_skin(100.5, 50.0) and not reads_skin(24.5, 50.0)
    assert reads_skin(1.5, 0.0)  # a black box's centre counts as 1 DN: no division by zero


def test_exposure_region_of_real_studio_views(frmdb_dev: Path) -> None:
    """On FRMDB's studio photographs of person 046 filmed from 30 degrees above the eyes: from 45
    degrees to the side (``Img_42``, a near-profile, fitted yaw 65 degrees) MTCNN places the far
    eye and the nose tip beyond the face, and the skin discs read about 18 DN against 211 on the
    box's centre; from in front (``Img_32``) they read the skin (docs/VALIDATION.md, "Skin read
    off the face")."""
    detector = get_detector("mtcnn", "cpu")
    regions = {}
    for view in ("Img_32", "Img_42"):
        image = load_image(frmdb_dev / "mugshots" / "046" / f"{view}.png")
        regions[view] = exposure_region(image, find_face(image, detector), real_levels_dn=REAL_ON_SKIN)
    assert regions == {"Img_32": "skin", "Img_42": "lit"}


def test_real_probes_landmarks_beyond_a_turned_face_miss_its_skin(frmdb_dev: Path) -> None:
    """On FRMDB's real CCTV crops of person 014: turned about 56 degrees (``Img_04``), MTCNN places
    the nose tip and the far eye beyond the dark, bearded face's profile on the lit wall behind it,
    and the skin discs read about 211 DN against 24 on the box's centre; turned about 37 degrees
    (``Img_01``) they read the skin, as bright as the box's centre (docs/VALIDATION.md, "The real
    faces' landmarks off the face")."""
    detector = get_detector("mtcnn", "cpu")
    levels = {}
    for probe in ("Img_01", "Img_04"):
        image = load_image(frmdb_dev / "surveillance" / "014" / f"{probe}.png")
        face = find_face(image, detector)
        levels[probe] = (skin_level_dn(image.numpy(), face.landmarks), face_level_dn(image.numpy(), face.box))
    assert reads_skin(*levels["Img_01"]) and not reads_skin(*levels["Img_04"])
    assert levels["Img_04"][0] > 150.0 > 50.0 > levels["Img_04"][1]


def test_lit_level_stands_for_a_real_faces_skin_where_its_median_does_not(frmdb_dev: Path) -> None:
    """On FRMDB's real CCTV crop of person 007 turned about 39 degrees (``Img_04``), whose
    landmarks read the skin at about 105 DN, the box's centre holds dark hair too: its median reads
    about 63 DN, 40% below the skin, and its lit level (:data:`LIT_QUANTILE`) about 98, within 10%
    of it. That level is what a face whose landmarks miss the skin is matched on (docs/VALIDATION.md,
    "The lit share of the face's centre")."""
    image = load_image(frmdb_dev / "surveillance" / "007" / "Img_04.png")
    face = find_face(image, get_detector("mtcnn", "cpu"))
    skin_dn = skin_level_dn(image.numpy(), face.landmarks)
    assert reads_skin(skin_dn, face_level_dn(image.numpy(), face.box))
    assert face_level_dn(image.numpy(), face.box) < 0.7 * skin_dn
    assert face_level_dn(image.numpy(), face.box, quantile=LIT_QUANTILE) == pytest.approx(skin_dn, rel=0.1)


def test_draws_differ_in_noise_alone_and_draw_0_is_the_single_simulation(lfw_mini: Path) -> None:
    """``validate --draws``: each draw of a probe is the same face through the same camera with its
    own noise; draw 0 is what a single simulation of that probe stores, so runs of one draw keep
    the figures of runs made before draws."""
    image = load_image(sorted(lfw_mini.glob("*/*_0001.jpg"))[0])
    source = find_face(image, get_detector("mtcnn", "cpu"))
    profile = at_resolution(load_profile(CCTV), ied_px=20.0)
    one = simulate_source(image, source, profile, seed=3, camera="c", key="p/x.png", size="head")
    three = simulate_source(image, source, profile, seed=3, camera="c", key="p/x.png", size="head", draws=range(3))
    assert three.images.shape[0] == 3 and torch.equal(three.images[0], one.images[0])
    assert torch.equal(three.face_boxes, one.face_boxes.expand(3, -1))
    differences = [float((three.images[i] - three.images[j]).abs().mean() * 255) for i, j in ((0, 1), (0, 2), (1, 2))]
    # Different noise (the profile's sensor noise, about 1 DN), the same face: the draws' means agree.
    assert min(differences) > 0.1
    assert float((three.images.mean(dim=(1, 2, 3)) - one.images.mean()).abs().max() * 255) < 0.5


def test_motion_blur_crossing_by_hand() -> None:
    """``scripts/face_motion_blur.py``: where real - simulated (rising with the factor) reaches
    zero, linear between grid points, and the two ends of the grid."""
    crossing = face_motion_blur.crossing
    factors = [0.0, 0.5, 1.0, 2.0]
    assert crossing(factors, [-1.0, -0.5, 0.5, 1.0]) == pytest.approx(0.75)
    assert crossing(factors, [-1.0, -0.2, -0.1, 0.3]) == pytest.approx(1.25)
    assert crossing(factors, [0.0, 0.5, 1.0, 2.0]) == 0.0
    assert crossing(factors, [0.1, 0.5, 1.0, 2.0]) == -np.inf
    assert crossing(factors, [-3.0, -2.0, -1.0, -0.5]) == np.inf


@pytest.mark.slow
def test_motion_blur_script_on_real_probes(frmdb_paired, tmp_path: Path) -> None:
    """``scripts/face_motion_blur.py`` on a validation of two FRMDB people: one row per real,
    detected and simulated probe; a faster walk takes power from along the rows of (nearly) every
    simulated face; the summary's factor lies inside its interval."""
    import pandas as pd

    from evalharness.evaluation.validate_run import validate

    validate(frmdb_paired(["002", "003"]), [str(CCTV)], {}, tmp_path / "v", device="cpu")
    factors = [0.0, 1.0, 3.0]
    table = face_motion_blur.measure(tmp_path / "v", factors)
    rows = pd.read_parquet(tmp_path / "v" / "probes.parquet")
    assert len(table) == int((rows["real_detected"] & rows["simulated"]).sum()) >= 5
    assert table["real"].notna().all()
    assert (table["sim_0"] > table["sim_3"]).mean() >= 0.7
    summary = face_motion_blur.summarize(table, factors, resamples=50, seed=0).iloc[0]
    assert summary["camera"] == "cctv-352x288" and summary["n"] == len(table)
    assert summary["factor_ci_low"] <= summary["factor"] <= summary["factor_ci_high"]
    # The box's centre only, the probes turned as their sources are (both read by the pose fit),
    # and the factors of a given speed rather than the profile's.
    inner = face_motion_blur.measure(tmp_path / "v", factors, share=0.6, pose_within_deg=15.0, speed_mps=2.8)
    matched = rows[rows["real_detected"] & rows["simulated"]
                   & ((rows["yaw_deg"] - rows["source_fitted_yaw_deg"]).abs() <= 15.0)]
    assert 0 < len(inner) < len(table) and sorted(inner["relpath"]) == sorted(matched["relpath"])
    whole = table.set_index("relpath").loc[inner["relpath"]]
    assert (inner["real"].to_numpy() != whole["real"].to_numpy()).all()  # another region of the same face
    assert (inner["sim_0"] > inner["sim_3"]).all()  # 8.4 m/s across the face: every face loses power along the rows


def test_a_turned_source_s_eyes_are_spread_to_its_fitted_face() -> None:
    """--size head: the eye pair the camera places is spread about its midpoint from the
    landmarks' distance to the fitted face's, so the camera scales the head; --size eyes keeps it."""
    from evalharness.evaluation.validation import _face
    from evalharness.quality.pose import project_landmarks

    points = project_landmarks(yaw_deg=45.0, pitch_deg=0.0, roll_deg=0.0, ied_px=40.0) + [100.0, 90.0]
    points = points.astype(np.float32)
    face = _face(np.array([60.0, 50.0, 140.0, 150.0], np.float32), points, True)
    assert face.ied_px == pytest.approx(40.0 * np.cos(np.radians(45.0)), rel=1e-3)
    assert face.head_ied_px == pytest.approx(40.0, rel=1e-3)
    eyes = face.placed_eyes_px("head")
    assert np.hypot(*(eyes[1] - eyes[0])) == pytest.approx(40.0, rel=1e-3)
    assert eyes.mean(axis=0) == pytest.approx(points[:2].mean(axis=0), abs=1e-4)
    assert np.array_equal(face.placed_eyes_px("eyes"), points[:2])


def test_calibration_mismatches_by_hand(tmp_path: Path) -> None:
    """A calibration run made alike: nothing; one from an older evalharness without the exposure
    or models recorded, with another profile value: each named; the description does not count."""
    from evalharness.evaluation.validate_run import calibration_mismatches

    here = {"view_choice": "pose", "exposure": "skin", "walk": "facing", "size": "head", "overrides": {},
            "models": {"detector": {"name": "mtcnn", "weights_sha256": "a" * 64}}, "profiles": {"*": {}}}
    for run, manifest, toml in ((tmp_path / "same", here, 'gain_dn_per_e = 0.1\ndescription = "x"\n'),
                                (tmp_path / "old", {k: v for k, v in here.items() if k not in ("exposure", "models")},
                                 'gain_dn_per_e = 0.2\ndescription = "x"\n'),
                                (tmp_path / "run", here, 'gain_dn_per_e = 0.1\ndescription = "y"\n')):
        (run / "profiles").mkdir(parents=True)
        (run / "manifest.json").write_text(json.dumps(manifest))
        (run / "profiles" / "all.toml").write_text(toml)
    assert calibration_mismatches(tmp_path / "same", here, tmp_path / "run") == []
    assert calibration_mismatches(tmp_path / "old", here, tmp_path / "run") == [
        "exposure 'not recorded' there, 'skin' here",
        "detector not recorded there, mtcnn (weights aaaaaaaaaaaa) here",
        "camera group '*': gain_dn_per_e 0.2 there, 0.1 here"]
