"""Geometry against hand-worked cases."""

from __future__ import annotations

import math

import pytest

from evalharness.camera.geometry import derive_geometry, dori_class


def test_hand_worked_pixel_density(make_profile):
    # 1920 px across 30 degrees at 20 m: 1920 / (2 x 20 x tan 15 deg) = 179.1 px/m, IED 11.3 px.
    profile = make_profile(hfov_deg=30.0, mounting_height_m=1.2, face_height_m=1.2,
                           lateral_offset_m=0.0, distance_m=20.0, sensor_width_px=1920)
    geo = derive_geometry(profile)
    assert geo.slant_range_m == pytest.approx(20.0)
    assert geo.px_per_m == pytest.approx(179.14, abs=0.01)
    assert geo.ied_px == pytest.approx(11.29, abs=0.01)
    assert geo.face_width_px == pytest.approx(0.14 * 179.14, abs=0.01)
    assert geo.pitch_deg == pytest.approx(0.0)


def test_slant_range_and_angles(make_profile):
    # Camera 4.2 m up, face 1.2 m up: 3 m drop; 4 m along the road, no offset -> 5 m (3-4-5).
    geo = derive_geometry(make_profile(mounting_height_m=4.2, face_height_m=1.2,
                                       lateral_offset_m=0.0, distance_m=4.0, focus_distance_m=3.0))
    assert geo.slant_range_m == pytest.approx(5.0)
    assert geo.pitch_deg == pytest.approx(math.degrees(math.atan2(3.0, 4.0)))
    assert geo.yaw_deg == pytest.approx(0.0)
    geo = derive_geometry(make_profile(mounting_height_m=1.2, face_height_m=1.2,
                                       lateral_offset_m=3.0, distance_m=4.0))
    assert geo.slant_range_m == pytest.approx(5.0)
    assert geo.yaw_deg == pytest.approx(math.degrees(math.atan2(3.0, 4.0)))


def test_focal_length_and_pixel_pitch_give_the_same_density(make_profile):
    # 1920 px of 5.86 um = 11.25 mm; a 25 mm lens sees 2 atan(5.626 / 25) = 25.37 degrees.
    by_focal = make_profile(hfov_deg=None, focal_length_mm=25.0, pixel_pitch_um=5.86)
    hfov = 2 * math.degrees(math.atan(1920 * 5.86e-3 / 2 / 25.0))
    by_fov = make_profile(hfov_deg=hfov, pixel_pitch_um=5.86)
    assert by_focal.field_of_view_deg == pytest.approx(hfov)
    assert derive_geometry(by_focal).px_per_m == pytest.approx(derive_geometry(by_fov).px_per_m)
    # Pixels per metre = focal length / (pitch x range).
    geo = derive_geometry(by_focal)
    assert geo.px_per_m == pytest.approx(25e-3 / (5.86e-6 * geo.slant_range_m))


def test_motion_blur_is_speed_times_exposure_across_the_line_of_sight(make_profile):
    profile = make_profile(speed_kmh=72.0, exposure_s=0.004, mounting_height_m=6.0,
                           face_height_m=1.2, lateral_offset_m=0.0, distance_m=15.0)
    geo = derive_geometry(profile)
    # 20 m/s x 4 ms = 80 mm along the road; the sight line dips atan(4.8 / 15) below it.
    sin_theta = 4.8 / math.hypot(15.0, 4.8)
    assert geo.motion_blur_px == pytest.approx(0.08 * sin_theta * geo.px_per_m, rel=1e-9)
    # Approaching and below the camera: the face moves straight down the image.
    assert geo.motion_angle_deg == pytest.approx(90.0)
    assert derive_geometry(make_profile(speed_kmh=0.0)).motion_blur_px == 0.0


def test_face_at_the_aim_point_is_at_the_frame_centre(make_profile):
    profile = make_profile(focus_distance_m=20.0, distance_m=20.0, aim_height_m=1.2,
                           face_height_m=1.2)
    geo = derive_geometry(profile)
    assert (geo.face_x_px, geo.face_y_px) == pytest.approx((960.0, 600.0))
    # A face above the aim point is higher in the image (smaller y).
    assert derive_geometry(make_profile(aim_height_m=0.5)).face_y_px < 600.0


@pytest.mark.parametrize(
    ("px_per_m", "expected"),
    [(260.0, "identification"), (250.0, "identification"), (249.9, "recognition"),
     (125.0, "recognition"), (62.5, "observation"), (30.0, "detection"),
     (24.9, "below detection")],
)
def test_dori_thresholds(px_per_m, expected):
    assert dori_class(px_per_m) == expected
