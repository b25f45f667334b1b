"""What stands for a face's skin where its landmarks miss it: the box centre's median or its lit share?

    python scripts/exposure_fallback.py VALIDATION_DIR [--quantiles 0.5,0.6,0.75,0.9] [--sheet PNG]

`validate --exposure skin` matches each simulated face's skin to its real probe's, read at the
landmarks (`quality.measures.skin_level_dn`). Where the landmarks miss the skin of the source or
of the real face (`validation.exposure_region`: a turned face's far eye and nose tip placed beyond
its profile) it matches a level of the face box's centre instead (`quality.measures.face_level_dn`
at a quantile: the median until session 33, since then `LIT_QUANTILE`). The centre holds beard,
glasses, brows, hair and shadow as well as skin, in shares that differ between a scene and a studio.

1. *On the probes matched on the skin*, where the landmarks read the skin of both images, the script
   asks what the fallback would have done: for each quantile of the box's centre, log2 of (source
   skin / source centre) over (real skin / real centre), the factor by which matching the centre
   would have left the simulated skin off the real one (stored DN; 0 where the centre stands for
   the skin alike on both). Printed: median, mean, mean absolute and the share beyond 25%, for all
   probes, by camera group and for faces turned more than 40 degrees.
2. *On the probes matched on the box's centre*, the one skin reading such a face may keep: the
   disc halfway from the near eye (the one further from the nose tip along the rows) to the nose
   tip, radius as the skin discs'. For each: the disc over the centre's median and over its
   ``LIT_QUANTILE``, on the real face and on its source, and the quotient of the two sides, which
   is 1 where the fallback lights the simulated near-side skin as the real one. The disc stands for
   the skin only where it lies on it: ``--sheet`` draws each real face and its source (skin discs
   red, near disc cyan, the box's centre yellow) for a reader to see.

Faces are detected again with the run's detector, on the images where its manifest says they are.
Docs: docs/VALIDATION.md, "The lit share of the face's centre (session 33)".
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from evalharness.data.images import load_image
from evalharness.data.paired import open_paired
from evalharness.evaluation.validation import Face, find_face
from evalharness.models.registry import get_detector
from evalharness.quality.measures import (
    DN_PER_UNIT, LEVEL_REGION_SHARE, LIT_QUANTILE, face_level_dn, face_region, skin_disc_radius_px, skin_level_dn,
    to_grey,
)

#: Side of each drawn tile of ``--sheet``, pixels.
TILE_PX = 280
#: A fallback error counted as large: 25% in stored DN.
LARGE_ERROR_LOG2 = math.log2(1.25)
#: |yaw| beyond which a face counts as turned as the fallback's faces are (FRMDB development: 32-73
#: degrees, all but one beyond 40).
TURNED_DEG = 40.0


def near_disc(landmarks_px: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre ``(x, y)`` and radius (pixels) of the disc halfway from the near eye to the nose tip
    of five landmarks ``(5, 2)``."""
    points = landmarks_px.astype(np.float64)
    near = int(abs(points[1, 0] - points[2, 0]) > abs(points[0, 0] - points[2, 0]))
    return (points[near] + points[2]) / 2.0, skin_disc_radius_px(points)


def near_level_dn(image: np.ndarray, face: Face) -> float:
    """Median luma (8-bit DN, as stored) of ``image (3, H, W)`` in [0, 1] within the near disc;
    NaN when the disc lies outside the image."""
    (x, y), radius = near_disc(face.landmarks)
    rows, cols = np.mgrid[:image.shape[-2], :image.shape[-1]]
    inside = (cols - x) ** 2 + (rows - y) ** 2 <= radius ** 2
    return float(np.median(to_grey(image)[inside])) * DN_PER_UNIT if inside.any() else math.nan


def tile(path: Path, face: Face, label: str) -> Image.Image:
    """The face's crop (its box widened by 40% each side), scaled to :data:`TILE_PX`, with the
    discs and the box's centre drawn."""
    picture = Image.open(path).convert("RGB")
    x1, y1, x2, y2 = face.box
    pad = 0.4 * (x2 - x1)
    left, top = int(max(0.0, x1 - pad)), int(max(0.0, y1 - pad))
    crop = picture.crop((left, top, int(min(picture.width, x2 + pad)), int(min(picture.height, y2 + pad))))
    scale = TILE_PX / max(crop.size)
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.NEAREST)
    draw = ImageDraw.Draw(crop)
    points = (face.landmarks.astype(np.float64) - [left, top]) * scale
    radius = skin_disc_radius_px(face.landmarks) * scale
    for (x, y), colour in [(points[2], "red"), ((points[0] + points[2]) / 2, "red"),
                           ((points[1] + points[2]) / 2, "red"), (near_disc(points)[0], "cyan")]:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=colour, width=2)
    rows, cols = face_region(face.box, picture.height, picture.width, share=LEVEL_REGION_SHARE, min_side_px=1.0)
    draw.rectangle([(cols.start - left) * scale, (rows.start - top) * scale,
                    (cols.stop - left) * scale, (rows.stop - top) * scale], outline="yellow", width=2)
    draw.text((3, 3), label, fill="magenta")
    return crop


def measure(run: Path, quantiles: Sequence[float]) -> tuple[pd.DataFrame, list[Image.Image]]:
    """One row per real-detected, simulated probe of ``run``: ``relpath``, ``camera``, ``yaw_deg``,
    ``region`` (``sim_exposure_region``), and for ``real`` and ``source``: ``<side>_skin`` (the
    skin discs), ``<side>_near`` (the near disc) and ``<side>_q<quantile>`` (the box centre's
    quantiles and :data:`LIT_QUANTILE`), all DN; with the drawn tiles of the probes not matched on
    the skin."""
    meta = json.loads((run / "manifest.json").read_text())
    rows = pd.read_parquet(run / "probes.parquet")
    rows = rows[rows["real_detected"] & rows["simulated"]]
    dataset = open_paired(meta["dataset"]["root"])
    detector = get_detector(meta["models"]["detector"]["name"], "cpu")
    images = {r.relpath: r for r in dataset.probes.records} \
        | {f"source:{r.relpath}": r for r in dataset.sources.records}
    table, tiles = [], []
    for row in rows.itertuples():
        measured = {"relpath": row.relpath, "camera": row.camera, "yaw_deg": row.yaw_deg,
                    "region": row.sim_exposure_region}
        for side, key in (("real", row.relpath), ("source", f"source:{row.source}")):
            record = images[key]
            image = load_image(record.path)
            face = find_face(image, detector)
            pixels = image.numpy()
            measured |= {f"{side}_skin": skin_level_dn(pixels, face.landmarks),
                         f"{side}_near": near_level_dn(pixels, face),
                         **{f"{side}_q{q:g}": face_level_dn(pixels, face.box, quantile=q)
                            for q in {*quantiles, 0.5, LIT_QUANTILE}}}
            if row.sim_exposure_region != "skin":
                tiles.append(tile(record.path, face, f"{record.relpath} {side} near/median "
                                                     f"{measured[f'{side}_near'] / measured[f'{side}_q0.5']:.2f}"))
        table.append(measured)
    return pd.DataFrame(table), tiles


def fallback_errors(table: pd.DataFrame, quantiles: Sequence[float]) -> pd.DataFrame:
    """Part 1: per group of the probes matched on the skin and per quantile, the fallback's error
    (log2, see the module docstring): ``group``, ``n``, ``quantile``, ``median``, ``mean``,
    ``mean_abs``, ``large`` (share beyond :data:`LARGE_ERROR_LOG2`)."""
    skin = table[table["region"] == "skin"]
    groups = [("all", skin), *((camera, part) for camera, part in skin.groupby("camera")),
              (f"turned > {TURNED_DEG:g} deg", skin[skin["yaw_deg"].abs() > TURNED_DEG])]
    rows = []
    for name, part in groups:
        for q in quantiles:
            error = np.log2((part["source_skin"] / part[f"source_q{q:g}"])
                            / (part["real_skin"] / part[f"real_q{q:g}"])).dropna()
            rows.append({"group": name, "n": len(error), "quantile": q, "median": error.median(), "mean": error.mean(),
                         "mean_abs": error.abs().mean(), "large": (error.abs() > LARGE_ERROR_LOG2).mean()})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    parser.add_argument("--quantiles", default="0.5,0.6,0.75,0.9",
                        help="quantiles (0-1) of the box's centre to stand for the skin in part 1")
    parser.add_argument("--sheet", type=Path, default=None, help="write part 2's drawn faces to this PNG")
    args = parser.parse_args()
    quantiles = [float(v) for v in args.quantiles.split(",")]
    if not all(0.0 <= q <= 1.0 for q in quantiles):
        parser.error(f"--quantiles {args.quantiles}: quantiles, each in [0, 1]")
    table, tiles = measure(args.validation, quantiles)
    print("1. Probes matched on the skin: the box centre's quantile in its place, log2 of the simulated over "
          "the real skin (stored DN)\n")
    print("| probes | n | quantile | median | mean | mean absolute | beyond 25% |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in fallback_errors(table, quantiles).itertuples():
        print(f"| {row.group} | {row.n} | {row.quantile:g} | {row.median:+.3f} | {row.mean:+.3f} | {row.mean_abs:.3f} "
              f"| {row.large:.0%} |")
    lit = f"q{LIT_QUANTILE:g}"
    print(f"\n2. Probes matched on the box's centre: the near disc over the centre's median and its {LIT_QUANTILE:g} "
          "quantile\n")
    print("| probe | camera | yaw (deg) | region | real: near / median | source: near / median | source / real "
          f"| real: near / {LIT_QUANTILE:g} | source: near / {LIT_QUANTILE:g} | source / real |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for _, row in table[table["region"] != "skin"].iterrows():
        real, source = row["real_near"] / row["real_q0.5"], row["source_near"] / row["source_q0.5"]
        real_lit, source_lit = row["real_near"] / row[f"real_{lit}"], row["source_near"] / row[f"source_{lit}"]
        print(f"| {row['relpath']} | {row['camera']} | {row['yaw_deg']:+.0f} | {row['region']} | {real:.2f} "
              f"| {source:.2f} | {source / real:.2f} | {real_lit:.2f} | {source_lit:.2f} "
              f"| {source_lit / real_lit:.2f} |")
    if args.sheet is not None and tiles:
        columns = 6
        canvas = Image.new("RGB", (TILE_PX * columns, TILE_PX * math.ceil(len(tiles) / columns)))
        for index, picture in enumerate(tiles):
            canvas.paste(picture, ((index % columns) * TILE_PX, (index // columns) * TILE_PX))
        canvas.save(args.sheet)


if __name__ == "__main__":
    main()
