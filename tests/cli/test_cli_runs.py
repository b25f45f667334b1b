"""Whole runs through the command line: byte-identical summaries on CPU, ``--json`` and
``--quiet``, ``compare`` exit codes, output directories that cannot be written (nothing written
before is lost; the rerun completes), a GPU out of memory (batches halved), and on a GPU, a run
that agrees with the CPU run within the confidence intervals."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_helpers import EXPERIMENT  # tests/cli/ is on sys.path

from evalharness.cli import main
from evalharness.evaluation import store
from evalharness.evaluation.compare import metrics_with_intervals
from evalharness.models.facenet import FaceNetRecognizer
from evalharness.models.mtcnn import MtcnnDetector

GRID = '[[grid]]\nprofiles = ["ir-two-lane"]\nsweep = { distance_m = [15] }'  # face inside the frame


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> tuple[Path, Path]:
    """The same two-condition experiment run twice into separate directories."""
    folder = tmp_path_factory.mktemp("runs")
    experiment = folder / "exp.toml"
    experiment.write_text(EXPERIMENT.format(dataset=tiny_dataset, extra="", grid=GRID))
    runs = folder / "a", folder / "b"
    cwd = Path.cwd()
    os.chdir(folder)  # so that anything written to the working directory would show
    try:
        for out in runs:
            assert main(["--quiet", "run", str(experiment), "--out", str(out), "--device", "cpu",
                         "--no-report"]) == 0
    finally:
        os.chdir(cwd)
    return runs


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_same_config_and_seed_give_byte_identical_summaries(two_runs):
    a, b = two_runs
    assert (a / "summary.csv").read_bytes() == (b / "summary.csv").read_bytes()
    assert len(pd.read_csv(a / "summary.csv")) == 2
    for condition in store.completed_conditions(a):
        assert pd.read_parquet(store.condition_path(a, condition)).equals(
            pd.read_parquet(store.condition_path(b, condition)))


def test_the_run_measures_its_speed_per_stage_in_manifest_and_log(two_runs):
    _, b = two_runs
    recorded = json.loads((b / "manifest.json").read_text())
    speed = recorded["throughput"]
    probes = recorded["split"]["mated_probes"] + recorded["split"]["nonmated_probes"]
    assert speed["probe_conditions"] == 2 * probes  # two conditions, every probe
    assert speed["device"].startswith("cpu (") and speed["wall_s"] > 0
    stages = {stage["stage"]: stage for stage in speed["stages"]}
    assert {"references", "load", "simulate", "detect", "embed", "match", "measures", "rows", "write",
            "summary"} == set(stages)
    assert sum(stage["seconds"] for stage in stages.values()) <= speed["wall_s"]
    assert speed["probe_conditions_per_s"] == pytest.approx(speed["probe_conditions"] / speed["wall_s"])
    log = (b / "run.log").read_text()
    assert "throughput: simulate" in log and "throughput: overall" in log


def test_run_writes_only_under_out_and_no_pickle(two_runs):
    a, _ = two_runs
    assert sorted(p.name for p in a.parent.iterdir()) == ["a", "b", "exp.toml"]
    for path in (p for p in a.rglob("*") if p.is_file()):
        assert path.suffix not in {".pkl", ".pickle", ".pt", ".pth", ".npy", ".npz"}, path
        assert path.read_bytes()[:1] != b"\x80", path  # the first byte of a pickle (protocol >= 2)
    for path in a.rglob("*"):
        assert path.resolve().is_relative_to(a.resolve())  # no link leads out of the run


def test_run_json_and_resume_of_a_finished_run(cli, two_runs):
    a, _ = two_runs
    before = (a / "summary.csv").read_bytes()
    result = cli("run", a / "experiment.toml", "--out", a, "--device", "cpu", "--no-report", "--json")
    assert result.code == 0, result.err
    paths = json.loads(result.out)  # stdout holds the JSON object only
    assert paths["run_dir"] == str(a) and paths["conditions"] == 2
    assert Path(paths["summary"]).read_bytes() == before
    assert Path(paths["manifest"]).is_file() and Path(paths["log"]).is_file()
    assert paths["report_html"] is None and paths["report_pdf"] is None
    assert "condition" in Path(paths["log"]).read_text()  # the run log records each condition
    assert "wrote" in result.err  # progress chatter goes to stderr, not into the JSON
    quiet = cli("--quiet", "run", a / "experiment.toml", "--out", a, "--device", "cpu", "--no-report")
    assert quiet.code == 0 and quiet.err == ""


def test_a_run_directory_reruns_from_anywhere(cli, two_runs, tmp_path, monkeypatch):
    """RUN_DIR/experiment.toml names the run's profile copies and pins the data: run from another
    working directory it reproduces summary.csv byte for byte; on other data it stops (exit 3)."""
    a, _ = two_runs
    stored = tomllib.loads((a / "experiment.toml").read_text())
    assert [block["profiles"] for block in stored["grid"]] == [["profiles/control-passport.toml"],
                                                                ["profiles/ir-two-lane.toml"]]
    assert all((a / name).is_file() for block in stored["grid"] for name in block["profiles"])
    monkeypatch.chdir(tmp_path)
    again = tmp_path / "again"
    result = cli("--quiet", "run", a / "experiment.toml", "--out", again, "--device", "cpu", "--no-report")
    assert result.code == 0, result.err
    assert (again / "summary.csv").read_bytes() == (a / "summary.csv").read_bytes()
    assert "agree" in cli("compare", a, again).out

    other = tmp_path / "other.toml"  # beside a copy of the run's profiles, which it names
    shutil.copytree(a / "profiles", tmp_path / "profiles")
    other.write_text((a / "experiment.toml").read_text().replace(stored["dataset_fingerprint"], "0" * 64))
    result = cli("run", other, "--out", tmp_path / "never", "--device", "cpu")
    assert result.code == 3 and "Traceback" not in result.err
    (line,) = [line for line in result.err.splitlines() if line.strip()]
    assert line.startswith(f"error: {other}: dataset_fingerprint: ") and "0" * 64 in line
    assert not (tmp_path / "never").exists()


def test_compare_identical_and_changed_runs(cli, two_runs, tmp_path):
    a, b = two_runs
    same = cli("compare", a, b)
    assert same.code == 0 and "agree" in same.out and "note:" not in same.out
    same_json = json.loads(cli("compare", a, b, "--json").out)
    assert same_json["identical_within_tolerance"] is True
    assert same_json["arithmetic"]["a"]["device"] == "cpu" and same_json["arithmetic"]["difference"] is None

    # The same numbers from a run whose manifest names another processor: agreed, and the
    # difference of arithmetic named; a summary without a manifest (the committed reference) names none.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(b / "summary.csv", elsewhere / "summary.csv")
    written = json.loads((b / "manifest.json").read_text())
    written["environment"]["processor"]["model"] = "Another CPU"
    (elsewhere / "manifest.json").write_text(json.dumps(written))
    moved = cli("compare", a, elsewhere)
    model = json.loads((a / "manifest.json").read_text())["environment"]["processor"]["model"]
    assert moved.code == 0 and f"note: the runs were computed on processors {model} and Another CPU: " in moved.out
    (elsewhere / "manifest.json").unlink()
    assert "note:" not in cli("compare", a, elsewhere).out

    summary = pd.read_csv(b / "summary.csv")
    metrics = metrics_with_intervals(summary.set_index("condition_id"))
    widths = {(row, m): summary[f"{m}_ci_high"][row] - summary[f"{m}_ci_low"][row]
              for row in summary.index for m in metrics}
    (row, metric), width = max(widths.items(), key=lambda item: item[1])
    assert width > 0
    changed = tmp_path / "changed"
    changed.mkdir()

    def shift(delta: float) -> None:
        edited = summary.copy()
        edited.loc[row, metric] += delta
        edited.to_csv(changed / "summary.csv", index=False)

    shift(width / 2)
    differ = cli("compare", a, changed)
    assert differ.code == 6 and "Traceback" not in differ.err
    assert f"{summary['condition_id'][row]}  {metric}:" in differ.out
    (line,) = differ.err_lines
    assert line.startswith("error: 1 metric(s) differ")
    report = json.loads(cli("compare", a, changed, "--json").out)
    assert [d["metric"] for d in report["differences"]] == [metric]
    assert cli("compare", a, changed, "--tolerance", str(width)).code == 0
    assert cli("compare", a, changed, "--within-ci").code == 0
    shift(width + 0.01)
    assert cli("compare", a, changed, "--within-ci").code == 6
    summary.drop(index=row).to_csv(changed / "summary.csv", index=False)
    lacking = cli("compare", a, changed)
    assert lacking.code == 6
    assert f"{summary['condition_id'][row]}  only in {a}: {changed} lacks this condition" in lacking.out

    missing = cli("compare", a, tmp_path / "nowhere")
    assert missing.code == 3 and "no summary.csv" in missing.err_lines[0]
    for garbage in (b"", b"\x00\xff not a table\n"):
        (changed / "summary.csv").write_bytes(garbage)
        corrupt = cli("compare", a, changed)
        assert corrupt.code == 3 and "Traceback" not in corrupt.err
        (line,) = corrupt.err_lines
        assert f"{changed / 'summary.csv'}: not a readable CSV table" in line


def test_unwritable_output_directory_is_exit_5(cli, two_runs, tmp_path):
    experiment = two_runs[0] / "experiment.toml"
    if os.geteuid() == 0:
        # root writes through permission bits, so a path below a regular file stands in
        # for a read-only directory (the write fails with ENOTDIR).
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder\n")
        out = blocker / "run"
    else:
        (tmp_path / "locked").mkdir(mode=0o555)
        out = tmp_path / "locked" / "run"
    result = cli("run", experiment, "--out", out, "--device", "cpu")
    assert result.code == 5 and "Traceback" not in result.err
    (line,) = result.err_lines
    assert line.startswith(f"error: {out}") and "cannot write" in line


def test_full_disk_mid_run_keeps_what_was_written_and_the_rerun_completes(cli, two_runs, tmp_path,
                                                                          monkeypatch):
    a, _ = two_runs
    run = tmp_path / "run"
    shutil.copytree(a, run)
    lost = min(store.completed_conditions(run))
    store.condition_path(run, lost).unlink()
    before = _files(run)
    real_replace = os.replace

    def full_disk(source, target):
        if str(target).endswith(".parquet"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(source, target)

    monkeypatch.setattr(store.os, "replace", full_disk)
    result = cli("--quiet", "run", run / "experiment.toml", "--out", run, "--device", "cpu", "--no-report")
    assert result.code == 5 and "Traceback" not in result.err
    (line,) = result.err_lines
    assert f"{lost}.parquet" in line and "No space left on device" in line
    after = _files(run)
    for name, data in before.items():
        if name not in ("manifest.json", "run.log"):  # rewritten and appended by every start
            assert after[name] == data, name
    assert not [name for name in after if name.endswith(".tmp")]  # no partial files

    monkeypatch.setattr(store.os, "replace", real_replace)
    assert cli("--quiet", "run", run / "experiment.toml", "--out", run, "--device", "cpu",
               "--no-report").code == 0
    assert (run / "summary.csv").read_bytes() == (a / "summary.csv").read_bytes()


def test_gpu_out_of_memory_halves_batches_with_a_warning_and_same_results(cli, two_runs, tmp_path,
                                                                          monkeypatch):
    # The models run out of memory on batches above 3 (the experiment's batch_size is 8), as
    # a smaller GPU would; the run must finish with the same summary, saying what it did.

    def small_gpu(method):
        def call(self, images, *rest):
            if len(images) > 3:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
            return method(self, images, *rest)
        return call

    monkeypatch.setattr(MtcnnDetector, "detect", small_gpu(MtcnnDetector.detect))
    monkeypatch.setattr(FaceNetRecognizer, "embed", small_gpu(FaceNetRecognizer.embed))
    a, _ = two_runs
    out = tmp_path / "small-gpu"
    result = cli("run", a / "experiment.toml", "--out", out, "--device", "cpu", "--no-report")
    assert result.code == 0, result.err
    warnings = [line for line in result.err_lines if line.startswith("warning: GPU out of memory")]
    assert warnings and "retrying as" in warnings[0] and "Traceback" not in result.err
    assert "GPU out of memory" in (out / "run.log").read_text()
    assert cli("compare", a, out, "--tolerance", "1e-6").code == 0


@pytest.mark.gpu
def test_gpu_run_agrees_with_cpu_within_the_intervals(cli, two_runs, tmp_path):
    a, _ = two_runs
    out = tmp_path / "gpu"
    result = cli("--quiet", "run", a / "experiment.toml", "--out", out, "--device", "cuda", "--no-report")
    assert result.code == 0, result.err
    assert json.loads((out / "manifest.json").read_text())["device"].startswith("cuda")
    assert cli("compare", a, out, "--within-ci").code == 0
