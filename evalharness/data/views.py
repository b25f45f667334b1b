"""Viewing directions of photographs, from an optional CSV beside a dataset.

A view is the direction from which the camera saw the face: ``yaw_deg`` (camera to the side) and
``pitch_deg`` (positive when the camera was above the eyes), both in ``[-90, 90]`` degrees, the
conventions of :mod:`evalharness.quality.pose`. The file has the header ``path,yaw_deg,pitch_deg``
and one row per photograph, ``path`` relative to the dataset's root (``"<id>/<image>"``). A
paired dataset gives its sources' views in ``sources.csv``; a folder-per-identity dataset may give
its images' views in ``views.csv`` (multi-view studio sets such as FRMDB's mugshots).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from evalharness.errors import DataError

#: The columns of a views file.
VIEW_COLUMNS = ("path", "yaw_deg", "pitch_deg")


@dataclass(frozen=True)
class View:
    """The viewing direction of one photograph, degrees."""

    yaw_deg: float
    pitch_deg: float


def read_csv_rows(path: Path, columns: tuple[str, ...], known: Collection[str]) -> list[dict[str, str]]:
    """Rows of an optional CSV file (none when it does not exist), checked: the header holds
    ``columns``, each ``path`` is one of ``known``. Errors name the file and line."""
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in columns if name not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the header must "
                                f"hold {','.join(columns)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot be read as UTF-8 CSV ({error})") from error
    for line, row in enumerate(rows, start=2):
        if row["path"] not in known:
            raise DataError(f"{path}, line {line}: path {row['path']!r} is not an image of the "
                            f"dataset (paths are relative to the dataset's folder, e.g. 'id/image.png')")
    return rows


def read_views(path: Path, known: Collection[str]) -> dict[str, View]:
    """The views in ``path`` by relpath (empty when the file does not exist)."""
    views = {}
    for line, row in enumerate(read_csv_rows(path, VIEW_COLUMNS, known), start=2):
        views[row["path"]] = View(_angle(path, line, "yaw_deg", row["yaw_deg"]),
                                  _angle(path, line, "pitch_deg", row["pitch_deg"]))
    return views


def _angle(path: Path, line: int, name: str, text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        value = math.nan
    if not -90.0 <= value <= 90.0:
        raise DataError(f"{path}, line {line}: {name} must be a number of degrees in [-90, 90], "
                        f"got {text!r}")
    return value
