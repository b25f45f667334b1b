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



def test_layout_of_full_frmdb_views_keeps_the_development_views_unless_asked(
        frmdb_dev: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The held-out part of FRMDB may hold all its views (X 0-6, Y 1-4): by default the sources
    are the development views the corrections were fitted with; --all-views adds those showing
    the face, never the back of the head."""
    import make_frmdb_paired as script  # scripts/, on pytest's pythonpath (pyproject.toml)

    full = tmp_path / "frmdb"
    shutil.copytree(frmdb_dev / "mugshots" / "002", full / "mugshots" / "002")
    shutil.copytree(frmdb_dev / "surveillance" / "002", full / "surveillance" / "002")
    shutil.copy(frmdb_dev / "subjects.csv", full / "subjects.csv")
    for extra in ("Img_03", "Img_13", "Img_34", "Img_53"):  # -135, -90 deg; 30 below; +90 deg
        shutil.copy(full / "mugshots" / "002" / "Img_33.png", full / "mugshots" / "002" / f"{extra}.png")

    def sources(out: Path) -> set[tuple[str, float, float]]:
        lines = (out / "sources.csv").read_text().splitlines()[1:]
        return {(path.split("/")[1], float(yaw), float(pitch))
                for path, yaw, pitch in (line.split(",") for line in lines)}

    development = sources(script.make_paired(full, tmp_path / "dev"))
    assert "4 of the studio photographs left out" in capsys.readouterr().err
    assert development == sources(script.make_paired(frmdb_dev, tmp_path / "ref", subjects=["002"]))
    assert len(development) == 8 and ("Img_22.png", -45.0, 30.0) in development
    every = sources(script.make_paired(full, tmp_path / "all", all_views=True))
    assert every - development == {("Img_13.png", -90.0, 0.0), ("Img_34.png", 0.0, -30.0),
                                   ("Img_53.png", 90.0, 0.0)}
    assert "1 of the studio photographs left out" in capsys.readouterr().err
    # Bad input is refused before anything is written.
    (full / "mugshots" / "002" / "Img_93.png").write_bytes(b"")
    with pytest.raises(ValueError, match="Img_93.png: not a studio view"):
        script.make_paired(full, tmp_path / "bad")
    (full / "subjects.csv").write_text("subject,sex,age,camera,notes\n001,F,25,cctv-352x288,\n")
    with pytest.raises(ValueError, match="subjects.csv: no row for subject 002"):
        script.make_paired(full, tmp_path / "unknown")
    with pytest.raises(ValueError, match="surveillance: no folder for subject 003"):
        script.make_paired(full, tmp_path / "absent", subjects=["002", "003"])
    # A spreadsheet's byte-order mark is read past; a missing column or gallery photograph is named.
    (full / "mugshots" / "002" / "Img_93.png").unlink()
    (full / "subjects.csv").write_text("\ufeffsubject,sex,age,camera,notes\n002,F,25,cctv-352x288,\n", encoding="utf-8")
    assert (script.make_paired(full, tmp_path / "bom") / "probes.csv").read_text().splitlines()[1] == \
        "002/Img_01.png,cctv-352x288"
    (full / "subjects.csv").write_text("subject,sex\n002,F\n")
    with pytest.raises(ValueError, match="subjects.csv: no column camera"):
        script.make_paired(full, tmp_path / "no-camera")
    (full / "subjects.csv").write_text("subject,camera\n002,cctv-352x288\n")
    (full / "mugshots" / "002" / "Img_33.png").unlink()
    with pytest.raises(ValueError, match="no gallery photograph .*002/Img_33.png"):
        script.make_paired(full, tmp_path / "no-gallery")
    shutil.rmtree(full / "surveillance")
    with pytest.raises(ValueError, match="frmdb: no surveillance; an FRMDB folder holds"):
        script.make_paired(full, tmp_path / "no-crops")
    assert not any((tmp_path / name).exists() for name in ("bad", "unknown", "absent", "no-camera", "no-gallery",
                                                           "no-crops"))
