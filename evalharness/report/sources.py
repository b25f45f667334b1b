"""The source of each camera-profile value, read from the comments of the profile's TOML.

Profiles document every value on the line where it is set::

    hfov_deg = 28.0  # SiCore II installation guide: 7.8 m capture width at 15 m [soft]

:func:`parameter_sources` collects these comments so that the report's methods section can print
each value beside its source. Comment lines on their own are section headings or notes, not
sources, and are ignored.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.-]+|\"[^\"]+\")\s*=")


def _trailing_comment(line: str) -> str | None:
    """The text after the first ``#`` that is outside a quoted string, or None."""
    quote, escaped = None, False
    for index, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[index + 1 :].strip()
    return None


def parameter_sources(toml_text: str) -> dict[str, str]:
    """Map each key of a TOML document to the comment that gives its source.

    Parameters
    ----------
    toml_text : str
        The profile file's text.

    Returns
    -------
    dict of str to str
        Key (as written, without table prefix) to the comment on the key's own line; keys
        without one are absent.

    Examples
    --------
    >>> parameter_sources('# Lens\\nf_number = 2.8\\nied_m = 0.063  # ICAO # adult')
    {'ied_m': 'ICAO # adult'}
    """
    sources: dict[str, str] = {}
    for line in toml_text.splitlines():
        match = _KEY.match(line)
        comment = _trailing_comment(line[match.end() :]) if match else None
        if comment:
            sources[match["key"].strip('"')] = comment
    return sources
