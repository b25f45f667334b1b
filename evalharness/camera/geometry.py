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
from typing import Any
from dataclasses import asdict, dataclass

import numpy as np

from evalharness.config.profile import CameraProfile, with_overrides
from evalharness.errors import ConfigError

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


def pixel_density_px_per_m(*, sensor_width_px: float, hfov_deg: float, range_m: float) -> float:
    """Pixels per metre at ``range_m`` for a pinhole camera: ``W / (2 R tan(hfov / 2))``.

    >>> round(pixel_density_px_per_m(sensor_width_px=1920, hfov_deg=30.0, range_m=20.0), 1)
    179.1
    """
    return sensor_width_px / (2.0 * range_m * math.tan(math.radians(hfov_deg) / 2.0))


def derive_geometry(profile: CameraProfile) -> Geometry:
    """Slant range, pixel density, face size, angles, motion blur and image position."""
    camera, aim = _camera_and_aim(profile)
    face = eye_point_m(profile)
    to_face = face - camera
    slant_range_m = float(np.linalg.norm(to_face))
    horizontal_m = math.hypot(profile.distance_m, profile.lateral_offset_m)
    px_per_m = pixel_density_px_per_m(
        sensor_width_px=profile.sensor_width_px, hfov_deg=profile.field_of_view_deg, range_m=slant_range_m
    )
    # Motion: the part of the vehicle's and the face's own displacement across the line of sight, in pixels;
    # its direction from the face's local image axes (right, down) seen along the sight line.
    sight = to_face / slant_range_m
    direction = math.radians(profile.subject_direction_deg)
    walk = np.array([-math.cos(direction), math.sin(direction), 0.0])
    displacement_m = (profile.speed_kmh / 3.6 * _TRAVEL + profile.subject_speed_mps * walk) * profile.exposure_s
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


def out_of_frame(profile: CameraProfile, geo: Geometry) -> str | None:
    """What every command says when the face (the eye midpoint at ``face_x_px``, ``face_y_px``)
    is outside the sensor frame, so the camera as installed would not see it; None when inside.
    """
    if geo.face_in_frame:
        return None
    where = ("behind the camera" if math.isnan(geo.face_x_px) else
             f"at ({geo.face_x_px:.0f}, {geo.face_y_px:.0f}) px, outside the "
             f"{profile.sensor_width_px}x{profile.sensor_height_px} frame")
    return (f"{profile.name} at distance_m={profile.distance_m:g}: the face is {where}; the camera as "
            "aimed would not see it (change distance_m, lateral_offset_m or the aim)")


@dataclass(frozen=True)
class CameraAxes:
    """The camera's position (m) and unit axes in road coordinates (see the module doc)."""

    position_m: np.ndarray
    forward: np.ndarray
    right: np.ndarray
    down: np.ndarray


def eye_point_m(profile: CameraProfile) -> np.ndarray:
    """Road position ``(x, y, z)``, metres, of the driver's eye midpoint."""
    return np.array([profile.distance_m, profile.lateral_offset_m, profile.face_height_m])


def _camera_and_aim(profile: CameraProfile) -> tuple[np.ndarray, np.ndarray]:
    camera = np.array([0.0, 0.0, profile.mounting_height_m])
    aim = np.array([profile.focus_distance_m, profile.lateral_offset_m, profile.aim_height_m])
    return camera, aim


def camera_axes(profile: CameraProfile) -> CameraAxes:
    """Position and axes of the profile's level camera aimed at its aim point."""
    return _axes(*_camera_and_aim(profile))


def _axes(camera: np.ndarray, aim: np.ndarray) -> CameraAxes:
    forward = (aim - camera) / np.linalg.norm(aim - camera)
    right = np.cross(forward, _UP)
    right = right / np.linalg.norm(right)
    return CameraAxes(camera, forward, right, np.cross(forward, right))


def project(profile: CameraProfile, point_m: np.ndarray) -> tuple[float, float]:
    """Pixel position (x right, y down) of a road point ``(x, y, z)`` in metres; NaN behind."""
    return _project(profile, *_camera_and_aim(profile), point_m)


def image_points(profile: CameraProfile, axes: CameraAxes,
                 points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinhole projection of road points ``(..., 3)`` (metres) by a camera at ``axes``: pixel
    positions ``x_px``, ``y_px`` (right, down) and ``depth_m`` along its axis, each ``(...)``;
    the positions mean nothing where ``depth_m <= 0`` (behind the camera)."""
    ray = points_m - axes.position_m
    depth_m = ray @ axes.forward
    focal_px = profile.focal_length_px
    x_px = profile.sensor_width_px / 2.0 + focal_px * (ray @ axes.right) / depth_m
    y_px = profile.sensor_height_px / 2.0 + focal_px * (ray @ axes.down) / depth_m
    return x_px, y_px, depth_m


def _project(
    profile: CameraProfile, camera: np.ndarray, aim: np.ndarray, point: np.ndarray
) -> tuple[float, float]:
    """Pixel position (x right, y down) of ``point`` for a level camera aimed at ``aim``."""
    x_px, y_px, depth_m = image_points(profile, _axes(camera, aim), point)
    if depth_m <= 0:
        return math.nan, math.nan
    return float(x_px), float(y_px)


#: Override keys that ask for a resolution instead of a distance (see :func:`at_resolution`).
RESOLUTION_KEYS = ("ied_px", "px_per_m")


def split_resolution(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """``--set`` values as (profile field overrides, resolution targets of :data:`RESOLUTION_KEYS`);
    a target that is not a positive number is a :class:`ConfigError` naming it."""
    fields = {key: value for key, value in overrides.items() if key not in RESOLUTION_KEYS}
    targets = {key: value for key, value in overrides.items() if key in RESOLUTION_KEYS}
    for key, value in targets.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigError(f"--set {key}={value!r}: give a positive number ({key} is a resolution "
                              "to move the camera to)")
    return fields, {key: float(value) for key, value in targets.items()}


def at_resolution(profile: CameraProfile, *, ied_px: float | None = None,
                  px_per_m: float | None = None) -> CameraProfile:
    """The profile with ``distance_m`` moved so that the face gets this resolution.

    Everything else (mounting height, lateral offset, face height, lens, focus) is kept, so the
    defocus, viewing angles and motion blur follow the new distance. Give one of ``ied_px``
    (inter-eye distance in pixels) or ``px_per_m`` (pixels per metre at the face).

    Raises
    ------
    ConfigError
        Neither or both are given, the value is not positive, or no distance along the road
        gives it: the face would have to be nearer than the camera's height and lateral offset
        allow (the message states the largest resolution the geometry reaches).
    """
    if (ied_px is None) == (px_per_m is None):
        raise ConfigError("give exactly one of ied_px and px_per_m")
    target = px_per_m if ied_px is None else ied_px / profile.ied_m
    if not target > 0.0:
        raise ConfigError(f"{'px_per_m' if ied_px is None else 'ied_px'} must be positive")
    slant_m = profile.sensor_width_px / (2.0 * target * math.tan(math.radians(profile.field_of_view_deg) / 2.0))
    off_road_m = math.hypot(profile.lateral_offset_m, profile.mounting_height_m - profile.face_height_m)
    if slant_m <= off_road_m:
        best = pixel_density_px_per_m(sensor_width_px=profile.sensor_width_px,
                                      hfov_deg=profile.field_of_view_deg, range_m=off_road_m)
        asked = f"ied_px={ied_px:g}" if ied_px is not None else f"px_per_m={px_per_m:g}"
        raise ConfigError(
            f"{profile.name}: {asked} is out of reach: even directly beside the camera the face is "
            f"{off_road_m:.2f} m away (height and lateral offset), which gives at most "
            f"{best:.1f} px/m, {best * profile.ied_m:.1f} px between the eyes")
    distance_m = math.sqrt(slant_m**2 - off_road_m**2)
    return with_overrides(profile, {"distance_m": distance_m})
