"""Contact sheets: nearest-neighbour enlargement of real stored faces, laid out in a grid."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from evalharness.report.sheets import (
    CAPTION_PX,
    CELL_PX,
    GAP_PX,
    TITLE_PX,
    Cell,
    compose_sheet,
    enlarge_nearest,
    magnify,
    sheet_factor,
)


@pytest.fixture
def small_face(lfw_mini) -> Image.Image:
    """A real LFW face reduced to 22x22 px, about what a roadside camera stores."""
    path = sorted(lfw_mini.glob("*/*.jpg"))[0]
    with Image.open(path) as image:
        return image.convert("RGB").resize((22, 22), Image.Resampling.BOX)


def test_enlargement_repeats_every_pixel_as_a_square(small_face):
    shown = enlarge_nearest(small_face, CELL_PX)
    factor = CELL_PX // 22
    assert shown.size == (22 * factor, 22 * factor)
    expected = np.repeat(np.repeat(np.asarray(small_face), factor, axis=0), factor, axis=1)
    np.testing.assert_array_equal(np.asarray(shown), expected)


def test_image_larger_than_the_cell_is_reduced_to_fit(lfw_mini):
    with Image.open(sorted(lfw_mini.glob("*/*.jpg"))[0]) as photo:
        shown = enlarge_nearest(photo, CELL_PX)
    assert max(shown.size) == CELL_PX


def test_sheet_places_each_enlarged_image_in_its_cell(small_face):
    grey = small_face.convert("L")
    rows = [[Cell(small_face, "gallery"), Cell(grey, "detected")], [Cell(None, "not sampled"), Cell(grey, "")]]
    png = compose_sheet(rows, ["gallery", "20 m\nIED 14.2 px"])
    sheet = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert sheet.shape == (TITLE_PX + 2 * (CELL_PX + CAPTION_PX + GAP_PX), GAP_PX + 2 * (CELL_PX + GAP_PX), 3)
    enlarged = np.asarray(enlarge_nearest(small_face, CELL_PX))
    offset = (CELL_PX - enlarged.shape[0]) // 2
    top, left = TITLE_PX + offset, GAP_PX + offset
    np.testing.assert_array_equal(sheet[top:top + enlarged.shape[0], left:left + enlarged.shape[1]], enlarged)


def test_rows_must_match_the_titles(small_face):
    with pytest.raises(ValueError, match="2 cells"):
        compose_sheet([[Cell(small_face)]], ["gallery", "20 m"])


def test_one_magnification_per_sheet_keeps_displayed_size_proportional_to_stored_size(small_face):
    """A 22 px face and an 11 px face on one sheet: both x8, so the larger shows twice as large
    (whole-number factors per image would have shown both filling the cell)."""
    half = small_face.resize((11, 11), Image.Resampling.BOX)
    png = compose_sheet([[Cell(small_face, "identified"), Cell(half, "NOT detected")]], ["20 m", "40 m"])
    sheet = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    factor = sheet_factor([22, 11])
    assert factor == CELL_PX // 22
    for column, image in enumerate((small_face, half)):
        shown = np.asarray(magnify(image, factor))
        assert shown.shape[0] == image.height * factor
        offset = (CELL_PX - shown.shape[0]) // 2
        top, left = TITLE_PX + offset, GAP_PX + column * (CELL_PX + GAP_PX) + offset
        np.testing.assert_array_equal(sheet[top:top + shown.shape[0], left:left + shown.shape[1]], shown)


def test_a_stored_image_larger_than_the_cell_reduces_the_whole_sheet(small_face):
    assert sheet_factor([352, 22]) == pytest.approx(CELL_PX / 352)
    assert magnify(small_face, CELL_PX / 352).size == (11, 11)
