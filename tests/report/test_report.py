"""The report of a real small run: renders in Chromium, prints to PDF, answers the question."""

from __future__ import annotations

import html
import json
import os
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from evalharness.config.profile import PROFILES_DIR
from evalharness.errors import DataError
from evalharness.report import build_report
from evalharness.report.content import rate_with_interval
from evalharness.report.plots import METRICS

from chromium_page import check_page  # tests/report/chromium_page.py (pytest puts this folder on sys.path)

#: A real engine run (about 30 s on 2 CPU cores) precedes these tests.
pytestmark = pytest.mark.slow



def _tool(name: str) -> str:
    """Path of an external tool; skip without it, except under CI where it must be installed."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it (Debian: chromium, poppler-utils)")
        pytest.skip(f"{name} not installed (CI unset)")
    return path


@pytest.fixture(scope="module")
def report(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """``(run_dir, html_path, pdf_path)`` of a report built on a copy of the small run."""
    run_dir = Path(shutil.copytree(small_run, tmp_path_factory.mktemp("report") / "run"))
    html_path, pdf_path = build_report(run_dir)
    return run_dir, html_path, pdf_path


def test_report_files_are_written_into_the_run_directory(report):
    run_dir, html_path, pdf_path = report
    assert html_path == run_dir / "report.html" and html_path.stat().st_size > 0
    assert pdf_path == run_dir / "report.pdf" and pdf_path.read_bytes().startswith(b"%PDF-")
    # One self-contained file: nothing is loaded from outside the page.
    text = html_path.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in text
    assert "src=\"http" not in text and "src=\"file" not in text and "<link" not in text


def test_page_loads_in_chromium_without_errors_and_every_image_decodes(report):
    run_dir, html_path, _ = report
    check = check_page(html_path, _tool("chromium"))
    assert check.errors == []
    summary = pd.read_csv(run_dir / "summary.csv")
    plotted = [m for m in METRICS if m.column in summary and summary[m.column].notna().any()]
    sheets = summary["profile"].nunique()  # one sheet per profile here (one recognizer, one mode)
    quality_figures = int((run_dir / "quality.json").is_file())  # one figure, panels per measure
    assert len(check.images) == 2 * len(plotted) + sheets + quality_figures, [
        image["alt"] for image in check.images]
    assert all(image["decoded"] and image["width"] > 100 and image["height"] > 100 for image in check.images)
    alts = [image["alt"] for image in check.images]
    assert sum("control-passport" == alt for alt in alts) == 1
    assert sum("ir-two-lane" == alt for alt in alts) == 1


def test_pdf_pages_render_to_images(report, tmp_path):
    _, _, pdf_path = report
    subprocess.run([_tool("pdftoppm"), "-r", "40", "-png", str(pdf_path), str(tmp_path / "page")],
                   check=True, timeout=300)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 5  # summary, curves, sheets, methods, provenance
    for page in pages:
        with Image.open(page) as image:
            grey = image.convert("L")
            assert grey.getextrema()[0] < 100  # something dark (text) is printed on every page


def test_each_profile_has_its_identification_probability_interval_and_command(report):
    run_dir, html_path, _ = report
    text = html.unescape(html_path.read_text(encoding="utf-8"))
    summary = pd.read_csv(run_dir / "summary.csv")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for profile, rows in summary.groupby("profile"):
        # The nominal condition: the distance written in the shipped profile file.
        nominal_m = tomllib.loads((PROFILES_DIR / f"{profile}.toml").read_text())["distance_m"]
        row = rows.loc[(rows["distance_m"] - nominal_m).abs().idxmin()].to_dict()
        assert row["distance_m"] == nominal_m
        answer = rate_with_interval(row, "rank1")
        assert "95% CI" in answer
        sentence = (f"{profile} at {nominal_m:g} m (IED {row['ied_px']:.1f} px): a captured driver is "
                    f"identified at rank 1 with probability {answer}: {int(row['n_rank1'])} of "
                    f"{int(row['n_mated'])} mated probes identified")
        assert sentence in text
    assert shlex.join(manifest["command"]) in text
    assert f"git checkout {manifest['environment']['git']['commit']}" in text
    # The recipe reruns the run's own experiment.toml, which needs nothing outside the run directory.
    again = f"{run_dir}-reproduced"
    assert shlex.join(["evalharness", "run", str(run_dir / "experiment.toml"), "--out", again]) in text
    assert shlex.join(["evalharness", "compare", str(run_dir), again]) in text
    processor = manifest["environment"]["processor"]
    assert f"# computed on {manifest['device']}, processor {processor['model']} (torch kernels " \
           f"{processor['torch_capability']})" in text
    assert f"Evidence from experiment {manifest['experiment']!r}" in text
    assert "highly unlikely to be of sufficient quality to identify the driver or passengers" in text


def test_methods_show_profile_sources_and_limitations(report):
    _, html_path, _ = report
    text = html.unescape(html_path.read_text(encoding="utf-8"))
    # A source comment of the shipped profile, shown beside its value.
    # The citation, linked to its entry in the list of sources.
    assert 'covers 7.8 m at the plate, two lanes [<a href="#ref-sicore-ii-guide">sicore-ii-guide</a>]' in text
    assert "swept in this run" in text  # distance_m of ir-two-lane
    assert "Head pose from a high-mounted camera is not simulated" in text
    assert "This run was limited to 16 probes" in text


def test_chromium_prints_the_verdict_table_on_page_1(report, tmp_path):
    """The answer to the claim is on the first printed page: the rule, every installed profile with
    its scenarios and verdicts, and (this is a --limit run) the smoke-test warning."""
    run_dir, html_path, _ = report
    check = check_page(html_path, _tool("chromium"), print_pdf=True)
    pdf = tmp_path / "chromium.pdf"
    pdf.write_bytes(check.pdf)
    first = subprocess.run([_tool("pdftotext"), "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                           text=True, check=True, timeout=120).stdout
    first = " ".join(first.split())
    assert "SMOKE TEST, NOT A MEASUREMENT (--limit 16)" in first and "Smoke test, not a measurement" in first
    assert "Verdict on the claim" in first and "highly unlikely" in first and "20%" in first
    for profile in pd.read_csv(run_dir / "summary.csv")["profile"].unique():
        assert profile in first
    assert "Keeper check (1:1)" in first and "Several captures per pass" in first
    assert "validation: not validated" in first
    assert any(verdict in first for verdict in ("contradicted", "supported", "undecided"))


def test_headline_gives_no_rate_where_the_installed_position_was_not_evaluated(run_copy):
    from evalharness.report.content import headline_rows
    from evalharness.report.rundir import read_run

    summary = pd.read_csv(run_copy / "summary.csv")
    installed = (summary["profile"] == "ir-two-lane") & (summary["distance_m"] == 20)
    summary.loc[installed, "face_in_frame"] = False
    summary.to_csv(run_copy / "summary.csv", index=False)
    row = next(r for r in headline_rows(read_run(run_copy)) if r["profile"] == "ir-two-lane")
    assert row["rank1"] == "no rate" and "does not have the driver's face in its frame" in row["note"]
    summary[~installed].to_csv(run_copy / "summary.csv", index=False)
    row = next(r for r in headline_rows(read_run(run_copy)) if r["profile"] == "ir-two-lane")
    assert row["rank1"] == "no rate" and "installed position (20 m" in row["note"] and "not evaluated" in row["note"]


def test_report_describes_the_runs_camera_stages_not_todays_code(run_copy):
    from evalharness.report.render import render_html
    from evalharness.report.rundir import read_run

    manifest = json.loads((run_copy / "manifest.json").read_text())
    assert [stage["name"] for stage in manifest["camera_stages"]][:2] == ["resample", "spectral"]
    manifest["camera_stages"] = [{"name": "pinhole", "text": "an older camera model"}]
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    text = render_html(read_run(run_copy))
    assert "<strong>pinhole</strong>: an older camera model" in text and "<strong>resample</strong>" not in text


def test_provenance_shows_the_runs_speed_per_stage(run_copy):
    from evalharness.report.render import render_html
    from evalharness.report.rundir import read_run

    speed = json.loads((run_copy / "manifest.json").read_text())["throughput"]
    text = render_html(read_run(run_copy))
    assert f"{speed['probe_conditions']:,} probe-conditions evaluated on {speed['device']}" in text
    assert "<tr><td>simulate</td>" in text and "<tr><td>overall</td>" in text


def test_missing_summary_is_a_data_error_naming_the_file(run_copy):
    (run_copy / "summary.csv").unlink()
    with pytest.raises(DataError, match="summary.csv"):
        build_report(run_copy)


def test_missing_sample_image_is_a_data_error_naming_it(run_copy):
    sample = next((run_copy / "samples").glob("*/*.png"))
    sample.unlink()
    with pytest.raises(DataError, match=sample.name):
        build_report(run_copy)


def test_report_command_prints_the_report_path_last(run_copy, capsys):
    import evalharness.cli.report  # noqa: F401  registers the command
    from evalharness.cli import main

    assert main(["report", str(run_copy)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [str(run_copy / "report.pdf"), str(run_copy / "report.html")]
    assert main(["report", str(run_copy / "nowhere")]) == DataError.exit_code
