"""Resampling a source face to the camera's scale, with anti-aliasing.

Pixel coordinates are continuous: pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``, so a point's
position maps between images by the crop's affine transform alone. Each source image is cropped
to the square that will become the output canvas (where the square leaves the photograph, it is
filled with the mean colour of the photograph's border: a flat surround invents no structure,
where repeating the edge pixels drew streaks under the chin of tight crops) and resized with torch's
antialiased bilinear filter, whose support widens with the reduction so that no detail finer than
the output's Nyquist limit aliases. The faces come in linear light, as a pixel adds it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resample_faces(
    faces: torch.Tensor, centres_px: torch.Tensor, scales: torch.Tensor, *, side_px: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crop and resize each face so that ``centres_px`` lands at the canvas centre.

    Parameters
    ----------
    faces : Tensor (B, C, H, W)
        Source photographs in linear light, float in [0, 1] (an average of sRGB-encoded values
        is not the light a pixel gathers: 1 px black and white stripes would come out 0.21, not
        0.5).
    centres_px : Tensor (B, 2)
        Source point (x, y), pixels, to place at the centre of the output canvas.
    scales : Tensor (B,)
        Wanted output pixels per source pixel (e.g. target IED / source IED).
    side_px : int
        Side of the square output canvas, pixels.

    Returns
    -------
    canvas : Tensor (B, C, side_px, side_px)
    origins_px : Tensor (B, 2)
        Source position (x, y) of the canvas's top-left corner.
    actual_scales : Tensor (B,)
        Output pixels per source pixel actually used (the crop side is a whole number of source
        pixels, so this differs from ``scales`` by under half a source pixel over the crop).
        A source point ``p`` lands at ``(p - origin) * actual_scale``.
    """
    canvases, origins, actual = [], [], []
    height, width = faces.shape[-2:]
    for face, centre, scale in zip(faces, centres_px.tolist(), scales.tolist(), strict=True):
        crop_px = max(1, round(side_px / scale))
        x0 = round(centre[0] - crop_px / 2)
        y0 = round(centre[1] - crop_px / 2)
        # Pad by what the crop needs outside the photograph (see _pad_flat).
        pad = (
            max(0, -x0), max(0, x0 + crop_px - width), max(0, -y0), max(0, y0 + crop_px - height)
        )
        padded = _pad_flat(face[None], pad) if any(pad) else face[None]
        crop = padded[..., y0 + pad[2] : y0 + pad[2] + crop_px, x0 + pad[0] : x0 + pad[0] + crop_px]
        canvases.append(
            F.interpolate(crop, size=(side_px, side_px), mode="bilinear", antialias=True,
                          align_corners=False)
        )
        origins.append((x0, y0))
        actual.append(side_px / crop_px)
    dtype, device = faces.dtype, faces.device
    return (
        torch.cat(canvases).clamp(0.0, 1.0),
        torch.tensor(origins, dtype=dtype, device=device),
        torch.tensor(actual, dtype=dtype, device=device),
    )


def _pad_flat(image: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """``image (1, C, H, W)`` padded by ``pad`` (left, right, top, bottom) with the mean colour
    of its one-pixel border, per channel."""
    border = torch.cat([image[..., 0, :], image[..., -1, :], image[..., :, 0], image[..., :, -1]], dim=-1)
    padded = F.pad(image, pad, mode="constant", value=0.0)
    mask = F.pad(torch.zeros_like(image[:, :1]), pad, mode="constant", value=1.0)
    return padded + mask * border.mean(dim=-1)[..., None, None]
