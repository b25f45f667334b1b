"""Atomic writes and finished-condition bookkeeping of the run directory."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from evalharness.errors import OutputError
from evalharness.evaluation import store


def test_parquet_round_trip_and_completion(tmp_path: Path) -> None:
    table = pd.DataFrame({"identity": ["a", "b"], "mate_rank": pd.array([1, None], dtype="Int64"),
                          "nonmate_scores": [[0.1, 0.2], []]})
    store.write_parquet(store.condition_path(tmp_path, "abc"), table)
    assert store.completed_conditions(tmp_path) == set()  # the condition's JSON is written first
    store.write_json(store.condition_path(tmp_path, "abc", ".json"), {"condition_id": "abc"})
    assert store.completed_conditions(tmp_path) == {"abc"}
    back = store.read_rows(tmp_path, ["abc"])
    assert back["mate_rank"].isna().tolist() == [False, True]
    assert back["nonmate_scores"].map(list).tolist() == [[0.1, 0.2], []]


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = store.condition_path(tmp_path, "broken")

    class Unwritable(pd.DataFrame):
        def to_parquet(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left"):
        store.write_parquet(target, Unwritable({"a": [1]}))
    assert list(target.parent.iterdir()) == []
    assert store.completed_conditions(tmp_path) == set()


def test_temporary_files_do_not_count_as_finished(tmp_path: Path) -> None:
    folder = tmp_path / store.CONDITIONS_DIR
    folder.mkdir()
    (folder / ".abc.parquet.x1y2.tmp").write_bytes(b"partial")
    (folder / "abc.json").write_text("{}")
    assert store.completed_conditions(tmp_path) == set()


def test_replace_is_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    store.write_text(path, "old\n")
    store.write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["summary.csv"]


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = store.write_text(tmp_path / "summary.csv", "x\n")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_read_parquet_names_a_missing_or_broken_table(tmp_path: Path) -> None:
    from evalharness.errors import DataError

    with pytest.raises(DataError, match=r"probes\.parquet: missing; is .* a validate run\?"):
        store.read_parquet(tmp_path / "probes.parquet", "is it a validate run?")
    (tmp_path / "probes.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"probes\.parquet: not a readable Parquet table"):
        store.read_parquet(tmp_path / "probes.parquet")
    store.write_parquet(tmp_path / "probes.parquet", pd.DataFrame({"a": [1, 2]}))
    assert store.read_parquet(tmp_path / "probes.parquet")["a"].tolist() == [1, 2]


def test_a_damaged_condition_is_warned_about_and_not_counted(tmp_path: Path) -> None:
    """Written atomically, a condition's files can only be damaged afterwards (a disk, an editor):
    a truncated Parquet file or JSON that does not parse is named, and the resumed run evaluates
    that condition again instead of failing at the summary."""
    for name in ("good", "cut", "garbled"):
        store.write_parquet(store.condition_path(tmp_path, name), pd.DataFrame({"a": [1, 2]}))
        store.write_json(store.condition_path(tmp_path, name, ".json"), {"condition_id": name})
    cut = store.condition_path(tmp_path, "cut")
    cut.write_bytes(cut.read_bytes()[:20])
    store.condition_path(tmp_path, "garbled", ".json").write_text("{not json")
    with pytest.warns(UserWarning) as warned:
        assert store.completed_conditions(tmp_path) == {"good"}
    assert sorted(str(w.message).split(":")[0] for w in warned) == [
        str(tmp_path / store.CONDITIONS_DIR / "cut"), str(tmp_path / store.CONDITIONS_DIR / "garbled")]
    assert all("the condition is evaluated again" in str(w.message) for w in warned)
