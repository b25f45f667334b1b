"""The ``evalharness`` Typer application, its global options, and output helpers.

Subcommand modules (``doctor``, ``models``, ``profiles``, ...) register themselves on
:data:`app`; :func:`evalharness.cli.main` runs it and maps errors to exit codes.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import typer

from evalharness.cli.plain import PlainTyper

app = PlainTyper(
    name="evalharness",
    help=(
        "Can the driver of a car be identified from roadside ANPR camera images? "
        "Degrade real faces as a configured camera would, then measure detection and "
        "identification.\n\nExit codes: 0 ok; 1 other failure; 2 bad config or usage; "
        "3 bad data; 4 model weights problem; 5 output not writable; 6 runs differ "
        "(compare); 70 internal error."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@dataclass
class GlobalOptions:
    """Options given before the subcommand, shared by every command."""

    debug: bool = False
    quiet: bool = False


options = GlobalOptions()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or chatter."),
) -> None:
    options.debug = debug
    options.quiet = quiet


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented, valid JSON on stdout (for ``--json``): NaN becomes null."""
    json.dump(_finite(value), sys.stdout, indent=2, sort_keys=False, default=str, allow_nan=False)
    sys.stdout.write("\n")


def say(message: str) -> None:
    """Print a progress/status line on stderr unless ``--quiet``."""
    if not options.quiet:
        typer.echo(message, err=True)
