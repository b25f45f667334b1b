"""How well ``evalharness calibrate`` recovers a camera it did not know, from the camera's frames.

Each case is a camera with known settings: the 352x288 CCTV base ``legacy-interlaced`` with the
case's spectral mode, JPEG quality, lens blur and sensor noise. The camera model films
``--frames`` frames of the calibration chart with two motion-blurred bars walking across it
(:func:`~evalharness.camera.calibration.walking_scenes`, noise seeded per frame), and
``calibrate`` measures them and writes values on the same base (as ``evalharness calibrate FRAME...
--base legacy-interlaced`` does, through the same functions). Printed per case, set against
recovered: colour or monochrome, JPEG quality, the lens blur (sigma, um; its relative error), the
sensor gain and read noise (the split of the noise between shot and read parts, weakly
determined after JPEG; where no sensor curve follows the frames' noise within 15%, ``calibrate``
draws it as measured, ``stored_noise_dn``, and these two matter less), and the closed-loop checks
the profile's header records: the calibrated camera's noise over the frames' (ratio; 1 is exact),
the check the lens was matched on (MTF50 of the static edges, or the core of the fastest edges
when the edges do not measure one lens) and the chart's MTF50 against the frames' (the goal's
tolerance is 15% for noise and sharpness), with the number of warnings ``calibrate`` gave.
Nothing is written.

The grid spans the CCTV camera of the validation (colour, JPEG 70-95) and ANPR-like cameras
(monochrome infrared, JPEG 30-50, sharp and soft lenses). It does not span other frame sizes,
interlacing, or real scenes (the real frames' check is ``tests/camera/test_calibration.py`` on
FRMDB's CCTV frames and docs/VALIDATION.md).

Example (the table in benchmarks/RESULTS.md; about a minute per case on 2 CPU cores)::

    .venv/bin/python benchmarks/calibrate_recovery.py
"""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image

from evalharness.camera.calibration import calibrate, chart_frames, walking_scenes
from evalharness.camera.frame_measures import measure_image, summarise
from evalharness.config.profile import CameraProfile, load_profile, with_overrides

BASE = "legacy-interlaced"
#: The camera every case varies: the base at 352x288, progressive, with its pixel pitch as
#: ``calibrate`` assumes for that base, so that the lens blur in um compares directly.
CAMERA: dict[str, Any] = {"sensor_width_px": 352, "sensor_height_px": 288, "interlaced": False,
                          "pixel_pitch_um": 18.764}
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
    """One case: the camera that filmed the frames, the profile calibrated from them, its checks."""

    truth: CameraProfile
    recovered: CameraProfile
    noise_ratio: float | None
    #: The check the lens was matched on (``Calibrated.sharpness_check``): MTF50, an edge core, or none.
    lens_check: str | None
    mtf50_real: float | None
    mtf50_calibrated: float | None
    warnings: int
    seconds: float


def recover(settings: dict[str, Any], *, frames: int, seed: int) -> Recovery:
    """Film ``frames`` frames with the base camera under ``settings``, and calibrate them on the base."""
    started = time.perf_counter()
    truth = load_profile(BASE, {**CAMERA, **settings})
    measures = []
    for jpeg in chart_frames(truth, seed=seed, count=frames, scenes=walking_scenes(frames)):
        with Image.open(io.BytesIO(jpeg)) as image:
            measures.append(measure_image(image))
    base = load_profile(BASE)
    result = calibrate(summarise(measures, [f"frame {index}" for index in range(frames)]), base, seed=0)
    noise = result.checks.get("noise_sigma_ratio")
    mtf = result.checks.get("mtf50_cyc_per_px")
    return Recovery(truth, with_overrides(base, result.values), noise[1] if noise else None,
                    result.sharpness_check, mtf[0] if mtf else None, mtf[1] if mtf else None, len(result.warnings),
                    time.perf_counter() - started)


def _error(recovered: float, truth: float) -> str:
    return f"{recovered:.3g} ({recovered / truth - 1.0:+.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=6, help="frames filmed per case")
    parser.add_argument("--seed", type=int, default=11, help="seed of the frames' noise")
    args = parser.parse_args()
    print(f"`calibrate` on {args.frames} frames of a known camera ({BASE} at 352x288), base {BASE}:\n\n"
          "| set: mode, JPEG, lens um, gain DN/e-, read e- | recovered: mode, JPEG | lens um | gain | read e- "
          "| noise drawn as | noise: calibrated / frames | lens matched on | MTF50: frames -> calibrated chart "
          "| warnings | s |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, quality, blur_um, gain, read_e in CASES:
        r = recover({"spectral_mode": mode, "jpeg_quality": quality, "aberration_blur_um": blur_um,
                     "gain_dn_per_e": gain, "read_noise_e": read_e}, frames=args.frames, seed=args.seed)
        got = r.recovered
        noise = "-" if r.noise_ratio is None else f"{r.noise_ratio:.2f}"
        mtf = ("-" if r.mtf50_real is None or r.mtf50_calibrated is None else
               f"{r.mtf50_real:.3f} -> {r.mtf50_calibrated:.3f} ({r.mtf50_calibrated / r.mtf50_real - 1.0:+.0%})")
        print(f"| {mode}, {quality}, {blur_um:g}, {gain:g}, {read_e:g} | {got.spectral_mode}, {got.jpeg_quality} "
              f"| {_error(got.aberration_blur_um, blur_um)} | {_error(got.gain_dn_per_e, gain)} "
              f"| {_error(got.read_noise_e, read_e)} | {'stored' if got.stored_noise_dn else 'sensor'} | {noise} "
              f"| {r.lens_check or 'base kept'} | {mtf} | {r.warnings} | {r.seconds:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
