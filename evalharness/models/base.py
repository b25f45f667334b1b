"""What the evaluation engine sees of a model: detections, two protocols, and the device.

A :class:`Detector` finds faces; a :class:`Recognizer` turns one face per image (given by its
box and five landmarks) into a unit-length embedding, aligning it its own way. Every model
carries ``weights_sha256``, the fingerprint recorded with each result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from evalharness.errors import ModelError

#: Images given to a model: a (B, 3, H, W) batch, or a list of (3, H, W) images of any sizes;
#: float32 RGB in [0, 1].
Images = torch.Tensor | list[torch.Tensor]


@dataclass(frozen=True)
class Detections:
    """The faces found in one image, most probable first.

    Attributes
    ----------
    boxes : ndarray of float32, shape (N, 4)
        x1, y1, x2, y2 in pixels of the image (may reach outside it).
    probs : ndarray of float32, shape (N,)
        Detector confidence in [0, 1].
    landmarks : ndarray of float32, shape (N, 5, 2)
        Left eye, right eye, nose, left and right mouth corner; x, y in pixels. "Left" is the
        subject's right eye as it appears on the image's left.
    """

    boxes: np.ndarray
    probs: np.ndarray
    landmarks: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        """No face."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.probs)


@runtime_checkable
class Detector(Protocol):
    """Finds faces. ``detect`` takes :data:`Images` and returns one :class:`Detections` each."""

    name: str
    weights_sha256: str

    def detect(self, images: Images) -> list[Detections]: ...


@runtime_checkable
class Recognizer(Protocol):
    """Embeds one face per image.

    ``embed(images, boxes, landmarks)`` takes :data:`Images` (B of them), ``boxes`` (B, 4) and
    ``landmarks`` (B, 5, 2) in pixels (numpy float), and returns a (B, embedding_dim) float32
    tensor of unit rows on CPU. Each recognizer crops and aligns from these its own way.
    """

    name: str
    weights_sha256: str
    embedding_dim: int

    def embed(self, images: Images, boxes: np.ndarray, landmarks: np.ndarray) -> torch.Tensor: ...


@dataclass(frozen=True)
class ModelInfo:
    """What ``evalharness models`` lists for one model.

    Attributes
    ----------
    name : str
        Registry name (``facenet-casia``).
    kind : str
        ``"detector"`` or ``"recognizer"``.
    available : bool
        Whether it loads here, offline.
    path : str or None
        The weights file (the converted cache file for converted models).
    sha256 : str or None
        The weights fingerprint, as recorded with results (None when not available or not yet
        computed, e.g. before the first conversion).
    problem : str or None
        Why it is not available, and what to do.
    required : bool
        Whether the default pipeline needs it (MTCNN and FaceNet-CASIA); the others are options.
    lfw_accuracy : float or None
        Recognizers: accuracy on LFW pairs as ``evalharness pairs`` measured it, in [0, 1].
    lfw_command : str or None
        The command that measured ``lfw_accuracy``.
    """

    name: str
    kind: str
    available: bool
    path: str | None
    sha256: str | None
    problem: str | None
    required: bool = False
    lfw_accuracy: float | None = None
    lfw_command: str | None = None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The device to run models on: CUDA when available for ``"auto"``, else what was asked.

    Parameters
    ----------
    device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (or a :class:`torch.device`).

    Raises
    ------
    ModelError
        CUDA was asked for but this machine (or this torch build) has none.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ModelError(f"--device {device!r}: not a device; use auto, cpu or cuda") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"--device {device!r}: no CUDA GPU is available to torch here; "
                         "use --device cpu (or auto)")
    if resolved.type not in ("cpu", "cuda"):
        raise ModelError(f"--device {device!r}: unsupported; use auto, cpu or cuda")
    if resolved.type == "cuda":
        ieee_float32_on_cuda()
    return resolved


def ieee_float32_on_cuda() -> None:
    """Make CUDA compute float32 convolutions and matrix products in IEEE float32, as the CPU does.

    By default PyTorch lets cuDNN run float32 convolutions in TF32 (a 10-bit mantissa) on Ampere
    and later GPUs. On an H200 that moved MTCNN's boxes by pixels against the CPU's, so the
    harness's float32 numbers would depend on the device. This is process-wide (PyTorch has no
    per-model switch). The opt-in bf16 numerics run under autocast and are not affected.
    """
    torch.backends.cudnn.conv.fp32_precision = "ieee"
    torch.backends.cuda.matmul.fp32_precision = "ieee"


def as_image_list(images: Images) -> list[torch.Tensor]:
    """Split a (B, 3, H, W) batch (or pass a list through) into (3, H, W) images, checked."""
    items = list(images.unbind(0)) if isinstance(images, torch.Tensor) and images.ndim == 4 \
        else list(images)
    for image in items:
        if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"expected RGB images (3, H, W) in [0, 1], got {shape}")
    return items


def indices_by_size(images: list[torch.Tensor]) -> list[list[int]]:
    """Positions of the images of each size (H, W), sizes in first-seen order: the batches a
    detector can stack."""
    by_size: dict[tuple[int, int], list[int]] = {}
    for index, image in enumerate(images):
        by_size.setdefault(tuple(image.shape[-2:]), []).append(index)
    return list(by_size.values())
