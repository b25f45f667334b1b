"""Contact sheets: the source face beside each stage's result, labelled, for a human to judge."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

#: Default height of each panel in the sheet, pixels.
PANEL_PX = 192
_LABEL_PX = 16


def contact_sheet(panels: dict[str, torch.Tensor], *, panel_px: int = PANEL_PX, caption: str = "") -> Image.Image:
    """One row of labelled panels from ``{label: (C, H, W) float [0, 1]}`` (C = 1 or 3).

    Every panel is scaled to ``panel_px`` high: enlarged with nearest-neighbour sampling, so that
    a stage's pixels stay visible as pixels, reduced by area averaging. ``caption`` (one line)
    is written under the row.
    """
    tiles = []
    for label, image in panels.items():
        array = (image.detach().clamp(0, 1) * 255).round().to("cpu", torch.uint8)
        array = array.expand(3, *array.shape[-2:]).permute(1, 2, 0).numpy()
        height, width = array.shape[:2]
        method = Image.Resampling.NEAREST if panel_px >= height else Image.Resampling.BOX
        picture = Image.fromarray(np.ascontiguousarray(array)).resize(
            (max(1, round(width * panel_px / height)), panel_px), method
        )
        tile = Image.new("RGB", (max(picture.width, 8 * len(label)), panel_px + _LABEL_PX), "white")
        tile.paste(picture, (0, _LABEL_PX))
        ImageDraw.Draw(tile).text((2, 2), label, fill="black")
        tiles.append(tile)
    width = max(sum(tile.width for tile in tiles) + 4 * len(tiles), 7 * len(caption))
    sheet = Image.new("RGB", (width, tiles[0].height + (_LABEL_PX if caption else 0)), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + 4
    if caption:
        ImageDraw.Draw(sheet).text((2, tiles[0].height + 2), caption, fill="black")
    return sheet
