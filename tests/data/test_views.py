"""Views of photographs (views.csv) in a folder-per-identity dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from evalharness.data.folder import open_dataset
from evalharness.data.views import View
from evalharness.errors import DataError


def test_views_of_a_folder_dataset(tmp_path: Path) -> None:
    """views.csv in a folder dataset's root: read by relpath, not counted as a skipped file;
    a bad angle names the file and line."""
    for person in ("a", "b"):
        (tmp_path / person).mkdir()
        Image.new("RGB", (8, 8), "grey").save(tmp_path / person / "x.png")
    (tmp_path / "views.csv").write_text("path,yaw_deg,pitch_deg\na/x.png,-45,30\nb/x.png,0,0\n")
    dataset = open_dataset(tmp_path)
    assert dataset.skipped == ()
    assert dataset.views["a/x.png"] == View(-45.0, 30.0) and dataset.views_sha256
    (tmp_path / "views.csv").write_text("path,yaw_deg,pitch_deg\na/x.png,-45,up\n")
    with pytest.raises(DataError, match=r"views\.csv, line 2: pitch_deg must be a number"):
        _ = open_dataset(tmp_path).views
