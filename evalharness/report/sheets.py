"""Contact sheets: the faces as each condition stores them, beside the gallery photograph.

A sheet is a grid: one row per sampled probe, the gallery image first, then the stored image of
that same probe under each condition. Stored images are enlarged by an integer factor with
nearest-neighbour sampling, so every stored pixel shows as a sharp square and nothing is invented
by interpolation: what a human examiner would see when zooming in. Column titles give the
condition and its inter-eye distance (IED) in pixels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

#: Side of one cell of the sheet, in pixels of the sheet image.
CELL_PX = 176
#: Height of the caption band above the cells, in pixels of the sheet image.
TITLE_PX = 40
#: Height of the caption line under each cell.
CAPTION_PX = 18
GAP_PX = 6


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
    factor = cell_px // max(image.size)
    if factor >= 1:
        return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    scale = cell_px / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Cell:
    """One image of a sheet and the short caption printed under it (None: an empty cell)."""

    image: Image.Image | None
    caption: str = ""


def compose_sheet(rows: Sequence[Sequence[Cell]], titles: Sequence[str], cell_px: int = CELL_PX) -> bytes:
    """Lay images out in a grid under column titles and return the sheet as PNG bytes.

    Parameters
    ----------
    rows : sequence of sequences of Cell
        ``rows[i][j]`` is probe ``i`` in column ``j``. Each image is enlarged with
        :func:`enlarge_nearest` and centred in its cell, and its caption gets the enlargement
        factor (``", x4"``) or ``", reduced"``; a cell without an image is grey.
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
                shown = enlarge_nearest(cell.image.convert("RGB"), cell_px)
                sheet.paste(shown, (left + (cell_px - shown.width) // 2, top + (cell_px - shown.height) // 2))
                factor = shown.width / cell.image.width
                caption += f", x{factor:g}" if factor >= 1 else ", reduced"
            draw.text((left + cell_px / 2, top + cell_px + CAPTION_PX / 2), caption, fill="black",
                      font=font, anchor="mm")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
