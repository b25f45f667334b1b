"""A plain-text description of the camera model's stages, stored by every run.

The runner writes :func:`describe_stages` into the run's ``manifest.json`` (``camera_stages``),
so that a report describes the camera of the run it reports, not today's code. The description
is read from :mod:`evalharness.camera.simulate`'s docstring (its numbered list); when the stage
list becomes a declared table, only this function's body changes.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

_STAGE_ITEM = re.compile(r"^\d+\. ``(?P<name>\w+)`` - (?P<text>.*)$")
_RST_MARKUP = re.compile(r"``([^`]+)``|:\w+:`~?([^`]+)`")


@dataclass(frozen=True)
class StageDescription:
    """One stage: its name and what it does, in plain text."""

    name: str
    text: str


def plain_text(rst: str) -> str:
    """Docstring text without reStructuredText markup: ````x```` and ``:mod:`~a.b``` become text."""
    return _RST_MARKUP.sub(lambda m: m[1] or m[2], rst)


def describe_stages() -> list[StageDescription]:
    """The camera model's stages, in order."""
    # The module, not the package's ``simulate`` function of the same name (whose docstring has
    # no stage list: reading it left the report's stage list empty).
    module = importlib.import_module("evalharness.camera.simulate")
    rows: list[dict[str, str]] = []
    for line in (module.__doc__ or "").splitlines():
        match = _STAGE_ITEM.match(line)
        if match:
            rows.append({"name": match["name"], "text": match["text"]})
        elif rows and line.startswith("   "):  # an item's indented continuation
            rows[-1]["text"] += " " + line.strip()
        elif rows:
            break
    return [StageDescription(row["name"], plain_text(row["text"])) for row in rows]
