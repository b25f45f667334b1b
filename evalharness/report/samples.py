"""Contact sheets from a run's stored sample images (``RUN_DIR/samples/``).

The runner stores, for every condition, the same fixed sample of mated probes as the camera
stored them (``conditions/<id>.json`` lists them under ``samples``: ``file``, ``gallery_file``,
``identity``, ``relpath``, ``detected``), and each sampled person's gallery photograph. A sheet
puts one series of conditions (a profile over its distances, say) side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from evalharness.errors import DataError
from evalharness.report.plots import series_columns, series_label
from evalharness.report.rundir import Run
from evalharness.report.sheets import Cell, compose_sheet


@dataclass(frozen=True)
class Sheet:
    """One contact sheet: a title, a caption and the PNG image."""

    title: str
    caption: str
    png: bytes


def _open(run: Run, relative: str) -> Image.Image:
    path = run.root / relative
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"{path}: sample image missing or unreadable: {error}") from None


def _sheet(run: Run, conditions: list[dict[str, Any]], title: str) -> Sheet:
    """The sheet of ``conditions`` (already in column order): gallery first, then each one."""
    probes: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        for sample in condition.get("samples", []):
            probes.setdefault(sample["relpath"], sample)
    rows = []
    for relpath, sample in probes.items():
        row = [Cell(_open(run, sample["gallery_file"]), "gallery")]
        for condition in conditions:
            stored = {s["relpath"]: s for s in condition.get("samples", [])}.get(relpath)
            if stored is None:
                row.append(Cell(None, "not sampled"))
            else:
                row.append(Cell(_open(run, stored["file"]), "detected" if stored["detected"] else "NOT detected"))
        rows.append(row)
    titles = ["gallery photograph\n(undegraded)"] + [
        f"{c['values']['profile']['distance_m']:g} m\nIED {c['derived']['ied_px']:.1f} px" for c in conditions
    ]
    caption = (
        f"{len(rows)} mated probes (rows: {', '.join(s['identity'] for s in probes.values())}). "
        "Each stored image is enlarged by a whole-number factor with nearest-neighbour sampling; "
        "'detected' means the detector found this face where the camera put it (IoU at least 0.5)."
    )
    return Sheet(title, caption, compose_sheet(rows, titles))


def contact_sheets(run: Run) -> list[Sheet]:
    """One contact sheet per series of conditions (as the curves draw them), distance ascending.

    Raises
    ------
    DataError
        A sample image listed in a ``conditions/<id>.json`` is missing or unreadable.
    """
    keys = series_columns(run.summary, run.swept)
    groups = run.summary.groupby(keys, sort=True, dropna=False) if keys else [((), run.summary)]
    sheets = []
    for values, rows in groups:
        values = values if isinstance(values, tuple) else (values,)
        rows = rows.sort_values(["distance_m", "ied_px"], ascending=[True, False])
        conditions = [run.conditions[str(cid)] for cid in rows["condition_id"]]
        if any(condition.get("samples") for condition in conditions):
            sheets.append(_sheet(run, conditions, series_label(dict(zip(keys, values)))))
    return sheets
