"""Real against simulated rank-1 of a validation by the real face's head yaw: inside or beyond
the yaws of the studio views it was simulated from.

    python scripts/validation_by_pose.py VALIDATION_DIR

`validate --view pose` simulates each real probe from the studio view nearest its measured head
pose, but no view is turned further than the sources' largest yaw (FRMDB's development copy:
45 degrees). A real face turned further is simulated from a face turned less, which is easier to
identify. For the real-detected, simulated probes of the run, prints real and simulated rank-1
(percent) and the gap with its 95% interval (bootstrap over people), for the faces whose |yaw| lies
within the sources' largest |yaw| and those beyond it, then by band of |yaw| in halves of the
views' spacing, with each group's probes per IED bin of `validate`.

The first split sets an estimated yaw (the real face's, read by the pose fit) against a nominal one
(the studio view's), so it carries the pose fit's bias by view: on FRMDB's studio photographs the
fit reads the -45 degree view at a median -58 (docs/VALIDATION.md, "Head size"). So the script
also splits the faces by whether each is turned further than its own source photograph, both read
by the pose fit (`source_fitted_yaw_deg`, in validations since session 16): one instrument on both
sides, whose bias by view cancels, at the price of its error on each image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.evaluation.validation_summary import BINS_PX, group_figures, pose_coverage

#: Half the spacing of FRMDB's horizontal views (45 degrees apart): the |yaw| bands' width.
BAND_DEG = 22.5


def pose_groups(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Masks over ``rows`` (real-detected, simulated probes): within and beyond the sources'
    largest |yaw| (`validate`'s :func:`pose_coverage`); turned no further, and further, than
    their own source, both read by the pose fit (where the rows have it); and by |yaw| band."""
    groups = pose_coverage(rows)
    yaw = rows["yaw_deg"].abs().to_numpy(np.float64)
    if "source_fitted_yaw_deg" in rows:
        source_yaw = rows["source_fitted_yaw_deg"].abs().to_numpy(np.float64)
        groups["turned no further than its source, both read by the pose fit"] = yaw <= source_yaw
        groups["turned further than its source, both read by the pose fit"] = yaw > source_yaw
    edges = np.arange(0.0, float(np.nanmax(yaw)) + BAND_DEG, BAND_DEG)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        groups[f"turned {low:g}-{high:g} deg"] = (yaw >= low) & (yaw < high)
    return groups


def pose_table(rows: pd.DataFrame, seed: int = 0, n_resamples: int = 2000) -> pd.DataFrame:
    """One row per non-empty group of :func:`pose_groups`: ``group``, ``n``, ``real``, ``sim``,
    ``gap``, ``gap_low``, ``gap_high`` (points) and ``per_bin`` (probes per IED bin)."""
    used = rows[rows["real_detected"] & rows["simulated"]].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    table = []
    for group, inside in pose_groups(used).items():
        if not inside.any():
            continue
        figures = group_figures(used, inside, None, rng, n_resamples)  # as `validate` has its poses
        table.append({"group": group, "n": figures["n"], "per_bin": figures["n_per_bin"]}
                     | {name: 100.0 * figures[key] for name, key in (
                         ("real", "real_rank1"), ("sim", "sim_rank1"), ("gap", "gap"),
                         ("gap_low", "gap_ci_low"), ("gap_high", "gap_ci_high"))})
    return pd.DataFrame(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = pose_table(pd.read_parquet(args.validation / "probes.parquet"), args.seed)
    bins = " / ".join(f"{low:g}-{high:g}" for low, high in BINS_PX)
    print(f"| real face | n | real | simulated | simulated - real (95% CI) | n per IED bin ({bins} px) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in table.itertuples():
        print(f"| {row.group} | {row.n} | {row.real:.1f} | {row.sim:.1f} | {row.gap:+.1f} "
              f"({row.gap_low:+.1f} to {row.gap_high:+.1f}) | {' / '.join(map(str, row.per_bin))} |")


if __name__ == "__main__":
    main()
