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
