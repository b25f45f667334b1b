"""``evalharness quality`` on real LFW photographs degraded by a shipped profile."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
from evalharness.config.profile import load_profile
from evalharness.data.images import load_image
from evalharness.seeding import probe_generator


def _quality(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``evalharness quality ARGS``."""
    import evalharness.cli.quality  # noqa: F401  registers the command
    from evalharness.cli import main

    code = main(["quality", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _degraded(lfw_mini: Path, folder: Path, distance_m: float) -> Path:
    """An lfw-mini photograph as ir-two-lane stores it at ``distance_m``."""
    source = min(lfw_mini.glob("*/*_0001.jpg"))
    profile = load_profile("ir-two-lane", {"distance_m": distance_m})
    capture = simulate(load_image(source)[None], torch.tensor(LFW_DEEPFUNNELED_EYES_PX)[None], profile,
                       [probe_generator(5, "still", source.name)])
    path = folder / f"still-{distance_m:g}m.jpg"
    path.write_bytes(capture.jpeg[0])
    return path


@pytest.mark.parametrize("distance_m", [10.0, 40.0])
def test_rate_is_consistent_with_the_run(quality_run: Path, lfw_mini: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str], distance_m: float) -> None:
    still = _degraded(lfw_mini, tmp_path, distance_m)
    code, out, _ = _quality(capsys, str(still), "--run", str(quality_run), "--json")
    assert code == 0
    result = json.loads(out)["results"][0]
    face = result["faces"][0]
    summary = pd.read_csv(quality_run / "summary.csv")
    row = summary[summary["label"] == f"ir-two-lane distance_m={distance_m:g}"].iloc[0]
    estimate = face["estimate"]
    # The estimate's interval overlaps the run's own interval for the condition that made the image.
    assert estimate["rank1_ci_low"] <= row["rank1_ci_high"] and row["rank1_ci_low"] <= estimate["rank1_ci_high"]
    assert face["nearest_conditions"][0]["label"] == row["label"]
    assert "psnr_db" not in face["measures"] and "ssim" not in face["measures"]


def test_text_output_names_the_estimate_and_simulation_only_measures(
        quality_run: Path, lfw_mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _quality(capsys, str(_degraded(lfw_mini, tmp_path, 20.0)), "--run", str(quality_run))
    assert code == 0
    assert "expected rank-1 identification rate" in out and "95% CI" in out
    assert "nearest simulated conditions: ir-two-lane" in out
    assert "simulation-only" in out


def test_a_face_beyond_the_run_is_flagged(quality_run: Path, lfw_mini: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A real photograph enlarged 2.5 times: eyes about 105 px apart, more than any face of the
    run (the passport control's are about 90 px)."""
    enlarged = tmp_path / "enlarged.jpg"
    with Image.open(min(lfw_mini.glob("*/*_0001.jpg"))) as picture:
        picture.resize((625, 625), Image.Resampling.BICUBIC).save(enlarged, quality=90)
    code, out, _ = _quality(capsys, str(enlarged), "--run", str(quality_run))
    assert code == 0
    assert "WARNING: outside the range this run covered" in out and "OUTSIDE the run's range" in out


def test_no_face_is_reported(quality_run: Path, lfw_mini: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """A real photograph's background corner: no face, said plainly, exit 0."""
    source = min(lfw_mini.glob("*/*_0001.jpg"))
    corner = tmp_path / "corner.png"
    with Image.open(source) as picture:
        picture.crop((0, 0, 60, 60)).save(corner)
    code, out, _ = _quality(capsys, str(corner), "--run", str(quality_run), "--json")
    assert code == 0
    result = json.loads(out)["results"][0]
    assert result["faces"] == [] and "no face found" in result["message"]


def test_a_run_without_curves_exits_with_a_data_error(tmp_path: Path, lfw_mini: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    still = min(lfw_mini.glob("*/*_0001.jpg"))
    code, _, err = _quality(capsys, str(still), "--run", str(tmp_path))
    assert code == 3
    assert "quality.json: missing" in err


def test_a_bad_file_is_reported_and_the_others_placed(quality_run: Path, lfw_mini: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photograph\n")
    still = _degraded(lfw_mini, tmp_path, 10.0)
    code, out, err = _quality(capsys, str(bad), str(still), "--run", str(quality_run), "--json")
    assert code == 3 and "Traceback" not in err
    result = json.loads(out)
    assert [r["image"] for r in result["results"]] == [str(still)] and result["failed"] == [str(bad)]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors[0].startswith(f"error: {bad}: ") and "1 of 2 file(s) could not be processed" in errors[1]


FACE_KEYS = {"expected_rank1", "expected_rank1_ci_low", "expected_rank1_ci_high", "gallery_size", "ied_px",
             "yaw_deg", "pitch_deg", "validated"}


def test_one_expected_rate_per_face_from_the_stated_model(quality_run: Path, lfw_mini: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from evalharness.evaluation.expected_rate import fit_rate_model
    from evalharness.evaluation.quality_curves import read_probes, read_quality

    stills = [_degraded(lfw_mini, tmp_path, d) for d in (10.0, 40.0)]
    code, out, _ = _quality(capsys, *map(str, stills), "--run", str(quality_run), "--json")
    assert code == 0
    assert "NaN" not in out                                   # valid JSON: null, never NaN
    near, far = (json.loads(out)["results"][i]["faces"][0] for i in (0, 1))
    assert FACE_KEYS <= set(near) and near["validated"] is False
    manifest = json.loads((quality_run / "manifest.json").read_text())
    assert near["gallery_size"] == manifest["split"]["gallery_identities"]
    # The same model refitted here gives the same number at the face's IED; nearer is better.
    model = fit_rate_model(read_probes(quality_run, read_quality(quality_run)), near["gallery_size"])
    assert near["expected_rank1"] == pytest.approx(model.predict(near["ied_px"])[0])
    assert near["expected_rank1_ci_low"] <= near["expected_rank1"] <= near["expected_rank1_ci_high"]
    assert near["ied_px"] > far["ied_px"] and near["expected_rank1"] > far["expected_rank1"]


def test_validation_moves_the_rate_by_its_gap(quality_run: Path, lfw_mini: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    still = _degraded(lfw_mini, tmp_path, 20.0)
    _, out, _ = _quality(capsys, str(still), "--run", str(quality_run), "--json")
    plain = json.loads(out)["results"][0]["faces"][0]
    # A validation that found the model 0.2 too optimistic at every IED, +-0.05.
    bins = [{"ied_px_low": low, "ied_px_high": high, "n": 20, "gap": 0.2, "gap_ci_low": 0.15, "gap_ci_high": 0.25}
            for low, high in ((0, 12), (12, 20), (20, 30), (30, 50), (50, None))]
    validation = tmp_path / "validation"
    validation.mkdir()
    (validation / "summary.json").write_text(json.dumps({"raw": {"bins": bins}}))
    _, out, _ = _quality(capsys, str(still), "--run", str(quality_run), "--validation", str(validation), "--json")
    checked = json.loads(out)["results"][0]["faces"][0]
    assert checked["validated"] is True
    assert checked["expected_rank1"] == pytest.approx(max(0.0, plain["expected_rank1"] - 0.2))
    assert checked["expected_rank1_ci_high"] - checked["expected_rank1_ci_low"] >= \
        min(plain["expected_rank1_ci_high"] - plain["expected_rank1_ci_low"], 0.1) - 1e-9


def test_pose_outside_the_run_gets_no_number() -> None:
    import numpy as np

    from evalharness.evaluation.expected_rate import RateModel, expected_rank1

    model = RateModel(np.array([-4.0, 1.0]), np.array([[-4.2, 1.0], [-3.8, 1.0]]), (5.0, 90.0),
                      (-20.0, 20.0, -10.0, 15.0), 140, 1000)
    # log2(16) = 4: logit 0, p = 0.5; the bootstrap fits give 0.45-0.55.
    inside = expected_rank1(model, ied_px=16.0, yaw_deg=25.0, pitch_deg=0.0)
    assert inside["expected_rank1"] == pytest.approx(0.5)
    assert inside["expected_rank1_ci_low"] == pytest.approx(1 / (1 + np.exp(0.2)), abs=0.01)
    side_on = expected_rank1(model, ied_px=16.0, yaw_deg=60.0, pitch_deg=0.0)
    assert side_on["expected_rank1"] is None and "outside the poses" in side_on["notes"][0]
