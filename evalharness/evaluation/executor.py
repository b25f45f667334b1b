"""Executors: where a run's conditions are evaluated.

The runner (:mod:`~evalharness.evaluation.runner`) owns the run directory and hands the
evaluation to an executor: :class:`LocalExecutor` (this process, the default) or
:class:`~evalharness.evaluation.ray_executor.RayExecutor` (a Ray cluster). Either computes the
references once, then yields each finished condition's :class:`Part`; the runner writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import torch

from evalharness.config.experiment import Experiment
from evalharness.data.folder import FolderDataset
from evalharness.evaluation.conditions import Condition
from evalharness.evaluation.evaluator import Evaluator, Part, References, condition_split
from evalharness.evaluation.protocol import Split
from evalharness.evaluation.timing import device_name


class Executor(Protocol):
    """What the runner needs of an executor."""

    def describe(self) -> dict[str, Any]:
        """For the manifest: ``name``, ``device``, ``device_name`` (in words,
        :func:`~evalharness.evaluation.timing.device_name`), ``torch_threads``, ``models`` (as
        :meth:`Evaluator.models`) and anything executor-specific."""

    def references(self) -> References:
        """Source faces and gallery embeddings, computed once."""

    def evaluate(self, conditions: Sequence[Condition], references: References,
                 advance: Callable[[int], None]) -> Iterator[tuple[Condition, Part]]:
        """Each condition's whole result as it finishes (in any order); ``advance(n)`` after
        every ``n`` probes evaluated."""

    def close(self) -> None:
        """Release workers (nothing for the local executor)."""


class LocalExecutor:
    """Evaluates in this process, condition after condition, with the models loaded once."""

    def __init__(self, experiment: Experiment, dataset: FolderDataset, split: Split,
                 device: str = "auto") -> None:
        self.evaluator = Evaluator.load(experiment, dataset, split, device)

    def describe(self) -> dict[str, Any]:
        return {"name": "local", "device": str(self.evaluator.device),
                "device_name": device_name(self.evaluator.device),
                "torch_threads": torch.get_num_threads(), "models": self.evaluator.models()}

    def references(self) -> References:
        return self.evaluator.references()

    def evaluate(self, conditions: Sequence[Condition], references: References,
                 advance: Callable[[int], None]) -> Iterator[tuple[Condition, Part]]:
        evaluator = self.evaluator
        for condition in conditions:
            probes = condition_split(evaluator.experiment, evaluator.dataset, evaluator.split, condition).probes()
            yield condition, evaluator.evaluate(condition, probes, references, advance)

    def close(self) -> None:
        pass
