"""Any ONNX face-embedding model, run by onnxruntime and described by a small TOML spec.

Example spec for an ArcFace export (insightface's ``w600k_r50.onnx``)::

    model = "w600k_r50.onnx"          # relative to the spec file
    input_size_px = 112
    colour_order = "bgr"
    mean = [127.5, 127.5, 127.5]      # subtracted from 0..255 pixel values
    std = [127.5, 127.5, 127.5]       # then divided by
    layout = "nchw"
    alignment = "arcface"             # 5-point similarity transform to ArcFace's template

With ``alignment = "box"`` the face is cropped as FaceNet's models are
(:func:`~evalharness.models.align.extract_face` with ``margin_px``). The model must take one
float32 input of shape (batch, 3, S, S) or (batch, S, S, 3) and return (batch, D) embeddings;
they are scaled to unit length here. The model file's sha256 identifies it; give ``sha256`` in
the spec to have any other file refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch
from pydantic import Field
from skimage.transform import SimilarityTransform

from evalharness.config.loading import StrictModel, read_toml, validate
from evalharness.errors import ModelError
from evalharness.models.align import ARCFACE_TEMPLATE_112, extract_face
from evalharness.models.base import Images, as_image_list
from evalharness.models.cache import file_sha256
from evalharness.models.packaged import inference_session


class OnnxSpec(StrictModel):
    """How to feed an ONNX embedding model (see the module docstring for an example)."""

    model: Path = Field(description="the .onnx file; relative paths are from the spec file")
    input_size_px: int = Field(gt=0, le=1024, description="side of the square input, pixels")
    colour_order: Literal["rgb", "bgr"] = "rgb"
    mean: tuple[float, float, float] = Field(description="per channel, 0..255 pixel units")
    std: tuple[float, float, float] = Field(description="per channel, 0..255 pixel units")
    layout: Literal["nchw", "nhwc"] = "nchw"
    alignment: Literal["arcface", "box"] = "arcface"
    margin_px: float = Field(0, ge=0, description="'box' alignment: margin in output pixels")
    sha256: str | None = Field(None, description="refuse a model file of another sha256")


def load_onnx_spec(path: str | os.PathLike[str]) -> OnnxSpec:
    """Read and validate an ONNX model spec (TOML); ``model`` is resolved against its folder."""
    path = Path(path)
    spec = validate(OnnxSpec, read_toml(path), str(path))
    return spec.model_copy(update={"model": path.parent / spec.model})


def arcface_crop(image: np.ndarray, landmarks: np.ndarray, size_px: int) -> np.ndarray:
    """Warp ``image`` so its five landmarks land on ArcFace's template, scaled to ``size_px``.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        Pixel values, any float range.
    landmarks : ndarray, shape (5, 2)
        Left eye, right eye, nose, mouth corners; x, y pixels.
    size_px : int
        Output side; the template is scaled from 112 px.

    Returns
    -------
    ndarray, shape (size_px, size_px, 3), black outside the image.
    """
    transform = SimilarityTransform.from_estimate(np.asarray(landmarks, np.float64),
                                                  ARCFACE_TEMPLATE_112 * (size_px / 112.0))
    if not transform:
        raise ModelError(f"ONNX arcface alignment: landmarks are degenerate ({transform})")
    return cv2.warpAffine(image, transform.params[:2], (size_px, size_px), borderValue=0.0)


def load_onnx_recognizer(spec: OnnxSpec, device: torch.device, name: str = "onnx") -> OnnxRecognizer:
    """The model file of ``spec``, fingerprinted (and checked against the spec's ``sha256``),
    in an onnxruntime session on ``device`` (CUDA provider first for ``cuda``).

    Raises
    ------
    ModelError
        The file is missing, has another sha256 than pinned, or onnxruntime cannot load it.
    """
    if not spec.model.is_file():
        raise ModelError(f"{spec.model}: ONNX model file not found")
    weights_sha256 = file_sha256(spec.model)
    if spec.sha256 is not None and spec.sha256 != weights_sha256:
        raise ModelError(f"{spec.model}: sha256 {weights_sha256} differs from the "
                         f"spec's {spec.sha256}")
    session = inference_session(spec.model.read_bytes(), device, str(spec.model))
    return OnnxRecognizer(spec, session, weights_sha256, name)


class OnnxRecognizer:
    """An ONNX embedding model behind the :class:`~evalharness.models.base.Recognizer` protocol.

    Parameters
    ----------
    spec : OnnxSpec
        How to feed the model (its ``model`` path is informative here).
    session : onnxruntime.InferenceSession
        The loaded model; its first input takes the batch, its first output the embeddings.
    weights_sha256 : str
        The model file's fingerprint, recorded with results.
    name : str
        Name recorded with results.
    """

    def __init__(self, spec: OnnxSpec, session: Any, weights_sha256: str,
                 name: str = "onnx") -> None:
        self._session = session
        self.weights_sha256 = weights_sha256
        self.name = name
        self.spec = spec
        self._input = self._session.get_inputs()[0].name
        output_shape = self._session.get_outputs()[0].shape
        if not isinstance(output_shape[-1], int):
            raise ModelError(f"{spec.model}: the output's last dimension (the embedding size) "
                             f"must be fixed; the model declares {output_shape}")
        self.embedding_dim = output_shape[-1]

    def inputs(self, images: Images, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The model input, float32 (B, 3, S, S) or (B, S, S, 3) as the spec's layout says."""
        spec, size = self.spec, self.spec.input_size_px
        boxes = np.asarray(boxes)
        # 'box' alignment ignores the landmarks, so callers may pass None.
        landmarks = np.asarray(landmarks) if spec.alignment == "arcface" else [None] * len(boxes)
        crops = []
        for image, box, points in zip(as_image_list(images), boxes, landmarks, strict=True):
            pixels = image.detach().to("cpu", torch.float32) * 255
            if spec.alignment == "box":
                crop = extract_face(pixels, box, size, spec.margin_px).permute(1, 2, 0).numpy()
            else:
                crop = arcface_crop(np.ascontiguousarray(pixels.permute(1, 2, 0).numpy()),
                                    points, size)
            crops.append(crop)
        batch = np.stack(crops).astype(np.float32)  # (B, S, S, 3), RGB
        if spec.colour_order == "bgr":
            batch = batch[..., ::-1]
        batch = (batch - np.float32(spec.mean)) / np.float32(spec.std)
        if spec.layout == "nchw":
            batch = batch.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(batch, dtype=np.float32)

    def embed(self, images: Images, boxes: np.ndarray, landmarks: np.ndarray) -> torch.Tensor:
        """Embed one face per image.

        Parameters
        ----------
        images : Tensor (B, 3, H, W) or list of Tensor (3, H, W)
            RGB in [0, 1].
        boxes : ndarray, shape (B, 4)
            x1, y1, x2, y2 pixels ('box' alignment).
        landmarks : ndarray, shape (B, 5, 2)
            x, y pixels ('arcface' alignment).

        Returns
        -------
        Tensor, shape (B, D), float32 on CPU, unit rows.
        """
        if len(boxes) == 0:
            return torch.zeros((0, self.embedding_dim))
        outputs = self._session.run(None, {self._input: self.inputs(images, boxes, landmarks)})
        embeddings = torch.from_numpy(np.asarray(outputs[0], np.float32).reshape(len(boxes), -1))
        return torch.nn.functional.normalize(embeddings, dim=1)
