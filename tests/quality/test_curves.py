"""Quality curves of a real small run: what the runner stores and what summary time writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import DataError
from evalharness.evaluation import store
from evalharness.evaluation.quality_curves import (
    measure_curve,
    place,
    probe_outcomes,
    read_quality,
)
from evalharness.quality import MEASURES


def _conditions(run_dir: Path) -> dict[str, pd.DataFrame]:
    ids = [c["id"] for c in json.loads((run_dir / "manifest.json").read_text())["conditions"]]
    return {c: pd.read_parquet(store.condition_path(run_dir, c)) for c in ids}


def test_every_probe_row_carries_the_measures(quality_run: Path) -> None:
    for rows in _conditions(quality_run).values():
        assert {m.name for m in MEASURES} <= set(rows.columns)
        # Image measures exist for every probe (crop mode), detection measures only where detected.
        for name in ("face_jpeg_bytes", "noise_sigma_dn", "sharpness_laplacian_dn2", "psnr_db", "ssim"):
            assert rows[name].notna().all(), name
        assert (rows["ssim"] < 1.0).all() and (rows["ssim"] > 0.0).all()
        assert rows["ied_px_landmarks"].notna().equals(rows["detected"])


def test_bins_hold_every_measured_probe_and_their_rates(quality_run: Path) -> None:
    probes = probe_outcomes(_conditions(quality_run))
    table = pd.read_csv(quality_run / "quality.csv")
    for name, written in table.groupby("measure"):
        measured = probes[np.isfinite(probes[name].to_numpy(float))]
        # Unrounded edges (the files round to 6 decimals), and the files agree with them.
        curve = pd.DataFrame(measure_curve(probes, name, seed=11, n_resamples=10))
        assert curve["n_rank1"].tolist() == written["n_rank1"].tolist()
        assert curve["n_mated"].sum() == len(measured)
        for row in curve.itertuples():
            members = measured[(measured[name] >= row.low) & (measured[name] <= row.high)]
            assert row.n_rank1 == members["rank1_hit"].sum()
        assert ((written["rank1_ci_low"] <= written["rank1"] + 1e-6)
                & (written["rank1"] <= written["rank1_ci_high"] + 1e-6)).all()
        assert (curve["high"].to_numpy()[:-1] < curve["low"].to_numpy()[1:]).all()


def test_pooled_rank1_matches_the_summary(quality_run: Path) -> None:
    """One bin set per measure covers all mated probes, so ied_px's hits are the summary's."""
    table = pd.read_csv(quality_run / "quality.csv")
    summary = pd.read_csv(quality_run / "summary.csv")
    assert table[table["measure"] == "ied_px"]["n_rank1"].sum() == summary["n_rank1"].sum()


def test_size_predicts_identification(quality_run: Path) -> None:
    """Real behaviour: larger faces are identified more often, and the curve rises."""
    content = read_quality(quality_run)
    measures = {m["name"]: m for m in content["measures"]}
    assert measures["ied_px"]["auc"] > 0.7 and measures["face_jpeg_bytes"]["auc"] > 0.7
    rates = [b["rank1"] for b in measures["ied_px"]["bins"]]
    assert rates[-1] > rates[0] + 0.5
    assert content["best_reference_free_predictor"] in {m.name for m in MEASURES if m.reference_free}


def test_place_flags_values_outside_the_run(quality_run: Path) -> None:
    ied = next(m for m in read_quality(quality_run)["measures"] if m["name"] == "ied_px_landmarks")
    low, high = ied["bins"][0]["low"], ied["bins"][-1]["high"]
    assert place((low + high) / 2, ied)["inside"]
    tiny, huge = place(low / 2, ied), place(high * 2, ied)
    assert not tiny["inside"] and tiny["bin"] == ied["bins"][0] and tiny["percentile"] == 0.0
    assert not huge["inside"] and huge["bin"] == ied["bins"][-1] and huge["percentile"] == 100.0


def test_a_run_without_curves_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="quality.json: missing"):
        read_quality(tmp_path)


def test_rates_are_nan_free_where_defined(quality_run: Path) -> None:
    for measure in read_quality(quality_run)["measures"]:
        assert not math.isnan(measure["auc"])
        assert all(b["rank1"] is not None for b in measure["bins"])


def test_a_run_where_every_probe_is_identified_writes_strict_json(quality_run: Path) -> None:
    """Every mated probe identified: no measure has an AUC, which quality.json says with null
    (not NaN, which JSON lacks), and no measure is the best predictor."""
    from evalharness.evaluation.quality_curves import quality_tables

    everyone = {cid: rows.assign(detected=True, mate_rank=1) for cid, rows in _conditions(quality_run).items()}
    _, content = quality_tables(everyone, {}, seed=11, n_resamples=10)
    assert content["measures"] and all(m["auc"] is None and m["predictive_power"] is None for m in content["measures"])
    assert content["best_predictor"] is None
    json.dumps(content, allow_nan=False)
