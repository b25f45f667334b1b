"""Quality measures against known cases, on real LFW photographs."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from evalharness.camera import codec
from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
from evalharness.config.profile import load_profile
from evalharness.data.images import load_image
from evalharness.models import get_detector
from evalharness.quality.measures import (
    MIN_REGION_PX,
    detection_measures,
    face_jpeg_bytes,
    face_measures,
    directional_power_log2,
    LIT_QUANTILE,
    face_level_dn,
    skin_level_dn,
    face_region,
    stored_box,
    noise_sigma_dn,
    reference_similarity,
    to_grey,
)
from evalharness.seeding import probe_generator


def _faces(root: Path, count: int) -> list[Path]:
    return sorted(root.glob("*/*_0001.jpg"))[:count]


def test_ssim_of_a_real_face_with_itself_is_one(lfw_mini: Path) -> None:
    grey = to_grey(load_image(_faces(lfw_mini, 1)[0]).numpy())
    psnr, ssim = reference_similarity(grey, grey)
    assert ssim == pytest.approx(1.0) and math.isinf(psnr)


def test_ssim_and_psnr_fall_as_noise_grows(lfw_mini: Path) -> None:
    grey = to_grey(load_image(_faces(lfw_mini, 1)[0]).numpy())
    rng = np.random.default_rng(0)
    results = [reference_similarity(np.clip(grey + rng.normal(0, s / 255, grey.shape), 0, 1), grey)
               for s in (2, 8, 32)]
    psnrs, ssims = zip(*results, strict=True)
    assert list(psnrs) == sorted(psnrs, reverse=True) and list(ssims) == sorted(ssims, reverse=True)
    assert ssims[-1] < 0.6 < ssims[0] < 1.0


@pytest.mark.parametrize("sigma_dn", [2.0, 5.0, 12.0])
def test_noise_sigma_of_a_flat_field_within_ten_percent(sigma_dn: float) -> None:
    rng = np.random.default_rng(int(sigma_dn))
    field = 0.5 + rng.normal(0.0, sigma_dn / 255.0, (64, 64))
    assert noise_sigma_dn(field) == pytest.approx(sigma_dn, rel=0.10)


def test_ied_from_landmarks_matches_the_geometry_after_a_known_rescale(lfw_mini: Path) -> None:
    """Source faces scaled by the camera to the geometry's IED; MTCNN's eyes agree within 15%."""
    paths = _faces(lfw_mini, 8)
    faces = torch.stack([load_image(p) for p in paths])
    eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(len(paths), 1, 1)
    profile = load_profile("control-passport", {"distance_m": 2.0})  # IED ~ 30 px, not the source's 42
    capture = simulate(faces, eyes, profile, [probe_generator(1, "ied", str(p)) for p in paths])
    assert not 38.0 < capture.ied_px < 46.0, "the rescale must change the scale"
    detections = get_detector("mtcnn", "cpu").detect(capture.images)
    measured = [detection_measures(d.boxes[0], d.landmarks[0], float(d.probs[0]))["ied_px_landmarks"]
                for d in detections if len(d)]
    assert len(measured) == len(paths)
    assert np.median(measured) == pytest.approx(capture.ied_px, rel=0.15)


def test_face_jpeg_bytes_counts_the_scan_of_the_face_blocks(lfw_mini: Path) -> None:
    image = load_image(_faces(lfw_mini, 1)[0])
    jpeg = codec.encode_jpeg(image[None], quality=75, subsampling="4:2:0")[0]
    whole = face_jpeg_bytes(jpeg, [0, 0, 250, 250])
    # The whole picture re-encoded with its own tables: the file's length less its headers.
    assert 0.9 * len(jpeg) - 700 < whole < len(jpeg)
    face = face_jpeg_bytes(jpeg, [80, 70, 170, 190])
    corner = face_jpeg_bytes(jpeg, [0, 0, 40, 40])
    assert corner < face < whole
    png = io.BytesIO()
    Image.fromarray((image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(png, format="PNG")
    assert math.isnan(face_jpeg_bytes(png.getvalue(), [0, 0, 250, 250]))


#: How Pillow turns a stored image upright for each EXIF orientation (ImageOps.exif_transpose).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
#: The inverse of each: the image as a camera held that way stores it.
STORED = UPRIGHT | {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_box_on_the_upright_image_maps_to_the_stored_pixels(orientation: int) -> None:
    """The stored pixels under the mapped box, turned upright, are the upright image's pixels under
    the box, for every EXIF orientation: JPEG bytes are counted on the face, not beside it."""
    upright = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (24, 40), np.uint8))
    stored = upright.transpose(STORED[orientation]) if orientation in STORED else upright
    box = (5, 3, 17, 20)
    crop = stored.crop(tuple(int(v) for v in stored_box(box, stored.size, orientation=orientation)))
    assert np.array_equal(np.asarray(crop.transpose(UPRIGHT[orientation]) if orientation in UPRIGHT else crop),
                          np.asarray(upright.crop(box)))


def test_face_jpeg_bytes_follow_the_exif_orientation(lfw_mini: Path) -> None:
    """A photograph stored turned, with EXIF orientation 6 (as a phone held upright stores it),
    spends on the face what the same photograph stored upright does."""
    photo = Image.fromarray((load_image(_faces(lfw_mini, 1)[0]).permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    upright = photo.crop((0, 0, 248, 248))  # whole 8 px blocks: both files' blocks hold the same pixels
    plain, turned = io.BytesIO(), io.BytesIO()
    upright.save(plain, format="JPEG", quality=75, subsampling=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(STORED[6]).save(turned, format="JPEG", quality=75, subsampling=0, exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(turned)).size == upright.size
    box = [80, 72, 168, 184]
    assert face_jpeg_bytes(turned.getvalue(), box) == pytest.approx(face_jpeg_bytes(plain.getvalue(), box), rel=0.05)


def test_face_region_is_grown_to_the_minimum_and_clipped() -> None:
    rows, cols = face_region([10.0, 10.0, 14.0, 14.0], 100, 100)
    assert rows.stop - rows.start == MIN_REGION_PX and cols.stop - cols.start == MIN_REGION_PX
    rows, cols = face_region([-5.0, 90.0, 30.0, 130.0], 100, 100)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (90, 100, 0, 30)


def test_face_measures_of_a_degraded_face_against_its_ideal(lfw_mini: Path) -> None:
    """The camera's own ideal stage as the reference: SSIM below 1, more noise at longer range."""
    path = _faces(lfw_mini, 1)[0]
    eyes = torch.tensor(LFW_DEEPFUNNELED_EYES_PX)[None]
    rows = []
    for distance_m in (5.0, 20.0):
        profile = load_profile("ir-two-lane", {"distance_m": distance_m})
        capture = simulate(load_image(path)[None], eyes, profile, [probe_generator(1, "m", "x")], keep_stages=True)
        rows.append(face_measures(capture.images[0].numpy(), capture.face_boxes[0].numpy(), capture.jpeg[0],
                                  capture.stages["spectral"][0].numpy()))
    near, far = rows
    assert 0.0 < far["ssim"] < 1.0 and 0.0 < near["ssim"] < 1.0
    assert far["face_jpeg_bytes"] < near["face_jpeg_bytes"]
    assert all(math.isfinite(v) for row in rows for v in row.values())


def test_face_level_is_the_median_of_the_box_centre() -> None:
    """The middle half of the box in each direction, its median luma in DN; outside: NaN."""
    image = np.full((3, 40, 40), 0.9)
    image[:, 10:30, 10:30] = 0.2            # the face box's centre (box 0-40: centre 10-30)
    image[:, 12, 12] = 1.0                  # a specular pixel does not move the median
    assert face_level_dn(image, (0, 0, 40, 40)) == pytest.approx(0.2 * 255)
    assert face_level_dn(image, (0, 0, 20, 20)) == pytest.approx(0.9 * 255)  # centre 5-15: mostly 0.9
    assert math.isnan(face_level_dn(image, (100, 100, 120, 120)))


def test_lit_level_reads_the_skin_among_a_darker_beard() -> None:
    """The box's centre (10-30) three quarters beard (0.1) and a quarter skin (0.6, rows 25-30),
    with one specular pixel: the median reads the beard, :data:`LIT_QUANTILE` (0.9) the skin; the
    median is the 0.5 quantile."""
    image = np.full((3, 40, 40), 0.9)
    image[:, 10:25, 10:30] = 0.1
    image[:, 25:30, 10:30] = 0.6
    image[:, 12, 12] = 1.0
    assert face_level_dn(image, (0, 0, 40, 40)) == pytest.approx(0.1 * 255)
    assert face_level_dn(image, (0, 0, 40, 40), quantile=LIT_QUANTILE) == pytest.approx(0.6 * 255)
    assert face_level_dn(image, (0, 0, 40, 40), quantile=0.5) == face_level_dn(image, (0, 0, 40, 40))


def test_skin_level_reads_the_discs_at_the_nose_and_between_eyes_and_nose() -> None:
    """Eyes at (10, 10) and (30, 10), nose at (20, 22): discs of radius 0.25 x 12 = 3 px at the
    nose and at (15, 16), (25, 16); the skin there is 0.5, the hair and background around it 0.9
    and 0.1, which the box's centre would mix in; landmarks off the image: NaN."""
    image = np.full((3, 40, 40), 0.1)
    image[:, :6, :] = 0.9                   # hair
    image[:, 12:26, 12:29] = 0.5            # the skin around the three discs (rows 12-25, cols 12-28)
    landmarks = np.array([[10, 10], [30, 10], [20, 22], [14, 30], [26, 30]], dtype=float)
    assert skin_level_dn(image, landmarks) == pytest.approx(0.5 * 255)
    image[:, 22, 20] = 1.0                  # a specular pixel on the nose does not move the median
    assert skin_level_dn(image, landmarks) == pytest.approx(0.5 * 255)
    assert math.isnan(skin_level_dn(image, landmarks + 100.0))
    tiny = landmarks / 6.0                  # eye-to-nose 2 px: radius 0.5, the nearest pixel each
    assert math.isfinite(skin_level_dn(image, tiny))


def test_directional_power_falls_with_a_blur_along_the_rows(lfw_mini: Path) -> None:
    """A real face blurred along the rows loses power along them; along the columns, gains; the
    measure ignores the face's brightness; a region too small for the band is NaN."""
    from evalharness.camera.motion import motion_blur

    image = load_image(_faces(lfw_mini, 1)[0])
    face = image[:, 68:188, 65:185]         # about 2.9 IED around the deep-funneled eyes (42 px)
    measure = [directional_power_log2(to_grey(motion_blur(face[None], length_px=length_px,
                                                          angle_deg=angle)[0].numpy()), ied_px=42.0)
               for length_px, angle in ((0.0, 0.0), (6.0, 0.0), (12.0, 0.0), (12.0, 90.0))]
    sharp, short, long, vertical = measure
    assert long < short - 0.5 < sharp - 0.5 and vertical > sharp + 0.5
    grey = to_grey(face.numpy())
    assert directional_power_log2(0.5 * grey, ied_px=42.0) == pytest.approx(sharp)
    assert math.isnan(directional_power_log2(grey[:3, :3], ied_px=42.0))
