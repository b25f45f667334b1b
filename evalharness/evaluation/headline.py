"""Which model configuration an experiment's answers are stated for, chosen before the run.

An experiment may evaluate several recognizers and detectors. Its summary sentences and verdicts
speak for one configuration, the *headline*, fixed by :data:`HEADLINE_RULE` from the experiment
alone (never from the run's results, so the choice cannot favour the claim); the other
configurations are shown beside it. The runner records the choice in ``manifest.json``
(``headline``) and the report reads it from there through :func:`is_headline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalharness.config.experiment import Experiment
from evalharness.models.registry import lfw_accuracy

HEADLINE_RULE = (
    "the recognizer with the highest LFW pairs accuracy recorded in the model registry "
    "(evalharness models --json, lfw_accuracy; a recognizer without one ranks last, ties go to "
    "the first listed), with the experiment's first detector")


@dataclass(frozen=True)
class Headline:
    """The headline configuration and why.

    Attributes
    ----------
    recognizer, detector : str
        Registry names as in the experiment.
    rule : str
        :data:`HEADLINE_RULE`.
    lfw_accuracy : dict of str to float or None
        The recorded accuracy of every listed recognizer, the basis of the choice.
    """

    recognizer: str
    detector: str
    rule: str
    lfw_accuracy: dict[str, float | None]


def choose_headline(experiment: Experiment) -> Headline:
    """The headline configuration of ``experiment`` by :data:`HEADLINE_RULE`."""
    accuracy = {name: lfw_accuracy(name) for name in experiment.recognizers}
    # max() keeps the first of equal keys: the first listed wins ties; unmeasured rank last.
    best = max(experiment.recognizers,
               key=lambda name: -1.0 if accuracy[name] is None else accuracy[name])
    return Headline(best, experiment.detector_names[0], HEADLINE_RULE, accuracy)


def is_headline(condition: Mapping[str, Any], manifest: Mapping[str, Any]) -> bool:
    """Whether a summary row (``recognizer``, ``detector``) is the run's headline configuration.

    Runs recorded before headlines existed evaluated one configuration: every row is headline.
    """
    headline = manifest.get("headline")
    if not headline:
        return True
    return (condition.get("recognizer") == headline["recognizer"]
            and condition.get("detector", headline["detector"]) == headline["detector"])
