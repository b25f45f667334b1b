"""How `calibrate`'s sharpness of a camera depends on its choices: the static-scene bounds and the
edges' contrast.

    python scripts/edge_sharpness.py FRAME... [--profile PROFILE ...] [--set KEY=VALUE ...]
        [--clip-margin DN] [--no-bounds] [--curve] [--halo] [--core] [--chart-windows {static,all}]

Measures the frames as `evalharness calibrate` does (`evalharness/camera/frame_measures.py`), then
prints (1) the MTF50 of the mean MTF of the static edge windows (and how many) for other bounds of
the static test (how far a window may shift between frames, and how many times the noise-expected
difference it may differ by), and (2) the static windows' MTF50 by edge contrast, of the standard
and of the narrow windows, beside the same for the test chart filmed through each PROFILE (the
camera model, whose chain is linear), with the ``--set`` values applied to each (e.g.
``video_qp=40``). ``--clip-margin 0`` keeps the clipped edges that `calibrate` refuses.
``--chart-windows all`` sorts every edge window of the chart frames by contrast, not only the
static ones: frames coded by H.264 (``--set video_qp=...``) differ between frames at the edges by
more than their flat blocks' noise predicts, so their windows fail the static test although the
chart is still. ``--curve`` adds (3) the mean MTF itself at :data:`CURVE_CYC_PER_PX`, of all static
windows and of each contrast class, real and chart: where it stops falling with frequency, what
remains is the windows' floor of noise and texture, not the lens. ``--halo`` adds (4) how far the
static narrow edge windows overshoot and undershoot their sides, and where (`measure.edge_shape`),
by contrast class, real and chart: a linear blur leaves only what the noise lifts, about the same
number of DN at every step and anywhere in the window; sharpening or a ringing filter, a share of
the step beside the edge. ``--core`` adds (5) the rise of the same windows' median edge, 25-75% and
10-90% (`measure.rise_px`): the edge's core, which what lies beyond it (shading, bevels, a
shoulder) moves less than it moves the MTF50. The last line also gives the MTF50 of the narrower
windows that `calibrate` measures beside the standard ones (`frame_measures.NARROW_WINDOW_PX`).
Docs: docs/VALIDATION.md, "Calibrated profile".
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from evalharness.camera import charts, frame_measures, measure
from evalharness.config.loading import parse_overrides
from evalharness.config.profile import load_profile

SHIFTS_PX = (2, 4, 6)
NOISE_RATIOS = (2.0, 3.0, 4.0, 6.0)
#: Frequencies of the ``--curve`` table, cycles per pixel (0.5: Nyquist).
CURVE_CYC_PER_PX = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def measure_files(paths: list[Path], clip_margin_dn: float) -> list[frame_measures.FrameMeasures]:
    """Each frame measured as `calibrate` measures it, edges with ``clip_margin_dn``."""
    frames = []
    for path in paths:
        with Image.open(path) as image:
            frame = frame_measures.measure_image(image)
        if clip_margin_dn != measure.EDGE_CLIP_MARGIN_DN:
            frame = replace(frame, edges=tuple(
                measure.edge_windows(frame.luma_dn, clip_margin_dn=clip_margin_dn)),
                narrow_edges=tuple(measure.edge_windows(
                    frame.luma_dn, clip_margin_dn=clip_margin_dn,
                    window_px=frame_measures.NARROW_WINDOW_PX, step_px=frame_measures.NARROW_STEP_PX)))
        frames.append(frame)
    return frames


def print_bounds(frames: list[frame_measures.FrameMeasures], noise: measure.NoiseCurve) -> None:
    """The static test's MTF50 (windows) for other shift and noise bounds."""
    print("| shift bound | " + " | ".join(f"{r:g} x noise" for r in NOISE_RATIOS) + " |")
    print("| --- " * (len(NOISE_RATIOS) + 1) + "|")
    for shift in SHIFTS_PX:
        cells = []
        for ratio in NOISE_RATIOS:
            s = frame_measures.static_sharpness(frames, noise, shift_px=shift, max_noise_ratio=ratio)
            cells.append(f"{s.mtf50_cyc_per_px:.3f} ({s.static_windows})")
        print(f"| {shift} px | " + " | ".join(cells) + " |")


def contrast_rows(name: str, sharpness: frame_measures.Sharpness) -> str:
    """Two table rows: MTF50 (windows) per contrast class, of the standard and the narrow
    windows."""
    rows, cols = frame_measures.NARROW_WINDOW_PX
    lines = []
    for label, classes in ((name, sharpness.contrast_classes),
                           (f"{name}, {rows}x{cols} px windows", sharpness.narrow_contrast_classes)):
        cells = [f"{c.mtf50_cyc_per_px:.3f} ({c.windows})" for c in classes]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curve_rows(name: str, sharpness: frame_measures.Sharpness) -> list[str]:
    """Table rows of the mean MTF at :data:`CURVE_CYC_PER_PX`: all static windows, then each
    contrast class with enough windows."""
    curves = [(f"{name}, all ({sharpness.static_windows})", sharpness.mean_mtf)]
    curves += [(f"{name}, {c.low_dn:.0f}-{c.high_dn:.0f} DN ({c.windows})", c.mean_mtf)
               for c in sharpness.contrast_classes if math.isfinite(c.mtf50_cyc_per_px)]
    return [f"| {label} | " + " | ".join(
        f"{np.interp(f, measure.MTF_GRID_CYC_PER_PX, mtf):.3f}" for f in CURVE_CYC_PER_PX) + " |"
        for label, mtf in curves]


def shapes_by_class(frames: list[frame_measures.FrameMeasures], noise: measure.NoiseCurve
                    ) -> list[list[measure.EdgeShape]]:
    """The static narrow windows' edge shapes (:func:`measure.edge_shape`; ``noise``: the frames'
    noise curve, for the static test), in each contrast class (:func:`frame_measures.contrast_groups`)."""
    found = frame_measures.static_windows(frames, noise, lambda frame: frame.narrow_edges)
    return [[measure.edge_shape(frame.luma_dn, window) for frame, window in inside]
            for _, _, inside in frame_measures.contrast_groups(found)]


def halo_row(name: str, classes: list[list[measure.EdgeShape]]) -> str:
    """A table row of one camera's edge shapes by contrast class (:func:`shapes_by_class`): median
    overshoot / undershoot (DN), how far from the edge (px), their median share of the step
    (windows)."""
    cells = []
    for shapes in classes:
        if not shapes:
            cells.append("-")
            continue
        over, under, over_px, under_px, share = np.median(
            [(s.overshoot_dn, s.undershoot_dn, s.overshoot_px, s.undershoot_px,
              (s.overshoot_dn + s.undershoot_dn) / 2 / s.step_dn) for s in shapes], axis=0)
        cells.append(f"{over:.1f} / {under:.1f} at {over_px:.1f} / {under_px:.1f} px, "
                     f"{100 * share:.0f}% ({len(shapes)})")
    return f"| {name} | " + " | ".join(cells) + " |"


def core_row(name: str, sharpness: frame_measures.Sharpness) -> str:
    """A table row of one camera's static narrow windows by contrast class: the 25-75% and 10-90%
    rise of their median centred edge (px; windows)."""
    return f"| {name} | " + " | ".join(
        f"{c.rise_px[0]:.2f} / {c.rise_px[1]:.2f} ({c.windows})" for c in sharpness.narrow_contrast_classes) + " |"


def shape_table(title: str, classes: Sequence[frame_measures.ContrastClass], rows: list[str]) -> str:
    """A Markdown table of ``rows`` (:func:`halo_row` or :func:`core_row`) under ``title``."""
    return (f"\n{title}:\n| frames | " + " | ".join(f"{c.low_dn:.0f}-{c.high_dn:.0f} DN" for c in classes)
            + " |\n" + "| --- " * (len(classes) + 1) + "|\n" + "\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", nargs="+", type=Path)
    parser.add_argument("--profile", action="append", default=[],
                        help="also film the chart through this profile (name or .toml)")
    parser.add_argument("--clip-margin", type=float, default=measure.EDGE_CLIP_MARGIN_DN,
                        help="edges within this many DN of 0 or 255 are refused (0: keep them)")
    parser.add_argument("--no-bounds", action="store_true", help="skip the bounds table")
    parser.add_argument("--curve", action="store_true",
                        help="also print the mean MTF curves, real and chart, by contrast class")
    parser.add_argument("--halo", action="store_true",
                        help="also print the static edges' halo (overshoot / undershoot), real and chart")
    parser.add_argument("--core", action="store_true",
                        help="also print the static edges' core: the rise of their median edge, real and chart")
    parser.add_argument("--chart-windows", choices=("static", "all"), default="static",
                        help="the chart's contrast classes from its static windows or from all")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile value for every --profile, as `evalharness run --set`")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    frames = measure_files(args.frames, args.clip_margin)
    measured = frame_measures.summarise(frames, [str(p) for p in args.frames])
    every = [window for frame in frames for window in frame.edges]
    print(f"{len(frames)} frames, {len(every)} edge windows, all pooled: MTF50 "
          f"{measure.pooled_mtf50(every):.3f}\n")
    if not args.no_bounds:
        print_bounds(frames, measured.noise)
    classes = measured.sharpness.contrast_classes
    print("\n| static edge windows | " + " | ".join(
        f"{c.low_dn:.0f}-{c.high_dn:.0f} DN" for c in classes) + " |")
    print("| --- " * (len(classes) + 1) + "|")
    print(contrast_rows("real frames", measured.sharpness))
    curves = curve_rows("real frames", measured.sharpness)
    shapes = {"real frames": shapes_by_class(frames, measured.noise)} if args.halo else {}
    cores = {"real frames": measured.sharpness}
    for name in args.profile:
        chart = [frame_measures.measure_stored(data)
                 for data in charts.chart_frames(load_profile(name, overrides), count=4)]
        summary = frame_measures.summarise(chart, [f"chart {k}" for k in range(len(chart))])
        settings = "".join(f", {item}" for item in args.set)
        sharpness = summary.sharpness
        if args.chart_windows == "all":
            settings += ", all windows"
            sharpness = replace(sharpness, contrast_classes=frame_measures.by_contrast(
                [(frame, w) for frame in chart for w in frame.edges]),
                narrow_contrast_classes=frame_measures.by_contrast(
                    [(frame, w) for frame in chart for w in frame.narrow_edges]))
        print(contrast_rows(f"chart through {name}{settings}", sharpness))
        curves += curve_rows(f"chart through {name}{settings}", summary.sharpness)
        cores[f"chart through {name}{settings}"] = sharpness
        if args.halo:
            shapes[f"chart through {name}{settings}"] = shapes_by_class(chart, summary.noise)
    if args.curve:
        print("\nmean MTF of the static windows at cycles/px:\n| windows | " + " | ".join(
            f"{f:g}" for f in CURVE_CYC_PER_PX) + " |")
        print("| --- " * (len(CURVE_CYC_PER_PX) + 1) + "|")
        print("\n".join(curves))
    rows, cols = frame_measures.NARROW_WINDOW_PX
    if args.halo:
        print(shape_table(f"halo of the static {rows}x{cols} px edge windows by step: median overshoot / "
                          "undershoot (DN) at their median distance from the edge (px), median share of "
                          "the step (windows)", classes, [halo_row(n, c) for n, c in shapes.items()]))
    if args.core:
        print(shape_table(f"core of the static {rows}x{cols} px edge windows by step: 25-75% / 10-90% rise of "
                          "their median centred edge (px; windows)", classes,
                          [core_row(n, c) for n, c in cores.items()]))
    sharpness = measured.sharpness
    q25, median, q75 = sharpness.window_mtf50_cyc_per_px
    print(f"\nstatic: {sharpness.static_windows} windows, MTF50 "
          f"{sharpness.mtf50_cyc_per_px:.3f} of their mean MTF (single windows median "
          f"{median:.3f}, IQR {q25:.3f}-{q75:.3f}); {sharpness.narrow_static_windows} windows of "
          f"{rows}x{cols} px, MTF50 {sharpness.narrow_mtf50_cyc_per_px:.3f}")


if __name__ == "__main__":
    main()
