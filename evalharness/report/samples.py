"""Contact sheets from a run's stored sample images (``RUN_DIR/samples/``).

The runner stores, for every condition, the same fixed sample of mated probes as the camera
stored them (``conditions/<id>.json`` lists them under ``samples``: ``file``, ``gallery_file``,
``identity``, ``relpath``, ``detected``), and each sampled person's gallery photograph. A sheet
puts one series of conditions (a profile over its distances, say) side by side, each probe
marked identified (its mate at rank 1 in the run's gallery, from the condition's per-probe rows),
not identified or not detected, and conditions whose face lies outside the installed camera's
frame marked in their column title.
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


def _outcomes(run: Run, condition_id: str) -> dict[str, str]:
    """Each mated probe's outcome in the condition, by relpath (a caption of :mod:`.sheets`)."""
    rows = run.probe_rows(condition_id, ["relpath", "probe_kind", "detected", "mate_rank"])
    rows = rows[rows["probe_kind"] == "mated"]
    return {relpath: ("NOT detected" if not detected else "identified" if rank == 1 else "not identified")
            for relpath, detected, rank in zip(rows["relpath"], rows["detected"], rows["mate_rank"], strict=True)}


def _title(condition: dict[str, Any]) -> str:
    title = f"{condition['values']['profile']['distance_m']:g} m\nIED {condition['derived']['ied_px']:.1f} px"
    return title + ("\nOUT OF FRAME" if condition["derived"].get("face_in_frame") is False else "")


def _sheet(run: Run, conditions: list[dict[str, Any]], title: str) -> Sheet:
    """The sheet of ``conditions`` (already in column order): gallery first, then each one."""
    probes: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        for sample in condition.get("samples", []):
            probes.setdefault(sample["relpath"], sample)
    outcomes = [_outcomes(run, c["condition_id"]) for c in conditions]
    rows = []
    for relpath, sample in probes.items():
        row = [Cell(_open(run, sample["gallery_file"]), "gallery", common=False)]
        for condition, outcome in zip(conditions, outcomes, strict=True):
            stored = {s["relpath"]: s for s in condition.get("samples", [])}.get(relpath)
            if stored is None:
                row.append(Cell(None, "not sampled"))
            else:
                row.append(Cell(_open(run, stored["file"]), outcome.get(relpath, "not scored")))
        rows.append(row)
    titles = ["gallery photograph\n(undegraded)"] + [_title(c) for c in conditions]
    caption = (
        f"{len(rows)} mated probes (rows: {', '.join(s['identity'] for s in probes.values())}). "
        "Every stored image on this sheet is enlarged by the same whole-number factor with "
        "nearest-neighbour sampling, so displayed size is proportional to stored size; the gallery "
        "photograph is fitted to its cell. Frames: green identified (the person is the top candidate "
        "in the run's gallery), orange detected but not identified, red not detected (the detector "
        "found no face where the camera put it, IoU at least 0.5). OUT OF FRAME: the installed camera "
        "would not have the face in its frame at that distance; the image shows its pixel density only."
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
            sheets.append(_sheet(run, conditions, series_label(dict(zip(keys, values, strict=True)))))
    return sheets
