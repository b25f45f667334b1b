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
    # Alone, it is still listed in the JSON a script reads, not only on stderr.
    code, out, err = _quality(capsys, str(bad), "--run", str(quality_run), "--json")
    assert code == 3 and json.loads(out)["results"] == [] and json.loads(out)["failed"] == [str(bad)]
    assert [line for line in err.splitlines() if line.startswith("error: ")][0].startswith(f"error: {bad}: ")


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
    assert near["expected_rank1"] == pytest.approx(model.predict(ied_px=near["ied_px"])[0])
    assert near["expected_rank1_ci_low"] <= near["expected_rank1"] <= near["expected_rank1_ci_high"]
    assert near["ied_px"] > far["ied_px"] and near["expected_rank1"] > far["expected_rank1"]


@pytest.mark.slow
def test_validation_gives_a_validated_rate_for_turned_faces(quality_run: Path, frmdb_paired, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Real FRMDB surveillance images rated from a validation of their camera: numbers where the
    LFW run has seen no such pose, the validation's gallery size, the validated model's value."""
    import evalharness.cli.validate  # noqa: F401  registers the command
    from evalharness.cli import main
    from evalharness.evaluation.expected_rate import fit_validated_model
    from evalharness.evaluation.validate_run import read_corrections

    real = frmdb_paired(["002", "003", "004", "005"])
    validation = tmp_path / "validation"
    assert main(["validate", str(real), "--profile", "configs/profiles/validation/frmdb-cctv.toml",
                 "--out", str(validation), "--device", "cpu"]) == 0
    rows = pd.read_parquet(validation / "probes.parquet")
    detected = rows[rows["real_detected"]]
    images = [str(real / "probes" / relpath) for relpath in detected["relpath"]]
    capsys.readouterr()
    _, plain_out, _ = _quality(capsys, *images, "--run", str(quality_run), "--json")
    code, out, _ = _quality(capsys, *images, "--run", str(quality_run), "--validation", str(validation), "--json")
    assert code == 0
    plain = [face for r in json.loads(plain_out)["results"] for face in r["faces"][:1]]
    checked = [face for r in json.loads(out)["results"] for face in r["faces"][:1]]
    model = fit_validated_model(rows, 4, size_column=read_corrections(validation).size_column)
    assert all(face["validated"] and face["gallery_size"] == 4 for face in checked)
    rated = [face for face in checked if face["expected_rank1"] is not None]
    for face in rated:
        assert face["expected_rank1"] == pytest.approx(model.predict(
            ied_px=face["ied_px"], yaw_deg=face["yaw_deg"], pitch_deg=face["pitch_deg"])[0])
        assert face["expected_rank1_ci_low"] <= face["expected_rank1"] <= face["expected_rank1_ci_high"]
    # The surveillance poses the LFW run never simulated get no number from it, but one here.
    assert len(rated) > sum(face["expected_rank1"] is not None for face in plain)


def _validation_rows(people: int, seed: int) -> pd.DataFrame:
    """Rows of a validation run whose real outcome follows its simulation's margin, which grows
    with the inter-eye distance and falls with head yaw."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = people * 4
    ied_px = 2.0 ** rng.uniform(3, 6.5, n)
    yaw_deg = rng.uniform(-50, 50, n)
    margin = 0.08 * (np.log2(ied_px) - 4.5) - 0.002 * np.abs(yaw_deg) + rng.normal(0, 0.05, n)
    real_hit = rng.random(n) < 1 / (1 + np.exp(-12 * margin))
    return pd.DataFrame({
        "identity": np.repeat([f"p{k:02d}" for k in range(people)], 4), "camera": "cam",
        "real_detected": True, "simulated": True, "real_ied_px": ied_px, "yaw_deg": yaw_deg,
        "pitch_deg": rng.uniform(0, 30, n), "real_mate_rank": pd.array(np.where(real_hit, 1, 3), dtype="Int64"),
        "sim_detected": True, "sim_mate_rank": pd.array(np.where(margin > 0, 1, 2), dtype="Int64"),
        "sim_mate_score": 0.5 + margin, "sim_best_nonmate_score": 0.5})


def test_validated_model_reproduces_the_real_rate_it_was_fitted_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from evalharness.evaluation import expected_rate
    from evalharness.evaluation.expected_rate import expected_rank1, fit_validated_model

    monkeypatch.setattr(expected_rate, "RESAMPLES", 200)  # the bounds' order is tested, not their precision

    # The sources' views: the widest turned 45 degrees, as FRMDB's copy.
    rows = _validation_rows(40, seed=1).assign(source_yaw_deg=np.tile([-45.0, 0.0, 45.0, 0.0], 40))
    model = fit_validated_model(rows, 40, size_column="real_ied_px")
    assert model.validated and model.uses_pose and model.gallery_size == 40 and model.n == 160
    predicted = [model.predict(ied_px=r.real_ied_px, yaw_deg=r.yaw_deg, pitch_deg=r.pitch_deg)[0]
                 for r in rows.itertuples()]
    # Both maximum-likelihood fits carry an intercept: in-sample, the mean prediction is the real rate.
    assert np.mean(predicted) == pytest.approx((rows["real_mate_rank"] == 1).mean(), abs=1e-3)
    larger, smaller = (model.predict(ied_px=ied, yaw_deg=0.0, pitch_deg=15.0)[0] for ied in (60.0, 10.0))
    turned = model.predict(ied_px=30.0, yaw_deg=45.0, pitch_deg=15.0)[0]
    assert larger > smaller and turned < model.predict(ied_px=30.0, yaw_deg=0.0, pitch_deg=15.0)[0]
    face = expected_rank1(model, ied_px=30.0, yaw_deg=45.0, pitch_deg=15.0)
    assert face.validated is True
    assert face.expected_rank1_ci_low < face.expected_rank1 < face.expected_rank1_ci_high
    assert model.widest_source_yaw_deg == 45.0 and face.notes == ()
    # A face turned further than every source still gets its number, with a warning that says why
    # it rests on the corrections.
    beyond = expected_rank1(model, ied_px=30.0, yaw_deg=-48.0, pitch_deg=15.0)
    assert beyond.expected_rank1 is not None
    assert beyond.notes == ("head yaw -48 deg is beyond the widest source view the validation simulated "
                            "(45 deg): faces turned this far were simulated from a face turned less, so the "
                            "rate rests on the validation's corrections (docs/VALIDATION.md, \"Pose\")",)
    assert expected_rank1(model, ied_px=30.0, yaw_deg=75.0, pitch_deg=15.0).expected_rank1 is None


def test_validated_model_rates_faces_by_the_corrections_validate_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The validated model's fit weighs each face by the success that the validation's own
    corrections predict for it (``fit_corrections``, ``predicted_success``), from the arrays it
    reads once for its bootstrap."""
    import numpy as np

    from evalharness.evaluation import expected_rate
    from evalharness.evaluation.validation_summary import fit_corrections, predicted_success

    monkeypatch.setattr(expected_rate, "RESAMPLES", 5)  # the point fit is tested, not the interval
    rows = _validation_rows(20, seed=2)
    model = expected_rate.fit_validated_model(rows, 20, size_column="real_ied_px")
    weights = predicted_success(rows, fit_corrections(rows, {}, size_column="real_ied_px"))
    design = np.stack([model.features(ied_px=r.real_ied_px, yaw_deg=r.yaw_deg, pitch_deg=r.pitch_deg)
                       for r in rows.itertuples()])
    assert model.coef == pytest.approx(expected_rate._fit(design, weights))
    assert weights.min() < 0.2 and weights.max() > 0.8  # the corrections tell faces apart


def test_pose_outside_the_run_gets_no_number() -> None:
    import numpy as np

    from evalharness.evaluation.expected_rate import RateModel, expected_rank1

    model = RateModel(np.array([-4.0, 1.0]), np.array([[-4.2, 1.0], [-3.8, 1.0]]), (5.0, 90.0),
                      (-20.0, 20.0, -10.0, 15.0), 140, 1000)
    # log2(16) = 4: logit 0, p = 0.5; the bootstrap fits give 0.45-0.55.
    inside = expected_rank1(model, ied_px=16.0, yaw_deg=25.0, pitch_deg=0.0)
    assert inside.expected_rank1 == pytest.approx(0.5)
    assert inside.expected_rank1_ci_low == pytest.approx(1 / (1 + np.exp(0.2)), abs=0.01)
    assert inside.notes == ()  # a run's model: no sources' views to be beyond
    side_on = expected_rank1(model, ied_px=16.0, yaw_deg=60.0, pitch_deg=0.0)
    assert side_on.expected_rank1 is None and "outside the poses" in side_on.notes[0]


def test_a_validation_without_its_gallery_size_or_corrections_is_refused_by_name(tmp_path: Path) -> None:
    from evalharness.errors import DataError
    from evalharness.evaluation.validate_run import read_validation
    from evalharness.evaluation.validation_summary import Corrections

    with pytest.raises(DataError, match="probes.parquet: missing; is .* an `evalharness validate` run"):
        read_validation(tmp_path)
    _validation_rows(3, seed=0).to_parquet(tmp_path / "probes.parquet")
    (tmp_path / "manifest.json").write_text(json.dumps({"models": {"recognizer": {"name": "sface"}}}))
    with pytest.raises(DataError, match=r"manifest.json: no gallery_identities"):
        read_validation(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"gallery_identities": 3, "models": {
        "detector": {"name": "retinaface"}, "recognizer": {"name": "sface"}}}))
    with pytest.raises(DataError, match=r"corrections.json: missing"):
        read_validation(tmp_path)
    (tmp_path / "corrections.json").write_text(json.dumps(
        Corrections((0, 0, 0, 0), 1.0, 12, {}, size_column="real_head_ied_px").as_dict()))
    past = read_validation(tmp_path)
    assert past.gallery_identities == 3 and past.recognizer == "sface" and len(past.rows) == 12
    assert past.detector == "retinaface"
    assert past.size_column == "real_head_ied_px"
