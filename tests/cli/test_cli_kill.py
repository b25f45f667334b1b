"""``evalharness run`` killed with SIGKILL mid-sweep, then interrupted with Ctrl-C, then
started again, ends with exactly the results of an uninterrupted run: no duplicate rows, no
partial files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
from cli_helpers import EXPERIMENT  # tests/cli/ is on sys.path

from evalharness.evaluation import store
from evalharness.models import get_recognizer

SWEEP = '[[grid]]\nprofiles = ["ir-two-lane"]\nsweep = { distance_m = [8, 12, 16, 20] }'
WAIT_S = 600  # generous: CI machines are slow and shared
CLI = [sys.executable, "-c", "from evalharness.cli import run_cli; run_cli()"]


@pytest.mark.slow
def test_sigkill_and_ctrl_c_mid_sweep_then_rerun_equal_an_uninterrupted_run(tmp_path, tiny_dataset):
    experiment = tmp_path / "exp.toml"
    experiment.write_text(EXPERIMENT.format(dataset=tiny_dataset, extra="", grid=SWEEP))
    command = [*CLI, "--quiet", "run", str(experiment), "--device", "cpu", "--no-report", "--out"]
    killed = tmp_path / "killed"
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    # Convert the FaceNet weights first (on a fresh machine this takes a while), so that the
    # waits below measure the run, not the one-off conversion.
    get_recognizer("facenet-casia", torch.device("cpu"))
    process = subprocess.Popen([*command, str(killed)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + WAIT_S
    while not store.completed_conditions(killed) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = store.completed_conditions(killed)
    assert 1 <= len(finished) < 3, "the kill came too late to interrupt the sweep"
    assert not (killed / "summary.csv").exists()

    # A kill during a write leaves a temporary file; make sure one is there for the rerun.
    partial = killed / "conditions" / ".0123456789ab.parquet.x1y2z3.tmp"
    partial.write_bytes(b"PAR1 half a table")

    # Ctrl-C during the rerun: exit 130 with one line saying how to resume, no traceback.
    second = subprocess.Popen([*command, str(killed)], env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT_S
    while len(store.completed_conditions(killed)) <= len(finished) and time.monotonic() < deadline:
        assert second.poll() is None, second.stderr.read()
        time.sleep(0.05)
    second.send_signal(signal.SIGINT)
    _, stderr = second.communicate()
    assert second.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted") and "Traceback" not in stderr

    rerun = subprocess.run([*command, str(killed)], env=environment, capture_output=True, text=True,
                           check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    # The uninterrupted run in the same environment (torch's thread count changes the last bits
    # of the scores, which the rows keep and summary.csv's six decimals do not).
    whole_run = subprocess.run([*command, str(tmp_path / "whole")], env=environment,
                               capture_output=True, text=True, check=False)
    assert whole_run.returncode == 0, whole_run.stderr

    whole = tmp_path / "whole"
    assert (killed / "summary.csv").read_bytes() == (whole / "summary.csv").read_bytes()
    assert store.completed_conditions(killed) == store.completed_conditions(whole)
    for condition in store.completed_conditions(whole):
        rows = pd.read_parquet(store.condition_path(killed, condition))
        assert not rows["relpath"].duplicated().any()
        assert rows.equals(pd.read_parquet(store.condition_path(whole, condition)))
    assert not [p for p in killed.rglob("*") if p.name.endswith(".tmp")]  # partial files removed
