"""Contact sheets: the faces as each condition stores them, beside the gallery photograph.

A sheet is a grid: one row per sampled probe, the gallery image first, then the stored image of
that same probe under each condition. Every stored image of a sheet is shown at one
magnification (:func:`sheet_factor`), so displayed size is proportional to stored size: a nearer,
larger face never looks smaller than a farther one. Enlargement is by an integer factor with
nearest-neighbour sampling, so every stored pixel shows as a sharp square and nothing is invented
by interpolation: what a human examiner would see when zooming in. The gallery photograph is
fitted to its own cell. Each cell's frame marks the outcome (:data:`OUTCOME_COLOURS`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

#: Side of one cell of the sheet, in pixels of the sheet image.
CELL_PX = 176
#: Height of the caption band above the cells, in pixels of the sheet image (three lines).
TITLE_PX = 56
#: Height of the caption line under each cell.
CAPTION_PX = 18
GAP_PX = 6
#: Frame colour of a cell by its caption's outcome (the gallery and empty cells have none).
OUTCOME_COLOURS = {"identified": "#1b7837", "not identified": "#e08214", "NOT detected": "#b2182b"}
#: Width of that frame, in pixels of the sheet image.
FRAME_PX = 3


def enlarge_nearest(image: Image.Image, cell_px: int = CELL_PX) -> Image.Image:
    """Enlarge ``image`` by the largest integer factor that fits a ``cell_px`` square.

    Parameters
    ----------
    image : PIL.Image.Image
        A stored image, any size and mode.
    cell_px : int
        Side of the square the result must fit in, in pixels.

    Returns
    -------
    PIL.Image.Image
        ``image`` with each pixel repeated ``k x k`` times (nearest neighbour), where ``k`` is
        ``cell_px // max(width, height)`` but at least 1. An image larger than the cell is
        reduced with a Lanczos filter instead (only gallery photographs are that large).
    """
    return magnify(image, sheet_factor([max(image.size)], cell_px))


def sheet_factor(sizes_px: Sequence[int], cell_px: int = CELL_PX) -> float:
    """The one magnification of a sheet's stored images: the largest integer factor that fits the
    largest of them (``sizes_px``: each image's longer side) in a cell, at least 1; below 1 (a
    reduction) only when the largest is bigger than the cell."""
    largest = max(sizes_px, default=1)
    return float(cell_px // largest) if largest <= cell_px else cell_px / largest


def magnify(image: Image.Image, factor: float) -> Image.Image:
    """``image`` enlarged by an integer ``factor`` (nearest neighbour), or reduced (Lanczos)."""
    if factor >= 1:
        k = int(factor)
        return image.resize((image.width * k, image.height * k), Image.Resampling.NEAREST)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Cell:
    """One image of a sheet and the short caption printed under it (None: an empty cell).

    ``common`` cells (stored images) share the sheet's magnification; others (the gallery
    photograph) are fitted to their own cell.
    """

    image: Image.Image | None
    caption: str = ""
    common: bool = True


def compose_sheet(rows: Sequence[Sequence[Cell]], titles: Sequence[str], cell_px: int = CELL_PX) -> bytes:
    """Lay images out in a grid under column titles and return the sheet as PNG bytes.

    Parameters
    ----------
    rows : sequence of sequences of Cell
        ``rows[i][j]`` is probe ``i`` in column ``j``. Common cells are magnified by the sheet's
        one :func:`sheet_factor`, other cells fitted with :func:`enlarge_nearest`; each is centred
        in its cell, framed in its outcome's colour, and its caption gets the factor (``", x4"``)
        or ``", reduced"``; a cell without an image is grey.
    titles : sequence of str
        One title per column; a newline splits it over two lines.
    cell_px : int
        Side of each cell, in pixels.

    Returns
    -------
    bytes
        An RGB PNG, ``len(titles)`` cells wide and ``len(rows)`` cells high.
    """
    columns = len(titles)
    if any(len(row) != columns for row in rows):
        raise ValueError(f"every row needs {columns} cells, one per title")
    step_x, step_y = cell_px + GAP_PX, cell_px + CAPTION_PX + GAP_PX
    sheet = Image.new("RGB", (columns * step_x + GAP_PX, TITLE_PX + len(rows) * step_y), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    common = sheet_factor([max(c.image.size) for row in rows for c in row if c.image and c.common], cell_px)
    for j, title in enumerate(titles):
        draw.multiline_text((GAP_PX + j * step_x + cell_px / 2, TITLE_PX / 2), title, fill="black",
                            font=font, anchor="mm", align="center")
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            left, top = GAP_PX + j * step_x, TITLE_PX + i * step_y
            caption = cell.caption
            if cell.image is None:
                draw.rectangle((left, top, left + cell_px - 1, top + cell_px - 1), fill="#d9d9d9")
            else:
                image = cell.image.convert("RGB")
                shown = magnify(image, common) if cell.common else enlarge_nearest(image, cell_px)
                sheet.paste(shown, (left + (cell_px - shown.width) // 2, top + (cell_px - shown.height) // 2))
                factor = shown.width / cell.image.width
                caption += f", x{factor:g}" if factor >= 1 else ", reduced"
            outcome = OUTCOME_COLOURS.get(cell.caption)
            if outcome:
                # In the gap around the cell, so no stored pixel is covered.
                draw.rectangle((left - FRAME_PX, top - FRAME_PX, left + cell_px - 1 + FRAME_PX,
                                top + cell_px - 1 + FRAME_PX), outline=outcome, width=FRAME_PX)
            draw.text((left + cell_px / 2, top + cell_px + CAPTION_PX / 2), caption, fill="black",
                      font=font, anchor="mm")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
