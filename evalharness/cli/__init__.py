"""Command-line entry point ``evalharness``: thin wrappers over the library.

Errors the user can act on (:class:`~evalharness.errors.HarnessError`) print one line and
exit with their code; tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import sys
import traceback

import click

from evalharness.cli.app import app, options
from evalharness.errors import HarnessError

# Importing a command module registers its subcommands on ``app``.
from evalharness.cli import doctor  # noqa: E402,F401  isort: skip

INTERNAL_ERROR = 70


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    try:
        result = app(args=argv, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except HarnessError as error:
        _report(f"error: {error}")
        return error.exit_code
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted; finished conditions are kept, rerun to resume", err=True)
        return 130
    except Exception as error:  # noqa: BLE001  last resort: never a bare traceback
        _report(f"internal error: {type(error).__name__}: {error}")
        return INTERNAL_ERROR


def _report(message: str) -> None:
    if options.debug:
        traceback.print_exc()
    else:
        message += "\n(run with --debug for the traceback)" if message.startswith("internal") else ""
    click.echo(message, err=True)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
