"""Video coding: what an H.264 camera stream does to a frame before anyone stores it.

CCTV and many roadside cameras send H.264 video; a still is a decoded frame. H.264 quantises
4x4 and 8x8 transform blocks of the luma and of half-resolution chroma (4:2:0), then smooths block
edges with its in-loop deblocking filter: fine facial detail and sensor noise go together, most
where a face spans few blocks. The quantiser step is set by the quantisation parameter QP (step
size doubles every 6 QP; ITU-T H.264, clause 8.5.12).

Each image is coded alone as an intra frame by libx264 at a fixed QP (through PyAV's bindings of
FFmpeg) and decoded again. A stream's P-frames are coded against earlier frames and, under
motion, differ from an intra frame at the same QP; this stage stands for the codec's quantisation
at that QP, not for a particular encoder's rate control.
"""

from __future__ import annotations

import av
import numpy as np
import torch
from av.video.reformatter import Interpolation

#: Chroma format of the coded frames: 4:2:0, as camera streams use.
PIXEL_FORMAT = "yuv420p"

#: swscale's flags for the RGB <-> YUV conversions on either side of the codec. Its defaults round
#: the decoded RGB down: a lossless (QP 0) round trip returned a grey ramp 0.47 DN darker and
#: faces 1.2-1.4 DN darker, a bias no camera's decoder adds. Accurate rounding with full-resolution
#: chroma interpolation brings both within 0.02 DN; bit-exact arithmetic makes every CPU give the
#: same pixels (swscale otherwise picks SIMD paths by CPU).
SWSCALE_FLAGS = (Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
                 | Interpolation.FULL_CHR_H_INP | Interpolation.BITEXACT)


def _code_one(rgb: np.ndarray, qp: int) -> np.ndarray:
    """Code and decode one ``(H, W, 3)`` uint8 frame (H and W even) at quantiser ``qp``."""
    height, width = rgb.shape[:2]
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, PIXEL_FORMAT
    # One intra frame at a constant quantiser; no psycho-visual tuning that would move bits. One
    # thread: libx264 otherwise picks its thread count from the CPUs the process may use, and a
    # frame of more than a few macroblock rows then codes differently on another machine.
    encoder.options = {"qp": str(qp), "preset": "medium", "tune": "psnr", "threads": "1"}
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format=PIXEL_FORMAT, interpolation=SWSCALE_FLAGS)
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    decoder = av.CodecContext.create("h264", "r")
    frames = [decoded for packet in packets for decoded in decoder.decode(packet)]
    frames += decoder.decode(None)
    return frames[0].reformat(format="rgb24", interpolation=SWSCALE_FLAGS).to_ndarray()


def h264_intra(images: torch.Tensor, *, qp: int) -> torch.Tensor:
    """Code each image of ``(B, C, H, W)`` in [0, 1] as an H.264 intra frame at quantiser ``qp``
    (0-51; larger is coarser) and return the decoded frames, same shape, on the same device.

    Monochrome images (C = 1) are coded as grey colour frames and come back as their luma. Odd
    sizes are padded by one edge row or column for the 4:2:0 chroma and cropped back.
    """
    if not 0 <= qp <= 51:
        raise ValueError(f"qp must be in 0-51, got {qp}")
    batch, channels, height, width = images.shape
    pixels = (images.detach().clamp(0.0, 1.0) * 255.0).round().to("cpu", torch.uint8)
    pixels = pixels.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).numpy()
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    coded = [_code_one(np.pad(frame, pad, mode="edge"), qp)[:height, :width] for frame in pixels]
    out = torch.from_numpy(np.stack(coded)).permute(0, 3, 1, 2).float() / 255.0
    if channels == 1:
        out = out.mean(dim=1, keepdim=True)
    return out.to(images.device)
