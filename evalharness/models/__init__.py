"""Face detectors and recognizers, loaded offline from installed packages, each fingerprinted.

The evaluation engine uses only :class:`Detector`, :class:`Recognizer`, :class:`Detections`
and the registry functions; see ``docs/ARCHITECTURE.md``.
"""

from evalharness.models.base import (
    Detections,
    Detector,
    ModelInfo,
    Recognizer,
    resolve_device,
)
from evalharness.models.registry import (
    DEFAULT_DETECTOR,
    DEFAULT_RECOGNIZER,
    get_detector,
    get_recognizer,
    list_models,
)

__all__ = [
    "DEFAULT_DETECTOR",
    "DEFAULT_RECOGNIZER",
    "Detections",
    "Detector",
    "ModelInfo",
    "Recognizer",
    "get_detector",
    "get_recognizer",
    "list_models",
    "resolve_device",
]
