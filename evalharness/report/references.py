"""The sources a report cites: ``[REF: key]`` markers resolved against the run's bibliography.

Every run stores a copy of ``docs/references.toml`` as ``RUN_DIR/references.toml``. Texts in the
report (profile source comments, the methods, the scenarios) cite sources as ``[REF: key]``;
:func:`link_citations` turns each marker into a link to the entry in the report's list of sources,
and :func:`cited_keys` finds which entries a page uses, so the report lists exactly those.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from evalharness.errors import DataError

#: A citation marker; keys are lower-case words joined by hyphens.
CITATION = re.compile(r"\[REF: (?P<key>[a-z0-9][a-z0-9-]*)\]")
#: A ``[REF`` that is not a well-formed marker (to find by test, never in shipped text).
MALFORMED = re.compile(r"\[REF(?!: [a-z0-9][a-z0-9-]*\])")
GRADES = ("firm", "soft", "derived")


@dataclass(frozen=True)
class Reference:
    """One bibliography entry (see the header of ``docs/references.toml``)."""

    key: str
    citation: str
    url: str
    grade: str
    supports: str
    note: str = ""
    derived_from: tuple[str, ...] = field(default_factory=tuple)


def read_references(path: Path) -> dict[str, Reference]:
    """The entries of a bibliography TOML, by key.

    Raises
    ------
    DataError
        Naming the file and entry when it is not valid TOML or an entry lacks a field.
    """
    try:
        tables = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DataError(f"{path}: unreadable bibliography: {error}") from None
    entries = {}
    for key, entry in tables.items():
        missing = [name for name in ("citation", "url", "grade", "supports") if name not in entry]
        if missing or entry.get("grade") not in GRADES or not CITATION.fullmatch(f"[REF: {key}]"):
            raise DataError(f"{path}: entry [{key}] needs a lower-case hyphenated key, citation, url, supports "
                            f"and grade (one of {', '.join(GRADES)}); missing {', '.join(missing) or 'none'}")
        entries[key] = Reference(key, entry["citation"], entry["url"], entry["grade"], entry["supports"],
                                 entry.get("note", ""), tuple(entry.get("derived_from", ())))
    return entries


def cited_keys(text: str) -> list[str]:
    """The keys cited in ``text``, in order of first citation."""
    return list(dict.fromkeys(match["key"] for match in CITATION.finditer(text)))


def link_citations(html: str, known: set[str]) -> str:
    """``html`` with each ``[REF: key]`` a link to ``#ref-key``; an unknown key is marked as such."""
    def link(match: re.Match[str]) -> str:
        key = match["key"]
        if key not in known:
            return f'[source "{key}" not in this run\'s references.toml]'
        return f'[<a href="#ref-{key}">{key}</a>]'
    return CITATION.sub(link, html)


def used_references(text: str, references: dict[str, Reference]) -> list[Reference]:
    """The entries ``text`` cites, then the entries they were derived from, each once."""
    keys = cited_keys(text)
    for key in list(keys):
        keys.extend(k for k in (references[key].derived_from if key in references else ()) if k not in keys)
    return [references[key] for key in keys if key in references]
