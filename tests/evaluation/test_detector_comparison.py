"""The detector comparison (``[detector_comparison]``) on real faces from lfw-mini: every detector
searches the same stored images, the run's own results do not change, the report shows it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalharness.camera.simulate import derive
from evalharness.config.experiment import load_experiment, resolve_dataset
from evalharness.data.folder import open_dataset
from evalharness.errors import ConfigError
from evalharness.evaluation import store
from evalharness.evaluation.conditions import build_grid
from evalharness.evaluation.detector_comparison import (
    BINS_FILE,
    IED_BINS_PX,
    ROWS_FILE,
    Comparison,
    comparison_conditions,
    comparison_probes,
    detection_rows,
    lowest_bin,
    rates_by_ied_bin,
)
from evalharness.evaluation.protocol import build_split
from evalharness.evaluation.runner import prepare
from evalharness.evaluation.summary import write_csv_text
from evalharness.report.detectors import detector_section
from evalharness.report.render import render_html
from evalharness.report.rundir import read_run

PLAIN = """
name = "detector-comparison"
dataset = "{dataset}"
seed = 5
source_eyes = "lfw-deepfunneled"
bootstrap_resamples = 50
samples_per_condition = 1
[protocol]
enrolled_identities = 10
nonmated_identities = 5
[[grid]]
profiles = ["control-passport"]
[[grid]]
profiles = ["ir-two-lane"]
sweep = {{ distance_m = [20, 40] }}
"""
COMPARED = PLAIN + """
[detector_comparison]
detectors = ["mtcnn", "yunet"]
probes_per_condition = {probes}
"""
PROBES = 8


def _experiment(folder: Path, dataset: Path, detectors: str = '["mtcnn", "yunet"]') -> Path:
    path = folder / "experiment.toml"
    text = COMPARED.format(dataset=dataset.resolve(), probes=PROBES).replace('["mtcnn", "yunet"]', detectors)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def compared(lfw_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, list]:
    """Detection rows of mtcnn and yunet on the experiment's conditions, and the conditions."""
    path = _experiment(tmp_path_factory.mktemp("comparison"), lfw_mini)
    experiment = load_experiment(path)
    dataset = open_dataset(resolve_dataset(experiment, path))
    split = build_split(dataset.records, experiment.protocol, experiment.seed)
    conditions = comparison_conditions(experiment, build_grid(experiment))
    comparison = Comparison.load(experiment, str(path), "cpu")
    rows = detection_rows(experiment, dataset, conditions, comparison_probes(split, PROBES, experiment.seed),
                          comparison.detectors, None, comparison.device)
    return rows, conditions


def test_every_detector_searches_the_same_stored_images(compared):
    rows, conditions = compared
    assert len(rows) == len(conditions) * PROBES * 2
    mtcnn, yunet = (rows[rows["detector"] == name].reset_index(drop=True) for name in ("mtcnn", "yunet"))
    pd.testing.assert_frame_equal(mtcnn[["condition_id", "relpath", "ied_px"]], yunet[["condition_id", "relpath", "ied_px"]])
    assert rows["detected"].isin([True, False]).all() and (rows["false_detections"] >= 0).all()
    # Passport quality (IED near 90 px): MTCNN finds the faces.
    large = mtcnn[mtcnn["ied_px"] > 24]
    assert len(large) == PROBES and large["detected"].mean() >= 0.9
    assert mtcnn["iou"][mtcnn["detected"]].min() >= 0.5


def test_rates_by_ied_bin_cover_every_condition_with_intervals(compared):
    rows, conditions = compared
    bins = rates_by_ied_bin(rows, seed=5, n_resamples=50)
    assert ((bins["detection_rate"] >= 0) & (bins["detection_rate"] <= 1)).all()
    assert ((bins["detection_rate_ci_low"] <= bins["detection_rate"])
            & (bins["detection_rate"] <= bins["detection_rate_ci_high"])).all()
    # Each condition's nominal IED (the camera model's figure) falls in a bin of each detector.
    for name, mine in bins.groupby("detector"):
        for condition in conditions:
            ied_px = derive(condition.profile)["ied_px"]
            assert ((mine["ied_low_px"] <= ied_px) & (ied_px < mine["ied_high_px"])).any(), (name, ied_px)
        assert mine["images"].sum() == len(conditions) * PROBES
    mtcnn = bins[bins["detector"] == "mtcnn"]
    assert lowest_bin(mtcnn, 0.5) is not None
    assert set(bins["ied_low_px"]) <= set(IED_BINS_PX)


def test_report_section_from_the_comparison_files(compared, tmp_path):
    rows, _ = compared
    store.write_parquet(tmp_path / ROWS_FILE, rows)
    store.write_text(tmp_path / BINS_FILE, write_csv_text(rates_by_ied_bin(rows, seed=5, n_resamples=50)))
    section = detector_section(tmp_path)
    assert section["names"] == ["mtcnn", "yunet"]
    assert section["sample"].startswith(f"{PROBES} probes per camera condition")
    assert "finds faces at the smallest IED" in section["answer"]
    assert section["png"].startswith(b"\x89PNG")
    assert detector_section(tmp_path / "elsewhere") is None


def test_an_unknown_detector_in_the_comparison_is_a_config_error_naming_the_key(lfw_mini, tmp_path):
    path = _experiment(tmp_path, lfw_mini, detectors='["mtcnn", "yunett"]')
    with pytest.raises(ConfigError, match=r"detector_comparison\.detectors: unknown detector 'yunett' "
                                          r"\(did you mean 'yunet'\?\)"):
        prepare(path, tmp_path / "run", device="cpu")
    assert not (tmp_path / "run").exists()
    path = _experiment(tmp_path, lfw_mini, detectors='["mtcnn", "mtcnn"]')
    with pytest.raises(ConfigError, match="detector_comparison.detectors"):
        load_experiment(path)


@pytest.mark.slow
def test_a_run_with_a_comparison_keeps_its_results_and_reports_the_comparison(run_experiment):
    compared_dir = run_experiment("with-comparison", COMPARED.replace("{probes}", str(PROBES)), 16)
    plain_dir = run_experiment("without-comparison", PLAIN, 16)
    for name in ("summary.csv", "quality.csv"):
        assert (compared_dir / name).read_bytes() == (plain_dir / name).read_bytes()
    assert not (plain_dir / ROWS_FILE).exists()
    # The first detector's comparison rows are the run's own detections of the same images.
    rows = pd.read_parquet(compared_dir / ROWS_FILE)
    run_rows = store.read_rows(compared_dir, rows["condition_id"].unique())
    paired = rows[rows["detector"] == "mtcnn"].merge(run_rows, on=["condition_id", "relpath"], suffixes=("", "_run"))
    assert len(paired) == 3 * PROBES
    assert (paired["detected"] == paired["detected_run"]).all() and (paired["ied_px"] == paired["ied_px_run"]).all()
    html = render_html(read_run(compared_dir))
    assert 'id="detectors"' in html and "Detection only" in html and "yunet: found (95% CI)" in html
    assert 'id="detectors"' not in render_html(read_run(plain_dir))
