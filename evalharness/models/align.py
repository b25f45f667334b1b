"""Face crops and face choice shared by the recognizers and the pairs evaluation.

- :func:`extract_face`: facenet-pytorch's ``extract_face`` geometry on tensors, on any device.
- :func:`central_face`: of several detections, the one FaceNet's author kept when aligning LFW.
- :func:`centre_box`, :func:`template_landmarks`: the box and landmarks used for an image in
  which no face was detected.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: ArcFace's five landmark positions in its 112 x 112 crop (insightface's ``arcface_dst``), pixels:
#: left eye, right eye, nose, left and right mouth corner.
ARCFACE_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                                 [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)


def extract_face(image: torch.Tensor, box: np.ndarray, image_size: int = 160,
                 margin: float = 0) -> torch.Tensor:
    """Crop ``box`` plus margin from ``image`` and resize it to a square, as facenet-pytorch does.

    The geometry is that of ``facenet_pytorch.extract_face`` for tensor input: the margin is
    given in pixels *of the output* and scaled to the box, the enlarged box is clipped to the
    image and truncated to whole pixels, and the crop is resized with area interpolation.
    Unlike facenet-pytorch, the result is not truncated to 8-bit levels.

    Parameters
    ----------
    image : Tensor, shape (C, H, W)
        Float image, any value range, any device.
    box : array_like, shape (4,)
        x1, y1, x2, y2 in pixels.
    image_size : int
        Side of the output, pixels.
    margin : float
        Margin added around the box, in pixels of the output (FaceNet's alignment used 32 of 160).

    Returns
    -------
    Tensor, shape (C, image_size, image_size)
        Same dtype, range and device as ``image``.
    """
    x1, y1, x2, y2 = (float(value) for value in box)
    margin_x = margin * (x2 - x1) / (image_size - margin)
    margin_y = margin * (y2 - y1) / (image_size - margin)
    height, width = image.shape[-2:]
    left = int(max(x1 - margin_x / 2, 0))
    top = int(max(y1 - margin_y / 2, 0))
    # At least one pixel, so that a box lying outside the image still gives a crop.
    right = max(int(min(x2 + margin_x / 2, width)), min(left + 1, width))
    bottom = max(int(min(y2 + margin_y / 2, height)), min(top + 1, height))
    left, top = min(left, right - 1), min(top, bottom - 1)
    crop = image[None, :, top:bottom, left:right]
    return F.interpolate(crop, size=(image_size, image_size), mode="area")[0]


def central_face(boxes: np.ndarray, height: int, width: int) -> int:
    """Index of the face FaceNet's author kept when an LFW image holds several.

    The score is the box area minus twice the squared distance (pixels squared) between the
    box centre and the image centre, as in ``align_dataset_mtcnn.py`` of davidsandberg/facenet:
    it prefers the large face in the middle over a background face.

    Parameters
    ----------
    boxes : ndarray, shape (N, 4), N >= 1
        x1, y1, x2, y2 in pixels.
    height, width : int
        Image size in pixels.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    offset_x = (boxes[:, 0] + boxes[:, 2]) / 2 - width / 2
    offset_y = (boxes[:, 1] + boxes[:, 3]) / 2 - height / 2
    return int(np.argmax(area - 2.0 * (offset_x**2 + offset_y**2)))


def centre_box(height: int, width: int, fraction: float = 0.5) -> np.ndarray:
    """A centred square box whose side is ``fraction`` of the shorter image side.

    Used, and counted, when the detector finds no face: on LFW's 250 x 250 deep-funneled images
    the face fills about the central half.

    Returns
    -------
    ndarray of float32, shape (4,)
        x1, y1, x2, y2 in pixels.
    """
    side = fraction * min(height, width)
    x1, y1 = (width - side) / 2, (height - side) / 2
    return np.array([x1, y1, x1 + side, y1 + side], dtype=np.float32)


def template_landmarks(box: np.ndarray) -> np.ndarray:
    """Five landmarks where ArcFace's template puts them in a square ``box``.

    Stand-ins for the landmarks of a face that was not detected, so that landmark-aligned
    recognizers crop the same region as box-aligned ones.

    Returns
    -------
    ndarray of float32, shape (5, 2)
        x, y in pixels.
    """
    x1, y1, x2, _ = (float(value) for value in box)
    return (np.array([x1, y1]) + ARCFACE_TEMPLATE_112 * ((x2 - x1) / 112.0)).astype(np.float32)
