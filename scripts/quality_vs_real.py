"""How `evalharness quality` predicted real images against what happened to them.

    evalharness quality REAL/probes/*/* --run RUN --validation DEV_VALIDATION --json > quality.json
    evalharness validate REAL --profile ... --out REAL_VALIDATION      (the real outcomes)
    python scripts/quality_vs_real.py quality.json REAL_VALIDATION [quality2.json VALIDATION2 ...]

For each real probe detected both by `quality` and by the validation, the first face's expected
rank-1 (and its 95% interval) is set against its real rank-1 outcome (`real_mate_rank` of the
validation's rows, in that validation's gallery). Prints a Markdown table per camera group and per
IED bin (the bins of `validate`): faces, mean expected (mean interval), real rate, their
difference, and whether the mean interval covers the real rate; faces given no number are counted.
Several pairs are pooled (for example the two folds of a split by subject).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from evalharness.evaluation.validation_summary import BINS_PX


def paired_outcomes(quality_json: Path, validation_dir: Path) -> pd.DataFrame:
    """One row per real probe with a face in both: camera, IED, expected (low, high), real hit."""
    rows = pd.read_parquet(validation_dir / "probes.parquet").set_index("relpath")
    records = []
    for result in json.loads(quality_json.read_text(encoding="utf-8"))["results"]:
        relpath = "/".join(Path(result["image"]).parts[-2:])  # probes/<id>/<image>
        real = rows.loc[relpath]
        if not result["faces"] or not real["real_detected"]:
            continue
        face = result["faces"][0]
        records.append({"camera": real["camera"], "ied_px": face["ied_px"], "expected": face["expected_rank1"],
                        "low": face["expected_rank1_ci_low"], "high": face["expected_rank1_ci_high"],
                        "real": float(real["real_mate_rank"] == 1) if pd.notna(real["real_mate_rank"]) else 0.0})
    return pd.DataFrame.from_records(records)


def table(outcomes: pd.DataFrame) -> str:
    """The Markdown comparison (percent) of the faces that were given a number."""
    rated = outcomes[outcomes["expected"].notna()]
    lines = [f"{len(outcomes)} faces found by both, {len(rated)} given a number", "",
             "| group | faces | mean expected (mean 95% CI) | real rank-1 | expected - real | CI covers real |",
             "| --- | --- | --- | --- | --- | --- |"]

    def line(name: str, group: pd.DataFrame) -> str:
        expected, low, high, real = (100.0 * group[c].mean() for c in ("expected", "low", "high", "real"))
        return (f"| {name} | {len(group)} | {expected:.1f} ({low:.1f}-{high:.1f}) | {real:.1f} | "
                f"{expected - real:+.1f} | {'yes' if low <= real <= high else 'no'} |")

    lines += [line(camera, group) for camera, group in rated.groupby("camera", sort=True)]
    for low, high in BINS_PX:
        inside = rated[(rated["ied_px"] >= low) & (rated["ied_px"] < high)]
        if len(inside):
            lines.append(line(f"IED {low:g}-{high:g} px", inside))
    lines.append(line("all", rated))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", nargs="+", type=Path, help="QUALITY_JSON VALIDATION_DIR, repeated")
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error("give QUALITY_JSON VALIDATION_DIR pairs")
    print(table(pd.concat([paired_outcomes(q, v) for q, v in zip(args.pairs[::2], args.pairs[1::2])],
                          ignore_index=True)))


if __name__ == "__main__":
    main()
