"""The bundled dataset datasets/lfw-mini: clean, large enough, small enough, as its card says."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from evalharness.data.folder import open_dataset

REPO = Path(__file__).resolve().parents[2]
MAX_BYTES = 10_000_000


@pytest.fixture(scope="module")
def mini(lfw_mini):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any skipped file would warn
        return open_dataset(lfw_mini)


def _card_figure(lfw_mini: Path, label: str) -> str:
    card = (lfw_mini / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^\| {re.escape(label)}[^|]*\| `?([^|`]+)`? \|$", card, re.MULTILINE)
    assert match, f"dataset card has no row for {label!r}"
    return match.group(1).strip()


def _du_bytes(folder: Path) -> int:
    """Apparent size of a folder, its files and its sub-folders, as ``du -sb`` reports it."""
    return sum(p.lstat().st_size for p in [folder, *folder.rglob("*")])


def _file_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_has_enough_mated_and_non_mated_people(mini):
    sizes = [len(records) for records in mini.identities().values()]
    assert sum(n >= 4 for n in sizes) >= 100
    assert sum(n == 1 for n in sizes) >= 100
    assert mini.skipped == ()


def test_fits_the_size_limit(lfw_mini):
    assert _du_bytes(lfw_mini) <= MAX_BYTES


def test_card_states_the_true_fingerprint_and_counts(lfw_mini, mini):
    assert _card_figure(lfw_mini, "fingerprint") == mini.fingerprint
    sizes = [len(records) for records in mini.identities().values()]
    assert int(_card_figure(lfw_mini, "people with 4 or more")) == sum(n >= 4 for n in sizes)
    assert int(_card_figure(lfw_mini, "people with exactly one")) == sum(n == 1 for n in sizes)
    assert _card_figure(lfw_mini, "people / images") == f"{len(sizes)} / {len(mini)}"
    total = int(_card_figure(lfw_mini, "total size of the files").split()[0].replace(",", ""))
    assert total == _file_bytes(lfw_mini)


def test_manifest_file_is_the_canonical_manifest(lfw_mini, mini):
    data = (lfw_mini / "manifest.csv").read_bytes()
    assert data.decode("utf-8") == mini.manifest_text
    assert hashlib.sha256(data).hexdigest() == mini.fingerprint


def test_images_are_byte_identical_to_lfw(lfw_devtrain, mini):
    for record in mini.records:
        source = lfw_devtrain / "images" / record.relpath
        assert hashlib.sha256(source.read_bytes()).hexdigest() == record.sha256, record.relpath


@pytest.mark.slow
def test_script_rebuilds_the_same_dataset(lfw_devtrain, lfw_mini, tmp_path):
    out = tmp_path / "lfw-mini"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_lfw_mini.py"),
         "--source", str(lfw_devtrain), "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    for name in ("manifest.csv", "README.md"):
        assert (out / name).read_bytes() == (lfw_mini / name).read_bytes(), name
