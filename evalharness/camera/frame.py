"""Frame mode: the face canvas placed at its geometric position in a full sensor frame.

For detection on the whole frame. The rest of the frame is a flat mid-grey (linear reflectance
0.18, the photographic mid-grey card), not a road scene; the canvas is blended into it over a
ramp of an eighth of its side so that its square border makes no edge for a detector to find.
"""

from __future__ import annotations

import torch

#: Linear reflectance of the background (an 18% grey card).
BACKGROUND_REFLECTANCE = 0.18


def place_in_frame(
    canvases: torch.Tensor, centre_px: tuple[float, float], frame_size_px: tuple[int, int]
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Paste ``canvases (B, C, S, S)`` centred at ``centre_px`` (x, y) in a ``(H, W)`` frame.

    Returns the frames ``(B, C, H, W)`` and the frame position (x, y) of the canvas's top-left
    corner, by which canvas coordinates shift. Parts outside the frame are cut off (whether the
    face is inside at all is :func:`~evalharness.camera.geometry.out_of_frame`'s answer).
    """
    height, width = frame_size_px
    side = canvases.shape[-1]
    left, top = round(centre_px[0] - side / 2), round(centre_px[1] - side / 2)
    ramp = torch.arange(side, device=canvases.device, dtype=canvases.dtype)
    edge = torch.minimum(ramp + 0.5, side - ramp - 0.5) / max(side / 8.0, 1.0)
    alpha = torch.minimum(edge[:, None], edge[None, :]).clamp(max=1.0)
    blended = alpha * canvases + (1.0 - alpha) * BACKGROUND_REFLECTANCE
    frames = torch.full(
        (*canvases.shape[:2], height, width), BACKGROUND_REFLECTANCE,
        dtype=canvases.dtype, device=canvases.device,
    )
    y0, y1 = max(top, 0), min(top + side, height)
    x0, x1 = max(left, 0), min(left + side, width)
    frames[..., y0:y1, x0:x1] = blended[..., y0 - top : y1 - top, x0 - left : x1 - left]
    return frames, (left, top)
