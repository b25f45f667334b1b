"""The Ray executor on a local Ray instance (2 CPUs) that the tests start, as a user's cluster
would run: the default experiment gives exactly the local executor's rows and summary, also
when a worker process is killed part-way."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from evalharness.evaluation import store
from evalharness.evaluation.protocol import Image
from evalharness.evaluation.ray_executor import shards

pytest.importorskip("ray", reason="the Ray executor's tests need the ray extra: pip install '.[ray]'")

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "configs" / "experiments" / "default.toml"
CLI = [sys.executable, "-c", "from evalharness.cli import run_cli; run_cli()"]
# Small batches and shards, so that every condition is cut into three shards of two batches; a
# small detector comparison (it runs in the driver, whichever the executor).
ARGUMENTS = ["--quiet", "run", str(DEFAULT), "--limit", "24", "--set", "batch_size=8", "--device", "cpu",
             "--set", "detector_comparison.probes_per_condition=4", "--no-report"]
RAY_ARGUMENTS = ["--executor", "ray", "--shard-probes", "16"]
# Each worker and the local reference use one torch thread: thread count changes the last bits.
# The cluster and its driver share a token, as on a real cluster (Ray's token authentication).
ENVIRONMENT = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0",
               "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
WAIT_S = 900  # generous: CI machines are slow and shared


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, subprocess.Popen]]:
    """A Ray head node with 2 CPUs (``ray start --head --block``); yields its address and
    process. Stopped (its whole process group) at the end; other Ray instances are untouched."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             "--num-cpus", "2", "--num-gpus", "0", "--port", str(port),
                             "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp],
                            env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        assert head.poll() is None, head.stderr.read().decode()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline, "the Ray head did not start within 120 s"
        time.sleep(0.2)
    yield f"127.0.0.1:{port}", head
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default experiment run by the local executor (the reference)."""
    out = tmp_path_factory.mktemp("local") / "run"
    done = subprocess.run([*CLI, *ARGUMENTS, "--out", str(out)], env=ENVIRONMENT, capture_output=True,
                          text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    return out


def _assert_same_results(run: Path, reference: Path) -> None:
    assert (run / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()
    assert (run / "detectors.csv").read_bytes() == (reference / "detectors.csv").read_bytes()
    conditions = sorted(store.completed_conditions(reference))
    assert sorted(store.completed_conditions(run)) == conditions
    for condition in conditions:
        pd.testing.assert_frame_equal(pd.read_parquet(store.condition_path(run, condition)),
                                      pd.read_parquet(store.condition_path(reference, condition)))
        assert (store.condition_path(run, condition, ".json").read_bytes()
                == store.condition_path(reference, condition, ".json").read_bytes())
    assert not list(run.rglob(".*.tmp"))


def _worker_processes(root: int) -> list[int]:
    """Processes below ``root`` (the Ray head) whose title is a harness worker's."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # Field 4 of /proc/PID/stat is the parent; the name in field 2 may hold spaces.
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue

    def below(pid: int) -> bool:
        while pid in parent and pid != root:
            pid = parent[pid]
        return pid == root

    workers = []
    for pid in parent:
        try:
            title = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::EvaluationWorker") and below(pid):
            workers.append(pid)
    return workers


def test_shards_are_whole_batches():
    probes = [Image(f"id{i}", f"id{i}/{i}.jpg") for i in range(50)]
    cut = shards(probes, batch_size=8, shard_probes=12)  # rounded up to 16
    assert [len(shard) for shard in cut] == [16, 16, 16, 2]
    assert [image for shard in cut for image in shard] == probes


def test_ray_run_equals_local_run(ray_cluster, local_run, tmp_path):
    address, _ = ray_cluster
    out = tmp_path / "ray"
    done = subprocess.run([*CLI, *ARGUMENTS, *RAY_ARGUMENTS, "--address", address, "--out", str(out)],
                          env=ENVIRONMENT, capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    _assert_same_results(out, local_run)
    executor = store.read_json(out / "manifest.json")["executor"]
    assert executor["name"] == "ray" and executor["workers"] == 2 and executor["shard_probes"] == 16


def test_ray_run_survives_a_killed_worker(ray_cluster, local_run, tmp_path):
    address, head = ray_cluster
    out = tmp_path / "ray-killed"
    run = subprocess.Popen([*CLI, *ARGUMENTS, *RAY_ARGUMENTS, "--address", address, "--out", str(out)],
                           env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT_S
    while not store.completed_conditions(out) and time.monotonic() < deadline:
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.1)
    workers = _worker_processes(head.pid)
    assert len(workers) == 2, f"expected the run's 2 workers, found {workers}"
    os.kill(workers[0], signal.SIGKILL)
    finished_at_kill = len(store.completed_conditions(out))
    _, stderr = run.communicate(timeout=WAIT_S)
    assert run.returncode == 0, stderr
    total = len(store.completed_conditions(local_run))
    assert finished_at_kill < total, "the kill came after the last condition"
    _assert_same_results(out, local_run)


def test_cuda_on_a_cluster_without_gpus_is_a_clear_error(ray_cluster, tmp_path):
    address, _ = ray_cluster
    arguments = [a if a != "cpu" else "cuda" for a in ARGUMENTS]
    done = subprocess.run([*CLI, *arguments, "--executor", "ray", "--address", address,
                           "--out", str(tmp_path / "run")], env=ENVIRONMENT, capture_output=True, text=True,
                          timeout=WAIT_S)
    assert done.returncode == 4
    assert "the Ray cluster has no GPU" in done.stderr
    assert not (tmp_path / "run").exists()


def test_more_workers_than_the_cluster_holds_is_a_clear_error(ray_cluster, tmp_path):
    address, _ = ray_cluster
    done = subprocess.run([*CLI, *ARGUMENTS, "--executor", "ray", "--address", address, "--workers", "3",
                           "--out", str(tmp_path / "run")], env=ENVIRONMENT, capture_output=True, text=True,
                          timeout=WAIT_S)
    assert done.returncode == 7
    assert "3 workers need 3 CPUs; the Ray cluster has 2 CPUs" in done.stderr
    assert not (tmp_path / "run").exists()
