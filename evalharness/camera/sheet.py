"""Contact sheets: the source face beside each stage's result, labelled, for a human to judge."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

#: Height of each panel in the sheet, pixels; small stages are enlarged with nearest-neighbour
#: sampling so that their pixels stay visible as pixels.
PANEL_PX = 192
_LABEL_PX = 16


def contact_sheet(panels: dict[str, torch.Tensor]) -> Image.Image:
    """One row of labelled panels from ``{label: (C, H, W) float [0, 1]}`` (C = 1 or 3)."""
    tiles = []
    for label, image in panels.items():
        array = (image.detach().clamp(0, 1) * 255).round().to("cpu", torch.uint8)
        array = array.expand(3, *array.shape[-2:]).permute(1, 2, 0).numpy()
        height, width = array.shape[:2]
        picture = Image.fromarray(np.ascontiguousarray(array)).resize(
            (max(1, round(width * PANEL_PX / height)), PANEL_PX), Image.Resampling.NEAREST
        )
        tile = Image.new("RGB", (max(picture.width, 8 * len(label)), PANEL_PX + _LABEL_PX), "white")
        tile.paste(picture, (0, _LABEL_PX))
        ImageDraw.Draw(tile).text((2, 2), label, fill="black")
        tiles.append(tile)
    width = sum(tile.width for tile in tiles) + 4 * len(tiles)
    sheet = Image.new("RGB", (width, tiles[0].height), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + 4
    return sheet
