"""Where a run's time goes: seconds per stage, and probe-conditions a second per stage and overall.

A probe-condition is one probe evaluated under one condition (simulated, detected, embedded,
matched, measured, made a row). :class:`StageClock` sums the seconds of each of :data:`STAGES`
(``time.perf_counter``; on a CUDA device the device is synchronised at both ends of a stage, so
that queued GPU work is charged to the stage that queued it). :class:`Throughput` is what the
run's ``manifest.json`` (key ``throughput``) and ``run.log`` record of it.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

#: The stages, in the order a run passes through them. Per batch of probes
#: (:meth:`~evalharness.evaluation.evaluator.Evaluator.evaluate`): ``load`` (decode the source
#: photographs), ``simulate`` (the camera model, JPEG included), ``detect`` (detector, and its
#: detections matched to the true face box), ``embed``, ``match`` (scores against the gallery),
#: ``measures`` (per-probe quality measures), ``rows`` (per-probe rows and sample PNGs). Per run
#: (:class:`~evalharness.evaluation.runner.Run`): ``references`` (source faces and gallery
#: embeddings, cached across runs), ``write`` (each condition's files) and ``summary`` (metrics
#: with intervals, summary and quality files).
STAGES = ("references", "load", "simulate", "detect", "embed", "match", "measures", "rows",
          "write", "summary")


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (nothing to wait for on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class StageClock:
    """Seconds spent in each stage of :data:`STAGES` (summed over calls) and the probes
    evaluated, on ``device``."""

    device: torch.device
    seconds: dict[str, float] = field(default_factory=dict)
    probes: int = 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name`` (one of :data:`STAGES`)."""
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
        synchronize(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            synchronize(self.device)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def add(self, other: StageClock) -> None:
        """Add ``other``'s seconds and probes to this clock's."""
        for name, seconds in other.seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.probes += other.probes


def device_name(device: torch.device) -> str:
    """``device`` in words: the GPU's name, or the CPU's architecture and torch's thread count."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads)"


@dataclass(frozen=True)
class StageRate:
    """One stage's share of a run: ``seconds``, and ``probe_conditions_per_s`` were the run
    limited by this stage alone."""

    stage: str
    seconds: float
    probe_conditions_per_s: float | None


@dataclass(frozen=True)
class Throughput:
    """How fast a run (one invocation: a resumed run counts what it evaluated) went.

    ``probe_conditions``: probes evaluated times conditions; ``wall_s``: seconds from the first
    reference to the summary written; ``stages`` in :data:`STAGES` order. With several workers
    (``--executor ray``) the per-batch stages' seconds are summed over the workers.
    """

    device: str
    probe_conditions: int
    wall_s: float
    probe_conditions_per_s: float | None
    stages: list[StageRate]

    @classmethod
    def of(cls, clock: StageClock, wall_s: float, device: str) -> Throughput:
        def rate(seconds: float) -> float | None:
            return clock.probes / seconds if seconds > 0 and clock.probes else None

        return cls(device, clock.probes, wall_s, rate(wall_s),
                   [StageRate(name, clock.seconds[name], rate(clock.seconds[name]))
                    for name in STAGES if name in clock.seconds])

    def table(self) -> list[str]:
        """The figures as aligned text lines: a header, one line per stage, the overall line."""
        def line(name: str, seconds: float, per_s: float | None) -> str:
            share = f"{seconds / self.wall_s:.0%}" if self.wall_s > 0 else "-"
            shown = "-" if per_s is None else f"{per_s:,.1f}"
            return f"{name:<12}{seconds:>10.2f}{share:>7}{shown:>20}"

        return ([f"{self.probe_conditions} probe-conditions on {self.device}",
                 f"{'stage':<12}{'s':>10}{'share':>7}{'probe-conds/s':>20}"]
                + [line(s.stage, s.seconds, s.probe_conditions_per_s) for s in self.stages]
                + [line("overall", self.wall_s, self.probe_conditions_per_s)])


def summed(clocks: Sequence[StageClock], device: torch.device) -> StageClock:
    """One clock holding the sum of ``clocks``."""
    total = StageClock(device)
    for clock in clocks:
        total.add(clock)
    return total
