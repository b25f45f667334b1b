"""Image-quality measures of a face in a stored image (simulated or real).

Between ``camera`` and ``models`` in the flow: functions of an image and a face box, knowing
nothing of detectors or metrics. See :mod:`evalharness.quality.measures`.
"""

from evalharness.quality.measures import (
    MEASURES,
    Measure,
    detection_measures,
    face_measures,
)

__all__ = ["MEASURES", "Measure", "detection_measures", "face_measures"]
