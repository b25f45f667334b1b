"""The whole camera on real LFW photographs: placement, determinism, devices, frame mode."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from evalharness.camera.geometry import derive_geometry
from evalharness.camera.simulate import (
    LFW_DEEPFUNNELED_EYES_PX,
    STAGES,
    canvas_side_px,
    describe_stages,
    simulate,
)
from evalharness.camera.stages import Stage, StageDescription
from evalharness.config.profile import load_profile, with_overrides
from evalharness.data.images import load_image
from evalharness.seeding import probe_generator


PROFILES = ["ir-two-lane", "colour-overview-night", "legacy-interlaced"]


@pytest.fixture(scope="module")
def faces(lfw_mini: Path) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    paths = sorted(lfw_mini.glob("A*/*_0001.jpg"))[:6]
    images = torch.stack([load_image(path) for path in paths])
    eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX).expand(len(paths), 2, 2)
    return images, eyes, [path.name for path in paths]


def _generators(keys: list[str], seed: int = 0) -> list[torch.Generator]:
    return [probe_generator(seed, "test", key) for key in keys]


def test_simulate_runs_the_declared_stages_in_order(faces, monkeypatch):
    """A stage added to the declared list is run in its place, kept by name and described, with
    nothing else to change; a stage its profile does not use is skipped."""
    images, eyes, keys = faces
    profile = load_profile("colour-overview-night")
    assert [s.name for s in describe_stages()] == [
        "resample", "spectral", "optics", "motion", "sensor", "interlace", "video", "jpeg"]
    before = simulate(images, eyes, profile, _generators(keys), keep_stages=True)
    assert "spectral" not in before.stages and "video" not in before.stages  # colour, no video_qp

    darker = Stage(StageDescription("shade", "halves the light (a test stage)."),
                   lambda image, given: image / 2.0, linear=True)
    never = Stage(StageDescription("never", "used by no profile."), lambda image, given: image * 0.0,
                  applies=lambda profile: False)
    # The module, not the package's ``simulate`` function of the same name.
    monkeypatch.setattr(importlib.import_module("evalharness.camera.simulate"), "STAGES",
                        (*STAGES[:2], darker, never, *STAGES[2:]))
    after = simulate(images, eyes, profile, _generators(keys), keep_stages=True)
    assert list(after.stages) == ["resample", "optics", "shade", "motion", "sensor", "jpeg"]
    assert torch.allclose(after.stages["shade"], _scaled_display(before.stages["optics"], scale=0.5), atol=1e-5)
    assert after.images.mean() < before.images.mean()
    assert [s.name for s in describe_stages()][2:5] == ["optics", "shade", "never"]


def _scaled_display(display: torch.Tensor, *, scale: float) -> torch.Tensor:
    """A stage's display image (sRGB-encoded linear light) with its light times ``scale``."""
    from evalharness.camera.sensor import linear_to_srgb, srgb_to_linear

    return linear_to_srgb(srgb_to_linear(display) * scale)


@pytest.mark.parametrize("name", PROFILES)
def test_stored_face_has_the_geometry_s_size_and_placement(faces, name):
    images, eyes, keys = faces
    profile = load_profile(name)
    capture = simulate(images, eyes, profile, _generators(keys), keep_stages=True)
    geo = derive_geometry(profile)
    side = canvas_side_px(geo.ied_px)
    channels = 1 if profile.spectral_mode == "infrared" else 3
    assert capture.images.shape == (len(keys), channels, side, side)
    assert capture.ied_px == pytest.approx(geo.ied_px)
    # The eyes land ied_px apart (within the crop's whole-source-pixel rounding) and inside.
    ied = (capture.eyes_px[:, 1] - capture.eyes_px[:, 0]).norm(dim=-1)
    assert torch.allclose(ied, torch.full_like(ied, geo.ied_px), rtol=0.01)
    boxes = capture.face_boxes
    assert torch.allclose(boxes[:, 2] - boxes[:, 0], torch.full_like(ied, geo.face_width_px))
    assert ((boxes[:, :2] >= 0) & (boxes[:, 2:] <= side)).all()
    assert set(capture.stages) >= {"resample", "optics", "motion", "sensor", "jpeg"}
    assert ("interlace" in capture.stages) == profile.interlaced
    # The stored image is the decoded JPEG file.
    for blob, image in zip(capture.jpeg, capture.images, strict=True):
        with Image.open(io.BytesIO(blob)) as picture:
            decoded = torch.from_numpy(np.asarray(picture).copy()).reshape(side, side, channels)
        assert torch.equal((image * 255).round().to(torch.uint8), decoded.permute(2, 0, 1))


def test_degraded_face_keeps_its_features_where_the_eyes_are(faces):
    # The resampled face: the eye region is darker than the cheeks below it (real content).
    images, eyes, keys = faces
    capture = simulate(images, eyes, load_profile("control-passport"), _generators(keys),
                       keep_stages=True)
    resampled = capture.stages["resample"].mean(dim=1)
    for image, eye in zip(resampled, capture.eyes_px, strict=True):
        (lx, ly), (rx, ry) = eye.round().long().tolist()
        ied = rx - lx
        eye_value = (image[ly - 2 : ly + 3, lx - 2 : lx + 3].mean()
                     + image[ry - 2 : ry + 3, rx - 2 : rx + 3].mean()) / 2
        cheeks = image[ly + ied // 2 : ly + ied // 2 + 5, lx - 2 : rx + 3].mean()
        assert eye_value < cheeks


def test_same_seed_same_capture_other_seed_other_noise(faces):
    images, eyes, keys = faces
    profile = load_profile("ir-two-lane")
    first = simulate(images, eyes, profile, _generators(keys))
    again = simulate(images, eyes, profile, _generators(keys))
    other = simulate(images, eyes, profile, _generators(keys, seed=1))
    assert first.jpeg == again.jpeg and torch.equal(first.images, again.images)
    assert all(a != b for a, b in zip(first.jpeg, other.jpeg, strict=True))
    # A probe degrades the same alone as in a batch.
    alone = simulate(images[2:3], eyes[2:3], profile, _generators(keys[2:3]))
    assert alone.jpeg[0] == first.jpeg[2]


def test_distance_shrinks_the_face(faces):
    images, eyes, keys = faces
    near = load_profile("ir-two-lane", {"distance_m": 12})
    far = with_overrides(near, {"distance_m": 40})
    assert simulate(images, eyes, far, _generators(keys)).ied_px < 0.5 * simulate(
        images, eyes, near, _generators(keys)).ied_px


def test_full_frame_places_the_face_at_its_geometric_position(faces):
    images, eyes, keys = faces
    profile = load_profile("ir-two-lane")
    geo = derive_geometry(profile)
    capture = simulate(images[:2], eyes[:2], profile, _generators(keys[:2]), full_frame=True)
    assert capture.images.shape == (2, 1, profile.sensor_height_px, profile.sensor_width_px)
    midpoint = capture.eyes_px.mean(dim=1)
    assert torch.allclose(midpoint, torch.tensor([geo.face_x_px, geo.face_y_px]).float(), atol=1.5)
    # The face region differs from the flat background; far from it, the frame is background.
    x, y = midpoint[0].round().long().tolist()
    face_patch = capture.images[0, 0, y - 5 : y + 5, x - 5 : x + 5]
    corner_patch = capture.images[0, 0, :40, :40]
    assert float(face_patch.std()) > 0
    assert abs(float(face_patch.mean() - corner_patch.mean())) > 0.02


@pytest.mark.gpu
@pytest.mark.parametrize("name", PROFILES)
def test_cpu_and_gpu_agree(faces, name):
    images, eyes, keys = faces
    profile = load_profile(name)
    cpu = simulate(images, eyes, profile, _generators(keys))
    gpu = simulate(images.cuda(), eyes.cuda(), profile, _generators(keys))
    # Same noise draws; float rounding may flip a rare 8-bit value by one before JPEG.
    difference = (cpu.images - gpu.images.cpu()).abs()
    assert float(difference.mean()) < 0.5 / 255
    assert torch.allclose(cpu.eyes_px, gpu.eyes_px.cpu(), atol=1e-4)


def test_crop_beyond_the_photograph_is_filled_flat_not_streaked() -> None:
    """A tight crop: the canvas reaches past the photograph's bottom edge. The fill below must be
    flat (the border's mean colour), not the last row repeated into vertical streaks."""
    from evalharness.camera.resample import resample_faces

    torch.manual_seed(0)
    face = torch.rand(1, 3, 40, 40)                       # every column of the last row differs
    canvas, origins, scales = resample_faces(face, torch.tensor([[20.0, 38.0]]), torch.tensor([1.0]), side_px=40)
    below = canvas[0, :, 24:, :]                          # rows of the canvas under the photograph
    assert float(below.std(dim=-1).max()) < 1e-5          # no streaks along a row
    border = torch.cat([face[0, :, 0, :], face[0, :, -1, :], face[0, :, :, 0], face[0, :, :, -1]], dim=-1)
    assert torch.allclose(below[:, 0, 0], border.mean(dim=-1), atol=1e-5)


def test_resample_averages_light_not_srgb_values() -> None:
    """A pixel adds the light that falls on it. Fine black and white stripes, reduced to a
    quarter, must store the grey of half the light (sRGB 0.735), not the average of the
    encoded values (0.5, which is linear 0.21: the face would be darkened where it has detail)."""
    profile = load_profile("colour-overview-night")
    ied_px = derive_geometry(profile).ied_px
    source_ied = 4 * ied_px
    side = int(6 * source_ied)
    stripes = torch.zeros(1, 3, side, side)
    stripes[..., ::2] = 1.0
    eyes = torch.tensor([[[side / 2 - source_ied / 2, side / 2], [side / 2 + source_ied / 2, side / 2]]])
    resampled = simulate(stripes, eyes, profile, _generators(["s"]), keep_stages=True).stages["resample"]
    inner = resampled[..., 4:-4, 4:-4]
    assert float(inner.mean()) == pytest.approx(0.735, abs=0.01)
