"""The default experiment's detector comparison (``[detector_comparison]``) on real faces from
lfw-mini, on three of its conditions: every detector searches the same stored images, the rates
by IED bin are sane, the report section reads them, and a bad detector name is a clear error.
The end-to-end run is in ``tests/report/test_detector_section.py``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalharness.camera.geometry import derive_geometry
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
from evalharness.paths import EXPERIMENTS_DIR
from evalharness.report.detectors import detector_section

DEFAULT = EXPERIMENTS_DIR / "default.toml"
#: The passport control (IED near 90 px) and the two-lane infrared camera at 20 and 40 m.
CHOSEN = {("control-passport", 1.5), ("ir-two-lane", 20.0), ("ir-two-lane", 40.0)}
PROBES = 8


@pytest.fixture(scope="module")
def compared() -> tuple[pd.DataFrame, list, list[str]]:
    """Detection rows of the default experiment's comparison detectors on :data:`CHOSEN`
    conditions, the conditions, and the detectors in order."""
    experiment = load_experiment(DEFAULT)
    dataset = open_dataset(resolve_dataset(experiment, DEFAULT))
    split = build_split(dataset.records, experiment.protocol, experiment.seed)
    conditions = [c for c in comparison_conditions(experiment, build_grid(experiment))
                  if (c.profile.name, c.profile.distance_m) in CHOSEN]
    comparison = Comparison.load(experiment, str(DEFAULT), "cpu")
    probes = comparison_probes(split, PROBES, experiment.seed)
    rows = detection_rows(experiment, dataset, conditions, lambda condition: probes,
                          comparison.detectors, None, comparison.device)
    return rows, conditions, list(comparison.detectors)


def test_every_detector_searches_the_same_stored_images(compared):
    rows, conditions, names = compared
    assert len(conditions) == len(CHOSEN) and names[0] == "mtcnn" and len(names) == 4
    assert len(rows) == len(conditions) * PROBES * len(names)
    first = rows[rows["detector"] == names[0]].reset_index(drop=True)[["condition_id", "relpath", "ied_px"]]
    for name in names[1:]:
        pd.testing.assert_frame_equal(rows[rows["detector"] == name].reset_index(drop=True)[first.columns], first)
    assert rows["detected"].isin([True, False]).all() and (rows["false_detections"] >= 0).all()
    assert (rows.loc[rows["detected"], "iou"] >= 0.5).all()
    # Passport quality (IED near 90 px): MTCNN finds the faces.
    mtcnn = rows[rows["detector"] == "mtcnn"]
    assert mtcnn.loc[mtcnn["ied_px"] > 24, "detected"].mean() >= 0.9


def test_rates_by_ied_bin_cover_every_condition_with_intervals(compared):
    rows, conditions, names = compared
    bins = rates_by_ied_bin(rows, seed=5, n_resamples=50)
    assert list(dict.fromkeys(bins["detector"])) == names
    assert ((bins["detection_rate"] >= 0) & (bins["detection_rate"] <= 1)).all()
    assert ((bins["detection_rate_ci_low"] <= bins["detection_rate"])
            & (bins["detection_rate"] <= bins["detection_rate_ci_high"])).all()
    # Each condition's nominal IED (the camera model's figure) falls in a bin of each detector.
    for name, mine in bins.groupby("detector"):
        for condition in conditions:
            ied_px = derive_geometry(condition.profile).ied_px
            assert ((mine["ied_low_px"] <= ied_px) & (ied_px < mine["ied_high_px"])).any(), (name, ied_px)
        assert mine["images"].sum() == len(conditions) * PROBES
    assert lowest_bin(bins[bins["detector"] == "mtcnn"], 0.5) is not None
    assert set(bins["ied_low_px"]) <= set(IED_BINS_PX)


def test_report_section_from_the_comparison_files(compared, tmp_path):
    rows, _, names = compared
    store.write_parquet(tmp_path / ROWS_FILE, rows)
    store.write_text(tmp_path / BINS_FILE, write_csv_text(rates_by_ied_bin(rows, seed=5, n_resamples=50)))
    section = detector_section(tmp_path)
    assert section["names"] == names and [d["name"] for d in section["detectors"]] == names
    assert section["sample"].startswith(f"{PROBES} probes per camera condition")
    assert "finds faces at the smallest IED" in section["answer"]
    assert all(len(row["cells"]) == len(names) for row in section["bins"])
    assert section["png"].startswith(b"\x89PNG")
    assert detector_section(tmp_path / "elsewhere") is None


def test_an_unknown_detector_in_the_comparison_is_a_config_error_naming_the_key(tmp_path: Path):
    text = DEFAULT.read_text().replace('"datasets/lfw-mini"', f'"{DEFAULT.parents[2] / "datasets" / "lfw-mini"}"')
    path = tmp_path / "experiment.toml"
    path.write_text(text.replace('"mtcnn", "yunet", "centerface"', '"mtcnn", "yunett", "centerface"'))
    with pytest.raises(ConfigError, match=r"detector_comparison\.detectors: unknown detector 'yunett' "
                                          r"\(did you mean 'yunet'\?\)"):
        prepare(path, tmp_path / "run", device="cpu")
    assert not (tmp_path / "run").exists()
    path.write_text(text.replace('"mtcnn", "yunet", "centerface"', '"mtcnn", "mtcnn", "centerface"'))
    with pytest.raises(ConfigError, match="detector_comparison.detectors"):
        load_experiment(path)
