"""Calibrate a camera profile from stored frames of one real camera (``evalharness calibrate``).

:func:`calibrate` turns the measures of one camera's frames
(:class:`~evalharness.camera.frame_measures.CameraMeasures`) into profile values on a base
profile, each with a comment saying what it was measured from, how, and its spread.

What the frames cannot tell (field of view, distances, speed, spectral response) stays the
base's. Noise and sharpness are matched in closed loop: a test chart (grey patches with slanted
edges) goes through this harness's own camera model (:func:`~evalharness.camera.simulate.simulate`,
full frame) with the candidate profile, and its frames are measured exactly as the real ones were,
so that JPEG, demosaicking and the tone curve act on the simulation as on the camera. The noise is
matched first, behind the base's lens, and where the frames' edges were measured the lens is
matched on a chart that carries that noise and white level, whose quantisation and JPEG blocks act
on edges as they do in the frames; where that match changed the colour sampling, which acts on the
noise as the lens does not, the noise is then matched again:

- sharpness: ``aberration_blur_um`` is bisected until the chart's edge MTF50 equals the real
  frames' (the lens's diffraction stays the base's). Both are measured on the static scene only
  (:func:`~evalharness.camera.frame_measures.static_sharpness`: edge windows that recur in another
  frame), as the MTF50 of their mean MTF: an edge on a moving subject holds its motion blur, which
  is not the lens's and which a simulation adds again from the subject's speed. Edges that no
  one lens can produce (their MTF50 differs with the window's width or the edge's contrast,
  :meth:`~evalharness.camera.frame_measures.Sharpness.lens_inconsistency`) are matched by a
  stated proxy instead (:func:`_match_core`): the core of the fastest-rising class of edges (the
  25-75% rise of the narrow windows' median edge, which a shoulder or shading beside a natural
  edge moves less than the MTF50), which also sets ``colour_sampling = "full"`` where a colour
  mosaic at the stored size renders no step that fast. Too few static edges (one frame, frames of
  different cameras): the base's lens blur is kept, and its comment says why. The closed-loop
  checks show, by edge contrast, the MTF50 and the core of the edges;
- noise: measured on flat fields (:func:`~evalharness.camera.charts.flat_fields`: uniform grey at
  each level the frames show) rather than on the chart, whose frame shows 72-200 DN only, and read as the frames were
  (:func:`~evalharness.camera.measure.matched_noise_curve`): the frames' noise is that of each
  level's flattest 10% of blocks, which are some share of their flat ones, and the flat fields'
  is read on the same share of theirs (on a flat field every block is flat, and its flattest
  10% would be the low tail of a noise that varies from block to block). ``gain_dn_per_e`` and
  ``read_noise_e`` start from a Poisson-Gaussian fit of the real noise curve and are scaled until
  the flat fields' noise equals the real noise in median ratio (scaling sigma by ``k`` at every
  level: gain times ``k^2``, read noise divided by ``k``); ``face_irradiance_w_m2`` then keeps the
  measured white level (99th percentile of the frames' luma) at the same digital number. Scaling
  changes the curve's level, not its shape: where that one curve misses the frames' noise by more
  than :data:`MATCH_TOLERANCE` at a level, or in its correlation between neighbours, the noise is
  written as measured in stored values instead (``stored_noise_dn`` and
  ``stored_noise_correlation_px``, :mod:`evalharness.camera.noise`, matched level by level in
  closed loop), and the gain then sets the signal scale only. What the final profile still
  misses is warned about.

Flat fields hold no scene: where a level's flattest blocks in real frames hold texture (blurred
edges, fabric), that texture is read as noise and reproduced as noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from evalharness.camera import measure
from evalharness.camera.charts import flat_field_blocks, flat_field_noise, measure_chart
from evalharness.camera.frame_measures import (
    BLACK_PERCENTILE,
    MIN_STATIC_EDGES,
    MONOCHROME_MAX_CHROMA_DN,
    NARROW_WINDOW_PX,
    STATIC_MAX_NOISE_RATIO,
    STATIC_SHIFT_PX,
    WHITE_PERCENTILE,
    CameraMeasures,
    ContrastClass,
    Sharpness,
)
from evalharness.camera.sensor import FULL_SCALE_DN, srgb_to_linear
from evalharness.camera.simulate import profile_white_e
from evalharness.config.profile import CameraProfile, with_overrides

#: Largest relative difference of the calibrated profile's closed-loop measures from the frames'
#: (the noise at one level, the matched sharpness) that `calibrate` lets pass without a warning:
#: the 15% within which a calibrated profile is to reproduce its camera's measures.
MATCH_TOLERANCE = 0.15
#: Why the noise was not measured, when no level has enough flat blocks free of clipping.
NOISE_NOT_MEASURED = (
    f"noise not measured: no signal level has {measure.MIN_BLOCKS_PER_BIN} flat "
    f"{measure.NOISE_BLOCK_PX}-px blocks free of clipping (a channel at 0 or 255) above the "
    "8-bit quantisation's noise; frames with unclipped flat areas (walls, road, sky) measure it")
#: Noise levels below 8-bit quantisation noise (1 / sqrt(12) DN) are not fitted.
QUANTISATION_SIGMA_DN = 1.0 / math.sqrt(12.0)
#: Closed-loop iterations: bisection steps for sharpness, scalings for noise.
SHARPNESS_STEPS = 10
NOISE_STEPS = 6
#: The range searched for the sensor's gain (DN per electron) and the largest factor one noise
#: step may change the noise by, an order of magnitude: flat fields whose noise the codec removes
#: read a ratio near 0 (1e-14 on ten FRMDB frames), which unbounded sent the gain far beyond the
#: range, where every later flat field clips and the loop never returns. A ratio that measures
#: something is not bounded by it (0.17-1.95 on the 95 development frames).
GAIN_RANGE_DN_PER_E = (1e-4, 1000.0)
MAX_NOISE_STEP_RATIO = 10.0
#: Bisection steps for the stored noise's correlation length, and its upper end, pixels: a
#: quarter of the noise block's side. Beyond it the block's plane absorbs the correlated noise,
#: and the measured correlation one pixel apart stops growing (0.636 at 3 px, 0.651 at 5 px,
#: 0.653 at 8 px on flat fields of 2 DN noise), so longer lengths cannot be told apart.
CORRELATION_STEPS = 8
MAX_CORRELATION_PX = measure.NOISE_BLOCK_PX / 4.0
#: Bisection steps (in log sigma) for each level of the stored noise, and the range searched, DN
#: (the profile field's upper bound): 11 steps resolve sigma to 1%.
STORED_SIGMA_STEPS = 11
STORED_SIGMA_RANGE_DN = (0.05, 64.0)
#: Frequencies, cycles per pixel, at which the calibrated chart's mean MTF is checked against
#: the real one beside MTF50, since one lens-blur value may match MTF50 and miss the curve. A
#: face 12-30 px between the eyes is 27-67 px wide (2.22 IED): 0.1 cycles/px is 3-7 cycles
#: across it, 0.25 is 7-17. Where a curve has fallen to its floor (noise, and texture beside
#: natural edges, higher at lower edge contrast) the check compares floors, not sharpness.
SHAPE_CHECK_CYC_PER_PX = (0.1, 0.25)


@dataclass(frozen=True)
class Calibrated:
    """Profile values measured from frames, each with its comment, and closed-loop checks:
    ``checks`` maps a measure to (real, simulated with the calibrated profile); ``remarks``:
    measured figures that set no value (one line each)."""

    values: dict[str, Any]
    comments: dict[str, str]
    checks: dict[str, tuple[float, float]] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)
    #: What the calibrated profile fails to reproduce, one line each (``calibrate`` warns).
    warnings: list[str] = field(default_factory=list)
    #: The closed-loop check ``aberration_blur_um`` was matched on (``mtf50_cyc_per_px``, or the
    #: fastest contrast class's ``rise_25_75_...`` key, also where the chart shows none of that
    #: class's edges and the base's lens is kept, which ``warnings`` then names), or None where the
    #: frames measure no lens and the base's is kept (:func:`sharpness_not_measured` says why).
    sharpness_check: str | None = None


def calibrate(measured: CameraMeasures, base: CameraProfile, *, seed: int = 0) -> Calibrated:
    """Profile values on ``base`` that reproduce ``measured`` (see the module docstring)."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    n = measured.frames

    def put(key: str, value: Any, note: str) -> None:
        values[key], notes[key] = value, note

    put("sensor_width_px", measured.width_px, f"measured: stored frame width, all {n} frames")
    put("sensor_height_px", measured.height_px, f"measured: stored frame height, all {n} frames")
    put("pixel_pitch_um", stored_pixel_pitch_um(base, measured.width_px), "[assumption] the base's sensor "
        f"width ({base.sensor_width_px} px x {base.pixel_pitch_um} um) spread over {measured.width_px} px")
    chroma = measured.chroma_dn
    put("spectral_mode", "infrared" if measured.monochrome else "colour",
        f"measured: mean |R-G|,|B-G| {chroma[0]:.1f} DN (range {chroma[1]:.1f}-{chroma[2]:.1f}) "
        f"over {n} frames; monochrome below {MONOCHROME_MAX_CHROMA_DN} DN")
    put("interlaced", False, f"the frames' {measured.height_px} lines are the stored image (a "
        "one-field camera's field is already its frame here)")
    if measured.jpeg_quality is not None:
        median, low, high, worst = measured.jpeg_quality
        put("jpeg_quality", median, f"measured: IJG quality nearest the luma quantisation tables, "
            f"median of {n} frames (range {low}-{high}; worst table mismatch {worst:.3f})")
    if measured.jpeg_subsampling is not None:
        put("jpeg_chroma_subsampling", measured.jpeg_subsampling,
            f"measured: JPEG sampling factors, most common of {n} frames")
    profile = with_overrides(base, values)
    sharpness = measured.sharpness
    # The chart that matches the lens carries the camera's noise and white level, not the base's.
    noise = _match_noise(profile, measured, seed)
    if sharpness.measured:
        profile = with_overrides(profile, noise.values)
    if sharpness.lens_measured:
        sigma_px, mtf_sim = _match_sharpness(profile, measured, seed)
        put("aberration_blur_um", round(sigma_px * profile.pixel_pitch_um, 3),
            f"closed loop: chart MTF50 {mtf_sim:.3f} cycles/px = measured {sharpness.describe()}; "
            f"static: recurring in another frame within {STATIC_SHIFT_PX} px and "
            f"{STATIC_MAX_NOISE_RATIO:g}x the noise-expected difference; natural edges are at "
            "best steps, so the lens is at least this sharp (a chart would measure it)")
    core = None if sharpness.lens_measured or not sharpness.measured else _match_core(profile, sharpness, seed)
    if core is not None:
        for key, value in core.values.items():
            put(key, value, core.comments[key])
    elif not sharpness.lens_measured:
        put("aberration_blur_um", base.aberration_blur_um, sharpness_not_measured(sharpness))
    # The lens leaves a flat field's noise alike in distribution, but colour sampling does not (a
    # mosaic's interpolation correlates it): where the sharpness match changed it, match again.
    if values.get("colour_sampling", base.colour_sampling) != base.colour_sampling:
        noise = _match_noise(with_overrides(base, values), measured, seed)
    for key, value in noise.values.items():
        put(key, value, noise.comments[key])
    profile = with_overrides(base, values)
    checks: dict[str, tuple[float, float]] = {}
    if noise.unmatched is None and measured.noise.level_dn.size:
        real_noise = measured.noise
        flat = flat_field_blocks(profile, real_noise.level_dn, seed=seed)
        shares = measure.flat_shares(flat, measured.noise_blocks)
        simulated_noise = measure.noise_curve(flat, shares=shares)  # matched_noise_curve, shares kept
        checks["noise_sigma_ratio"] = (1.0, _noise_ratio(simulated_noise, real_noise))
        checks.update({f"noise_sigma_{level:.0f}_dn": (real, sim)
                       for level, real, sim in noise_by_level(simulated_noise, real_noise)})
        checks.update({f"noise_correlation_{lag}_px": (float(real), float(sim)) for lag, real, sim in zip(
            measure.CORRELATION_LAGS_PX, real_noise.mean_correlation(),
            simulated_noise.mean_correlation(), strict=True)})
        misses = _noise_misses(simulated_noise, real_noise)
        warning = (f"the calibrated noise differs from the frames' by more than {MATCH_TOLERANCE:.0%} "
                   f"({misses}); the closed-loop checks list every level") if misses else None
        selection = _selection_remark(shares) if shares else None
    else:
        warning, selection = noise.unmatched, None
    warnings = [warning] if warning else []
    if sharpness.measured:
        final = measure_chart(profile, seed)
        checks["mtf50_cyc_per_px"] = (sharpness.mtf50_cyc_per_px, final.sharpness.mtf50_cyc_per_px)
        # One blur value matches MTF50, not necessarily the curve's shape: shown, not fitted.
        for cyc_per_px in SHAPE_CHECK_CYC_PER_PX:
            checks[f"mtf_at_{cyc_per_px:g}_cyc_per_px"] = (sharpness.mtf_at(cyc_per_px),
                                                         final.sharpness.mtf_at(cyc_per_px))
        # By edge contrast: the MTF50, and the core of the narrow windows' median edge.
        by_class = [(real.key, real.mtf50_cyc_per_px, simulated.mtf50_cyc_per_px) for real, simulated
                    in zip(sharpness.contrast_classes, final.sharpness.contrast_classes, strict=True)]
        by_class += [(real.rise_key, real.rise_px[0], simulated.rise_px[0]) for real, simulated in zip(
            sharpness.narrow_contrast_classes, final.sharpness.narrow_contrast_classes, strict=True)]
        checks.update({key: (real, simulated) for key, real, simulated in by_class
                       if math.isfinite(real) and math.isfinite(simulated)})
    contrast = _linear(measured.black_dn[0]) / max(_linear(measured.white_dn[0]), 1e-9)
    remarks = [f"black level {measured.black_dn[0]:.0f} DN (luma percentile {BLACK_PERCENTILE:g} of "
               f"each frame, median; range {measured.black_dn[1]:.0f}-{measured.black_dn[2]:.0f}): "
               f"black/white {contrast:.3f} linear, an upper bound of veiling_glare_ratio (not "
               "applied: dark objects are not perfectly black); the tone curve stays the base's, "
               "as frames alone cannot separate gamma from scene reflectance"]
    if selection:
        remarks.append(selection)
    if sharpness.measured and (sharper := _sharper_than_rendered(sharpness, final.sharpness, profile)):
        remarks.append(sharper)
    matched = "mtf50_cyc_per_px" if sharpness.lens_measured else core.check if core is not None else None
    if matched is not None and (miss := _sharpness_miss(checks.get(matched), matched)):
        warnings.append(miss)
    return Calibrated(values, notes, checks, remarks, warnings, sharpness_check=matched)


def _sharpness_miss(check: tuple[float, float] | None, key: str) -> str | None:
    """The warning when the final profile's chart misses the frames' sharpness measure ``key``
    (real, simulated) by more than :data:`MATCH_TOLERANCE`, or shows no such edges; else None."""
    real, simulated = check if check is not None else (math.nan, math.nan)  # a class's: where both measured
    if not math.isfinite(simulated):
        return (f"the calibrated chart shows none of the edges the frames' sharpness was matched on "
                f"({key}): aberration_blur_um is not checked against this camera's edges")
    if abs(simulated / real - 1.0) <= MATCH_TOLERANCE:
        return None
    return (f"the calibrated sharpness misses the frames' by more than {MATCH_TOLERANCE:.0%} ({key}: "
            f"frames {real:.3g}, calibrated chart {simulated:.3g}): aberration_blur_um does not "
            "reproduce this camera's edges")


def _fastest_class(sharpness: Sharpness) -> ContrastClass | None:
    """The narrow windows' contrast class whose median static edge rises (25-75%) fastest, or
    None when no class has :data:`MIN_STATIC_EDGES` windows."""
    measured = [c for c in sharpness.narrow_contrast_classes if math.isfinite(c.rise_px[0])]
    return min(measured, key=lambda c: c.rise_px[0]) if measured else None


def _sharper_than_rendered(real: Sharpness, chart: Sharpness, profile: CameraProfile) -> str | None:
    """A remark when the frames' fastest-rising static edges (:func:`_fastest_class`) rise
    faster, by more than :data:`MATCH_TOLERANCE`, than the chart through ``profile`` renders any
    step: natural edges are at best steps, so the profile's lens or colour sampling is softer than
    the camera's. None otherwise."""
    fastest = _fastest_class(real)
    chart_rises = [c.rise_px[0] for c in chart.narrow_contrast_classes if math.isfinite(c.rise_px[0])]
    if fastest is None or not chart_rises:
        return None
    if fastest.rise_px[0] >= (1.0 - MATCH_TOLERANCE) * min(chart_rises):
        return None
    mosaic = profile.spectral_mode == "colour" and profile.colour_sampling == "mosaic"
    return (f"edge core: the frames' static {fastest.low_dn:.0f}-{fastest.high_dn:.0f} DN edges rise "
            f"(25-75%) in {fastest.rise_px[0]:.2f} px, faster than this profile renders any step "
            f"({min(chart_rises):.2f}-{max(chart_rises):.2f} px): its lens or colour sampling is softer than the "
            "camera's (natural edges are at best steps)"
            + ("; a frame scaled down from a finer sensor keeps such edges (colour_sampling = \"full\"; "
               "docs/VALIDATION.md, \"The CCTV edges' halo and core\")" if mosaic else ""))


def sharpness_not_measured(sharpness: Sharpness) -> str:
    """Why the lens blur was not measured (the base's is kept)."""
    if sharpness.measured:
        return (f"the base's value [assumption]: the natural edges do not measure this camera's "
                f"lens ({sharpness.describe()}): {sharpness.lens_inconsistency()}; a slanted-edge "
                "chart filmed by this camera would measure it")
    return (f"the base's value: sharpness not measured, {sharpness.static_windows} static edge "
            f"windows (of {sharpness.edge_windows} found) where {MIN_STATIC_EDGES} are needed; an "
            "edge counts when the same scene recurs in another frame of the camera (give several "
            "frames of one fixed camera with straight edges in the static scene)")


def _linear(stored_dn: float) -> float:
    """Linear value in [0, 1] of a stored sRGB level in DN."""
    return float(srgb_to_linear(torch.tensor(stored_dn / FULL_SCALE_DN)))


def stored_pixel_pitch_um(base: CameraProfile, width_px: int) -> float:
    """The pixel pitch (um, 3 decimals) :func:`calibrate` assumes for frames ``width_px`` wide on
    ``base``: the base's sensor width spread over them (frames cannot show the sensor's size)."""
    return round(base.pixel_pitch_um * base.sensor_width_px / width_px, 3)


def _log_sigma_range_px(pitch_um: float) -> tuple[float, float]:
    """Natural log of the lens-blur sigmas (pixels) searched: 0.05 px (no blur below the
    pixel) to the profile field's 100 um, at most 40 px."""
    return math.log(0.05), math.log(min(100.0 / pitch_um, 40.0))


def _match_sharpness(profile: CameraProfile, measured: CameraMeasures, seed: int) -> tuple[float, float]:
    """Aberration sigma (pixels) whose chart MTF50 equals the measured median, by bisection in
    log sigma; and the chart MTF50 it gives. Clamped to the profile field's range."""
    target = measured.sharpness.mtf50_cyc_per_px
    pitch = profile.pixel_pitch_um
    low, high = _log_sigma_range_px(pitch)

    def chart_mtf50(sigma_px: float) -> float:
        blurred = with_overrides(profile, {"aberration_blur_um": sigma_px * pitch})
        return measure_chart(blurred, seed).sharpness.mtf50_cyc_per_px

    low, high = _bisect(lambda middle: chart_mtf50(math.exp(middle)) > target, low, high, SHARPNESS_STEPS)
    sigma_px = math.exp((low + high) / 2.0)
    return sigma_px, chart_mtf50(sigma_px)


@dataclass(frozen=True)
class CoreMatch:
    """Lens blur (and, where the mosaic cannot render the frames' edges, colour sampling) matched
    to the core of the frames' fastest-rising static edges, each value with its comment, and the
    closed-loop check that compares that core (:attr:`ContrastClass.rise_key`)."""

    values: dict[str, Any]
    comments: dict[str, str]
    check: str


def _match_core(profile: CameraProfile, sharpness: Sharpness, seed: int) -> CoreMatch | None:
    """The stated proxy for a lens MTF when the natural edges do not measure one lens
    (:meth:`Sharpness.lens_inconsistency`): the 25-75% rise (pixels) of the frames' fastest
    static edges (:func:`_fastest_class`), whose shoulders and shading move it least.

    Natural edges are at best steps, so the camera renders a step at least that fast. Where a
    colour mosaic at the stored size renders no step within :data:`MATCH_TOLERANCE` of it even
    behind the sharpest lens, the frame was sampled finer than its pixels (a recorder's scaled-down
    frame): ``colour_sampling = "full"``. ``aberration_blur_um`` is then bisected (log sigma) until
    the chart's edges in the same contrast class rise as fast as the frames'; at the range's sharp
    end when even that is too slow (the rise check shows by how much). None when no class has
    :data:`MIN_STATIC_EDGES` windows; the base's lens, with the class's check, when the chart shows
    none in it behind the sharpest lens searched (a softer lens is not tried)."""
    fastest = _fastest_class(sharpness)
    if fastest is None:
        return None
    index = sharpness.narrow_contrast_classes.index(fastest)
    target = fastest.rise_px[0]
    pitch = profile.pixel_pitch_um
    low, high = _log_sigma_range_px(pitch)

    def chart_rise(candidate: CameraProfile, sigma_px: float) -> float:
        blurred = with_overrides(candidate, {"aberration_blur_um": sigma_px * pitch})
        return measure_chart(blurred, seed).sharpness.narrow_contrast_classes[index].rise_px[0]

    values: dict[str, Any] = {}
    comments: dict[str, str] = {}
    edges = (f"the frames' static {fastest.low_dn:.0f}-{fastest.high_dn:.0f} DN edges "
             f"({fastest.windows} {NARROW_WINDOW_PX[0]}x{NARROW_WINDOW_PX[1]} px windows) rise "
             f"(25-75%) in {target:.2f} px")
    sharpest = chart_rise(profile, math.exp(low))
    if not math.isfinite(sharpest):  # kept, and the final check's absence is warned about
        return CoreMatch({"aberration_blur_um": profile.aberration_blur_um}, {"aberration_blur_um": (
            f"the base's value: {edges}, but the chart shows no edges of that contrast even behind "
            "the sharpest lens searched, so the stated proxy could not be matched")}, fastest.rise_key)
    if (sharpest > (1.0 + MATCH_TOLERANCE) * target and profile.spectral_mode == "colour"
            and profile.colour_sampling == "mosaic"):
        full = with_overrides(profile, {"colour_sampling": "full"})
        full_sharpest = chart_rise(full, math.exp(low))
        values["colour_sampling"] = "full"
        comments["colour_sampling"] = (
            f"measured: {edges}; a colour mosaic at {profile.sensor_width_px}x"
            f"{profile.sensor_height_px} renders no step faster than {sharpest:.2f} px even behind "
            f"the sharpest lens, all three colours at every pixel {full_sharpest:.2f} px: the "
            "frames were sampled finer than stored (a recorder's scaled-down frame)")
        profile, sharpest = full, full_sharpest
    if sharpest >= target:  # no lens renders the step faster: the search's sharp end
        sigma_px, bound = math.exp(low), f"; the sharpest lens searched (sigma {math.exp(low):g} px)"
        matched = sharpest
    else:
        low, high = _bisect(lambda middle: chart_rise(profile, math.exp(middle)) < target, low, high,
                            SHARPNESS_STEPS)
        sigma_px, bound = math.exp((low + high) / 2.0), ""
        matched = chart_rise(profile, sigma_px)
    values["aberration_blur_um"] = round(sigma_px * pitch, 3)
    comments["aberration_blur_um"] = (
        f"closed loop on a stated proxy{bound}: the chart's edges in the same contrast class rise "
        f"{matched:.2f} px (25-75%, with the noise as first matched; the header's "
        f"checks give the final profile's), {edges}; natural edges are at best "
        f"steps, so the lens is at least this sharp. Their MTF50 does not measure one lens "
        f"({sharpness.lens_inconsistency()})")
    return CoreMatch(values, comments, fastest.rise_key)


def _bisect(below: Callable[[np.ndarray], Any], low: Any, high: Any, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The bracket ``(low, high)`` after ``steps`` bisections: where ``below(middle)`` holds, the
    answer lies above the middle. ``low`` and ``high`` are numbers, or arrays bisected element
    by element (``below`` then answers for each)."""
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    for _ in range(steps):
        middle = (low + high) / 2.0
        above = np.asarray(below(middle))
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return low, high


@dataclass(frozen=True)
class NoiseMatch:
    """Profile values that reproduce a camera's noise, each with its comment, and the warning
    when they could not be matched (else None)."""

    values: dict[str, Any]
    comments: dict[str, str]
    unmatched: str | None = None


def _match_noise(profile: CameraProfile, measured: CameraMeasures, seed: int) -> NoiseMatch:
    """Noise values reproducing the measured noise (module docstring): the Poisson-Gaussian
    sensor's gain, read noise and light, and, where its one curve misses the frames' noise by
    more than :data:`MATCH_TOLERANCE` at a level or in its correlation, the noise measured in
    stored values (:func:`_match_stored_noise`)."""
    real, blocks = measured.noise, measured.noise_blocks
    usable = real.sigma_dn >= QUANTISATION_SIGMA_DN
    inherited = profile.stored_noise_dn is not None  # a base with a stored noise: not the sensor's
    profile = with_overrides(profile, {"stored_noise_dn": None, "stored_noise_correlation_px": 0.0})
    gain, read_e = profile.gain_dn_per_e, profile.read_noise_e
    white_dn = measured.white_dn[0]
    comments = {"read_noise_e": "set with gain_dn_per_e (see there)", "face_irradiance_w_m2": (
        f"sets the white level: {white_dn:.0f} DN = median {WHITE_PERCENTILE:g}th percentile of "
        f"luma (range {measured.white_dn[1]:.0f}-{measured.white_dn[2]:.0f})")}
    if not usable.any():
        return NoiseMatch(_noise_values(profile, gain, read_e, white_dn),
                          {**comments, "gain_dn_per_e": f"the base's value: {NOISE_NOT_MEASURED}"},
                          f"gain_dn_per_e and read_noise_e are the base's: {NOISE_NOT_MEASURED}")
    levels = real.level_dn[usable]
    fit_note = "started from the base's values (the noise curve is too flat to fit)"
    if usable.sum() >= 2:
        fit = measure.fit_poisson_gaussian(real.select(usable), tone_curve=profile.tone_curve)
        if fit.gain_dn_per_e > 1e-3:
            gain, read_e = fit.gain_dn_per_e, fit.read_noise_e
            fit_note = (f"Poisson-Gaussian fit gain {fit.gain_dn_per_e:.3g} DN/e-, read noise "
                        f"{fit.read_noise_e:.3g} e- (RMS relative residual {fit.rms_rel:.2f})")
    steps = 0
    for _ in range(NOISE_STEPS):
        values = _noise_values(profile, gain, read_e, white_dn)
        simulated = flat_field_noise(with_overrides(profile, values), levels, seed=seed, frames=blocks)
        ratio = _noise_ratio(simulated, real)
        if simulated.level_dn.size == 0:
            ratio = 2.0  # so much noise that every block clips somewhere: halve it
        elif not (math.isfinite(ratio) and ratio > 0):
            break  # no level in common above quantisation: keep the fit
        ratio = min(max(ratio, 1.0 / MAX_NOISE_STEP_RATIO), MAX_NOISE_STEP_RATIO)
        gain = min(max(gain / ratio**2, GAIN_RANGE_DN_PER_E[0]), GAIN_RANGE_DN_PER_E[1])
        read_e *= ratio
        steps += 1
    values = _noise_values(profile, gain, read_e, white_dn)
    listed = ", ".join(f"{level:.0f}:{sigma:.2f}" for level, sigma in
                       zip(levels, real.sigma_dn[usable], strict=True))
    how = ("closed loop on" if steps else
           "not matched in closed loop (its flat fields show no noise above quantisation) to")
    comments["gain_dn_per_e"] = (
        f"{how} the noise of the flattest {measure.FLAT_FRACTION:.0%} of {measure.NOISE_BLOCK_PX}-px "
        f"blocks with no channel clipped (level DN: sigma DN {listed}), on flat fields at those "
        f"levels; {fit_note}")
    if not steps:
        return NoiseMatch(values, comments, "gain_dn_per_e and read_noise_e are not matched to the "
                          "frames' noise: the simulated flat fields show none above quantisation")
    sensor_curve = flat_field_noise(with_overrides(profile, values), levels, seed=seed, frames=blocks)
    misses = _noise_misses(sensor_curve, real)
    if not misses and not inherited:
        return NoiseMatch(values, comments)
    stored = _match_stored_noise(with_overrides(profile, values), real.select(usable), blocks, seed)
    why = (f"that one curve misses the frames' noise by more than {MATCH_TOLERANCE:.0%} ({misses})"
           if misses else "the base gives a stored noise, which a profile on it cannot unset")
    comments["gain_dn_per_e"] += (f"; {why}, so the noise is stored_noise_dn's and this gain sets "
                                  "the signal scale only")
    return NoiseMatch({**values, **stored.values}, {**comments, **stored.comments})


def _match_stored_noise(profile: CameraProfile, real: measure.NoiseCurve, blocks: measure.BlockNoise,
                        seed: int) -> NoiseMatch:
    """``stored_noise_dn`` bisected level by level until the flat fields' noise equals the
    frames' (:mod:`evalharness.camera.noise`), at a first length of 1 px; then
    ``stored_noise_correlation_px`` bisected until their correlation one pixel apart equals the
    frames' (the next lag is a check); then the levels matched again at that length. (The codec
    removes more of a faint noise than of a strong one, and more of a white than of a correlated
    one, so each depends on the other.)"""
    levels = real.level_dn.tolist()
    target = float(real.mean_correlation()[0])

    def curve(length_px: float, rows: list[list[float]]) -> measure.NoiseCurve:
        return flat_field_noise(with_overrides(profile, {
            "stored_noise_dn": rows, "stored_noise_correlation_px": length_px}), levels, seed=seed, frames=blocks)

    def match_levels(length_px: float) -> list[list[float]]:
        # Bisection in log sigma, every level at once (each flat field is one level): the codec
        # removes a faint noise more than a strong one, so sigma out is not proportional to sigma in.
        def below(middle: np.ndarray) -> list[bool]:
            now = curve(length_px, [[level, math.exp(m)] for level, m in zip(levels, middle, strict=True)])
            simulated = dict(zip(now.level_dn.tolist(), now.sigma_dn.tolist(), strict=True))
            # A level missing is one whose noise clips every block: too much.
            return [simulated.get(level, math.inf) < sigma
                    for level, sigma in zip(levels, real.sigma_dn.tolist(), strict=True)]

        low, high = _bisect(below, np.full(len(levels), math.log(STORED_SIGMA_RANGE_DN[0])),
                            np.full(len(levels), math.log(STORED_SIGMA_RANGE_DN[1])), STORED_SIGMA_STEPS)
        return [[level, math.exp(m)] for level, m in zip(levels, (low + high) / 2.0, strict=True)]

    table = match_levels(1.0)
    # Where the chain alone correlates the noise as much, white noise (no step taken).
    white = float(curve(0.0, table).mean_correlation()[0]) >= target
    low, high = _bisect(lambda middle: float(curve(float(middle), table).mean_correlation()[0]) < target,
                        0.0, 0.0 if white else MAX_CORRELATION_PX, 0 if white else CORRELATION_STEPS)
    at_limit = bool(high >= MAX_CORRELATION_PX)
    length_px = MAX_CORRELATION_PX if at_limit else round(float((low + high) / 2.0), 2)
    table = match_levels(length_px)
    rows = [[float(f"{level:.4g}"), float(f"{sigma:.3g}")] for level, sigma in table]
    lags = ", ".join(f"{lag} px {value:.2f}" for lag, value in
                     zip(measure.CORRELATION_LAGS_PX, real.mean_correlation(), strict=True))
    return NoiseMatch(
        {"stored_noise_dn": rows, "stored_noise_correlation_px": length_px},
        {"stored_noise_dn": "closed loop, level by level, on the frames' noise (see gain_dn_per_e) "
                            "through flat fields at those levels",
         "stored_noise_correlation_px": (
             f"closed loop on the frames' noise correlation {lags} apart (median of the flattest "
             "blocks, mean over levels), one pixel apart "
             + (f"not reached: held at the measure's limit, {MAX_CORRELATION_PX:g} px (a quarter "
                f"of the {measure.NOISE_BLOCK_PX}-px blocks), as longer lengths cannot be told apart"
                if at_limit else "matched"))})


def _noise_misses(simulated: measure.NoiseCurve, real: measure.NoiseCurve) -> str:
    """Where ``simulated`` misses ``real`` by more than :data:`MATCH_TOLERANCE`, listed (empty
    when nowhere): sigma relatively at each level, the correlation at each lag absolutely (a
    share of its full scale, 1: a relative tolerance would fail two white noises on sampling
    alone). A level of the real noise above quantisation that the simulation does not show (its
    blocks all clip) and a correlation it cannot measure are misses too."""
    compared = noise_by_level(simulated, real)
    off = [f"{level:.0f} DN x{sim / real_sigma:.2f}" for level, real_sigma, sim in compared
           if not abs(sim / real_sigma - 1.0) <= MATCH_TOLERANCE]
    shown = {level for level, _, _ in compared}
    off += [f"{level:.0f} DN not shown (every simulated block clips)" for level, sigma
            in zip(real.level_dn.tolist(), real.sigma_dn.tolist(), strict=True)
            if sigma >= QUANTISATION_SIGMA_DN and level not in shown]
    off += [f"correlation {lag} px apart {sim_rho:.2f} for {real_rho:.2f}" for lag, real_rho, sim_rho in zip(
        measure.CORRELATION_LAGS_PX, real.mean_correlation(), simulated.mean_correlation(), strict=True)
        if not abs(sim_rho - real_rho) <= MATCH_TOLERANCE]  # NaN: not measured, a miss
    return ", ".join(off)


def _selection_remark(shares: dict[float, float]) -> str:
    """What the flat fields were read on (:func:`~evalharness.camera.measure.flat_shares`)."""
    low, high = min(shares.values()), max(shares.values())
    return (f"noise selection: the frames' noise at each level is that of their flattest "
            f"{measure.FLAT_FRACTION:.0%} of blocks, which are {low:.0%}-{high:.0%} of their flat blocks (those "
            f"no noisier than {measure.FLAT_CEILING_QUANTILE:.0%} of the flat fields' blocks there); the flat "
            "fields were read on the same share of theirs, as every block of a flat field is flat and its "
            f"flattest {measure.FLAT_FRACTION:.0%} would be the least noisy of a noise that varies from block "
            "to block")


def _noise_values(profile: CameraProfile, gain: float, read_e: float, white_dn: float) -> dict[str, float]:
    """Gain, read noise and the irradiance that puts a white face at ``white_dn`` (linear)."""
    white_linear_dn = FULL_SCALE_DN * _linear(white_dn) if profile.tone_curve == "srgb" else white_dn
    gain = min(max(gain, GAIN_RANGE_DN_PER_E[0]), GAIN_RANGE_DN_PER_E[1])
    read_e = min(max(read_e, 0.0), 1000.0)
    per_unit = profile_white_e(profile) / profile.face_irradiance_w_m2
    irradiance = white_linear_dn / gain / per_unit
    return {"gain_dn_per_e": float(f"{gain:.4g}"), "read_noise_e": float(f"{read_e:.4g}"),
            "face_irradiance_w_m2": float(f"{min(irradiance, 2000.0):.4g}")}


def noise_by_level(simulated: measure.NoiseCurve, real: measure.NoiseCurve) -> list[tuple[float, float, float]]:
    """``(level_dn, real_sigma_dn, simulated_sigma_dn)`` at each level both curves have, the real
    noise above quantisation."""
    real_at, simulated_at = (dict(zip(curve.level_dn.tolist(), curve.sigma_dn.tolist(), strict=True))
                             for curve in (real, simulated))
    return [(level, real_at[level], simulated_at[level]) for level in sorted(real_at.keys() & simulated_at.keys())
            if real_at[level] >= QUANTISATION_SIGMA_DN]


def _noise_ratio(simulated: measure.NoiseCurve, real: measure.NoiseCurve) -> float:
    """Median ratio simulated / real sigma over the levels of :func:`noise_by_level`."""
    ratios = [sim / real_sigma for _, real_sigma, sim in noise_by_level(simulated, real)]
    return float(np.median(ratios)) if ratios else math.nan
