"""How much do the real faces move during the exposure? Motion blur measured on the faces.

    python scripts/face_motion_blur.py VALIDATION_DIR [--factors 0,0.25,0.5,1,1.5,2,3] [--resamples 2000]
        [--box-share 0.6] [--pose-within 15] [--speed-mps 1.4]
    python scripts/face_motion_blur.py VALIDATION_DIR --views

A face moving across the image is blurred along the rows, which takes spectral power from the
frequencies along the rows and none from those along the columns
(`quality.measures.directional_power_log2`). Faces have their own ratio of the two, so the real
face is compared with the same person's source simulated exactly as the validation simulated it
(its profile, distance, walking direction and exposure, from `probes.parquet`), with the walking
speed multiplied by each factor. For each camera group the script prints the median over probes of
real minus simulated for each factor, and the factor at which it reaches zero (linear between
grid points): the real faces' motion blur in units of the profile's, with a 95% interval from a
bootstrap over people. The factor stands for the product of speed across the image and exposure
time, whichever of the two the profile has wrong. For a profile whose subjects stand still
(`subject_speed_mps = 0`, as the HD camera's since session 29) the factors multiply `--speed-mps`
instead (1.4 m/s: walking).

The measure means something only if the face's own ratio is the same in the real and the
simulated image. Two options narrow what could make them differ: `--box-share S` measures the
central share S of each face box (0.6 leaves out most of the background that a box holds beside
the face: a room's upright edges in the real image, the studio's plain backdrop in the
simulation), and `--pose-within DEG` keeps the probes whose head yaw lies within DEG degrees of
their source's, both read by the pose fit (`source_fitted_yaw_deg`; validations from before
session 16 lack it). `--views` tests the face's own ratio: it prints the median measure of each studio view of the
dataset's sources (`sources.csv`), every photograph reduced to 20 px between the eyes with no
motion. The views of one person differ among themselves by as much as the real faces differ from
their simulations (docs/VALIDATION.md, "Motion blur"), so pose and session confound it.

The real faces are the validation's real-detected probes (detected again here with its
detector); the paired dataset is read from where the validation's manifest says it was.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from evalharness.camera.geometry import at_resolution
from evalharness.config.profile import with_overrides
from evalharness.data.images import load_image
from evalharness.data.paired import open_paired
from evalharness.evaluation.validate_run import camera_profiles
from evalharness.evaluation.validation import find_face, ied_column, lit, simulate_source
from evalharness.models.registry import get_detector
from evalharness.quality.measures import directional_power_log2, face_region, to_grey


def face_direction(image: torch.Tensor, box: np.ndarray, ied_px: float, share: float = 1.0) -> float:
    """:func:`directional_power_log2` of the face box of ``image (C, H, W)`` in [0, 1], or of its
    central ``share`` (0-1] about the box's centre."""
    rows, cols = face_region(box, *image.shape[-2:], share=share)
    return directional_power_log2(to_grey(image[:, rows, cols].cpu().numpy()), ied_px=ied_px)


def crossing(factors: Sequence[float], differences: Sequence[float]) -> float:
    """The factor where ``differences`` (real - simulated, rising with the factor as the
    simulation loses power along the rows) first reaches zero, linear between grid points; -inf
    when it is above zero at the first factor (the real faces hold more than the sharpest
    simulation), +inf when it stays below zero (more blur than the grid reaches)."""
    values = np.asarray(differences, dtype=np.float64)
    if values[0] >= 0.0:
        return float(factors[0]) if values[0] == 0.0 else -np.inf
    for k in range(1, len(values)):
        if values[k] >= 0.0:
            share = -values[k - 1] / (values[k] - values[k - 1])
            return float(factors[k - 1] + share * (factors[k] - factors[k - 1]))
    return np.inf


def measure(run: Path, factors: Sequence[float], *, share: float = 1.0,
            pose_within_deg: float = math.inf, speed_mps: float | None = None) -> pd.DataFrame:
    """One row per real-detected, simulated probe whose yaw lies within ``pose_within_deg`` of its
    source's (both as the pose fit reads them): ``camera``, ``identity``, ``relpath``, ``real``
    and ``sim_<factor>`` (directional power, log2, of the central ``share`` of the face box), the
    factor multiplying ``speed_mps`` where given, else each camera's profile's subject speed."""
    meta = json.loads((run / "manifest.json").read_text())
    size = meta.get("size", "eyes")  # validations from before --size matched the landmarks' eye distances
    rows = pd.read_parquet(run / "probes.parquet")
    rows = rows[rows["real_detected"] & rows["simulated"]]
    if math.isfinite(pose_within_deg):
        if "source_fitted_yaw_deg" not in rows:
            raise SystemExit(f"{run / 'probes.parquet'}: no source_fitted_yaw_deg (a validation from before "
                             "session 16); --pose-within needs it")
        rows = rows[(rows["yaw_deg"] - rows["source_fitted_yaw_deg"]).abs() <= pose_within_deg]
    dataset = open_paired(meta["dataset"]["root"])
    profiles = camera_profiles([f"{group}={run / 'profiles' / ('all' if group == '*' else group)}.toml"
                                for group in meta["profiles"]], {})
    if speed_mps is None and (still := sorted(name for name, p in profiles.items() if p.subject_speed_mps == 0)):
        raise SystemExit(f"{', '.join(still)}: the profile's subjects stand still (subject_speed_mps = 0), so no "
                         "factor of it blurs; give the speed to multiply with --speed-mps (1.4: walking)")
    detector = get_detector(meta["models"]["detector"]["name"], "cpu")
    probes = {r.relpath: r for r in dataset.probes.records}
    sources = {r.relpath: r for r in dataset.sources.records}
    table = []
    for row in rows.itertuples():
        image = load_image(probes[row.relpath].path)
        face = find_face(image, detector)
        measured = {"camera": row.camera, "identity": row.identity, "relpath": row.relpath,
                    "real": face_direction(image, face.box, face.ied_px, share)}
        camera = profiles.get(row.camera) or profiles["*"]
        source_image = load_image(sources[row.source].path)
        source = find_face(source_image, detector)
        base = lit(with_overrides(at_resolution(camera, ied_px=getattr(row, ied_column(size))),
                                  {"subject_direction_deg": row.sim_subject_direction_deg}), row.sim_exposure_scale)
        speed = base.subject_speed_mps if speed_mps is None else speed_mps
        for factor in factors:
            profile = with_overrides(base, {"subject_speed_mps": speed * factor})
            capture = simulate_source(source_image, source, profile, seed=meta["seed"], camera=camera.name,
                                      key=row.relpath, size=size)
            measured[f"sim_{factor:g}"] = face_direction(capture.images[0], capture.face_boxes[0].numpy(),
                                                         row.real_ied_px, share)
        table.append(measured)
    return pd.DataFrame(table)


#: Inter-eye distance, pixels, at which ``--views`` measures the studio views (a CCTV probe's).
VIEWS_IED_PX = 20.0


def view_spread(run: Path) -> pd.DataFrame:
    """Per studio view of the sources (``yaw_deg``, ``pitch_deg``): ``n`` and the median
    directional power (log2) of its photographs reduced to :data:`VIEWS_IED_PX` between the eyes."""
    meta = json.loads((run / "manifest.json").read_text())
    dataset = open_paired(meta["dataset"]["root"])
    detector = get_detector(meta["models"]["detector"]["name"], "cpu")
    table = []
    for record in dataset.sources.records:
        view = dataset.views.get(record.relpath)
        image = load_image(record.path)
        face = find_face(image, detector)
        if view is None or not face.found:
            continue
        scale = VIEWS_IED_PX / face.ied_px
        small = torch.nn.functional.interpolate(image[None], scale_factor=scale, mode="area")[0]
        table.append({"yaw_deg": view.yaw_deg, "pitch_deg": view.pitch_deg,
                      "power": face_direction(small, face.box * scale, VIEWS_IED_PX)})
    return pd.DataFrame(table).groupby(["yaw_deg", "pitch_deg"])["power"].agg(["size", "median"]).reset_index()


def summarize(table: pd.DataFrame, factors: Sequence[float], resamples: int, seed: int) -> pd.DataFrame:
    """Per camera group: ``n``, median real - simulated per factor, the crossing factor and its
    95% bootstrap interval over people."""
    rng = np.random.default_rng(seed)
    out = []
    for camera, group in table.groupby("camera"):
        diffs = np.stack([group["real"] - group[f"sim_{f:g}"] for f in factors], axis=1)
        people = group["identity"].to_numpy()
        names = np.unique(people)
        medians = np.nanmedian(diffs, axis=0)
        boot = []
        for _ in range(resamples):
            picked = np.concatenate([np.flatnonzero(people == name) for name in rng.choice(names, names.size)])
            boot.append(crossing(factors, np.nanmedian(diffs[picked], axis=0)))
        low, high = np.quantile(boot, [0.025, 0.975], method="inverted_cdf")  # no interpolation: may be inf
        out.append({"camera": camera, "n": len(group), "people": names.size,
                    **{f"diff_{f:g}": float(m) for f, m in zip(factors, medians, strict=True)},
                    "factor": crossing(factors, medians), "factor_ci_low": float(low), "factor_ci_high": float(high)})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    parser.add_argument("--factors", default="0,0.25,0.5,1,1.5,2,3",
                        help="multiples of the profile's walking speed to simulate (rising)")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--views", action="store_true", help="measure the studio views instead (no motion)")
    parser.add_argument("--box-share", type=float, default=1.0,
                        help="measure the central share (0-1] of each face box (default: the whole box)")
    parser.add_argument("--pose-within", type=float, default=math.inf,
                        help="only probes whose yaw lies within this many degrees of their source's")
    parser.add_argument("--speed-mps", type=float, default=None,
                        help="the speed the factors multiply, m/s (default: each profile's subject_speed_mps)")
    args = parser.parse_args()
    if args.views:
        print(f"| view yaw (deg) | view pitch (deg) | photographs | directional power at {VIEWS_IED_PX:g} px, median |")
        print("| --- | --- | --- | --- |")
        for row in view_spread(args.validation).itertuples():
            print(f"| {row.yaw_deg:+.0f} | {row.pitch_deg:+.0f} | {row.size} | {row.median:+.2f} |")
        return
    factors = [float(v) for v in args.factors.split(",")]
    if not 0.0 < args.box_share <= 1.0:
        parser.error(f"--box-share {args.box_share:g}: a share of the face box, in (0, 1]")
    table = measure(args.validation, factors, share=args.box_share, pose_within_deg=args.pose_within,
                    speed_mps=args.speed_mps)
    summary = summarize(table, factors, args.resamples, args.seed)
    print("Median over probes of real - simulated directional power (log2), the simulation's walking speed "
          "multiplied by each factor:\n")
    print("| camera | n (people) | " + " | ".join(f"x{f:g}" for f in factors) + " | motion blur factor (95% CI) |")
    print("| --- | --- | " + " | ".join("---" for _ in factors) + " | --- |")
    for row in summary.to_dict("records"):
        cells = " | ".join(f"{row[f'diff_{f:g}']:+.2f}" for f in factors)
        print(f"| {row['camera']} | {row['n']} ({row['people']}) | {cells} | "
              f"{row['factor']:.2f} ({row['factor_ci_low']:.2f} to {row['factor_ci_high']:.2f}) |")

if __name__ == "__main__":
    main()
