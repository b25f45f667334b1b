"""``scripts/quality_vs_real.py``: expected rates of `quality --json` set against real outcomes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("quality_vs_real", REPO / "scripts" / "quality_vs_real.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pairs_faces_with_real_outcomes_and_tabulates_by_camera_and_bin(tmp_path: Path) -> None:
    rows = pd.DataFrame({"relpath": ["a/1.png", "a/2.png", "b/1.png", "b/2.png"],
                         "camera": ["cctv", "cctv", "hd", "hd"], "real_detected": [True, True, True, False],
                         "real_mate_rank": pd.array([1, 4, 1, None], dtype="Int64")})
    rows.to_parquet(tmp_path / "probes.parquet")

    def face(expected: float | None, ied_px: float) -> dict:
        return {"expected_rank1": expected, "expected_rank1_ci_low": None if expected is None else expected - 0.1,
                "expected_rank1_ci_high": None if expected is None else expected + 0.1, "ied_px": ied_px}

    results = [{"image": "/x/probes/a/1.png", "faces": [face(0.5, 10.0)]},
               {"image": "/x/probes/a/2.png", "faces": [face(0.3, 15.0)]},
               {"image": "/x/probes/b/1.png", "faces": [face(None, 60.0)]},   # pose outside: no number
               {"image": "/x/probes/b/2.png", "faces": [face(0.9, 60.0)]}]   # undetected in reality
    (tmp_path / "q.json").write_text(json.dumps({"results": results}))
    script = _script()
    outcomes = script.paired_outcomes(tmp_path / "q.json", tmp_path)
    assert outcomes["real"].tolist() == [1.0, 0.0, 1.0]
    text = script.table(outcomes)
    assert text.startswith("3 faces found by both, 2 given a number")
    # cctv: expected (50 + 30) / 2 = 40 (30-50), real 1 of 2 = 50, on the interval's edge: covered.
    assert "| cctv | 2 | 40.0 (30.0-50.0) | 50.0 | -10.0 | yes |" in text
    assert "| IED 0-12 px | 1 | 50.0 (40.0-60.0) | 100.0 | -50.0 | no |" in text
