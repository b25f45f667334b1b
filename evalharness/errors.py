"""Errors a user can act on, and the exit status each one gives.

Every error the harness raises for bad input derives from :class:`HarnessError`. The CLI
prints its message as one line (no traceback unless ``--debug``) and exits with its
``exit_code``. The codes are documented in the README.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A problem the user can fix; ``str(error)`` says what and how."""

    exit_code = 1


class ConfigError(HarnessError):
    """A profile, experiment or ``--set`` override is invalid (names file and field)."""

    exit_code = 2


class ModelSettingError(ConfigError):
    """A model name, argument or option that no registered model takes, or an option's value
    out of its range: a setting to correct (exit 2), not a weights problem (:class:`ModelError`).
    The runner names the experiment file in front of it."""


class DataError(HarnessError):
    """A dataset, image or protocol file is missing or unusable (names the path)."""

    exit_code = 3


class ModelError(HarnessError):
    """Model weights are missing, unconvertible or fail their sha256 check."""

    exit_code = 4


class OutputError(HarnessError):
    """The output directory cannot be written (read-only, full, or outside its root)."""

    exit_code = 5


class ComparisonError(HarnessError):
    """Two runs' summaries differ beyond the tolerance (``evalharness compare``)."""

    exit_code = 6


class ExecutorError(HarnessError):
    """The Ray executor cannot run: Ray missing, cluster unreachable, workers lost or unlike
    this machine (finished conditions are kept; a rerun resumes)."""

    exit_code = 7


class Interrupted(HarnessError):
    """The user pressed Ctrl-C; finished work is kept and a rerun resumes."""

    exit_code = 130
