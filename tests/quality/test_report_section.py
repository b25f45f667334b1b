"""The report's quality section, rendered from a real small run."""

from __future__ import annotations

import shutil
from pathlib import Path

from evalharness.quality import MEASURES
from evalharness.report.render import render_html
from evalharness.report.rundir import read_run


def test_report_shows_the_quality_curves(quality_run: Path) -> None:
    html = render_html(read_run(quality_run))
    section = html.split('id="quality"')[1].split('id="sheets"')[0]
    assert "best predicts whether its subject is identified" in section
    assert section.count("<tr>") == 1 + len(MEASURES)  # header and one row per measure
    assert "simulation only" in section and "real images" in section
    assert 'src="data:image/png;base64,' in section


def test_a_run_without_quality_curves_still_renders(quality_run: Path, tmp_path: Path) -> None:
    older = Path(shutil.copytree(quality_run, tmp_path / "run"))
    (older / "quality.json").unlink()
    html = render_html(read_run(older))
    assert 'id="quality"' not in html and 'id="sheets"' in html
