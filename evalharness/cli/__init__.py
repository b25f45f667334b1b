"""Command-line entry point ``evalharness``: thin wrappers over the library.

Errors the user can act on (:class:`~evalharness.errors.HarnessError`) print one line and
exit with their code; tracebacks appear only with ``--debug``. Usage errors and ``--help``
are Typer's own (exit 2 and 0).
"""

from __future__ import annotations

import signal
import sys
import traceback
import warnings
from types import FrameType

import typer

from evalharness.cli.app import app, options
from evalharness.errors import HarnessError, Interrupted

# Importing a command module registers its subcommands on ``app``. Each imports the library
# (torch, pandas, matplotlib...) inside its command functions, so that ``--help`` and the light
# commands (``profiles list``) start in well under a second.
from evalharness.cli import doctor, models, profiles, run, report, compare  # noqa: E402,F401  isort: skip
from evalharness.cli import quality, validate  # noqa: E402,F401  isort: skip
from evalharness.cli import calibrate  # noqa: E402,F401  isort: skip

INTERNAL_ERROR = 70

#: The global flags (see ``cli.app``), also accepted after the subcommand: ``run ... --quiet``.
GLOBAL_FLAGS = ("--quiet", "-q", "--debug")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Raised instead of KeyboardInterrupt so that Typer does not swallow it as "Aborted!".
    raise Interrupted("interrupted; finished conditions are kept, rerun the same command to resume")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    # One "warning: ..." line, as errors are; the source location only with --debug.
    where = f" ({filename}:{lineno})" if options.debug else ""
    typer.echo(f"warning: {message}{where}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Moved before the subcommand, where Typer accepts them (up to a "--", after which all is data).
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [arg for arg in argv[:end] if arg in GLOBAL_FLAGS]
    argv = flags + [arg for arg in argv[:end] if arg not in GLOBAL_FLAGS] + argv[end:]
    previous = signal.signal(signal.SIGINT, _interrupt)
    previous_show = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        app(args=argv, prog_name="evalharness")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except HarnessError as error:
        _report(f"error: {error}")
        return error.exit_code
    except Exception as error:  # noqa: BLE001  last resort: never a bare traceback
        _report(f"internal error: {type(error).__name__}: {error}\n"
                "(a bug: rerun with --debug and report the traceback)")
        return INTERNAL_ERROR
    finally:
        signal.signal(signal.SIGINT, previous)
        warnings.showwarning = previous_show
    return 0


def _report(message: str) -> None:
    if options.debug:
        traceback.print_exc()
    typer.echo(message, err=True)


def run_cli() -> None:
    """Console-script entry point."""
    sys.exit(main())
