"""The H.264 stage: a real libx264 encode, coarser with QP, noise removed before detail."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from evalharness.camera.video import h264_intra
from evalharness.data.images import load_image


@pytest.fixture(scope="module")
def face(lfw_mini) -> torch.Tensor:
    image = load_image(next((lfw_mini / "Abdoulaye_Wade").glob("*.jpg")))
    return F.interpolate(image[None, :, 60:190, 60:190], size=(65, 65), mode="area")  # odd size


def test_error_grows_with_qp_and_shape_is_kept(face: torch.Tensor) -> None:
    errors = [float((h264_intra(face, qp=qp) - face).abs().mean()) for qp in (10, 24, 36, 48)]
    assert all(a < b for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[0] < 3 / 255  # near-lossless at QP 10 (what remains is 4:2:0 chroma)
    assert h264_intra(face, qp=30).shape == face.shape


def test_noise_goes_first(face: torch.Tensor) -> None:
    generator = torch.Generator().manual_seed(1)
    noisy = (face + 6 / 255 * torch.randn(face.shape, generator=generator)).clamp(0, 1)
    coded = h264_intra(noisy, qp=34)
    # At QP 34 the codec keeps the face (close to the clean one) but not the noise.
    assert float((coded - face).pow(2).mean()) < 0.8 * float((noisy - face).pow(2).mean())


def test_monochrome_and_bounds(face: torch.Tensor) -> None:
    grey = face.mean(dim=1, keepdim=True)
    assert h264_intra(grey, qp=28).shape == grey.shape
    with pytest.raises(ValueError, match="0-51"):
        h264_intra(face, qp=60)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to compare with one")
def test_same_frame_whatever_cpus_the_process_may_use(face: torch.Tensor) -> None:
    """libx264 left to choose its threads codes a frame of 16 macroblock rows differently with
    one CPU than with two (a random 256-px frame: 1,056 DN apart in all); the stage must not."""
    large = F.interpolate(face, size=(256, 256), mode="bilinear", align_corners=False)
    cpus = os.sched_getaffinity(0)
    every = h264_intra(large, qp=28)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        one = h264_intra(large, qp=28)
    finally:
        os.sched_setaffinity(0, cpus)
    assert torch.equal(every, one)


def test_lossless_round_trip_keeps_the_level(face: torch.Tensor) -> None:
    """At QP 0 the codec is lossless: what comes back may lose 4:2:0 chroma detail but not
    brightness. A decode that rounds down (swscale's default) made a grey ramp 0.47 DN darker and
    this face 1.4 DN darker."""
    ramp = torch.linspace(0, 1, 64).expand(1, 3, 32, 64).contiguous()
    for image in (ramp, face):
        image = (image * 255).round() / 255
        bias_dn = float((h264_intra(image, qp=0) - image).mean()) * 255
        assert abs(bias_dn) < 0.1, bias_dn
