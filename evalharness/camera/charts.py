"""Test targets filmed through the harness's own camera model, for ``evalharness calibrate``.

:func:`~evalharness.camera.calibration.calibrate` matches a profile to a real camera in closed
loop: it films known scenes through :func:`~evalharness.camera.simulate.simulate` with a candidate
profile, stores them as the camera stores its frames (JPEG, full frame) and measures them exactly
as the real frames were measured (:mod:`evalharness.camera.frame_measures`). This module makes
those scenes and frames:

- the chart (:func:`chart_image`): grey patches in columns of alternating dark and bright, whose
  column boundaries are slanted edges, for sharpness;
- walking scenes (:func:`walking_scenes`): the chart with dark bars moving across it, as people
  walk across a static room, to check that moving edges stay out of the lens's sharpness;
- flat fields (:func:`flat_fields`): uniform grey at each level the frames show, for noise
  (EMVA 1288's uniform illumination) [REF: emva-1288].
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import cache

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from evalharness.camera import measure
from evalharness.camera.frame_measures import (
    CameraMeasures,
    blocks_of_files,
    measure_stored,
    summarise,
)
from evalharness.camera.sensor import FULL_SCALE_DN, linear_to_srgb
from evalharness.camera.simulate import profile_white_e, simulate
from evalharness.config.profile import CameraProfile, with_overrides

#: Chart frames simulated per closed-loop step, the chart's IED, pixels, and the
#: side of the square scene filmed, 5 x IED.
CHART_FRAMES = 2
CHART_IED_PX = 128.0
CHART_SIDE_PX = int(5 * CHART_IED_PX)
#: Chart: patches per side and their side in source pixels; edges slanted 5 deg.
CHART_PATCHES = 14
CHART_PATCH_PX = 48
CHART_SLANT_DEG = 5.0


@cache
def chart_image(side_px: int) -> torch.Tensor:
    """A grey-patch test chart ``(3, side_px, side_px)``, sRGB [0, 1].

    Columns alternate dark (sRGB 0.03-0.5) and bright (0.5-0.97) patches, so that every column
    boundary is a high-contrast edge, slanted :data:`CHART_SLANT_DEG`; the levels are shuffled
    (fixed seed) so that any part of the chart the frame shows spans the whole range.
    """
    half = CHART_PATCHES * CHART_PATCHES // 2
    shuffle = np.random.default_rng(0)
    dark, bright = (shuffle.permutation(np.linspace(low, high, half))
                    for low, high in ((0.03, 0.5), (0.5, 0.97)))
    levels = np.empty((CHART_PATCHES, CHART_PATCHES))
    levels[:, 0::2] = dark.reshape(CHART_PATCHES, -1)
    levels[:, 1::2] = bright.reshape(CHART_PATCHES, -1)
    supersample = 4
    size = side_px * supersample
    rows, cols = np.indices((size, size)) / supersample
    slanted = cols - rows * math.tan(math.radians(CHART_SLANT_DEG))
    column = np.clip((slanted // CHART_PATCH_PX).astype(int) % CHART_PATCHES, 0, CHART_PATCHES - 1)
    row = np.clip((rows // CHART_PATCH_PX).astype(int), 0, CHART_PATCHES - 1)
    fine = torch.from_numpy(levels[row, column]).float()[None, None]
    image = torch.nn.functional.avg_pool2d(fine, supersample)[0]
    return image.expand(3, -1, -1).clone()


def walking_scenes(count: int, *, blur_px: float = 3.0) -> torch.Tensor:
    """Scenes for :func:`chart_frames` with something moving, as a real camera films people walking
    across a static room: ``(count, 3, S, S)`` sRGB (``S`` = :data:`CHART_SIDE_PX`), the chart
    at 85% (so that neither it nor the bars clip) with two dark upright bars, slanted 5 degrees and
    motion-blurred horizontally by ``blur_px`` (Gaussian sigma, source = sensor pixels; 0:
    unblurred), 40 px further right in each frame. Used to check that
    :func:`~evalharness.camera.calibration.calibrate` recovers a
    known camera and leaves moving edges out of its sharpness."""
    side = CHART_SIDE_PX
    chart = 0.85 * chart_image(side)
    rows, cols = np.indices((side, side), dtype=np.float64)
    scenes = []
    for index in range(count):
        left = side / 2 - 150 + 40 * index - math.tan(math.radians(5.0)) * (rows - side / 2)
        bar = ((((cols >= left) & (cols < left + 50)) | ((cols >= left + 150) & (cols < left + 200)))
               & (abs(rows - side / 2) < 130)).astype(np.float64)
        cover = torch.from_numpy(gaussian_filter1d(bar, blur_px, axis=1) if blur_px > 0 else bar).float()
        scenes.append(chart * (1 - cover) + 0.2 * cover)
    return torch.stack(scenes)


def chart_frames(
    profile: CameraProfile, *, seed: int = 0, count: int = CHART_FRAMES,
    scenes: torch.Tensor | None = None,
) -> list[bytes]:
    """Stored full frames (JPEG files) of the chart through ``profile``'s camera: the chart held
    still, in focus and square on to the camera, at the distance where its source pixels map one
    to one onto the sensor; noise seeded by ``seed``. ``scenes``: ``(count, 3, S, S)`` sRGB
    images filmed instead of the chart (``S`` = :data:`CHART_SIDE_PX`), e.g. the chart with
    something moving across it."""
    slant_m = profile.focal_length_px * profile.ied_m / CHART_IED_PX
    height_m = profile.face_height_m
    # Exposed so that white is full scale: the noise at a digital number depends on the gain
    # and read noise only, and the chart's patches then span every level.
    full_scale = FULL_SCALE_DN / profile.gain_dn_per_e / profile_white_e(profile)
    still = with_overrides(profile, {
        "distance_m": slant_m, "focus_distance_m": slant_m, "lateral_offset_m": 0.0,
        "mounting_height_m": height_m, "aim_height_m": min(height_m, 5.0), "speed_kmh": 0.0,
        "subject_speed_mps": 0.0,
        "face_irradiance_w_m2": profile.face_irradiance_w_m2 * full_scale,
        "veiling_glare_ratio": 0.0,
    })
    side = CHART_SIDE_PX
    chart = chart_image(side)[None].expand(count, -1, -1, -1) if scenes is None else scenes
    centre = side / 2.0
    eyes = torch.tensor([[centre - CHART_IED_PX / 2, centre], [centre + CHART_IED_PX / 2, centre]])
    generators = [torch.Generator().manual_seed(seed * 1000 + index) for index in range(count)]
    return simulate(chart, eyes[None].expand(count, -1, -1), still, generators, full_frame=True).jpeg


def measure_chart(profile: CameraProfile, seed: int = 0, *, count: int = CHART_FRAMES,
                  scenes: torch.Tensor | None = None) -> CameraMeasures:
    """:class:`CameraMeasures` of :func:`chart_frames` (JPEG settings are the profile's; ``count``
    and ``scenes`` as there)."""
    frames = [measure_stored(data) for data in chart_frames(profile, seed=seed, count=count, scenes=scenes)]
    return summarise(frames, [f"chart {index}" for index in range(len(frames))])


def flat_fields(profile: CameraProfile, levels_dn: Sequence[float], *, seed: int = 0) -> list[bytes]:
    """Stored frames (JPEG files) of uniform grey fields through ``profile``'s camera, one per
    stored level in ``levels_dn`` (DN), exposed as :func:`chart_frames` exposes the chart (white
    at full scale): the flat fields of a noise measurement (EMVA 1288's uniform illumination),
    which show every level, where the chart's frame shows 72-200 DN only [REF: emva-1288]."""
    level = torch.tensor(list(levels_dn), dtype=torch.float32) / FULL_SCALE_DN
    if profile.tone_curve == "linear":  # the scene is sRGB; stored = linear value
        level = linear_to_srgb(level)
    side = CHART_SIDE_PX
    scenes = level[:, None, None, None].expand(-1, 3, side, side)
    return chart_frames(profile, seed=seed, count=len(level), scenes=scenes)


def flat_field_blocks(profile: CameraProfile, levels_dn: Sequence[float], *, seed: int = 0) -> measure.BlockNoise:
    """The noise blocks of :func:`flat_fields`, measured as a real frame's are."""
    return blocks_of_files(io.BytesIO(data) for data in flat_fields(profile, levels_dn, seed=seed))


def flat_field_noise(profile: CameraProfile, levels_dn: Sequence[float], *, seed: int = 0,
                     frames: measure.BlockNoise | None = None) -> measure.NoiseCurve:
    """The noise curve of :func:`flat_fields`, read as a real frame's is; with ``frames`` (the
    noise blocks of a camera's frames), as those frames' were read
    (:func:`~evalharness.camera.measure.matched_noise_curve`)."""
    blocks = flat_field_blocks(profile, levels_dn, seed=seed)
    return measure.noise_curve(blocks) if frames is None else measure.matched_noise_curve(blocks, frames)
