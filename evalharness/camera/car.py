"""The car around the driver, for the road scene (:mod:`~evalharness.camera.scene`).

A hatchback body (front with grille, headlights and number plate, bonnet, windscreen framed by
the A-pillars, roof, both sides with their windows and wheels), its glass, and the cabin seen
through it (seats, the driver's torso, dashboard, steering wheel, optionally the sun visor), as
flat :class:`Part`s in the road coordinates of :mod:`~evalharness.camera.geometry` (metres),
placed around the profile's eye point. The A-pillar option moves the car sideways so that the
driver-side pillar's inner edge falls on the eyes' image position [REF: unece-r125].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalharness.camera import geometry
from evalharness.config.profile import CameraProfile

# Car body, metres [assumption: a C-segment hatchback, about 4.3 m x 1.8 m x 1.45 m]. Heights of
# the upper body are relative to the driver's eye (the profile's face_height_m), so that a higher
# eye (a van) raises the car around it.
CAR_LENGTH_M = 4.25
CAR_HALF_WIDTH_M = 0.90
EYE_BEHIND_FRONT_M = 2.0      # the profiles' "face 2 m behind the plate" [REF: anpr-profile-table]
DRIVER_OFFSET_M = 0.37        # driver's seat right of the centreline (right-hand drive) [assumption]
SILL_HEIGHT_M = 0.15          # lowest body edge above the road [assumption]
BONNET_BELOW_EYE_M = 0.45     # front edge of the bonnet [assumption]
COWL_BELOW_EYE_M = 0.28       # windscreen's lower edge [assumption]
ROOF_ABOVE_EYE_M = 0.25       # windscreen's upper edge [assumption]
COWL_BEHIND_FRONT_M = 0.80    # bonnet length [assumption]
WINDSCREEN_RAKE_DEG = 58.0    # glass inclined 58 degrees from vertical [assumption]
COWL_HALF_WIDTH_M = 0.80      # windscreen face incl. pillars, at the cowl and at the roof
ROOF_HALF_WIDTH_M = 0.68
PILLAR_WIDTH_M = 0.09         # A-pillar seen from the front [REF: unece-r125] [assumption]
ROOF_LENGTH_M = 1.7
WHEEL_RADIUS_M = 0.31
PLATE_HALF_SIZE_M = (0.26, 0.0555)   # 520 mm x 111 mm UK plate [assumption]
PLATE_CENTRE_HEIGHT_M = 0.45
SUN_VISOR_DEPTH_M = 0.17      # hangs this far below the roof's front edge [assumption]

# Linear reflectances (RGB) [assumption: typical materials; the infrared stage mixes them].
BODY_PAINT = (0.30, 0.31, 0.33)    # silver-grey
TRIM = (0.03, 0.03, 0.03)          # black plastic, tyres, grille
HEADLIGHT = (0.55, 0.55, 0.55)
PLATE = (1.0, 1.0, 1.0)            # retroreflective: saturates
INTERIOR = (0.04, 0.04, 0.04)
SEAT = (0.06, 0.06, 0.065)
CLOTHING = (0.08, 0.08, 0.10)
SIDE_WINDOW = (0.02, 0.02, 0.025)
VISOR = (0.20, 0.19, 0.17)


@dataclass(frozen=True, eq=False)   # compared by identity (it holds an array)
class Part:
    """One flat piece of the scene: a polygon (or, with ``line_m``, a polyline that wide) in
    road coordinates ``corners_m (N, 3)``, of linear reflectance ``rgb``, on a ``layer``:
    ``ground`` (on the road, drawn first), ``exterior`` (the car body: drawn when facing the
    camera), ``glass`` (the windscreen's glass), ``cabin_back`` (behind the face) or
    ``cabin_front`` (in front of it)."""

    name: str
    layer: str
    corners_m: np.ndarray
    rgb: tuple[float, float, float]
    line_m: float | None = None


@dataclass(frozen=True)
class Car:
    """The car's ``parts`` (far to near within each layer) and its body's centre (road, m)."""

    parts: list[Part]
    centre_m: np.ndarray


class _Layout:
    """Car-local coordinates (u back from the front, v right of the centreline, z up) to road."""

    def __init__(self, profile: CameraProfile, centre_y_m: float) -> None:
        self.eye = geometry.eye_point_m(profile)
        self.front_x = self.eye[0] - EYE_BEHIND_FRONT_M
        self.centre_y = centre_y_m
        eye_z = self.eye[2]
        self.bonnet_z = eye_z - BONNET_BELOW_EYE_M
        self.cowl_z = eye_z - COWL_BELOW_EYE_M
        self.roof_z = eye_z + ROOF_ABOVE_EYE_M
        self.roof_u = COWL_BEHIND_FRONT_M + (self.roof_z - self.cowl_z) * math.tan(
            math.radians(WINDSCREEN_RAKE_DEG))

    def at(self, *points: tuple[float, float, float]) -> np.ndarray:
        """Road coordinates ``(N, 3)`` of car-local points."""
        local = np.array(points, dtype=np.float64)
        return np.stack([self.front_x + local[:, 0], self.centre_y + local[:, 1], local[:, 2]], axis=1)

    def glass_edge(self, z: float, side: float) -> tuple[float, float]:
        """(u, v) of the glass's side edge at height ``z`` on ``side`` (+1 driver, -1 passenger)."""
        f = (z - self.cowl_z) / (self.roof_z - self.cowl_z)
        u = COWL_BEHIND_FRONT_M + f * (self.roof_u - COWL_BEHIND_FRONT_M)
        half = COWL_HALF_WIDTH_M + f * (ROOF_HALF_WIDTH_M - COWL_HALF_WIDTH_M) - PILLAR_WIDTH_M
        return u, side * half


def _centre_y(profile: CameraProfile, *, a_pillar: bool) -> float:
    """Lateral position of the car's centreline: the driver in their seat, or (A-pillar option)
    the car moved so that the driver-side pillar's inner edge at eye height meets the eye's ray."""
    seated = profile.lateral_offset_m - DRIVER_OFFSET_M
    if not a_pillar:
        return seated
    face_x, _ = geometry.project(profile, geometry.eye_point_m(profile))
    low, high = seated - 1.5, seated + 1.5

    # Height where the camera's ray to the eyes crosses the glass (the plane does not depend on
    # the car's lateral position): the pillar's edge is taken there, on the eyes' image row.
    car = _Layout(profile, seated)
    camera = geometry.camera_axes(profile).position_m
    slope = math.tan(math.radians(WINDSCREEN_RAKE_DEG))

    def off_plane(t: float) -> float:
        x, _, z = camera + t * (car.eye - camera)
        return x - car.front_x - COWL_BEHIND_FRONT_M - (z - car.cowl_z) * slope

    t = off_plane(0.0) / (off_plane(0.0) - off_plane(1.0))   # linear in t
    crossing_z = float((camera + t * (car.eye - camera))[2])

    def edge_x(centre_y: float) -> float:
        car = _Layout(profile, centre_y)
        u, v = car.glass_edge(crossing_z, +1.0)
        return geometry.project(profile, car.at((u, v, crossing_z))[0])[0] - face_x

    increasing = edge_x(high) > edge_x(low)
    for _ in range(50):   # bisection: the edge's image position is monotonic in the car's position
        mid = (low + high) / 2.0
        if (edge_x(mid) > 0.0) == increasing:
            high = mid
        else:
            low = mid
    return (low + high) / 2.0


def build(profile: CameraProfile, *, sun_visor: bool = False, a_pillar: bool = False) -> Car:
    """The car around the profile's driver, its cabin and the chosen occluders."""
    car = _Layout(profile, _centre_y(profile, a_pillar=a_pillar))
    w, length, sill = CAR_HALF_WIDTH_M, CAR_LENGTH_M, SILL_HEIGHT_M
    cu, ru, cz, rz, bz = COWL_BEHIND_FRONT_M, car.roof_u, car.cowl_z, car.roof_z, car.bonnet_z
    cw, rw = COWL_HALF_WIDTH_M, ROOF_HALF_WIDTH_M
    eye_u, eye_z, driver_v = EYE_BEHIND_FRONT_M, car.eye[2], car.eye[1] - car.centre_y
    # The road under the car is in its shadow (first: everything else is drawn over it).
    parts = [Part("underbody shadow", "ground", car.at((-0.05, -w, 0.0), (-0.05, w, 0.0),
                                                         (length, w, 0.0), (length, -w, 0.0)), TRIM)]
    for side in (-1.0, 1.0):
        parts += [
            Part("side", "exterior", car.at((0, side * w, sill), (length, side * w, sill),
                                            (length, side * w, cz), (cu, side * w, cz), (0, side * w, bz)), BODY_PAINT),
            Part("side window", "exterior", car.at((cu, side * cw, cz), (ru, side * rw, rz),
                                                   (ru + ROOF_LENGTH_M, side * rw, rz),
                                                   (length - 0.5, side * cw, cz)), SIDE_WINDOW),
        ]
        for wheel_u in (0.8, length - 0.8):
            circle = [(wheel_u + WHEEL_RADIUS_M * math.cos(a), side * (w + 0.001),
                       WHEEL_RADIUS_M + WHEEL_RADIUS_M * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 24)]
            parts.append(Part("wheel", "exterior", car.at(*circle), TRIM))
    parts += [
        Part("roof", "exterior", car.at((ru, -rw, rz), (ru, rw, rz), (ru + ROOF_LENGTH_M, rw, rz),
                                        (ru + ROOF_LENGTH_M, -rw, rz)), BODY_PAINT),
        Part("windscreen", "exterior", car.at((cu, -cw, cz), (cu, cw, cz), (ru, rw, rz), (ru, -rw, rz)), BODY_PAINT),
        Part("bonnet", "exterior", car.at((0, -w, bz), (0, w, bz), (cu, w, cz), (cu, -w, cz)), BODY_PAINT),
        Part("front", "exterior", car.at((0, -w, sill), (0, w, sill), (0, w, bz), (0, -w, bz)), BODY_PAINT),
    ]
    # Details on the front (drawn after it), then the glass, whose region shows the cabin.
    px, pz = PLATE_HALF_SIZE_M
    plate_z = PLATE_CENTRE_HEIGHT_M
    parts += [
        Part("bumper", "exterior", car.at((-0.01, -w, sill), (-0.01, w, sill), (-0.01, w, sill + 0.12),
                                          (-0.01, -w, sill + 0.12)), TRIM),
        Part("grille", "exterior", car.at((-0.01, -0.45, plate_z - 0.12), (-0.01, 0.45, plate_z - 0.12),
                                          (-0.01, 0.40, bz - 0.08), (-0.01, -0.40, bz - 0.08)), TRIM),
        Part("plate", "exterior", car.at((-0.02, -px, plate_z - pz), (-0.02, px, plate_z - pz),
                                         (-0.02, px, plate_z + pz), (-0.02, -px, plate_z + pz)), PLATE),
    ]
    for side in (-1.0, 1.0):
        parts.append(Part("headlight", "exterior", car.at(
            (-0.01, side * 0.55, bz - 0.15), (-0.01, side * 0.85, bz - 0.12),
            (-0.01, side * 0.85, bz - 0.03), (-0.01, side * 0.55, bz - 0.05)), HEADLIGHT))
    glass = [(*car.glass_edge(z, s), z) for z, s in ((cz + 0.03, -1), (cz + 0.03, 1), (rz - 0.04, 1), (rz - 0.04, -1))]
    parts.append(Part("glass", "glass", car.at(*glass), INTERIOR))
    # Cabin, far to near: passenger seat, the driver's seat and torso (behind the face), then the
    # dashboard, steering wheel and sun visor in front of it.
    seat_u = eye_u + 0.30
    for v in (-driver_v, driver_v):
        parts += [
            Part("seat", "cabin_back", car.at(
                (seat_u, v - 0.26, cz - 0.3), (seat_u, v + 0.26, cz - 0.3),
                (seat_u, v + 0.24, eye_z - 0.05), (seat_u, v - 0.24, eye_z - 0.05)), SEAT),
            Part("headrest", "cabin_back", car.at(
                (seat_u, v - 0.13, eye_z), (seat_u, v + 0.13, eye_z),
                (seat_u, v + 0.12, eye_z + 0.18), (seat_u, v - 0.12, eye_z + 0.18)), SEAT),
        ]
    parts.append(Part("torso", "cabin_back", car.at(
        (eye_u, driver_v - 0.24, cz - 0.4), (eye_u, driver_v + 0.24, cz - 0.4),
        (eye_u, driver_v + 0.23, eye_z - 0.22), (eye_u, driver_v + 0.09, eye_z - 0.13),
        (eye_u, driver_v - 0.09, eye_z - 0.13), (eye_u, driver_v - 0.23, eye_z - 0.22)), CLOTHING))
    parts.append(Part("dashboard", "cabin_front", car.at(
        (cu, -cw, cz + 0.01), (cu, cw, cz + 0.01), (cu + 0.55, cw, cz + 0.01), (cu + 0.55, -cw, cz + 0.01)), TRIM))
    rake = math.radians(25.0)   # steering wheel inclined 25 degrees from vertical [assumption]
    wheel_c = (eye_u - 0.45, driver_v, eye_z - 0.42)
    ring = [(wheel_c[0] - 0.185 * math.sin(a) * math.sin(rake), wheel_c[1] + 0.185 * math.cos(a),
             wheel_c[2] + 0.185 * math.sin(a) * math.cos(rake)) for a in np.linspace(0, 2 * math.pi, 48)]
    parts.append(Part("steering wheel", "cabin_front", car.at(*ring), TRIM, line_m=0.03))
    if sun_visor:
        edge_u, _ = car.glass_edge(rz - 0.04, 1.0)
        visor_u = edge_u + 0.08
        parts.append(Part("sun visor", "cabin_front", car.at(
            (visor_u, 0.03, rz - 0.03), (visor_u, rw - 0.05, rz - 0.03),
            (visor_u, rw - 0.05, rz - 0.03 - SUN_VISOR_DEPTH_M),
            (visor_u, 0.03, rz - 0.03 - SUN_VISOR_DEPTH_M)), VISOR))
    centre_m = np.array([car.front_x + CAR_LENGTH_M / 2, car.centre_y, car.cowl_z / 2])
    return Car(parts, centre_m)
