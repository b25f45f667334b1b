"""Do the simulated faces look like the real ones? Image measures of a validation, real against simulated.

    python scripts/validation_measures.py VALIDATION_DIR

For each camera group and IED bin of `validate` (real-detected, simulated probes), prints the
median of log2(real / simulated) of the two per-probe image measures a validation stores (Laplacian
energy on the face box, DN^2, and noise, DN: `evalharness/quality/measures.py`, the real one on the
detected box, the simulated one on the true box), beside real and simulated rank-1 in percent.
0 means the simulation matches; +1, that the real faces have twice the value.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from evalharness.evaluation.validation_summary import BINS_PX, in_ied_bin, probe_outcomes

MEASURES = {"sharpness": "sharpness_dn2", "noise": "noise_dn"}


def measure_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per camera group and IED bin holding probes: ``camera``, ``ied_bin``, ``n``,
    ``log2_<measure>`` (median of log2 real / simulated), ``real_rank1``, ``sim_rank1`` (%)."""
    used = rows[rows["real_detected"] & rows["simulated"]].reset_index(drop=True)
    outcomes = probe_outcomes(used, None)
    table = []
    for camera in sorted(used["camera"].unique()):
        for low, high in BINS_PX:
            inside = (used["camera"] == camera).to_numpy() & in_ied_bin(used, low, high)
            if not inside.any():
                continue
            ratios = {f"log2_{name}": float(np.median(np.log2(used.loc[inside, f"real_{column}"]
                                                              / used.loc[inside, f"sim_{column}"])))
                      for name, column in MEASURES.items()}
            table.append({"camera": camera, "ied_bin": f"{low:g}-{high:g}", "n": int(inside.sum()), **ratios,
                          "real_rank1": 100.0 * outcomes["real"][inside].mean(),
                          "sim_rank1": 100.0 * outcomes["sim"][inside].mean()})
    return pd.DataFrame(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("validation", type=Path, help="an `evalharness validate` run directory")
    table = measure_table(pd.read_parquet(parser.parse_args().validation / "probes.parquet"))
    print("| camera | IED (px) | n | log2 real/sim sharpness | log2 real/sim noise | real rank-1 | sim rank-1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in table.itertuples():
        print(f"| {row.camera} | {row.ied_bin} | {row.n} | {row.log2_sharpness:+.2f} | {row.log2_noise:+.2f} | "
              f"{row.real_rank1:.1f} | {row.sim_rank1:.1f} |")


if __name__ == "__main__":
    main()
