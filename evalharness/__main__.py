"""``python -m evalharness ...``: the same command line as the ``evalharness`` entry point."""

from evalharness.cli import run_cli

run_cli()
