"""The road scene of frame mode: placement, windscreen, glare and occlusions (small frames)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evalharness.camera import car, scene
from evalharness.camera.geometry import derive_geometry, project
from evalharness.camera.scene import SceneOptions
from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, canvas_side_px, simulate
from evalharness.config.profile import CameraProfile, load_profile, with_overrides
from evalharness.data.images import load_image
from evalharness.errors import ConfigError
from evalharness.seeding import probe_generator

#: A third of the sensor's resolution (same field of view): quick to draw.
SMALL = {"sensor_width_px": 640, "sensor_height_px": 400, "veiling_glare_ratio": 0.0}
FACE_REFLECTANCE = 0.5


def _small(name: str, **values: float) -> CameraProfile:
    return with_overrides(load_profile(name), {**SMALL, **values})


def _render(profile: CameraProfile, options: SceneOptions = SceneOptions(), device: str = "cpu") -> torch.Tensor:
    """The scene ``(3, H, W)`` around a uniform face canvas whose eye midpoint is its centre."""
    geo = derive_geometry(profile)
    side = canvas_side_px(geo.ied_px)
    canvas = torch.full((1, 3, side, side), FACE_REFLECTANCE, device=device)
    eyes = torch.tensor([[side / 2.0, side / 2.0]], device=device)
    frames, _ = scene.render(canvas, eyes, (geo.face_x_px, geo.face_y_px), profile,
                             ied_px=geo.ied_px, options=options)
    return frames[0]


def _eye_pixel(profile: CameraProfile) -> tuple[int, int]:
    geo = derive_geometry(profile)
    return int(geo.face_x_px), int(geo.face_y_px)


def _box(profile: CameraProfile, part_name: str, options: SceneOptions = SceneOptions()) -> np.ndarray:
    """Boolean ``(H, W)``: inside the projected bounding box (one pixel wider) of a scene part."""
    parts = car.build(profile, sun_visor=options.sun_visor, a_pillar=options.a_pillar).parts
    (part,) = [p for p in parts if p.name == part_name]
    xy = np.array([project(profile, corner) for corner in part.corners_m])
    inside = np.zeros((profile.sensor_height_px, profile.sensor_width_px), dtype=bool)
    x0, y0 = np.floor(xy.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(xy.max(axis=0)).astype(int) + 2
    inside[max(y0, 0):y1, max(x0, 0):x1] = True
    return inside


def _changed(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return ((a - b).abs().amax(dim=0) > 1e-6).numpy()


@pytest.mark.parametrize(("name", "band_field"), [("ir-two-lane", "windscreen_transmission_ir"),
                                                  ("colour-overview-day", "windscreen_transmission_visible")])
def test_the_face_is_seen_through_the_windscreen_s_transmission_in_the_camera_s_band(name, band_field):
    profile = _small(name)
    transmission = getattr(profile, band_field)
    x, y = _eye_pixel(profile)
    frame = _render(profile)
    assert frame[:, y, x].tolist() == pytest.approx([transmission * FACE_REFLECTANCE] * 3, abs=1e-6)
    clearer = _render(_small(name, **{band_field: 1.0}))
    assert clearer[:, y, x].tolist() == pytest.approx([FACE_REFLECTANCE] * 3, abs=1e-6)
    # The glass darkens the cabin only: the road and the car body are the same either way.
    changed = _changed(frame, clearer)
    assert changed[y, x] and not (changed & ~_box(profile, "glass")).any()


def test_glare_is_the_profile_s_veiling_glare_at_the_eyes_and_lies_on_the_glass_only():
    profile = _small("colour-overview-day")
    glare = _small("colour-overview-day", veiling_glare_ratio=0.1)
    added = _render(glare) - _render(profile)
    x, y = _eye_pixel(profile)
    # At the eyes: the profile's ratio of the white face's signal through the glass.
    assert float(added[0, y, x]) == pytest.approx(0.1 * profile.windscreen_transmission_visible, rel=0.02)
    changed = _changed(added, torch.zeros_like(added))
    assert not (changed & ~_box(profile, "glass")).any()
    assert changed.sum() > 50 * derive_geometry(profile).ied_px ** 2   # the whole glass, not a spot


def test_fresnel_reflectance_of_glass():
    # Normal incidence: ((n - 1) / (n + 1))^2 = 4.26 % for n = 1.52; grazing incidence: total.
    assert scene.fresnel_reflectance(np.array([1.0]))[0] == pytest.approx(0.0426, abs=1e-4)
    assert scene.fresnel_reflectance(np.array([1e-6]))[0] == pytest.approx(1.0, abs=1e-3)


def test_the_sun_visor_covers_the_eyes_and_changes_nothing_outside_itself():
    profile = _small("ir-two-lane")
    options = SceneOptions(sun_visor=True)
    plain, visor = _render(profile), _render(profile, options)
    x, y = _eye_pixel(profile)
    changed = _changed(plain, visor)
    assert changed[y, x]   # at 20 m from 6 m up the visor hides the eyes
    assert float(visor[0, y, x]) == pytest.approx(profile.windscreen_transmission_ir * car.VISOR[0], abs=1e-6)
    assert not (changed & ~_box(profile, "sun visor", options)).any()


def test_the_a_pillar_hides_the_near_half_of_the_face():
    profile = _small("ir-two-lane")
    frame = _render(profile, SceneOptions(a_pillar=True))
    x, y = _eye_pixel(profile)
    step = round(0.8 * derive_geometry(profile).ied_px)
    sides = sorted(float(frame[0, y, x + dx]) for dx in (-step, step))
    # One side of the eye midpoint is the pillar (body paint, outside the glass), the other the face.
    assert sides == pytest.approx(
        sorted([profile.windscreen_transmission_ir * FACE_REFLECTANCE, car.BODY_PAINT[0]]), abs=1e-6)


def test_simulate_places_the_face_in_the_scene_where_the_geometry_says(lfw_mini: Path):
    profile = _small("ir-two-lane", veiling_glare_ratio=0.02)
    geo = derive_geometry(profile)
    face = load_image(lfw_mini / "Al_Gore" / "Al_Gore_0001.jpg")
    eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX)[None]
    capture = simulate(face[None], eyes, profile, [probe_generator(0, "test", "scene")], full_frame=True,
                       scene_options=SceneOptions())
    assert capture.images.shape == (1, 1, profile.sensor_height_px, profile.sensor_width_px)
    midpoint = capture.eyes_px.mean(dim=1)[0]
    assert torch.allclose(midpoint, torch.tensor([geo.face_x_px, geo.face_y_px]).float(), atol=1.5)
    with pytest.raises(ConfigError, match="frame mode only"):
        simulate(face[None], eyes, profile, [probe_generator(0, "test", "scene")], scene_options=SceneOptions())


@pytest.mark.gpu
def test_the_scene_on_the_gpu_is_the_cpu_s():
    profile = _small("colour-overview-day", veiling_glare_ratio=0.1)
    options = SceneOptions(sun_visor=True)
    gpu = _render(profile, options, device="cuda")
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), _render(profile, options), atol=1e-6)
