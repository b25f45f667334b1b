"""How well ``evalharness calibrate`` recovers a camera it did not know, from the camera's frames.

Each case is a camera with known settings: the 352x288 CCTV base ``legacy-interlaced`` with the
case's spectral mode, JPEG quality, lens blur and sensor noise. The camera model films
``--frames`` frames of the calibration chart with two motion-blurred bars walking across it
(:func:`~evalharness.camera.charts.walking_scenes`, noise seeded per frame), and
``calibrate`` measures them and writes values on the same base (as ``evalharness calibrate FRAME...
--base legacy-interlaced`` does, through the same functions). Printed per case, set against
recovered:

- what can be compared with the camera itself: colour or monochrome, JPEG quality, the lens blur
  (sigma, um; its relative error), and the noise on flat fields at the frames' levels, the
  calibrated camera's over the true camera's (the range of the ratio over the levels, and the
  correlation of neighbouring pixels' noise, calibrated against true; the noise of a flat field
  is the median over all its blocks, as every block is flat);
- the sensor's gain and read noise. Where no Poisson-Gaussian curve follows the frames' noise
  within 15% at every level and in its correlation, ``calibrate`` draws the noise as measured in
  stored values (``stored_noise_dn``): the read noise is then unused, and the gain only scales
  the signal, which the irradiance matched with it to the frames' white level cancels, so neither
  changes the images (unless a run sets the irradiance too);
- ``calibrate``'s own closed-loop checks, which it matched and so are near 1 by construction: the
  calibrated camera's noise over the frames' (median over the levels; exactly 1 where the noise
  is stored) and the chart's MTF50 against the frames', with the check the lens was matched on and
  the warnings it gave.

``--cases I...`` runs only those cases (0-based, in the table's order). ``--by-level`` then prints
for each the noise by level of the frames (walking bars), of the still chart alone (no bars) and
of flat fields of the true and of the calibrated camera, as calibrate reads noise; and, read on
all blocks rather than the flattest, of the still chart's patch interiors and of the true
camera's flat fields: where the frames read noisier than the true camera's flat fields, these
show whether the moving bars, the codec's treatment of a frame with content, or the measure's
choice of blocks does it (:func:`noise_sources`).

Nothing is written. The grid spans the CCTV camera of the validation (colour, JPEG 70-95) and
ANPR-like cameras (monochrome infrared, JPEG 30-50, sharp and soft lenses). It does not span other
frame sizes, interlacing, or real scenes (the real frames' check is
``tests/camera/test_calibration.py`` on FRMDB's CCTV frames and docs/VALIDATION.md).

Example (the table in benchmarks/RESULTS.md; about a minute per case on 2 CPU cores)::

    .venv/bin/python benchmarks/calibrate_recovery.py
"""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from evalharness.camera import measure
from evalharness.camera.calibration import calibrate, noise_by_level, stored_pixel_pitch_um
from evalharness.camera.charts import chart_frames, flat_field_blocks, measure_chart, walking_scenes
from evalharness.camera.frame_measures import CameraMeasures
from evalharness.config.profile import CameraProfile, load_profile, with_overrides

BASE = "legacy-interlaced"
#: A block of the noiseless chart whose sigma reaches this (DN) holds an edge, not a patch's inside.
EDGE_FREE_DN = 0.3
WIDTH_PX, HEIGHT_PX = 352, 288
#: (spectral mode, JPEG quality, lens blur sigma um, gain DN/e-, read noise e-).
CASES: tuple[tuple[str, int, float, float, float], ...] = (
    ("colour", 95, 20.0, 0.5, 5.0),
    ("colour", 70, 20.0, 0.5, 5.0),
    ("colour", 70, 40.0, 0.5, 5.0),
    ("colour", 50, 20.0, 0.5, 5.0),
    ("infrared", 95, 20.0, 0.5, 5.0),
    ("infrared", 75, 20.0, 0.5, 5.0),
    ("infrared", 50, 20.0, 0.5, 5.0),
    ("infrared", 50, 5.0, 0.5, 5.0),
    ("infrared", 50, 50.0, 0.5, 5.0),
    ("infrared", 30, 20.0, 0.5, 5.0),
    ("infrared", 30, 20.0, 2.0, 3.0),
)


@dataclass(frozen=True)
class Recovery:
    """One case: the camera that filmed the frames, the profile calibrated from them, and checks."""

    settings: dict[str, Any]
    truth: CameraProfile
    recovered: CameraProfile
    #: The frames' noise, and the flat-field blocks of the true and of the calibrated camera at its levels.
    frames_noise: measure.NoiseCurve
    true_blocks: measure.BlockNoise
    calibrated_blocks: measure.BlockNoise
    #: calibrate's closed-loop noise ratio (calibrated / frames, median over levels; matched).
    noise_vs_frames: float | None
    #: The check the lens was matched on (``Calibrated.sharpness_check``): MTF50, an edge core, or none.
    lens_check: str | None
    mtf50_frames: float | None
    mtf50_calibrated: float | None
    warnings: int
    seconds: float

    @property
    def true_flat(self) -> measure.NoiseCurve:
        return measure.noise_curve(self.true_blocks)

    @property
    def calibrated_flat(self) -> measure.NoiseCurve:
        return measure.noise_curve(self.calibrated_blocks)

    @property
    def noise_vs_truth(self) -> tuple[float, float]:
        """Flat-field noise, calibrated / true, at the levels both show: lowest and highest ratio."""
        ratios = self._by_level().values()
        return min(ratios), max(ratios)

    def _by_level(self) -> dict[float, float]:
        # Every block of a flat field is flat: its noise is the median of all of them.
        true, calibrated = (measure.noise_curve(blocks, flat_fraction=1.0)
                            for blocks in (self.true_blocks, self.calibrated_blocks))
        return {level: sim / real for level, real, sim in noise_by_level(calibrated, true)}

    @property
    def correlation_vs_truth(self) -> tuple[float, float]:
        """Correlation of neighbouring pixels' flat-field noise: calibrated, true."""
        lag = measure.CORRELATION_LAGS_PX.index(1)
        return (float(self.calibrated_flat.mean_correlation()[lag]),
                float(self.true_flat.mean_correlation()[lag]))


def known_camera(settings: dict[str, Any]) -> CameraProfile:
    """The base at the benchmark's frame size with the case's ``settings``."""
    camera = {"sensor_width_px": WIDTH_PX, "sensor_height_px": HEIGHT_PX, "interlaced": False,
              # the pitch calibrate assumes, so that the lens blur in um compares directly
              "pixel_pitch_um": stored_pixel_pitch_um(load_profile(BASE), WIDTH_PX)}
    return load_profile(BASE, {**camera, **settings})


def filmed(truth: CameraProfile, *, frames: int, seed: int, walking: bool = True) -> CameraMeasures:
    """The measures of ``frames`` frames of the chart through ``truth``, with bars walking across
    it or (``walking=False``) the chart alone."""
    return measure_chart(truth, seed, count=frames, scenes=walking_scenes(frames) if walking else None)


def recover(settings: dict[str, Any], *, frames: int, seed: int) -> Recovery:
    """Film ``frames`` frames with the base camera under ``settings``, and calibrate them on the base."""
    started = time.perf_counter()
    base = load_profile(BASE)
    truth = known_camera(settings)
    measured = filmed(truth, frames=frames, seed=seed)
    result = calibrate(measured, base, seed=0)
    recovered = with_overrides(base, result.values)
    noise = result.checks.get("noise_sigma_ratio")
    mtf = result.checks.get("mtf50_cyc_per_px")
    return Recovery(settings, truth, recovered, measured.noise, flat_field_blocks(truth, measured.noise.level_dn),
                    flat_field_blocks(recovered, measured.noise.level_dn), noise[1] if noise else None,
                    result.sharpness_check,
                    mtf[0] if mtf else None, mtf[1] if mtf else None, len(result.warnings),
                    time.perf_counter() - started)


def patch_interiors(truth: CameraProfile, *, frames: int, seed: int) -> measure.NoiseCurve:
    """The noise of the still chart's blocks that lie inside one patch, all of them at each level:
    what the codec leaves in a flat area of a frame with content. A block is inside where the
    chart filmed by a noiseless, lossless copy of the camera reads under :data:`EDGE_FREE_DN`."""
    quiet = with_overrides(truth, {"stored_noise_dn": [[0.0, 0.05], [255.0, 0.05]], "jpeg_quality": 100})
    block = measure.NOISE_BLOCK_PX
    parts = []
    for clean, noisy in zip(chart_frames(quiet, seed=seed, count=frames), chart_frames(truth, seed=seed, count=frames),
                            strict=True):
        y_clean, rgb = measure.luma_dn(_decoded(clean)), _decoded(noisy)
        unclipped = np.zeros(y_clean.shape, dtype=bool)
        edges = measure.block_noise(y_clean, clipped_px=unclipped).sigma_dn >= EDGE_FREE_DN
        rows, cols = y_clean.shape[0] // block, y_clean.shape[1] // block
        outside = unclipped.copy()
        outside[: rows * block, : cols * block] = np.kron(edges.reshape(rows, cols), np.ones((block, block))) > 0
        parts.append(measure.block_noise(measure.luma_dn(rgb), clipped_px=measure.clipped(rgb) | outside))
    return measure.noise_curve(measure.BlockNoise.concatenate(parts), flat_fraction=1.0)


def _decoded(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))


def noise_sources(case: Recovery, *, frames: int, seed: int) -> None:
    """Print the noise by level (sigma, DN; '-' where a source shows no flat blocks at a level), as
    calibrate reads it (the flattest 10% of each level's blocks) of the case's walking frames, of
    the still chart filmed the same way and of flat fields of the true and of the calibrated
    camera; and the median of all the blocks inside the still chart's patches and of all the
    true camera's flat-field blocks. Where the last two agree, the codec treats a flat area alike
    in either, and what differs between the flat fields and the frames is which blocks the
    measure takes as flattest."""
    walking = case.frames_noise
    sources = [walking, filmed(case.truth, frames=frames, seed=seed, walking=False).noise, case.true_flat,
               case.calibrated_flat, patch_interiors(case.truth, frames=frames, seed=seed),
               measure.noise_curve(case.true_blocks, flat_fraction=1.0)]
    print(f"\n{case.settings}: noise sigma (DN) by level\n\n"
          "| level DN | frames (walking bars) | still chart | true camera, flat fields | calibrated camera, "
          "flat fields | still chart, inside patches: all blocks | true camera, flat fields: all blocks |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for level in walking.level_dn:
        cells = [dict(zip(curve.level_dn, curve.sigma_dn)).get(level) for curve in sources]
        print(f"| {level:.0f} | " + " | ".join("-" if c is None else f"{c:.2f}" for c in cells) + " |")


def _error(recovered: float, truth: float) -> str:
    return f"{recovered:.3g} ({recovered / truth - 1.0:+.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=6, help="frames filmed per case")
    parser.add_argument("--seed", type=int, default=11, help="seed of the frames' noise")
    parser.add_argument("--cases", type=int, nargs="+", default=list(range(len(CASES))),
                        help="the cases to run (0-based; all by default)")
    parser.add_argument("--by-level", action="store_true", help="also print each case's noise by level")
    args = parser.parse_args()
    cases: list[Recovery] = []
    print(f"`calibrate` on {args.frames} frames of a known camera ({BASE} at {WIDTH_PX}x{HEIGHT_PX}), "
          f"base {BASE}:\n\n"
          "| set: mode, JPEG, lens um, gain DN/e-, read e- | recovered: mode, JPEG | lens um "
          "| flat-field noise, calibrated / true: by level | 1-px correlation: calibrated, true "
          "| noise drawn as | gain | read e- | calibrate's checks (matched): noise / frames "
          "| MTF50 frames -> chart, matched on | warnings | s |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, quality, blur_um, gain, read_e in (CASES[index] for index in args.cases):
        settings = {"spectral_mode": mode, "jpeg_quality": quality, "aberration_blur_um": blur_um,
                    "gain_dn_per_e": gain, "read_noise_e": read_e}
        r = recover(settings, frames=args.frames, seed=args.seed)
        got = r.recovered
        cases.append(r)
        matched = "-" if r.noise_vs_frames is None else f"{r.noise_vs_frames:.2f}"
        mtf = ("-" if r.mtf50_frames is None or r.mtf50_calibrated is None else
               f"{r.mtf50_frames:.3f} -> {r.mtf50_calibrated:.3f} "
               f"({r.mtf50_calibrated / r.mtf50_frames - 1.0:+.1%}), {r.lens_check or 'base kept'}")
        print(f"| {mode}, {quality}, {blur_um:g}, {gain:g}, {read_e:g} | {got.spectral_mode}, {got.jpeg_quality} "
              f"| {_error(got.aberration_blur_um, blur_um)} "
              f"| {r.noise_vs_truth[0]:.2f}-{r.noise_vs_truth[1]:.2f} "
              f"| {r.correlation_vs_truth[0]:.2f}, {r.correlation_vs_truth[1]:.2f} "
              f"| {'stored' if got.stored_noise_dn else 'sensor'} | {_error(got.gain_dn_per_e, gain)} "
              f"| {_error(got.read_noise_e, read_e)} | {matched} | {mtf} | {r.warnings} | {r.seconds:.0f} |",
              flush=True)
    for case in cases if args.by_level else []:
        noise_sources(case, frames=args.frames, seed=args.seed)


if __name__ == "__main__":
    main()
