"""``evalharness degrade``: stored JPEG files and contact sheets from real photographs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from evalharness.camera.geometry import derive_geometry
from evalharness.camera.simulate import canvas_side_px
from evalharness.config.profile import load_profile


def _degrade(*args: str) -> int:
    import evalharness.cli.profiles  # noqa: F401  registers the commands
    from evalharness.cli import main

    return main(["--quiet", "degrade", *args])


@pytest.mark.parametrize("eyes", ["lfw", "detect"])
def test_degrade_writes_the_stored_jpeg_and_a_contact_sheet(lfw_mini: Path, tmp_path, eyes):
    source = sorted(lfw_mini.glob("B*/*_0001.jpg"))[0]
    assert _degrade(str(source), "--profile", "legacy-interlaced", "--set", "distance_m=15",
                    "--eyes", eyes, "--out", str(tmp_path)) == 0
    side = canvas_side_px(derive_geometry(load_profile("legacy-interlaced",
                                                       {"distance_m": 15})).ied_px)
    with Image.open(tmp_path / f"{source.stem}.jpg") as stored:
        assert (stored.format, stored.mode, stored.size) == ("JPEG", "L", (side, side))
    with Image.open(tmp_path / f"{source.stem}_sheet.png") as sheet:
        # The original and seven stages (resample, spectral, optics, motion, sensor,
        # interlace, jpeg), side by side.
        assert sheet.width > 8 * sheet.height * 0.8


def test_degrade_refuses_a_bad_override(lfw_mini: Path, tmp_path):
    source = sorted(lfw_mini.glob("B*/*_0001.jpg"))[0]
    assert _degrade(str(source), "--profile", "ir-two-lane", "--set", "jpeg_quality=0",
                    "--out", str(tmp_path)) == 2
    assert not list(tmp_path.iterdir())


def test_degrade_sheets_keep_one_zoom_so_farther_faces_look_smaller(lfw_mini: Path, tmp_path):
    """One stored pixel is 4x4 sheet pixels at every distance (faces at 15 m and 20 m do not
    look alike), and a caption line is added under the panels."""
    source = sorted(lfw_mini.glob("B*/*_0001.jpg"))[0]
    heights = {}
    for distance_m in (15, 20):
        out = tmp_path / str(distance_m)
        assert _degrade(str(source), "--profile", "ir-two-lane", "--set", f"distance_m={distance_m}",
                        "--eyes", "lfw", "--out", str(out)) == 0
        with Image.open(out / f"{source.stem}.jpg") as stored, Image.open(out / f"{source.stem}_sheet.png") as sheet:
            assert sheet.height == 4 * stored.height + 2 * 16  # panels, their labels and the caption
            heights[distance_m] = sheet.height
    assert heights[15] > heights[20]


def test_degrade_refuses_a_photograph_without_a_face_and_keeps_the_others(lfw_mini: Path, tmp_path, capsys):
    """No face: an error naming the file (never a simulation placed on hair from default eye
    positions); the good photograph is still degraded; exit 3 at the end."""
    import numpy as np

    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((250, 250, 3), 128, np.uint8)).save(blank)
    good = sorted(lfw_mini.glob("B*/*_0001.jpg"))[0]
    out = tmp_path / "out"
    assert _degrade(str(blank), str(good), "--profile", "ir-two-lane", "--out", str(out)) == 3
    err = capsys.readouterr().err
    assert f"{blank}: no face found" in err
    assert (out / f"{good.stem}.jpg").is_file() and not (out / "blank.jpg").exists()


def test_degrade_refuses_two_photographs_that_would_overwrite_each_other(lfw_mini: Path, tmp_path, capsys):
    good = sorted(lfw_mini.glob("B*/*_0001.jpg"))[0]
    twin = tmp_path / "other" / good.name
    twin.parent.mkdir()
    twin.write_bytes(good.read_bytes())
    assert _degrade(str(good), str(twin), "--profile", "ir-two-lane", "--out", str(tmp_path / "out")) == 2
    assert "would both be written as" in capsys.readouterr().err


def test_degrade_refuses_to_write_over_a_photograph_it_reads(lfw_mini: Path, tmp_path, capsys):
    """--out the photograph's own folder, where NAME.jpg is the photograph: refused, unchanged."""
    good = sorted(lfw_mini.glob("B*/*_0001.jpg"))[0]
    mine = tmp_path / good.name
    mine.write_bytes(good.read_bytes())
    assert _degrade(str(mine), "--profile", "ir-two-lane", "--out", str(tmp_path)) == 2
    assert f"{mine}: degrade would write its results over this photograph" in capsys.readouterr().err
    assert mine.read_bytes() == good.read_bytes()
