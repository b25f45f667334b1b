"""Profile TOML files with inheritance: ``base = "NAME"`` or ``base = "path.toml"``, and sources.

A profile file may start with ``base = ...`` and then give only the values that differ from that
base; bases may have bases. :func:`resolve_layers` reads the chain, top file first, and merges it
into one mapping of :class:`SetValue` (the value, the file that set it last and that line's
trailing ``# comment``), so that validation errors and ``profiles show`` can name, for every
field, the file and the reason behind its value. :func:`render_resolved` writes the merged result
as one self-contained TOML (no ``base``), which is what a run directory stores.

Field of view: a file giving one of ``hfov_deg`` / ``focal_length_mm`` replaces whichever of the
two its bases gave; a file giving both is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from evalharness.config.loading import read_toml, suggest
from evalharness.errors import ConfigError

#: Keys that give the field of view: a layer giving one drops the other from its bases.
FIELD_OF_VIEW_KEYS = ("hfov_deg", "focal_length_mm")

#: ``key = value  # comment`` on one line; the value may be a quoted string containing ``#``.
_LINE = re.compile(
    r"""^\s*(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*
        (?:"(?:[^"\\]|\\.)*"|'[^']*'|[^#"']*?)\s*
        (?:\#\s?(?P<comment>.*?))?\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class SetValue:
    """One field's value as the chain of files gives it: value, file that set it, its comment."""

    value: Any
    file: Path
    comment: str


@dataclass(frozen=True)
class Layers:
    """A profile file resolved through its bases.

    ``chain``: the top file first, then its base, its base's base, ...; ``values``: the merged
    values (a file nearer the top wins); ``overridden``: keys the top file sets that a base also
    set (to a value that may or may not differ).
    """

    chain: tuple[Path, ...]
    values: dict[str, SetValue]
    overridden: frozenset[str]

    @property
    def path(self) -> Path:
        """The top file."""
        return self.chain[0]

    def data(self) -> dict[str, Any]:
        """The merged values as plain data (for validation)."""
        return {key: item.value for key, item in self.values.items()}

    def sources(self) -> dict[str, str]:
        """For each key, the file that set it (for error messages)."""
        return {key: str(item.file) for key, item in self.values.items()}


def comments(path: Path) -> dict[str, str]:
    """The trailing ``# comment`` of each top-level ``key = value`` line of a TOML file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match:
            found[match["key"]] = (match["comment"] or "").strip()
    return found


def resolve_layers(path: Path, profiles_dir: Path) -> Layers:
    """Read ``path`` and its chain of bases; see the module docstring.

    Raises
    ------
    ConfigError
        Unreadable or invalid TOML, a base that does not exist (with the names available), a
        base that is not a string, a cycle (the message shows it), or a file giving both
        ``hfov_deg`` and ``focal_length_mm``.
    """
    chain: list[Path] = []
    tables: list[dict[str, Any]] = []
    current: Path | None = Path(path)
    while current is not None:
        resolved = current.resolve()
        if resolved in (p.resolve() for p in chain):
            loop = " -> ".join(str(p) for p in [*chain, current])
            raise ConfigError(f"{chain[-1]}: base makes a cycle: {loop}; remove one base")
        table = read_toml(current)
        both = [key for key in FIELD_OF_VIEW_KEYS if key in table]
        if len(both) == 2:
            raise ConfigError(
                f"{current}: give exactly one of hfov_deg and focal_length_mm (both are set "
                "here; the other is derived from sensor_width_px and pixel_pitch_um)"
            )
        chain.append(current)
        tables.append(table)
        base = table.pop("base", None)
        current = None if base is None else base_path(base, current, profiles_dir)
    # Merge from the deepest base up; a base's name is its own, never inherited.
    values: dict[str, SetValue] = {}
    for index in range(len(chain) - 1, -1, -1):
        table, file = tables[index], chain[index]
        if index > 0:
            table.pop("name", None)
        drop_replaced_field_of_view(values, table)
        notes = comments(file)
        values.update({key: SetValue(value, file, notes.get(key, "")) for key, value in table.items()})
    inherited = {key for table in tables[1:] for key in table}
    overridden = frozenset(key for key in tables[0] if key in inherited)
    return Layers(tuple(chain), values, overridden)


def drop_replaced_field_of_view(merged: dict[str, Any], incoming: Mapping[str, Any]) -> None:
    """Remove both field-of-view keys from ``merged`` when ``incoming`` gives either of them."""
    if any(key in incoming for key in FIELD_OF_VIEW_KEYS):
        for key in FIELD_OF_VIEW_KEYS:
            merged.pop(key, None)


def base_path(base: object, child: Path, profiles_dir: Path) -> Path:
    """The file a ``base = ...`` in ``child`` names: a ``.toml`` path (relative to ``child``) or
    a shipped name, as ``--profile`` reads one (``validation/frmdb-cctv``: a file under the
    profiles' folder)."""
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{child}: base must be a profile name or a .toml path (got {base!r})")
    if base.endswith(".toml"):
        path = (child.parent / base) if not Path(base).is_absolute() else Path(base)
        if not path.is_file():
            raise ConfigError(f"{child}: base {base!r}: no such file {path}")
        return path
    path = profiles_dir / f"{base}.toml"
    if not path.is_file():
        names = sorted(p.stem for p in profiles_dir.glob("*.toml"))
        raise ConfigError(f"{child}: base {base!r}: no such profile{suggest(base, names)}; "
                          f"available: {', '.join(names) or '(none)'}")
    return path


def render_resolved(layers: Layers, values: Mapping[str, Any]) -> str:
    """One self-contained TOML of ``values`` (no ``base``), each line commented with its source.

    ``values`` are the fields to write (e.g. the validated profile's set fields, ``--set``
    included); a value the chain set keeps that file's comment and name, others say ``--set``.
    """
    chain = " on ".join(p.name for p in layers.chain)
    lines = [f"# Resolved camera profile: {chain}.", "# Each value: its source comment [the file that set it]."]
    for key, value in values.items():
        item = layers.values.get(key)
        if item is not None and item.value == value:
            note = f"{item.comment} [{item.file.name}]".strip()
        else:
            note = "[--set]"
        lines.append(f"{tomli_w.dumps({key: value}).strip()}  # {note}")
    return "\n".join(lines) + "\n"
