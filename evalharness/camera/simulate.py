"""``simulate``: a face photograph in, what the configured camera would store out.

Stages, in order: the face placed on its canvas (:data:`PLACEMENT`), the image stages of
:data:`STAGES` that its profile uses (spectral, optics, motion, sensor, interlace, video; each a
function of its own module), and the stored file (:data:`STORAGE`). :func:`describe_stages` lists
them in plain text, as every run's manifest records them.

The true face box follows MTCNN's convention on LFW, measured as the median over 300 LFW
deep-funneled images relative to the eye centres (box width 2.22 IED; top 1.16 IED above and
bottom 1.81 IED below the eye line); its width is ``face_width_m`` at the camera's scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from evalharness.camera import (
    codec,
    frame,
    geometry,
    motion,
    noise,
    optics,
    resample,
    scene,
    sensor,
    spectral,
    video,
)
from evalharness.camera.stages import Stage, StageDescription, StageInput
from evalharness.config.profile import CameraProfile
from evalharness.errors import ConfigError, DataError

#: Canvas side as a multiple of the target IED, and its floor in pixels (room for MTCNN's
#: 12 px first-stage window around even the smallest faces).
CANVAS_IED_MULTIPLE = 4.0
CANVAS_MIN_PX = 32

#: True face box edges relative to the eye midpoint, in units of the box width (see module doc).
FACE_BOX_TOP = -1.16 / 2.22
FACE_BOX_BOTTOM = 1.81 / 2.22

#: Mean linear RGB reflectance of LFW faces inside the median MTCNN box (200 images), used for
#: the headline signal-to-noise ratio.
FACE_MEAN_LINEAR_RGB = (0.386, 0.221, 0.150)

#: Dataset default eye centres (left, right; x, y px) of LFW deep-funneled 250x250 images:
#: medians of facenet-pytorch MTCNN landmarks over 300 images (IED 42.0 px, 10th-90th
#: percentile 38.0-46.1 px), for sources without detected landmarks.
LFW_DEEPFUNNELED_EYES_PX = ((104.7, 113.7), (147.1, 112.6))
#: Side of those images, pixels: the fixed eye centres hold for images of this size only.
LFW_DEEPFUNNELED_SIDE_PX = 250


@dataclass
class Capture:
    """What the camera stored for a batch of faces (see ``docs/ARCHITECTURE.md``).

    ``images (B, C, S, S)`` decoded stored images, float in [0, 1] (C = 1 infrared, 3 colour);
    ``jpeg`` the stored files; ``face_boxes (B, 4)`` true x1, y1, x2, y2 and ``eyes_px (B, 2, 2)``
    true eye centres in the stored image; ``ied_px`` the target inter-eye distance;
    ``stages`` display versions (sRGB-encoded, [0, 1]) of each stage's output, when asked.
    """

    images: torch.Tensor
    jpeg: list[bytes]
    face_boxes: torch.Tensor
    eyes_px: torch.Tensor
    ied_px: float
    stages: dict[str, torch.Tensor] = field(default_factory=dict)


def derive(profile: CameraProfile) -> dict[str, float | str | bool]:
    """The figures ``evalharness profiles show`` prints: geometry, blur, noise, DORI class."""
    geo = geometry.derive_geometry(profile)
    blur = _lens_blur_px(profile, geo)
    white_e = profile_white_e(profile)
    face_e = _face_mean_reflectance(profile) * white_e
    noise_e = (_stored_noise_e(profile, face_e) if profile.stored_noise_dn is not None else
               math.sqrt(face_e + profile.veiling_glare_ratio * white_e + profile.read_noise_e**2))
    return {
        "name": profile.name,
        "spectral_mode": profile.spectral_mode,
        **geo.as_dict(),
        "dori_class": geometry.dori_class(geo.px_per_m),
        "defocus_blur_px": blur["defocus_px"],
        "diffraction_cutoff_cyc_per_px": blur["cutoff_cyc_per_px"],
        "mtf50_cyc_per_px": optics.mtf50_cyc_per_px(**blur),
        "white_signal_e": white_e,
        "face_signal_e": face_e,
        "snr_db": 20.0 * math.log10(face_e / noise_e) if face_e > 0 else -math.inf,
        "canvas_px": canvas_side_px(geo.ied_px),
        "inputs": {
            "sensor_width_px": profile.sensor_width_px,
            "hfov_deg": profile.field_of_view_deg,
            "mounting_height_m": profile.mounting_height_m,
            "lateral_offset_m": profile.lateral_offset_m,
            "distance_m": profile.distance_m,
            "face_height_m": profile.face_height_m,
            "ied_m": profile.ied_m,
        },
    }


def canvas_side_px(ied_px: float) -> int:
    """Side of the stored face canvas: ``max(4 ied_px, 32)`` rounded up to an even number."""
    side = max(math.ceil(CANVAS_IED_MULTIPLE * ied_px), CANVAS_MIN_PX)
    return side + side % 2


def _spectral(image: torch.Tensor, given: StageInput) -> torch.Tensor:
    profile = given.profile
    return spectral.infrared_mix(image, red=profile.ir_mix_red, green=profile.ir_mix_green,
                                 blue=profile.ir_mix_blue)


def _optics(image: torch.Tensor, given: StageInput) -> torch.Tensor:
    return optics.lens_blur(image, **_lens_blur_px(given.profile, given.geo))


def _motion(image: torch.Tensor, given: StageInput) -> torch.Tensor:
    return motion.motion_blur(image, length_px=given.geo.motion_blur_px, angle_deg=given.geo.motion_angle_deg)


def _sensor(image: torch.Tensor, given: StageInput) -> torch.Tensor:
    profile = given.profile
    mosaic = profile.spectral_mode == "colour" and profile.colour_sampling == "mosaic"
    if mosaic:
        image = spectral.bayer_mosaic(image)
    stored = sensor.capture(
        image.clamp(0.0, 1.0),
        white_e=profile_white_e(profile, glazed=given.glazed),
        glare_ratio=profile.veiling_glare_ratio if given.glazed else 0.0,
        full_well_e=profile.full_well_e,
        read_noise_e=profile.read_noise_e,
        gain_dn_per_e=profile.gain_dn_per_e,
        tone_curve=profile.tone_curve,
        generators=given.generators,
        sensor_noise=profile.stored_noise_dn is None,
    )
    if mosaic:
        stored = spectral.demosaic_bilinear(stored)
    if profile.stored_noise_dn is not None:
        stored = noise.add_stored_noise(stored, table_dn=profile.stored_noise_dn,
                                        correlation_px=profile.stored_noise_correlation_px,
                                        generators=given.generators)
    return stored


def _interlace(image: torch.Tensor, given: StageInput) -> torch.Tensor:
    return codec.keep_one_field(image)


def _video(image: torch.Tensor, given: StageInput) -> torch.Tensor:
    return video.h264_intra(image, qp=given.profile.video_qp)


#: The first stage: the face placed on the canvas (:func:`simulate` runs it, as it sets the
#: stored image's coordinates).
PLACEMENT = StageDescription(
    "resample", "sRGB decoding to linear reflectance, then the source face scaled (averaging light) so "
    "that its eyes are ied_px apart (from the geometry), on a square canvas of side max(4 ied_px, 32) "
    "px rounded up to even, centred on the true face box.")
#: The image stages, in order: each runs where its profile uses it.
STAGES: tuple[Stage, ...] = (
    Stage(StageDescription("spectral", "infrared: the channel mix to monochrome (an approximation, see "
                           "evalharness.camera.spectral); colour: unchanged until the mosaic."),
          _spectral, applies=lambda profile: profile.spectral_mode == "infrared", linear=True),
    Stage(StageDescription("optics", "diffraction, thin-lens defocus (lens focused on the plate) and "
                           "aberrations."), _optics, linear=True),
    Stage(StageDescription("motion", "the line kernel of the face's image motion during the exposure."),
          _motion, linear=True),
    Stage(StageDescription(
        "sensor", "colour: RGGB mosaic; then light, windscreen, glare, Poisson-Gaussian noise, clipping, "
        "gain, tone curve and 8-bit quantisation; colour: bilinear demosaic (with colour_sampling = "
        "\"full\" no mosaic: every stored pixel keeps its three colours, each with its own noise). A "
        "profile that gives its camera's noise as measured from stored frames (stored_noise_dn) has that "
        "noise drawn in the stored values, level by level and spatially correlated, instead of the shot "
        "and read noise (evalharness.camera.noise)."), _sensor),
    Stage(StageDescription("interlace", "legacy cameras keep one field (only when the profile says so)."),
          _interlace, applies=lambda profile: profile.interlaced),
    Stage(StageDescription("video", "H.264 coding of a video camera's stream at the profile's quantiser "
                           "(only when the profile gives video_qp)."),
          _video, applies=lambda profile: profile.video_qp is not None),
)
#: The last stage: the stored file (:func:`simulate` runs it, as it also keeps the file's bytes).
STORAGE = StageDescription("jpeg", "the stored file, decoded again as the stored image.")


def describe_stages() -> list[StageDescription]:
    """The camera model's stages, in order (the run's manifest records them)."""
    return [PLACEMENT, *(stage.description for stage in STAGES), STORAGE]


def simulate(
    faces: torch.Tensor,
    eyes_px: torch.Tensor,
    profile: CameraProfile,
    generators: Sequence[torch.Generator],
    keep_stages: bool = False,
    full_frame: bool = False,
    source_boxes_px: torch.Tensor | None = None,
    scene_options: scene.SceneOptions | None = None,
) -> Capture:
    """Degrade source faces as ``profile``'s camera would store them.

    Parameters
    ----------
    faces : Tensor (B, 3, H, W)
        Source photographs, sRGB float in [0, 1], on the run's device.
    eyes_px : Tensor (B, 2, 2)
        Source eye centres (left, right; x, y), pixels (e.g. MTCNN landmarks, or
        :data:`LFW_DEEPFUNNELED_EYES_PX`).
    profile : CameraProfile
        The camera and the face's position.
    generators : sequence of torch.Generator
        One CPU generator per face (see :mod:`evalharness.seeding`).
    keep_stages : bool
        Also return each stage's output (for contact sheets).
    full_frame : bool
        Place the face at its position in a full sensor frame (:mod:`~evalharness.camera.frame`)
        instead of storing the face canvas; boxes and eyes are then frame coordinates.
    source_boxes_px : Tensor (B, 4), optional
        The source faces' own detected boxes (x1, y1, x2, y2 px). The true face boxes of the
        capture then follow them through the resampling, so a turned face is scored by where it
        really is; without them the boxes are built from the eyes for a frontal face.
    scene_options : SceneOptions, optional
        Frame mode only: draw the road scene (:mod:`~evalharness.camera.scene`: the face behind
        the windscreen of a car on a road) instead of the flat grey; its windscreen and glare
        then cover the glass only, not the whole frame.

    Returns
    -------
    Capture
    """
    if scene_options is not None and not full_frame:
        raise ConfigError("a scene is drawn in frame mode only (full_frame=True)")
    geo = geometry.derive_geometry(profile)
    side = canvas_side_px(geo.ied_px)
    eyes_px = eyes_px.to(faces.device, faces.dtype)
    source_ied = (eyes_px[:, 1] - eyes_px[:, 0]).norm(dim=-1)
    if not bool((source_ied >= 1.0).all()):
        raise DataError("source eye centres must be at least 1 px apart (got "
                        f"{source_ied.min().item():.2f} px); check the landmarks given")
    midpoint = eyes_px.mean(dim=1)
    box_width_src = source_ied * profile.face_width_m / profile.ied_m
    centre_src = midpoint.clone()
    centre_src[:, 1] += box_width_src * (FACE_BOX_TOP + FACE_BOX_BOTTOM) / 2.0
    # The resample stands for the pixel's aperture, which adds light: it averages linear values.
    linear, origins, scales = resample.resample_faces(
        sensor.srgb_to_linear(faces), centre_src, geo.ied_px / source_ied, side_px=side
    )
    out_eyes = (eyes_px - origins[:, None, :]) * scales[:, None, None]
    stages: dict[str, torch.Tensor] = {"resample": sensor.linear_to_srgb(linear)} if keep_stages else {}
    if full_frame:
        if (outside := geometry.out_of_frame(profile, geo)) is not None:
            raise ConfigError(outside)
        eye_mid = out_eyes.mean(dim=1)
        # The canvas centre is the face box centre; the geometry places the eye midpoint.
        offset = (eye_mid.mean(dim=0) - side / 2.0).tolist()
        centre = (geo.face_x_px - offset[0], geo.face_y_px - offset[1])
        if scene_options is None:
            linear, corner = frame.place_in_frame(
                linear, centre, (profile.sensor_height_px, profile.sensor_width_px)
            )
        else:
            linear, corner = scene.render(linear, eye_mid, centre, profile, ied_px=geo.ied_px,
                                          options=scene_options)
        shift = torch.tensor(corner, dtype=out_eyes.dtype, device=out_eyes.device)
        out_eyes = out_eyes + shift
        origins = origins - shift / scales[:, None]
    # The road scene carries the windscreen and its glare itself (on the glass only).
    given = StageInput(profile, geo, generators, glazed=scene_options is None)
    image = linear
    for stage in STAGES:
        if stage.applies(profile):
            image = stage.run(image, given)
            if keep_stages:
                stages[stage.name] = sensor.linear_to_srgb(image) if stage.linear else image

    jpeg = codec.encode_jpeg(image, quality=profile.jpeg_quality,
                             subsampling=profile.jpeg_chroma_subsampling)
    images = codec.decode_jpeg(jpeg, device=faces.device)
    if keep_stages:
        stages["jpeg"] = images
    return Capture(
        images=images,
        jpeg=jpeg,
        face_boxes=_face_boxes(out_eyes, geo.face_width_px) if source_boxes_px is None
        else (source_boxes_px.to(origins) - origins.repeat(1, 2)) * scales[:, None],
        eyes_px=out_eyes,
        ied_px=geo.ied_px,
        stages=stages,
    )


def _face_boxes(eyes_px: torch.Tensor, width_px: float) -> torch.Tensor:
    """True face boxes ``(B, 4)`` around the eye midpoints (MTCNN's LFW convention)."""
    mid = eyes_px.mean(dim=1)
    return torch.stack(
        [
            mid[:, 0] - width_px / 2.0,
            mid[:, 1] + FACE_BOX_TOP * width_px,
            mid[:, 0] + width_px / 2.0,
            mid[:, 1] + FACE_BOX_BOTTOM * width_px,
        ],
        dim=1,
    )


def _lens_blur_px(profile: CameraProfile, geo: geometry.Geometry) -> dict[str, float]:
    """Arguments of :func:`optics.lens_blur` in pixels from the profile's physical values."""
    defocus_um = optics.defocus_blur_diameter_um(
        focal_length_mm=geo.focal_length_mm, f_number=profile.f_number,
        focus_range_m=geo.focus_range_m, subject_range_m=geo.slant_range_m,
    )
    return {
        "cutoff_cyc_per_px": optics.diffraction_cutoff_cyc_per_px(
            f_number=profile.f_number, wavelength_nm=profile.wavelength_nm, pitch_um=profile.pixel_pitch_um
        ),
        "defocus_px": defocus_um / profile.pixel_pitch_um,
        "aberration_sigma_px": profile.aberration_blur_um / profile.pixel_pitch_um,
    }


def profile_white_e(profile: CameraProfile, *, glazed: bool = True) -> float:
    """Electrons a pixel collects from a white face under the profile's light, seen through the
    windscreen (``glazed``) or not: :func:`sensor.white_signal_e` of the profile's values."""
    transmission = scene.windscreen_transmission(profile) if glazed else 1.0
    return sensor.white_signal_e(
        face_irradiance_w_m2=profile.face_irradiance_w_m2,
        transmission=transmission,
        f_number=profile.f_number,
        wavelength_nm=profile.wavelength_nm,
        pixel_pitch_um=profile.pixel_pitch_um,
        quantum_efficiency=profile.quantum_efficiency,
        exposure_s=profile.exposure_s,
    )


def _stored_noise_e(profile: CameraProfile, face_e: float) -> float:
    """The stored noise at the face's stored level referred back to electrons (through the
    tone curve's slope and the gain), so that the SNR compares with a Poisson-Gaussian profile's."""
    face_dn = min(face_e * profile.gain_dn_per_e, sensor.FULL_SCALE_DN - 1.0)  # below clipping
    linear_dn = torch.tensor([face_dn, face_dn + 0.01], dtype=torch.float64)
    stored_dn = (sensor.FULL_SCALE_DN * sensor.linear_to_srgb(linear_dn / sensor.FULL_SCALE_DN)
                 if profile.tone_curve == "srgb" else linear_dn)
    slope = float((stored_dn[1] - stored_dn[0]) / 0.01)
    sigma_dn = float(noise.sigma_at(stored_dn[:1], profile.stored_noise_dn)[0])
    return sigma_dn / slope / profile.gain_dn_per_e


def _face_mean_reflectance(profile: CameraProfile) -> float:
    red, green, blue = FACE_MEAN_LINEAR_RGB
    if profile.spectral_mode == "infrared":
        return profile.ir_mix_red * red + profile.ir_mix_green * green + profile.ir_mix_blue * blue
    return (red + green + blue) / 3.0
