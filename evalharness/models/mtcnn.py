"""MTCNN face detection with facenet-pytorch's bundled weights (they ship inside its wheel).

MTCNN (Zhang et al., 2016) is a cascade of three small networks; the first scans the image
pyramid with 12 x 12 windows, so no face smaller than 12 px is ever found, whatever
``min_face_size`` says. facenet-pytorch's defaults: ``min_face_size`` 20 px, thresholds
0.6 / 0.7 / 0.7, pyramid factor 0.709.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import MTCNN

from evalharness.errors import ModelError, ModelSettingError
from evalharness.models.align import extract_face
from evalharness.models.base import Detections, Images, as_image_list, indices_by_size
from evalharness.models.cache import file_sha256
from evalharness.models.mtcnn_fast import detect_face


def mtcnn_weight_files() -> list[Path]:
    """facenet-pytorch's bundled MTCNN weights: ``pnet.pt``, ``rnet.pt``, ``onet.pt``."""
    import facenet_pytorch

    data = Path(facenet_pytorch.__file__).parent / "data"
    return [data / f"{stage}.pt" for stage in ("pnet", "rnet", "onet")]


def mtcnn_weights_sha256() -> str:
    """Fingerprint of the three weight files: sha256 of their three sha256s, in stage order."""
    missing = [str(path) for path in mtcnn_weight_files() if not path.is_file()]
    if missing:
        raise ModelError(f"MTCNN weights missing from facenet-pytorch: {missing}; "
                         "reinstall facenet-pytorch==2.6.0 (pip install --no-deps)")
    joined = "".join(file_sha256(path) for path in mtcnn_weight_files())
    return hashlib.sha256(joined.encode()).hexdigest()


class MtcnnDetector:
    """facenet-pytorch's MTCNN behind the :class:`~evalharness.models.base.Detector` protocol.

    Parameters
    ----------
    device : torch.device
        Where the three networks run.
    min_face_size : float
        Smallest face searched for, pixels; values below 12 act as 12 (the first stage's window).
    thresholds : tuple of 3 floats
        Score thresholds of the three stages, each in [0, 1].
    factor : float
        Image pyramid scale step, in (0, 1).
    image_size : int
        Side of the crops :meth:`crops` returns, pixels (facenet-pytorch's default 160).
    margin : float
        Margin :meth:`crops` adds around each box, in pixels of the crop (facenet-pytorch's
        default 0).
    fast : bool
        Run the cascade with batched crops and channels-last networks
        (:mod:`~evalharness.models.mtcnn_fast`, the default: the same detections up to float32
        rounding; about twice as fast on small stored faces on the CPU), or exactly as
        facenet-pytorch's ``MTCNN.detect`` does (False).
    """

    name = "mtcnn"

    def __init__(self, device: torch.device, min_face_size: float = 20,
                 thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, image_size: int = 160, margin: float = 0,
                 fast: bool = True) -> None:
        if not (min_face_size > 0 and 0 < factor < 1):  # NaN fails too
            raise ModelSettingError(f"MTCNN: min_face_size must be > 0 px (got {min_face_size}) and "
                                    f"factor in (0, 1) (got {factor})")
        self.weights_sha256 = mtcnn_weights_sha256()
        self.device = device
        self.min_face_size = min_face_size
        self.image_size = image_size
        self.margin = margin
        self.fast = fast
        # keep_all and select_largest=False: every face, most probable first; choosing is ours.
        self._mtcnn = MTCNN(min_face_size=min_face_size, thresholds=list(thresholds),
                            factor=factor, select_largest=False, keep_all=True,
                            device=device).eval()

    def detect(self, images: Images) -> list[Detections]:
        """Detect the faces of each image.

        Parameters
        ----------
        images : Tensor (B, 3, H, W) or list of Tensor (3, H, W)
            RGB in [0, 1]. Same-sized images are detected as one batch; a list of different
            sizes is detected one size at a time.

        Returns
        -------
        list of Detections
            One per image, in order; boxes, landmarks in pixels of that image.
        """
        items = as_image_list(images)
        results: list[Detections | None] = [None] * len(items)
        for indices in indices_by_size(items):
            batch = torch.stack([items[i] for i in indices]).to(self.device)
            if min(batch.shape[-2:]) < self.min_face_size:
                # No face of min_face_size fits, and the cascade has no pyramid level to run.
                for i in indices:
                    results[i] = Detections.empty()
                continue
            # facenet-pytorch takes (B, H, W, 3) pixel values in 0..255.
            pixels = batch.permute(0, 2, 3, 1) * 255
            if self.fast:
                net = self._mtcnn
                found = zip(*detect_face(pixels, net.min_face_size, net.pnet, net.rnet, net.onet,
                                         net.thresholds, net.factor), strict=True)
                found = [(box[:, :4], box[:, 4], point) if len(box) else (None, None, None)
                         for box, point in found]
            else:
                found = zip(*self._mtcnn.detect(pixels, landmarks=True), strict=True)
            for i, (box, prob, point) in zip(indices, found, strict=True):
                results[i] = _as_detections(box, prob, point)
        return results

    def crops(self, images: Images, detections: list[Detections]) -> list[torch.Tensor]:
        """Each detected face cropped and resized as facenet-pytorch's MTCNN extracts it.

        Parameters
        ----------
        images : Tensor (B, 3, H, W) or list of Tensor (3, H, W)
            The images given to :meth:`detect`, RGB in [0, 1].
        detections : list of Detections
            What :meth:`detect` returned for them.

        Returns
        -------
        list of Tensor, each (N, 3, image_size, image_size)
            RGB in [0, 1], one stack per image (N = 0 when no face).
        """
        size = self.image_size
        return [torch.stack([extract_face(image, box, size, self.margin) for box in found.boxes])
                if len(found) else image.new_zeros((0, 3, size, size))
                for image, found in zip(as_image_list(images), detections, strict=True)]


def _as_detections(boxes: object, probs: object, points: object) -> Detections:
    """Convert facenet-pytorch's per-image object arrays (None when no face) to float32 arrays."""
    if boxes is None:
        return Detections.empty()
    return Detections(boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
                      probs=np.asarray(probs, dtype=np.float32).reshape(-1),
                      landmarks=np.asarray(points, dtype=np.float32).reshape(-1, 5, 2))
