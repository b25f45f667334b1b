"""facenet-pytorch's MTCNN cascade with its per-candidate crop loop vectorised.

facenet-pytorch's ``detect_face`` runs the three networks on whole batches, but before its
second and third stages it crops and resizes every candidate box with its own ``interpolate``
call: hundreds of calls a batch, each a kernel launch on a GPU. Here the crops of one size are
gathered and resized together by one such call (:func:`crop_resize`). The networks also take
their input channels-last (:func:`_standardise`), where the CPU's convolution and max-pooling
kernels run two to three times faster than on facenet-pytorch's channels-first tensors.

Everything else is facenet-pytorch's own code path: the same weights and networks, image pyramid,
thresholds, box regression and non-maximum suppression (its helper functions are called, not
copied), including its chunks of 512 candidates per network call. The memory layout changes
float32 rounding only (network outputs differ by about 1e-6);
``tests/models/test_models_fast_mtcnn.py`` checks the detections against the stock MTCNN on real
LFW images.
"""

from __future__ import annotations

import numpy as np
import torch
from facenet_pytorch.models.mtcnn import ONet, PNet, RNet
from facenet_pytorch.models.utils.detect_face import (
    batched_nms,
    batched_nms_numpy,
    bbreg,
    fixed_batch_process,
    generateBoundingBox,
    imresample,
    pad,
    rerec,
)


def crop_resize(images: torch.Tensor, image_inds: torch.Tensor, y: np.ndarray, ey: np.ndarray,
                x: np.ndarray, ex: np.ndarray, size: int) -> torch.Tensor:
    """Crop each box and area-resize it to ``size x size``, one call per distinct crop size.

    Boxes whose crops have the same height and width are gathered into one batch and resized
    by one ``interpolate(mode="area")`` call, the operation facenet-pytorch applies box by box,
    so each output equals facenet-pytorch's.

    Parameters
    ----------
    images : Tensor, shape (B, C, H, W)
        Pixel values (facenet-pytorch's 0..255 float).
    image_inds : Tensor of int64, shape (K,)
        Image of each box.
    y, ey, x, ex : ndarray of int, shape (K,)
        Box rows ``y - 1 .. ey - 1`` and columns ``x - 1 .. ex - 1`` (facenet-pytorch's ``pad``
        output: 1-based first pixel, last pixel inclusive). Every crop must be non-empty.

    Returns
    -------
    Tensor, shape (K, C, size, size)
    """
    device = images.device
    heights, widths = ey - y + 1, ex - x + 1
    if (heights < 1).any() or (widths < 1).any():
        # facenet-pytorch skips such boxes and then fails on the shape mismatch.
        raise ValueError("MTCNN candidate box lies wholly outside the image")
    _, channels, image_h, image_w = images.shape
    out = images.new_empty((len(image_inds), channels, size, size))
    # Pixels as rows of C values, so that a crop is one gather of flat pixel indices (a
    # three-index gather from the permuted batch was most of this function's time).
    pixels = images.permute(0, 2, 3, 1).reshape(-1, channels)
    corners = (image_inds.to(device) * image_h + torch.as_tensor(y - 1, device=device)) * image_w \
        + torch.as_tensor(x - 1, device=device)
    sizes = heights.astype(np.int64) * (image_w + 1) + widths
    for key in np.unique(sizes):
        k = torch.as_tensor(np.flatnonzero(sizes == key), device=device)
        height, width = int(heights[k[0]]), int(widths[k[0]])
        offsets = (torch.arange(height, device=device)[:, None] * image_w
                   + torch.arange(width, device=device)).reshape(-1)
        # (k, height, width, C) gathered, then channels first as interpolate wants.
        crops = pixels[(corners[k, None] + offsets).reshape(-1)].reshape(len(k), height, width, channels)
        out[k] = imresample(crops.permute(0, 3, 1, 2), (size, size))
    return out


def _standardise(pixels: torch.Tensor) -> torch.Tensor:
    """MTCNN's input scaling of 0..255 pixels, channels-last."""
    return ((pixels - 127.5) * 0.0078125).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def detect_face(imgs: torch.Tensor, minsize: float, pnet: PNet, rnet: RNet, onet: ONet,
                threshold: list[float], factor: float) -> tuple[np.ndarray, np.ndarray]:
    """facenet-pytorch's ``detect_face`` for a tensor batch, its stage-2/3 crops vectorised.

    Parameters
    ----------
    imgs : Tensor, shape (B, H, W, 3)
        Pixel values 0..255, on the networks' device.
    minsize, threshold, factor
        As facenet-pytorch's ``MTCNN`` (``min_face_size`` pixels, three thresholds, pyramid step).
    pnet, rnet, onet
        facenet-pytorch's networks with their weights.

    Returns
    -------
    batch_boxes, batch_points : object ndarrays of length B
        As facenet-pytorch's ``detect_face``: per image, ``(N, 5)`` boxes x1, y1, x2, y2, score
        and ``(N, 5, 2)`` landmarks, in pixels.
    """
    imgs = imgs.permute(0, 3, 1, 2).float()
    batch_size, _, h, w = imgs.shape
    scale = 12.0 / minsize
    scales, minl = [], min(h, w) * scale
    while minl >= 12:
        scales.append(scale)
        scale, minl = scale * factor, minl * factor

    # Stage 1: the proposal network on every pyramid level, NMS within each level and image.
    boxes, image_inds = [], []
    for scale in scales:
        reg, probs = pnet(_standardise(imresample(imgs, (int(h * scale + 1), int(w * scale + 1)))))
        level_boxes, level_inds = generateBoundingBox(reg, probs[:, 1], scale, threshold[0])
        pick = batched_nms(level_boxes[:, :4], level_boxes[:, 4], level_inds, 0.5)
        boxes.append(level_boxes[pick])
        image_inds.append(level_inds[pick])
    boxes, image_inds = torch.cat(boxes), torch.cat(image_inds)
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds = boxes[pick], image_inds[pick]
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = torch.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                         boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh,
                         boxes[:, 4]], dim=1)
    boxes = rerec(boxes)

    # Stage 2: the refinement network on 24 px crops.
    if len(boxes) > 0:
        crops = crop_resize(imgs, image_inds, *pad(boxes, w, h), 24)
        mv, probs = fixed_batch_process(_standardise(crops), rnet)
        keep = probs[:, 1] > threshold[1]
        boxes = torch.cat((boxes[keep, :4], probs[keep, 1:2]), dim=1)
        image_inds, mv = image_inds[keep], mv[keep]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
        boxes = rerec(bbreg(boxes[pick], mv[pick]))
        image_inds = image_inds[pick]

    # Stage 3: the output network on 48 px crops: scores, box regression and landmarks.
    points = torch.zeros(0, 5, 2, device=imgs.device)
    if len(boxes) > 0:
        crops = crop_resize(imgs, image_inds, *pad(boxes, w, h), 48)
        mv, marks, probs = fixed_batch_process(_standardise(crops), onet)
        keep = probs[:, 1] > threshold[2]
        boxes = torch.cat((boxes[keep, :4], probs[keep, 1:2]), dim=1)
        image_inds, mv, marks = image_inds[keep], mv[keep], marks[keep]
        width, height = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
        points = torch.stack((width[:, None] * marks[:, :5] + boxes[:, 0:1] - 1,
                              height[:, None] * marks[:, 5:] + boxes[:, 1:2] - 1), dim=2)
        boxes = bbreg(boxes, mv)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image_inds, 0.7, "Min")
        boxes, image_inds, points = boxes[pick], image_inds[pick], points[pick]

    boxes, points, image_inds = boxes.cpu().numpy(), points.cpu().numpy(), image_inds.cpu().numpy()
    batch_boxes = np.empty(batch_size, dtype=object)
    batch_points = np.empty(batch_size, dtype=object)
    for b in range(batch_size):
        batch_boxes[b], batch_points[b] = boxes[image_inds == b], points[image_inds == b]
    return batch_boxes, batch_points
