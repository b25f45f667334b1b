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
blocks with no clipped channel by level (`evalharness calibrate`'s measure) of the real FRAMEs
(with ``--crops``, face crops of one camera, whose sizes differ),
the same of the differences between real frames of one view (:func:`between_frames`: no static
texture), and the same of flat grey fields at 8-248 DN filmed through each PROFILE
(`charts.flat_field_noise`, as `calibrate` films and reads them: on the share of flat blocks
that the real FRAMEs' flattest 10% are, at the levels they show; the noise at a stored level depends
on the gain and read noise, or on the profile's measured ``stored_noise_dn``, not on the light),
each with its correlation 1 and 2 px apart.
Docs: docs/VALIDATION.md, "Exposure on the skin", "Noise on unclipped blocks" and "Noise measured
in stored values".
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.linear_model import LogisticRegression

from evalharness.camera import charts, frame_measures, measure
from evalharness.config.profile import load_profile
from evalharness.evaluation.intervals import subject_bootstrap
from evalharness.evaluation.validation_summary import probe_outcomes

#: Bootstrap resamples of people behind the slope difference's interval.
RESAMPLES = 1000
#: Largest difference of a block's mean between two frames for ``between_frames`` to take it as
#: one surface under one exposure, DN: about twice the noise of a 16-px block's mean at the
#: noisiest level (3.4 DN / 16 per pixel, correlated over 4 px: under 1 DN), so that only a
#: change of scene or exposure is refused.
SAME_SURFACE_DN = 2.0
#: Grey levels (DN, as stored) of the flat fields ``--noise`` films through a profile: the
#: centres of the noise curve's bins.
FIELD_LEVELS_DN = np.arange(8.0, 256.0, 16.0)


def level_ratios(rows: pd.DataFrame) -> pd.DataFrame:
    """Per camera group: probes detected in both, and the median log2 of simulated over real
    level on the box's centre and on the skin, and of simulated over real noise on the face box
    (``*_noise_dn``: the finest wavelet band's estimate, `quality.measures.noise_sigma_dn`)."""
    both = rows[rows["real_detected"] & rows["sim_detected"].astype(bool)]
    by_camera = both.assign(box=np.log2(both["sim_level_dn"] / both["real_level_dn"]),
                            skin=np.log2(both["sim_skin_dn"] / both["real_skin_dn"]),
                            noise=np.log2(both["sim_noise_dn"] / both["real_noise_dn"])).groupby("camera")
    medians = {name: by_camera[name].median() for name in ("box", "skin", "noise")}
    return pd.DataFrame({"n": by_camera.size(), **medians})


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
    # Shares of success (the simulation's over its draws): each probe a success weighted by its
    # share and a failure weighted by the rest.
    outcomes = [probe_outcomes(used, None)[name] for name in ("real", "sim")]

    def slopes(index: np.ndarray) -> tuple[float, float]:
        """Real and simulated slopes on the probes ``index`` (NaN where one outcome is missing)."""
        if any(y[index].min() == y[index].max() for y in outcomes):
            return math.nan, math.nan
        both = np.concatenate([x[index], x[index]])
        labels = np.repeat([1, 0], len(index))
        fitted = [LogisticRegression(C=np.inf, max_iter=1000).fit(
                      both, labels, sample_weight=np.concatenate([y[index], 1.0 - y[index]])).coef_[0][0]
                  for y in outcomes]
        return float(fitted[0]), float(fitted[1])

    real, sim = slopes(np.arange(len(used)))
    low, high = subject_bootstrap({"difference": lambda index: float(np.subtract(*slopes(index)[::-1]))},
                                  used["identity"].to_numpy(), np.random.default_rng(seed),
                                  n_resamples=RESAMPLES)["difference"]
    return real, sim, sim - real, float(low), float(high)


def between_frames(frames: list[Path]) -> measure.NoiseCurve:
    """The noise curve of the differences between frames of one view (frames of one file name,
    as FRMDB's ``<subject>/Img_NN.jpg``), which hold no static texture: per pair and 16-px block,
    the residual of the difference about its plane (taking out a change of exposure) over
    sqrt 2, at the level of the two frames' mean; only blocks whose mean is the same in both
    frames within :data:`SAME_SURFACE_DN` (one surface under one exposure: FRMDB's ``Img_NN`` is
    not always one view, people cross the room, and the exposure changes between sessions), and
    none where either frame clips. The flattest 10% of each level are the blocks where nothing
    moved."""
    views: dict[str, list[np.ndarray]] = {}
    for frame in frames:
        with Image.open(frame) as image:
            views.setdefault(frame.name, []).append(np.asarray(image.convert("RGB")))
    parts = []
    for images in views.values():
        for first, second in itertools.combinations(images, 2):
            if first.shape != second.shape:
                continue
            clip = measure.clipped(first) | measure.clipped(second)
            level = measure.block_noise((measure.luma_dn(first) + measure.luma_dn(second)) / 2.0, clipped_px=clip)
            change = measure.block_noise(measure.luma_dn(first) - measure.luma_dn(second), clipped_px=clip)
            same = np.abs(change.mean_dn) <= SAME_SURFACE_DN
            parts.append(measure.BlockNoise(level.mean_dn[same], change.sigma_dn[same] / math.sqrt(2.0),
                                            change.correlation[same]))
    return measure.noise_curve(measure.BlockNoise.concatenate(parts))


def noise_by_level(frames: list[Path], profiles: list[str], *, crops: bool = False) -> list[str]:
    """Markdown rows: sigma (DN) of the flattest blocks by level and their correlation 1 and 2 px
    apart; the real frames within each frame, between frames of one view (not for ``crops``: face
    crops of one camera, whose sizes and scenes differ), and each profile's flat fields."""
    def row(curve: measure.NoiseCurve) -> tuple[dict[int, float], np.ndarray]:
        return ({int(round(level)): float(sigma) for level, sigma in zip(curve.level_dn, curve.sigma_dn, strict=True)},
                curve.mean_correlation())

    blocks = frame_measures.blocks_of_files(frames)
    curves = {("real crops" if crops else "real frames"): row(measure.noise_curve(blocks))}
    if not crops:
        curves["real frames, between frames of one view"] = row(between_frames(frames))
    for name in profiles:
        # Read as the real ones were (calibrate since session 27): on the share of flat blocks
        # that the real ones' flattest 10% are, at the levels they show.
        curves[Path(name).name] = row(charts.flat_field_noise(load_profile(name), FIELD_LEVELS_DN, frames=blocks))
    levels = sorted(set().union(*(values for values, _ in curves.values())))
    lines = ["| noise (DN) at level | " + " | ".join(f"{level}" for level in levels) + " | correlation 1, 2 px |",
             "| --- |" + " --- |" * (len(levels) + 1)]
    lines += [f"| {name} | " + " | ".join(f"{values[level]:.2f}" if level in values else "-" for level in levels)
              + f" | {rho[0]:.2f}, {rho[1]:.2f} |" for name, (values, rho) in curves.items()]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="validation run directories, or frames with --noise")
    parser.add_argument("--noise", action="store_true", help="compare the noise of real frames and profiles")
    parser.add_argument("--profile", action="append", default=[], help="a profile to film flat fields through")
    parser.add_argument("--crops", action="store_true",
                        help="with --noise: the FRAMEs are face crops of one camera (sizes differ)")
    args = parser.parse_args(argv)
    if args.noise:
        print("\n".join(noise_by_level(args.paths, args.profile, crops=args.crops)))
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
