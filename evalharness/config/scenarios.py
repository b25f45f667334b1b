"""The settings of the report's usage scenarios (``[scenarios]`` in an experiment TOML).

The scenarios themselves, and the rule that turns each one's interval into a verdict, are
declared in :mod:`evalharness.evaluation.scenarios`; these are the few figures a reader may want
to vary. The verdict threshold is not among them: a rule fixed before the data cannot be a setting.
"""

from __future__ import annotations

from pydantic import Field

from evalharness.config.loading import StrictModel


class ScenarioSettings(StrictModel):
    """Attributes
    ----------
    keeper_far : false-accept rate of the keeper check (1:1 against one enrolment photograph).
    household_size : people searched in the household scenario, the driver among them.
    database_fpir : false-positive identification rate at which database searches are scored.
    captures_per_pass : k, the captures of one vehicle pass scored best-of (TfL keeps three
      colour photographs per charge record: FOI-3522-2324).
    """

    keeper_far: float = Field(1e-3, gt=0.0, lt=1.0)
    household_size: int = Field(5, ge=2, le=1000)
    database_fpir: float = Field(0.01, gt=0.0, lt=1.0)
    captures_per_pass: int = Field(3, ge=1, le=100)
