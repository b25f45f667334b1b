"""Paired real-camera datasets: FRMDB laid out by the script, and every refusal names its file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalharness.data.paired import open_paired
from evalharness.errors import DataError


@pytest.fixture
def paired(frmdb_paired, tmp_path: Path) -> Path:
    root = tmp_path / "real"
    shutil.copytree(frmdb_paired(["002", "041"]), root)
    return root


def test_frmdb_layout(paired: Path, frmdb_dev: Path) -> None:
    dataset = open_paired(paired)
    assert sorted(dataset.gallery.identities()) == ["002", "041"]
    assert [r.relpath for r in dataset.gallery.records] == ["002/Img_33.png", "041/Img_33.png"]
    assert len(dataset.sources_of("002")) == 8                 # the 9 studio views but the gallery one
    assert dataset.views["002/Img_23.png"].yaw_deg == -45.0    # X = 2
    assert dataset.views["002/Img_32.png"].pitch_deg == 30.0   # Y = 2
    assert dataset.camera_of("041/Img_01.png") == "hd-1920x1080"
    crops = [p for s in ("002", "041") for p in (frmdb_dev / "surveillance" / s).glob("*.png")]
    assert len(dataset.probes.records) == len(crops)


def test_probe_without_gallery_is_named(paired: Path) -> None:
    shutil.rmtree(paired / "gallery" / "041")
    with pytest.raises(DataError, match=r"probes/041/Img_01\.png: person '041' has no gallery"):
        open_paired(paired)


def test_source_identical_to_gallery_is_refused(paired: Path) -> None:
    shutil.copyfile(paired / "gallery" / "002" / "Img_33.png", paired / "sources" / "002" / "copy.png")
    with pytest.raises(DataError, match=r"copy\.png: identical to the gallery photograph"):
        open_paired(paired)


def test_bad_csv_line_is_named(paired: Path) -> None:
    with (paired / "sources.csv").open("a", encoding="utf-8") as handle:
        handle.write("002/Img_21.png,sideways,0\n")
    with pytest.raises(DataError, match=r"sources\.csv, line \d+: yaw_deg must be a number"):
        open_paired(paired)
    (paired / "probes.csv").write_text("path,camera\nnope.png,x\n", encoding="utf-8")
    (paired / "sources.csv").unlink()
    with pytest.raises(DataError, match=r"probes\.csv, line 2: path 'nope\.png' is not an image"):
        open_paired(paired)


def test_missing_or_empty_part(paired: Path, tmp_path: Path) -> None:
    shutil.rmtree(paired / "sources")
    with pytest.raises(DataError, match=r"sources: missing"):
        open_paired(paired)
    (paired / "sources").mkdir()
    with pytest.raises(DataError, match=r"sources: no usable image"):
        open_paired(paired)
    with pytest.raises(DataError, match="not found"):
        open_paired(tmp_path / "nowhere")

