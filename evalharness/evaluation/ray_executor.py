"""Evaluate a run's conditions on a Ray cluster (``evalharness run --executor ray``).

Workers are Ray actors, each holding an :class:`~evalharness.evaluation.evaluator.Evaluator`
with the models loaded once; on CUDA each asks Ray for one GPU, on the CPU for ``threads``
cores (torch then uses that many threads). The first worker computes the references (source
faces and gallery embeddings) once; they are put in Ray's object store once and every task
reads them from there. Each condition's probes are cut into shards of whole batches, so a
shard's rows are exactly those the local executor computes for the same probes; this process
joins a condition's shards and the runner stores it, with the same atomic writes and resume as
a local run. Workers return rows and sample images to this process: they need the dataset at
the same path and the same packages installed, not the run directory.

A worker that dies (killed, out of memory, node lost) is restarted by Ray and its shards are
run again, up to :data:`MAX_RESTARTS` times; an error of the harness raised in a worker (a bad
image, missing weights) is raised here as it is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from evalharness.config.experiment import Experiment
from evalharness.data.folder import FolderDataset
from evalharness.errors import ConfigError, ExecutorError, HarnessError, ModelError
from evalharness.evaluation import manifest
from evalharness.evaluation.conditions import Condition
from evalharness.evaluation.batching import batches
from evalharness.evaluation.evaluator import Evaluator, Part, References, condition_split
from evalharness.evaluation.protocol import Image, Split
from evalharness.evaluation.timing import device_name

try:
    import ray
    from ray.exceptions import RayActorError, RayError, RayTaskError
except ImportError:  # the optional extra is not installed
    ray = None

log = logging.getLogger("evalharness.ray")

#: Times a worker is restarted (and its shards retried) before the run gives up.
MAX_RESTARTS = 3
#: Shards queued on each worker at once, so that it never waits for this process.
IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class Context:
    """What a worker needs to build its :class:`Evaluator`, put once in the object store and
    passed to every task (not to the actor's constructor, so that a restarted worker gets it
    from the task it retries)."""

    experiment: Experiment
    dataset: FolderDataset
    split: Split
    device: str


class EvaluationWorker:
    """A Ray actor: an :class:`Evaluator`, loaded at its first task (so a failure to load is an
    ordinary task error, and a restarted worker reloads)."""

    def __init__(self, threads: int) -> None:
        torch.set_num_threads(threads)
        self._evaluator: Evaluator | None = None

    def _loaded(self, context: Context) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator.load(context.experiment, context.dataset, context.split,
                                             context.device)
        return self._evaluator

    def describe(self, context: Context) -> dict[str, Any]:
        evaluator = self._loaded(context)
        return {"device": str(evaluator.device), "device_name": device_name(evaluator.device),
                "torch_threads": torch.get_num_threads(),
                "models": evaluator.models(), "packages": manifest.package_versions(),
                "node": ray.util.get_node_ip_address()}

    def references(self, context: Context) -> References:
        return self._loaded(context).references()

    def evaluate(self, context: Context, condition: Condition, probes: Sequence[Image],
                 references: References) -> Part:
        return self._loaded(context).evaluate(condition, probes, references)


def shards(probes: Sequence[Image], batch_size: int, shard_probes: int) -> list[Sequence[Image]]:
    """``probes`` cut into consecutive shards of ``shard_probes`` rounded up to whole batches
    (the last may be shorter), so that every batch is the one the local executor forms."""
    return batches(probes, max(1, -(-shard_probes // batch_size)) * batch_size)


class RayExecutor:
    """Runs shards of conditions on Ray workers (see the module docstring).

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        "auto" means CUDA when the cluster has GPUs. Ray assigns each worker its GPU.
    address : str or None
        A running cluster (``HOST:PORT`` or ``ray://HOST:PORT``); None starts a local Ray
        instance with this machine's cores and GPUs (or joins ``RAY_ADDRESS`` when set).
    workers : int or None
        How many workers; default one per GPU (CUDA) or one per ``threads`` CPUs.
    threads : int
        CPU cores (and torch threads) each worker asks for.
    shard_probes : int
        Probes per task, rounded up to whole batches.

    Raises
    ------
    ExecutorError
        Ray is not installed, the cluster cannot be reached, or a worker's package versions
        differ from this machine's.
    ModelError
        CUDA asked for on a cluster without GPUs.
    """

    def __init__(self, experiment: Experiment, dataset: FolderDataset, split: Split, device: str = "auto",
                 address: str | None = None, workers: int | None = None, threads: int = 1,
                 shard_probes: int = 1024) -> None:
        if ray is None:
            raise ExecutorError("--executor ray needs Ray: pip install 'evalharness[ray]' "
                                "(or pip install ray) on this machine and every cluster node")
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers {workers}: must be at least 1")
        # No usage statistics leave the machine; dashboard not needed.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ExecutorError(f"--address {address}: cannot connect to a Ray cluster ({error}); check the "
                                "address, and that RAY_AUTH_TOKEN here is the cluster's") from None
        try:
            self._start(experiment, dataset, split, device, workers, threads, shard_probes)
        except BaseException:
            self.close()
            raise

    def _start(self, experiment: Experiment, dataset: FolderDataset, split: Split, device: str,
               workers: int | None, threads: int, shard_probes: int) -> None:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if device not in ("auto", "cpu", "cuda"):
            raise ModelError(f"--device {device!r}: with --executor ray use auto, cpu or cuda "
                             "(Ray assigns each worker its GPU)")
        use_cuda = device == "cuda" or (device == "auto" and gpus > 0)
        if use_cuda and gpus == 0:
            raise ModelError("--device cuda: the Ray cluster has no GPU; use --device cpu (or auto)")
        cpus = int(resources.get("CPU", 0))
        count = workers or (gpus if use_cuda else max(1, cpus // threads))
        if (use_cuda and count > gpus) or count * threads > cpus:
            # Ray would wait for resources that never come: say so instead of hanging.
            need = f"{count * threads} CPUs" + (f" and {count} GPUs" if use_cuda else "")
            raise ExecutorError(f"{count} workers need {need}; the Ray cluster has {cpus} CPUs and "
                                f"{gpus} GPUs: lower --workers")
        actor = ray.remote(EvaluationWorker).options(
            num_gpus=1 if use_cuda else 0, num_cpus=threads,
            max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS)
        self.context = ray.put(Context(experiment, dataset, split, "cuda" if use_cuda else "cpu"))
        self.workers = [actor.remote(threads) for _ in range(count)]
        self.batch_size, self.shard_probes = experiment.batch_size, shard_probes
        self.experiment, self.dataset, self.split = experiment, dataset, split
        described = self._get([worker.describe.remote(self.context) for worker in self.workers])
        self.described = described[0]
        mine = manifest.package_versions()
        for worker in described:
            differ = {name: (mine.get(name), version) for name, version in worker["packages"].items()
                      if mine.get(name) != version}
            if differ:
                raise ExecutorError(f"the worker on {worker['node']} has other package versions than "
                                    f"this machine (here, there): {differ}; install the same on every node")
        self.nodes = sorted({worker["node"] for worker in described})
        log.info("ray: %d workers on %s, device %s", count, self.nodes, self.described["device"])

    def describe(self) -> dict[str, Any]:
        return {"name": "ray", "device": self.described["device"],
                "device_name": self.described["device_name"],
                "torch_threads": self.described["torch_threads"], "models": self.described["models"],
                "workers": len(self.workers), "nodes": self.nodes, "shard_probes": self.shard_probes,
                "ray_version": ray.__version__}

    def references(self) -> References:
        return self._get(self.workers[0].references.remote(self.context))

    def evaluate(self, conditions: Sequence[Condition], references: References,
                 advance: Callable[[int], None]) -> Iterator[tuple[Condition, Part]]:
        shared = ray.put(references)
        pieces = {condition.id: shards(condition_split(self.experiment, self.dataset, self.split, condition).probes(),
                                       self.batch_size, self.shard_probes) for condition in conditions}
        queue = [(condition, index, shard) for condition in conditions
                 for index, shard in enumerate(pieces[condition.id])]
        queue.reverse()  # popped from the end: grid order
        running: dict[Any, tuple[Any, Condition, int, int]] = {}
        finished: dict[str, dict[int, Part]] = {}

        def submit(worker: Any) -> None:
            if queue:
                condition, index, shard = queue.pop()
                task = worker.evaluate.remote(self.context, condition, shard, shared)
                running[task] = (worker, condition, index, len(shard))

        for worker in self.workers:
            for _ in range(IN_FLIGHT_PER_WORKER):
                submit(worker)
        while running:
            [done], _ = ray.wait(list(running), num_returns=1)
            worker, condition, index, size = running.pop(done)
            parts = finished.setdefault(condition.id, {})
            parts[index] = self._get(done)
            advance(size)
            submit(worker)
            if len(parts) == len(pieces[condition.id]):
                yield condition, Part.join([parts[i] for i in sorted(parts)])
                del finished[condition.id]

    def close(self) -> None:
        """Stop the workers and disconnect (a local instance this process started stops too)."""
        for worker in getattr(self, "workers", []):
            ray.kill(worker)
        ray.shutdown()

    @staticmethod
    def _get(refs: Any) -> Any:
        """``ray.get``, with a worker's own harness errors raised as they are and lost
        workers as :class:`ExecutorError`."""
        try:
            return ray.get(refs)
        except RayTaskError as error:
            if isinstance(error.cause, HarnessError):
                raise error.cause from None
            raise
        except RayActorError as error:
            raise ExecutorError(f"a Ray worker died more than {MAX_RESTARTS} times ({error}); finished "
                                "conditions are kept, rerun the same command to resume") from None
        except RayError as error:
            raise ExecutorError(f"Ray failed: {error}") from None
