"""Every source the project cites resolves to a full entry of its own bibliography."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from evalharness.config.profile import PROFILES_DIR, list_profiles
from evalharness.evaluation.scenarios import RULE, SCENARIOS
from evalharness.config.scenarios import ScenarioSettings
from evalharness.paths import PROJECT_ROOT, REFERENCES_FILE
from evalharness.report import content, plots
from evalharness.report.references import (
    MALFORMED,
    cited_keys,
    link_citations,
    read_references,
    used_references,
)

REFERENCES = read_references(REFERENCES_FILE)


def unresolved(text: str) -> list[str]:
    """Keys ``text`` cites that the bibliography lacks, and malformed markers."""
    return [key for key in cited_keys(text) if key not in REFERENCES] + [m.group() for m in MALFORMED.finditer(text)]


def test_an_unknown_key_is_caught():
    assert unresolved("hfov_deg = 20  # [REF: no-such-source]") == ["no-such-source"]
    assert unresolved("x = 1  # [REF table]") == ["[REF"]


@pytest.mark.parametrize("name", [*list_profiles(), *(f"validation/{p.stem}" for p in sorted(
    (PROFILES_DIR / "validation").glob("*.toml")) if not p.stem.endswith("calibrated"))])
def test_every_ref_in_a_shipped_profile_resolves(name):
    text = (PROFILES_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert cited_keys(text), f"{name}: cites no source"
    assert unresolved(text) == []


@pytest.mark.parametrize("path", sorted((PROFILES_DIR.parent / "experiments").glob("*.toml")), ids=lambda p: p.stem)
def test_every_ref_in_a_shipped_experiment_resolves(path):
    assert unresolved(path.read_text(encoding="utf-8")) == []


def test_every_ref_in_the_reports_own_text_resolves():
    texts = [content.CLAIM["source"], *content.STATISTICS, f"[REF: {RULE.source}]",
             *(s.method(ScenarioSettings()) for s in SCENARIOS), *(line.source for line in plots.REFERENCE_LINES)]
    assert all(unresolved(text) == [] for text in texts)
    assert "sky-news-2023-met" in cited_keys(content.CLAIM["source"])


def test_entries_are_complete_and_derivations_resolve():
    for reference in REFERENCES.values():
        assert reference.citation and reference.supports
        assert reference.url.startswith("https://") or reference.note, reference.key  # openable, or says why not
        assert set(reference.derived_from) <= set(REFERENCES), reference.key
    used = used_references("[REF: anpr-profile-table]", REFERENCES)
    assert [r.key for r in used][:1] == ["anpr-profile-table"] and "sicore-ii-guide" in [r.key for r in used]


def test_citations_become_links_and_unknown_ones_say_so():
    html = link_citations("a [REF: lfw] b [REF: gone]", set(REFERENCES))
    assert '[<a href="#ref-lfw">lfw</a>]' in html and "gone\" not in this run's references.toml" in html


def test_nothing_outside_the_tests_points_at_the_shared_folder():
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    offenders = [path for path in tracked if not path.startswith("tests/") and Path(PROJECT_ROOT / path).is_file()
                 and "shared/REFERENCES" in (PROJECT_ROOT / path).read_text(encoding="utf-8", errors="ignore")]
    assert offenders == []
