"""Where the driver's face is relative to the camera, and how many pixels it covers.

Coordinates: the camera sits at ``(0, 0, mounting_height_m)``; ``x`` runs along the road towards
the approaching vehicle, ``y`` across the road (``lateral_offset_m``), ``z`` up. The lens is aimed
at ``(focus_distance_m, lateral_offset_m, aim_height_m)`` and focused at that distance.

Pixel density uses a pinhole camera: ``px_per_m = W / (2 R tan(hfov / 2))`` at slant range ``R``.
The viewing angles (pitch down to the face, yaw across) are reported but not simulated: the
model is two-dimensional, so a face seen 15 degrees from above keeps its frontal appearance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from evalharness.config.profile import CameraProfile

#: IEC 62676-4 (DORI) pixel densities at the subject, px/m, highest first.
DORI_THRESHOLDS_PX_PER_M = (
    ("identification", 250.0),
    ("recognition", 125.0),
    ("observation", 62.5),
    ("detection", 25.0),
)

#: Vehicles approach the camera, moving in -x.
_TRAVEL = np.array([-1.0, 0.0, 0.0])
_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Geometry:
    """Derived figures of one camera and face position (units in the names)."""

    slant_range_m: float
    px_per_m: float
    ied_px: float
    face_width_px: float
    pitch_deg: float
    yaw_deg: float
    focal_length_px: float
    focal_length_mm: float
    hfov_deg: float
    focus_range_m: float
    motion_blur_px: float
    motion_angle_deg: float
    face_x_px: float
    face_y_px: float
    face_in_frame: bool

    def as_dict(self) -> dict[str, float | bool]:
        """The fields as a plain dict."""
        return asdict(self)


def dori_class(px_per_m: float) -> str:
    """IEC 62676-4 class of a pixel density: identification, recognition, observation,
    detection, or ``"below detection"`` under 25 px/m."""
    for name, threshold in DORI_THRESHOLDS_PX_PER_M:
        if px_per_m >= threshold:
            return name
    return "below detection"


def pixel_density_px_per_m(sensor_width_px: float, hfov_deg: float, range_m: float) -> float:
    """Pixels per metre at ``range_m`` for a pinhole camera: ``W / (2 R tan(hfov / 2))``.

    >>> round(pixel_density_px_per_m(1920, 30.0, 20.0), 1)
    179.1
    """
    return sensor_width_px / (2.0 * range_m * math.tan(math.radians(hfov_deg) / 2.0))


def derive_geometry(profile: CameraProfile) -> Geometry:
    """Slant range, pixel density, face size, angles, motion blur and image position."""
    camera = np.array([0.0, 0.0, profile.mounting_height_m])
    face = np.array([profile.distance_m, profile.lateral_offset_m, profile.face_height_m])
    aim = np.array([profile.focus_distance_m, profile.lateral_offset_m, profile.aim_height_m])
    to_face = face - camera
    slant_range_m = float(np.linalg.norm(to_face))
    horizontal_m = math.hypot(profile.distance_m, profile.lateral_offset_m)
    px_per_m = pixel_density_px_per_m(
        profile.sensor_width_px, profile.field_of_view_deg, slant_range_m
    )
    # Motion: the part of the vehicle's displacement across the line of sight, in pixels;
    # its direction from the face's local image axes (right, down) seen along the sight line.
    sight = to_face / slant_range_m
    displacement_m = profile.speed_kmh / 3.6 * profile.exposure_s * _TRAVEL
    across_m = displacement_m - np.dot(displacement_m, sight) * sight
    right = np.cross(sight, _UP)
    right = right / np.linalg.norm(right)
    down = np.cross(sight, right)
    motion_blur_px = float(np.linalg.norm(across_m) * px_per_m)
    motion_angle_deg = math.degrees(math.atan2(np.dot(across_m, down), np.dot(across_m, right)))
    face_x_px, face_y_px = _project(profile, camera, aim, face)
    return Geometry(
        slant_range_m=slant_range_m,
        px_per_m=px_per_m,
        ied_px=profile.ied_m * px_per_m,
        face_width_px=profile.face_width_m * px_per_m,
        pitch_deg=math.degrees(
            math.atan2(profile.mounting_height_m - profile.face_height_m, horizontal_m)
        ),
        yaw_deg=math.degrees(math.atan2(profile.lateral_offset_m, profile.distance_m)),
        focal_length_px=profile.focal_length_px,
        focal_length_mm=profile.lens_focal_length_mm,
        hfov_deg=profile.field_of_view_deg,
        focus_range_m=float(np.linalg.norm(aim - camera)),
        motion_blur_px=motion_blur_px,
        motion_angle_deg=motion_angle_deg,
        face_x_px=face_x_px,
        face_y_px=face_y_px,
        face_in_frame=bool(
            0 <= face_x_px < profile.sensor_width_px and 0 <= face_y_px < profile.sensor_height_px
        ),
    )


def _project(
    profile: CameraProfile, camera: np.ndarray, aim: np.ndarray, point: np.ndarray
) -> tuple[float, float]:
    """Pixel position (x right, y down) of ``point`` for a level camera aimed at ``aim``."""
    forward = (aim - camera) / np.linalg.norm(aim - camera)
    right = np.cross(forward, _UP)
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    ray = point - camera
    depth = float(np.dot(ray, forward))
    if depth <= 0:
        return math.nan, math.nan
    focal_px = profile.focal_length_px
    x_px = profile.sensor_width_px / 2.0 + focal_px * float(np.dot(ray, right)) / depth
    y_px = profile.sensor_height_px / 2.0 + focal_px * float(np.dot(ray, down)) / depth
    return x_px, y_px
