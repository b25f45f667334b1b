"""How bright the simulated faces are against the real ones, and what brightness does to each.

    python scripts/validation_levels.py VALIDATION_DIR [VALIDATION_DIR ...]
    python scripts/validation_levels.py --noise FRAME... --profile PROFILE [--profile PROFILE ...]

For each `evalharness validate` run (its ``probes.parquet``), per camera group, over the probes
detected in both: the median log2 of simulated over real level, on the centre of the face box
(``*_level_dn``) and on the skin at the landmarks (``*_skin_dn``; runs since session 12), and of
simulated over real noise on the face box (``*_noise_dn``); then,
for each of the two real levels, the slope of rank-1 success on its log2, given log2 of the real
inter-eye distance, the camera group and |yaw| / 45 deg (logistic regression, scikit-learn, no
penalty), in reality and in simulation, and the simulation's minus reality's with its 95% interval
(bootstrap resamples of people). A simulation that renders brightness as the camera does has a
difference near zero.

``--noise`` compares the cameras' noise where the faces lie: the noise of the flattest 16-px
blocks with no clipped channel by level (`evalharness calibrate`'s measure) of the real FRAMEs,
beside the same of flat grey fields at 16-232 DN filmed through each PROFILE
(`calibration.chart_frames`, white at full scale; the noise at a stored level depends on the gain
and read noise only, not on the light).
Docs: docs/VALIDATION.md, "Exposure on the skin" and "Noise on unclipped blocks".
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression

from evalharness.camera import calibration
from evalharness.config.profile import load_profile
from evalharness.evaluation.intervals import subject_bootstrap

#: Bootstrap resamples of people behind the slope difference's interval.
RESAMPLES = 1000
#: Grey levels (DN, as stored) of the flat fields ``--noise`` films through a profile.
FIELD_LEVELS_DN = np.arange(16.0, 240.0, 16.0)
#: Side of each flat patch, pixels: three of the measure's 16-px blocks.
FIELD_PATCH_PX = 48


def level_ratios(rows: pd.DataFrame) -> pd.DataFrame:
    """Per camera group: probes detected in both, and the median log2 of simulated over real
    level on the box's centre and on the skin, and of simulated over real noise on the face box
    (``*_noise_dn``: the finest wavelet band's estimate, `quality.measures.noise_sigma_dn`)."""
    both = rows[rows["real_detected"] & rows["sim_detected"].astype(bool)]
    by_camera = both.assign(box=np.log2(both["sim_level_dn"] / both["real_level_dn"]),
                            skin=np.log2(both["sim_skin_dn"] / both["real_skin_dn"]),
                            noise=np.log2(both["sim_noise_dn"] / both["real_noise_dn"])).groupby("camera")
    return pd.DataFrame({"n": by_camera.size(), **{name: by_camera[name].median() for name in ("box", "skin", "noise")}})


def _design(rows: pd.DataFrame, level: str) -> np.ndarray:
    cameras = sorted(rows["camera"].unique())
    columns = [np.log2(rows[level].to_numpy(np.float64)), np.log2(rows["real_ied_px"].to_numpy(np.float64)),
               np.abs(rows["yaw_deg"].to_numpy(np.float64)) / 45.0]
    columns += [(rows["camera"] == camera).to_numpy(np.float64) for camera in cameras[1:]]
    return np.stack(columns, axis=1)


def level_slopes(rows: pd.DataFrame, level: str, seed: int = 0) -> tuple[float, float, float, float, float]:
    """Slopes of real and simulated rank-1 success on log2 of the real ``level`` column
    (``real_level_dn`` or ``real_skin_dn``; module docstring), over the real-detected probes with
    both levels, and the simulated minus real difference with its 95% bootstrap interval:
    ``(real, sim, difference, low, high)``."""
    used = rows[rows["real_detected"] & np.isfinite(rows["real_skin_dn"])].reset_index(drop=True)
    x = _design(used, level)
    outcomes = [(used[column] == 1).fillna(False).to_numpy(int) for column in ("real_mate_rank", "sim_mate_rank")]

    def slopes(index: np.ndarray) -> tuple[float, float]:
        """Real and simulated slopes on the probes ``index`` (NaN where one outcome is missing)."""
        if any(len(np.unique(y[index])) < 2 for y in outcomes):
            return math.nan, math.nan
        fitted = [LogisticRegression(C=np.inf, max_iter=1000).fit(x[index], y[index]).coef_[0][0] for y in outcomes]
        return float(fitted[0]), float(fitted[1])

    real, sim = slopes(np.arange(len(used)))
    low, high = subject_bootstrap({"difference": lambda index: float(np.subtract(*slopes(index)[::-1]))},
                                  used["identity"].to_numpy(), np.random.default_rng(seed),
                                  n_resamples=RESAMPLES)["difference"]
    return real, sim, sim - real, float(low), float(high)


def _fields(height_px: int, width_px: int) -> torch.Tensor:
    """``(CHART_FRAMES, 3, S, S)`` scenes of flat grey patches of :data:`FIELD_PATCH_PX`, cycling
    through :data:`FIELD_LEVELS_DN`, over the part of the chart scene that a frame of
    ``height_px x width_px`` shows (the chart maps one to one onto the sensor, centred)."""
    side = int(5 * calibration.CHART_IED_PX)
    rows, cols = np.mgrid[:side, :side]
    top, left = (side - height_px) // 2, (side - width_px) // 2
    patch = ((rows - top) // FIELD_PATCH_PX) * (width_px // FIELD_PATCH_PX + 1) + (cols - left) // FIELD_PATCH_PX
    grey = torch.from_numpy(FIELD_LEVELS_DN[patch % len(FIELD_LEVELS_DN)] / 255.0).float()
    return grey.expand(calibration.CHART_FRAMES, 3, side, side)


def noise_by_level(frames: list[Path], profiles: list[str]) -> list[str]:
    """Markdown rows: sigma (DN) of the flattest blocks by level, real frames and each profile."""
    def curve(measures: list[calibration.FrameMeasures]) -> dict[int, float]:
        noise = calibration.summarise(measures, [str(i) for i in range(len(measures))]).noise
        return {int(round(level)): float(sigma) for level, sigma in zip(noise.level_dn, noise.sigma_dn, strict=True)}

    real = curve([calibration.measure_image(Image.open(frame)) for frame in frames])
    curves = {"real frames": real}
    for name in profiles:
        profile = load_profile(name)
        stored = calibration.chart_frames(profile, scenes=_fields(profile.sensor_height_px, profile.sensor_width_px))
        curves[Path(name).name] = curve([calibration.measure_image(Image.open(io.BytesIO(data))) for data in stored])
    levels = sorted(set().union(*curves.values()))
    lines = ["| noise (DN) at level | " + " | ".join(f"{level}" for level in levels) + " |",
             "| --- |" + " --- |" * len(levels)]
    lines += [f"| {name} | " + " | ".join(f"{values[level]:.2f}" if level in values else "-" for level in levels) + " |"
              for name, values in curves.items()]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="validation run directories, or frames with --noise")
    parser.add_argument("--noise", action="store_true", help="compare the noise of real frames and profiles")
    parser.add_argument("--profile", action="append", default=[], help="a profile to film flat fields through")
    args = parser.parse_args(argv)
    if args.noise:
        print("\n".join(noise_by_level(args.paths, args.profile)))
        return
    for run in args.paths:
        rows = pd.read_parquet(run / "probes.parquet")
        print(f"{run}: log2 simulated / real level and face noise (median; probes detected in both)")
        print(level_ratios(rows).round(2).to_string())
        for level, name in (("real_level_dn", "box"), ("real_skin_dn", "skin")):
            real, sim, difference, low, high = level_slopes(rows, level)
            print(f"slope of rank-1 on log2 real {name} level: real {real:+.2f}, simulated {sim:+.2f}, "
                  f"simulated - real {difference:+.2f} (95% CI {low:+.2f} to {high:+.2f})")


if __name__ == "__main__":
    main()
