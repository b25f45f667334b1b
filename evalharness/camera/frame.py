"""Frame mode: the face canvas placed at its geometric position in a full sensor frame.

For detection on the whole frame. The rest of the frame is a flat mid-grey (linear reflectance
0.18, the photographic mid-grey card), not a road scene (:mod:`~evalharness.camera.scene` draws
one); the canvas is blended into it over a
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
    left, top = canvas_corner(centre_px, side)
    ramp = torch.arange(side, device=canvases.device, dtype=canvases.dtype)
    edge = torch.minimum(ramp + 0.5, side - ramp - 0.5) / max(side / 8.0, 1.0)
    alpha = torch.minimum(edge[:, None], edge[None, :]).clamp(max=1.0)
    blended = alpha * canvases + (1.0 - alpha) * BACKGROUND_REFLECTANCE
    frames = torch.full(
        (*canvases.shape[:2], height, width), BACKGROUND_REFLECTANCE,
        dtype=canvases.dtype, device=canvases.device,
    )
    placed = window((left, top), side, frame_size_px)
    if placed is not None:
        (frame_rows, frame_cols), (canvas_rows, canvas_cols) = placed
        frames[..., frame_rows, frame_cols] = blended[..., canvas_rows, canvas_cols]
    return frames, (left, top)


def canvas_corner(centre_px: tuple[float, float], side_px: int) -> tuple[int, int]:
    """Frame position (x, y) of the top-left corner of a canvas of ``side_px`` centred there."""
    return round(centre_px[0] - side_px / 2), round(centre_px[1] - side_px / 2)


Window = tuple[tuple[slice, slice], tuple[slice, slice]]


def window(corner: tuple[int, int], side_px: int, frame_size_px: tuple[int, int]) -> Window | None:
    """The part of a canvas at ``corner`` (x, y) inside an ``(H, W)`` frame: (rows, columns)
    slices of the frame and of the canvas; None when none of it is inside."""
    (left, top), (height, width) = corner, frame_size_px
    y0, y1 = max(top, 0), min(top + side_px, height)
    x0, x1 = max(left, 0), min(left + side_px, width)
    if y0 >= y1 or x0 >= x1:
        return None
    return ((slice(y0, y1), slice(x0, x1)),
            (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left)))
