"""Camera profiles: the physical parameters of one roadside camera, validated on load.

A profile is a flat :class:`CameraProfile` so that ``--set distance_m=25`` and experiment sweep
axes name its fields directly. Every field carries its unit in its name and its physical range
in its bounds; the TOML files in ``configs/profiles/`` give each value's source in a comment.
A file may inherit from another (``base = "ir-two-lane"``) and give only what differs.

>>> profile = load_profile("ir-two-lane", {"distance_m": 25})
>>> profile.distance_m
25.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from evalharness.config.loading import StrictModel, suggest, validate
from evalharness.config.profile_source import (
    FIELD_OF_VIEW_KEYS,
    Layers,
    drop_replaced_field_of_view,
    render_resolved,
    resolve_layers,
)
from evalharness.errors import ConfigError
from evalharness.paths import PROFILES_DIR


class CameraProfile(StrictModel):
    """One camera and the driver's position in front of it; units in every field name.

    Exactly one of ``hfov_deg`` and ``focal_length_mm`` gives the field of view; the other is
    derived from ``sensor_width_px`` and ``pixel_pitch_um``. ``distance_m`` in the file is the
    profile's nominal (headline) condition; sweeps override it.
    """

    name: str = Field(min_length=1, description="Short identifier, the file stem.")
    description: str = Field(default="", description="One line: what camera this is.")
    validation: str = Field(
        default="", description="How this camera's simulation was checked against its real "
        "images (an `evalharness validate` result, e.g. a docs/VALIDATION.md section); empty: never."
    )
    spectral_mode: Literal["infrared", "colour"] = Field(
        description="'infrared': 850 nm monochrome; 'colour': Bayer mosaic and demosaic."
    )
    colour_sampling: Literal["mosaic", "full"] = Field(
        default="mosaic",
        description="Colour mode: 'mosaic', one colour per stored pixel (RGGB Bayer, bilinear "
        "demosaic at the stored resolution); 'full', all three colours at every stored pixel: a "
        "frame scaled down by the recorder from a finer sensor (e.g. a CIF recording of a D1 "
        "camera), whose demosaic blur lies below the stored pixel, or a three-chip camera."
    )

    # Sensor and lens.
    sensor_width_px: int = Field(ge=16, le=16384, description="Sensor width, pixels.")
    sensor_height_px: int = Field(ge=16, le=16384, description="Sensor height, pixels.")
    pixel_pitch_um: float = Field(ge=0.5, le=30.0, description="Pixel pitch, micrometres.")
    hfov_deg: float | None = Field(
        default=None, gt=0.5, lt=179.0, description="Horizontal field of view, degrees."
    )
    focal_length_mm: float | None = Field(
        default=None, gt=1.0, le=2000.0, description="Lens focal length, millimetres."
    )
    f_number: float = Field(ge=0.7, le=64.0, description="Lens aperture, f-number N.")
    wavelength_nm: float = Field(
        ge=350.0, le=1100.0, description="Effective wavelength for diffraction and photon energy."
    )
    aberration_blur_um: float = Field(
        ge=0.0, le=100.0, description="Residual lens blur, Gaussian sigma at the sensor, um."
    )

    # Geometry of camera and driver.
    mounting_height_m: float = Field(ge=0.0, le=30.0, description="Camera height above road.")
    lateral_offset_m: float = Field(
        ge=-50.0, le=50.0, description="Driver's face to the side of the camera, metres."
    )
    distance_m: float = Field(
        gt=0.0, le=500.0, description="Distance along the road from camera to driver's face."
    )
    face_height_m: float = Field(ge=0.0, le=5.0, description="Driver's eyes above the road.")
    focus_distance_m: float = Field(
        gt=0.0, le=1000.0, description="Distance along the road to the plate, where the lens is "
        "focused and its axis aimed, metres."
    )
    aim_height_m: float = Field(
        ge=0.0, le=5.0, description="Height above the road where the optical axis meets "
        "focus_distance_m (the plate, or higher to frame the windscreen), metres."
    )
    ied_m: float = Field(ge=0.04, le=0.09, description="Inter-eye (eye centre) distance, m.")
    face_width_m: float = Field(ge=0.05, le=0.4, description="Width of the true face box, m.")

    # Motion.
    speed_kmh: float = Field(ge=0.0, le=400.0, description="Vehicle speed, km/h.")
    subject_speed_mps: float = Field(
        default=0.0, ge=0.0, le=10.0, description="The face's own speed over the ground besides "
        "the vehicle's, m/s (a pedestrian walking; 0 for a driver sitting still), m/s."
    )
    subject_direction_deg: float = Field(
        default=90.0, ge=-180.0, le=180.0, description="Direction of the face's own motion on the "
        "ground, degrees from the approach towards the camera (0) to across the road (90)."
    )
    exposure_s: float = Field(gt=0.0, le=1.0, description="Exposure time, seconds.")

    # Light, windscreen and sensor.
    face_irradiance_w_m2: float = Field(
        ge=0.0, le=2000.0, description="Irradiance on the face in the sensor's band, W/m^2."
    )
    windscreen_transmission_visible: float = Field(
        ge=0.0, le=1.0, description="Windscreen transmission, visible band, fraction."
    )
    windscreen_transmission_ir: float = Field(
        ge=0.0, le=1.0, description="Windscreen transmission at 850 nm, fraction."
    )
    veiling_glare_ratio: float = Field(
        ge=0.0, le=10.0, description="Windscreen reflection / glare added uniformly, as a "
        "fraction of the signal of a white (reflectance 1) face."
    )
    quantum_efficiency: float = Field(
        gt=0.0, le=1.0, description="Sensor quantum efficiency at the wavelength, fraction."
    )
    full_well_e: float = Field(ge=100.0, le=1e6, description="Full-well capacity, electrons.")
    read_noise_e: float = Field(ge=0.0, le=1000.0, description="Read noise, electrons RMS.")
    gain_dn_per_e: float = Field(
        gt=0.0, le=1000.0, description="Conversion gain, 8-bit digital numbers per electron."
    )
    tone_curve: Literal["srgb", "linear"] = Field(
        default="srgb", description="Output transfer: sRGB encoding, or linear."
    )
    stored_noise_dn: list[tuple[float, float]] | None = Field(
        default=None, min_length=1, description="The camera's noise measured from its stored "
        "frames, as [level, sigma] pairs in DN (stored luma level increasing, 0-255; sigma "
        "0-64): drawn in the stored values instead of the shot and read noise, which then do "
        "not apply (evalharness/camera/noise.py); none: the Poisson-Gaussian sensor's."
    )
    stored_noise_correlation_px: float = Field(
        default=0.0, ge=0.0, le=16.0, description="Correlation length of stored_noise_dn's "
        "noise, pixels: neighbours d px apart correlate exp(-d / length); 0: white noise."
    )
    ir_mix_red: float = Field(ge=0.0, le=1.0, description="Infrared approximation: red weight.")
    ir_mix_green: float = Field(ge=0.0, le=1.0, description="Infrared approximation: green weight.")
    ir_mix_blue: float = Field(ge=0.0, le=1.0, description="Infrared approximation: blue weight.")

    # Storage.
    jpeg_quality: int = Field(ge=1, le=100, description="JPEG quality setting, 1-100.")
    jpeg_chroma_subsampling: Literal["4:4:4", "4:2:2", "4:2:0"] = Field(
        default="4:2:0", description="JPEG chroma subsampling (colour mode only)."
    )
    interlaced: bool = Field(default=False, description="Keep one field of an interlaced frame.")
    video_qp: int | None = Field(
        default=None, ge=0, le=51, description="H.264 quantisation parameter of the camera's video "
        "stream (0-51, larger is coarser), applied before the still is stored; none: stills are "
        "stored straight from the sensor."
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> CameraProfile:
        if (self.hfov_deg is None) == (self.focal_length_mm is None):
            raise ValueError(
                "give exactly one of hfov_deg and focal_length_mm (the other is derived from "
                "sensor_width_px and pixel_pitch_um)"
            )
        mix = self.ir_mix_red + self.ir_mix_green + self.ir_mix_blue
        if not math.isclose(mix, 1.0, abs_tol=1e-6):
            raise ValueError(f"ir_mix_red + ir_mix_green + ir_mix_blue must be 1 (got {mix:g})")
        if self.stored_noise_dn is not None:
            levels = [level for level, _ in self.stored_noise_dn]
            if any(not 0.0 <= level <= 255.0 for level in levels) or levels != sorted(set(levels)):
                raise ValueError(f"stored_noise_dn levels must increase within 0-255 (got {levels})")
            if any(not 0.0 <= sigma <= 64.0 for _, sigma in self.stored_noise_dn):
                raise ValueError("stored_noise_dn sigmas must lie within 0-64 DN")
        if not 0.0 < self.field_of_view_deg < 179.0:
            raise ValueError(
                f"derived field of view {self.field_of_view_deg:g} deg is outside 0-179"
            )
        return self

    @property
    def field_of_view_deg(self) -> float:
        """Horizontal field of view, degrees: given, or from focal length and sensor width."""
        if self.hfov_deg is not None:
            return self.hfov_deg
        sensor_width_mm = self.sensor_width_px * self.pixel_pitch_um * 1e-3
        return math.degrees(2.0 * math.atan(sensor_width_mm / (2.0 * self.focal_length_mm)))

    @property
    def focal_length_px(self) -> float:
        """Focal length in pixels, ``W / (2 tan(hfov / 2))``."""
        return self.sensor_width_px / (2.0 * math.tan(math.radians(self.field_of_view_deg) / 2.0))

    @property
    def lens_focal_length_mm(self) -> float:
        """Focal length in millimetres: given, or from the field of view and the pixel pitch."""
        return self.focal_length_px * self.pixel_pitch_um * 1e-3


def list_profiles(directory: Path = PROFILES_DIR) -> list[str]:
    """Names (file stems) of the profiles in ``directory``, sorted."""
    return sorted(path.stem for path in Path(directory).glob("*.toml"))


def profile_path(name_or_path: str | Path, directory: Path = PROFILES_DIR) -> Path:
    """The TOML file of a profile given by name (a file stem in ``directory``) or path.

    Raises :class:`ConfigError` with close matches and the available names when there is no
    such profile.
    """
    path = Path(name_or_path)
    if path.suffix == ".toml":
        return path
    path = Path(directory) / f"{name_or_path}.toml"
    if not path.is_file():
        names = list_profiles(directory)
        raise ConfigError(f"no camera profile {str(name_or_path)!r}{suggest(str(name_or_path), names)}; "
                          f"available: {', '.join(names) or '(none)'}")
    return path


def resolve_profile(name_or_path: str | Path, directory: Path = PROFILES_DIR) -> Layers:
    """The profile's file and its chain of ``base`` files, merged, with each value's source."""
    return resolve_layers(profile_path(name_or_path, directory), Path(directory))


def load_profile(
    name_or_path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    directory: Path = PROFILES_DIR,
) -> CameraProfile:
    """Load a profile by name (a file stem in ``directory``) or path, then apply overrides.

    A file may start with ``base = "NAME"`` (or a path relative to it) and give only the values
    that differ (:mod:`evalharness.config.profile_source`); validation runs on the merged values.

    Parameters
    ----------
    name_or_path : str or Path
        ``"ir-two-lane"`` or ``"path/to/camera.toml"``.
    overrides : mapping, optional
        Field values replacing the file's, e.g. ``{"distance_m": 25}`` from ``--set``.

    Raises
    ------
    ConfigError
        Missing profile (the message suggests close names and lists the available ones), bad
        base, unknown key, wrong type or value out of range (the message names the file that set
        the value, the field and what is allowed); a :class:`FieldConfigError` carries the keys.
    """
    return profile_from_layers(resolve_profile(name_or_path, directory), overrides)


def profile_from_layers(layers: Layers, overrides: Mapping[str, Any] | None = None) -> CameraProfile:
    """Validate resolved ``layers`` with ``overrides`` applied (see :func:`load_profile`)."""
    data = layers.data()
    data.setdefault("name", layers.path.stem)
    source = str(layers.path) if not overrides else f"{layers.path} with --set {_show(overrides)}"
    sources = {**layers.sources(),
               **{key: f"{layers.path} with --set {key}={value}" for key, value in (overrides or {}).items()}}
    return validate(CameraProfile, _merge(data, overrides or {}), source, sources)


def resolved_toml(name_or_path: str | Path, directory: Path = PROFILES_DIR) -> str:
    """The profile as one self-contained TOML (its bases merged in, each value's source kept).

    Loading the text gives the same :class:`CameraProfile` as loading ``name_or_path``; a run
    directory stores it so that the run reproduces without the base files.
    """
    layers = resolve_profile(name_or_path, directory)
    profile = profile_from_layers(layers)
    # JSON mode: tables as lists, as TOML reads them, so that each value is found in its file.
    return render_resolved(layers, profile.model_dump(mode="json", exclude_unset=True, exclude={"name"}))


#: Units by field-name suffix (first match wins); fractions and ratios have none.
_UNIT_SUFFIXES = (
    ("_w_m2", "W/m^2"), ("_dn_per_e", "DN/e-"), ("_kmh", "km/h"), ("_deg", "deg"),
    ("_mm", "mm"), ("_um", "um"), ("_nm", "nm"), ("_px", "px"), ("_m", "m"), ("_s", "s"),
    ("_e", "e-"),
)


@dataclass(frozen=True)
class FieldRow:
    """One field of a loaded profile for ``profiles show``: value, unit and where it came from.

    ``status``: ``set`` (by the profile's own file), ``overridden`` (own file, replacing a
    base's value), ``inherited`` (from a base file), ``--set`` (command line), ``derived``
    (computed: the other of hfov_deg / focal_length_mm, or the name from the file name) or
    ``default`` (the model's default); ``file`` and ``comment`` are those of the line that set it.
    """

    name: str
    value: Any
    unit: str
    status: str
    file: str
    comment: str


def field_rows(
    layers: Layers, profile: CameraProfile, overrides: Mapping[str, Any] | None = None
) -> list[FieldRow]:
    """Every field of ``profile`` (loaded from ``layers`` with ``overrides``), in model order."""
    overrides = overrides or {}
    derived = {"hfov_deg": profile.field_of_view_deg,
               "focal_length_mm": profile.lens_focal_length_mm, "name": profile.name}
    rows = []
    for key in CameraProfile.model_fields:
        value, item, file, comment = getattr(profile, key), layers.values.get(key), "", ""
        if key in overrides:
            status = "--set"
        elif item is not None:
            file, comment = item.file.name, item.comment
            status = ("inherited" if item.file != layers.path
                      else "overridden" if key in layers.overridden else "set")
        elif key in derived:
            status, value = "derived", derived[key]
        else:
            status = "default"
        unit = next((u for suffix, u in _UNIT_SUFFIXES if key.endswith(suffix)), "")
        rows.append(FieldRow(key, value, unit, status, file, comment))
    return rows


def with_overrides(profile: CameraProfile, overrides: Mapping[str, Any]) -> CameraProfile:
    """A copy of ``profile`` with ``overrides`` applied and validated again (for sweeps)."""
    data = profile.model_dump(exclude_unset=True)
    return validate(CameraProfile, _merge(data, overrides),
                    f"profile {profile.name!r} with {_show(overrides)}")


def _merge(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` updated by ``overrides``; ``--set focal_length_mm=25`` replaces ``hfov_deg``."""
    merged = dict(data)
    if all(overrides.get(key) is not None for key in FIELD_OF_VIEW_KEYS):
        raise ConfigError(f"{_show(overrides)}: give only one of hfov_deg and focal_length_mm "
                          "(the other is derived from sensor_width_px and pixel_pitch_um)")
    drop_replaced_field_of_view(merged, overrides)
    return {**merged, **overrides}


def _show(overrides: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in overrides.items())
