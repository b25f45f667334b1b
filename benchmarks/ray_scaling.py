"""The same sweep with the local executor and with 1 and 2 Ray workers, and what that projects.

Runs an experiment (default: ``configs/experiments/default.toml`` with ``--limit`` probes per
condition) into fresh run directories: once with the local executor, then on a local Ray
instance with 1 and with 2 workers (one torch thread each; the local run also uses one thread,
so the three runs do the same arithmetic). Source faces and gallery embeddings are computed by a
warm-up run first and read from the cache by every timed run, so the timings are the sweep.
Prints a table of wall time, probe-conditions per second and the speed-up over one worker, and
checks that the three summaries are identical.

Then projects a large sweep (``--gallery`` identities x ``--conditions`` conditions, one mated
probe per enrolled identity per condition) on N workers from a per-worker rate: the one measured
here, and per-GPU rates from ``docs/references.toml`` [REF: seed-stack-h100] (not measured by this script). The
matching of a probe against a big gallery is timed here too, since its cost grows with the
gallery.

Example::

    nice .venv/bin/python benchmarks/ray_scaling.py --limit 60
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported: one thread per process
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from evalharness.evaluation.matching import identity_scores  # noqa: E402
from evalharness.evaluation.runner import prepare  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: Per-GPU probe rates for the projection, probe-conditions per second (see the module doc).
GPU_RATES = {
    "stock facenet-pytorch on one H100 (MTCNN-bound, REFERENCES.md)": 500.0,
    "issue #7 goal for the harness on one H100 (not yet measured)": 10_000.0,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", type=Path, default=REPO / "configs" / "experiments" / "default.toml")
    parser.add_argument("--limit", type=int, default=60, help="probes per condition (default 60)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts (default 1 2)")
    parser.add_argument("--gallery", type=int, default=100_000, help="projected gallery identities")
    parser.add_argument("--conditions", type=int, default=100, help="projected conditions")
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4, 8], help="projected GPU counts")
    return parser.parse_args()


def timed_run(experiment: Path, out: Path, limit: int, **executor: object) -> tuple[float, float, bytes, int]:
    """(start-up s, sweep s, summary.csv bytes, probe-conditions) of one run."""
    began = time.perf_counter()
    run = prepare(experiment, out, device="cpu", limit=limit, **executor)
    started = time.perf_counter()
    run.execute()
    ended = time.perf_counter()
    return started - began, ended - started, (out / "summary.csv").read_bytes(), sum(map(run.probes_of, run.grid))


def matching_seconds_per_probe(gallery: int, dim: int = 512, probes: int = 256) -> float:
    """CPU seconds to score one probe against ``gallery`` identities (one image each)."""
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((probes, dim)).astype(np.float32)
    images = rng.standard_normal((gallery, dim)).astype(np.float32)
    began = time.process_time()
    identity_scores(embeddings, images, np.arange(gallery), gallery)
    return (time.process_time() - began) / probes


def hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds / 60:,.1f} min"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    print(f"# {args.experiment.name}, --limit {args.limit}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as scratch:
        root = Path(scratch)
        timed_run(args.experiment, root / "warm-up", 1)  # fills the source-face and gallery caches
        results = [("local", 1, *timed_run(args.experiment, root / "local", args.limit))]
        for workers in args.workers:
            results.append(("ray", workers, *timed_run(args.experiment, root / f"ray-{workers}", args.limit,
                                                        executor="ray", workers=workers)))
    print(f"load average after {os.getloadavg()[0]:.2f}\n")
    one_worker = next(sweep for name, workers, _, sweep, *_ in results if name == "ray" and workers == 1)
    print("| executor | workers | start-up s | sweep s | probe-conditions | per s | speed-up vs 1 Ray worker |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, workers, startup, sweep, _, count in results:
        print(f"| {name} | {workers} | {startup:.1f} | {sweep:.1f} | {count} | {count / sweep:.1f} | "
              f"{one_worker / sweep:.2f}x |")
    identical = len({summary for *_, summary, _ in results}) == 1
    print(f"\nsummary.csv identical across the runs: {identical}")

    rate = next(count / sweep for name, workers, _, sweep, _, count in results if name == "ray" and workers == 1)
    match_s = matching_seconds_per_probe(10_000) * args.gallery / 10_000
    work = args.gallery * args.conditions
    print(f"\n# Projection: {args.gallery:,} identities x {args.conditions} conditions, one mated probe per "
          f"identity = {work:,} probe-conditions (plus {args.gallery:,} gallery images once)")
    print(f"matching one probe against {args.gallery:,} identities on the worker's CPU (float64, one "
          f"thread, measured at 10,000 and scaled): {match_s * 1e3:.1f} ms; added to every rate below")
    rates = {f"this CPU, one worker per core (measured, {args.limit} probes x small gallery)": rate, **GPU_RATES}
    print("\n| per-worker rate | probe-conditions/s | with matching | "
          + " | ".join(f"{n} workers" for n in args.gpus) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in args.gpus) + " |")
    for label, per_worker in rates.items():
        effective = 1 / (1 / per_worker + match_s)
        cells = " | ".join(hours(work / (effective * n)) for n in args.gpus)
        print(f"| {label} | {per_worker:,.0f} | {effective:,.0f} | {cells} |")

if __name__ == "__main__":
    main()
