"""open_dataset on copies of real LFW identity folders, clean and with broken files added."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evalharness.data.folder import SkippedFile, open_dataset
from evalharness.errors import DataError


@pytest.fixture()
def chosen_people(people_counts) -> list[str]:
    """Three people with several images and two with one, by lfw-mini's manifest."""
    names = sorted(people_counts)
    several = [n for n in names if 3 <= people_counts[n] <= 6][:3]
    single = [n for n in names if people_counts[n] == 1][:2]
    return several + single


@pytest.fixture()
def subset(tmp_path, lfw_mini, chosen_people) -> Path:
    """A dataset folder holding real copies of ``chosen_people`` (created in reverse order)."""
    root = tmp_path / "faces"
    for name in reversed(chosen_people):
        shutil.copytree(lfw_mini / name, root / name)
    return root


def _open_expecting_one_warning(root: Path, **options):
    """open_dataset, asserting it warned exactly once, naming the root and the count."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_dataset(root, **options)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{root}: skipped {len(dataset.skipped)} ")
    return dataset


def _open_expecting_no_warning(root: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return open_dataset(root, **options)


def test_records_are_sorted_hashed_and_counted(subset, chosen_people, people_counts):
    dataset = _open_expecting_no_warning(subset)
    keys = [(r.identity, r.relpath) for r in dataset.records]
    assert keys == sorted(keys)
    assert list(dataset.identities()) == sorted(chosen_people)
    assert {k: len(v) for k, v in dataset.identities().items()} == {
        n: people_counts[n] for n in chosen_people
    }
    assert dataset.name == "faces" and dataset.skipped == ()
    for record in dataset.records:
        assert record.relpath == f"{record.identity}/{record.path.name}"
        assert record.path == subset / record.identity / record.path.name
        data = record.path.read_bytes()
        assert record.size_bytes == len(data)
        assert record.sha256 == hashlib.sha256(data).hexdigest()


def test_manifest_file_matches_rows_and_fingerprint(subset, tmp_path):
    dataset = open_dataset(subset)
    path = dataset.write_manifest(tmp_path / "manifest.csv")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == dataset.fingerprint
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{k: str(v) for k, v in row.items()} for row in dataset.manifest()]


def test_fingerprint_ignores_location_and_file_times(subset, tmp_path):
    elsewhere = shutil.copytree(subset, tmp_path / "deeper" / "copy")
    for path in elsewhere.rglob("*.jpg"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    first, second = open_dataset(subset), open_dataset(elsewhere)
    assert first.fingerprint == second.fingerprint
    assert first.manifest() == second.manifest()


def test_fingerprint_changes_when_one_byte_changes(subset):
    before = open_dataset(subset, verify_images=False)
    target = before.records[-1].path
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    after = open_dataset(subset, verify_images=False)
    assert [r.relpath for r in after.records] == [r.relpath for r in before.records]
    assert after.fingerprint != before.fingerprint


def test_truncated_jpeg_is_skipped(subset, chosen_people):
    victim = sorted((subset / chosen_people[0]).iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:3000])
    dataset = _open_expecting_one_warning(subset)
    relpath = f"{chosen_people[0]}/{victim.name}"
    assert relpath not in {r.relpath for r in dataset.records}
    (skip,) = dataset.skipped
    assert skip.relpath == relpath and "truncated" in skip.reason


def test_truncated_jpeg_passes_without_verification(subset, chosen_people):
    victim = sorted((subset / chosen_people[0]).iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:3000])
    dataset = _open_expecting_no_warning(subset, verify_images=False)
    assert f"{chosen_people[0]}/{victim.name}" in {r.relpath for r in dataset.records}


def test_zero_byte_file_is_skipped(subset, chosen_people):
    (subset / chosen_people[1] / "blank.jpg").touch()
    dataset = _open_expecting_one_warning(subset, verify_images=False)
    expected = SkippedFile(f"{chosen_people[1]}/blank.jpg", "empty file (0 bytes)")
    assert dataset.skipped == (expected,)


def test_text_file_named_jpg_is_skipped(subset, chosen_people):
    (subset / chosen_people[1] / "notes.JPG").write_text("not a photograph\n")
    dataset = _open_expecting_one_warning(subset)
    (skip,) = dataset.skipped
    assert skip.relpath == f"{chosen_people[1]}/notes.JPG" and "not an image" in skip.reason


def test_decompression_bomb_is_skipped(subset, chosen_people, write_bomb_png):
    write_bomb_png(subset / chosen_people[2] / "huge.png", 30000, 30000)
    dataset = _open_expecting_one_warning(subset)
    (skip,) = dataset.skipped
    assert skip.relpath == f"{chosen_people[2]}/huge.png"
    assert "decompression bomb" in skip.reason


def test_other_pixel_formats_are_accepted(subset, chosen_people, real_jpeg):
    with Image.open(real_jpeg) as face:
        face = face.convert("RGB")
    folder = subset / chosen_people[0]
    face.convert("L").save(folder / "grey.png")
    face.convert("RGBA").save(folder / "alpha.png")
    face.convert("CMYK").save(folder / "cmyk.jpg")
    deep = np.asarray(face.convert("L")).astype(np.uint16) * 257
    Image.fromarray(deep).save(folder / "deep.tif")
    dataset = _open_expecting_no_warning(subset)
    names = {r.path.name for r in dataset.identities()[chosen_people[0]]}
    assert {"grey.png", "alpha.png", "cmyk.jpg", "deep.tif"} <= names


def test_non_utf8_name_is_reported_not_crashed_on(subset, chosen_people, real_jpeg):
    folder = os.fsencode(subset / chosen_people[0])
    bad = os.path.join(folder, b"bad\xff.jpg")
    with open(bad, "wb") as handle:
        handle.write(real_jpeg.read_bytes())
    dataset = _open_expecting_one_warning(subset)
    (skip,) = dataset.skipped
    assert skip.relpath == f"{chosen_people[0]}/bad\\xff.jpg"
    assert skip.reason == "name is not valid UTF-8"
    skip.relpath.encode("utf-8")  # printable in the warning, the manifest and the run log


def test_empty_identity_folder_is_counted_as_skipped(subset, chosen_people):
    (subset / "Nobody_Here").mkdir()
    dataset = _open_expecting_one_warning(subset)
    assert dataset.skipped == (
        SkippedFile("Nobody_Here/", "identity folder holds no usable image"),
    )
    assert list(dataset.identities()) == sorted(chosen_people)


def test_folder_of_only_bad_files_is_skipped_with_its_files(subset):
    (subset / "Broken_Person").mkdir()
    (subset / "Broken_Person" / "a.jpg").write_text("junk")
    dataset = _open_expecting_one_warning(subset)
    assert [s.relpath for s in dataset.skipped] == ["Broken_Person/", "Broken_Person/a.jpg"]


def test_symlinks_leading_outside_the_root_are_skipped(subset, chosen_people, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(subset / chosen_people[0], outside / "Stolen_Person")
    (subset / "Linked_Person").symlink_to(outside / "Stolen_Person", target_is_directory=True)
    stray = sorted((outside / "Stolen_Person").iterdir())[0]
    (subset / chosen_people[1] / "escape.jpg").symlink_to(stray)
    dataset = _open_expecting_one_warning(subset)
    skipped = {s.relpath: s.reason for s in dataset.skipped}
    assert set(skipped) == {"Linked_Person/", f"{chosen_people[1]}/escape.jpg"}
    assert all(reason.startswith("symbolic link to outside") for reason in skipped.values())
    assert all(r.path.resolve().is_relative_to(subset.resolve()) for r in dataset.records)


def test_symlink_inside_the_root_is_followed(subset, chosen_people):
    target = sorted((subset / chosen_people[0]).iterdir())[0]
    (subset / chosen_people[1] / "same_photo.jpg").symlink_to(target)
    dataset = _open_expecting_no_warning(subset)
    assert f"{chosen_people[1]}/same_photo.jpg" in {r.relpath for r in dataset.records}


def test_backslash_names_and_stray_images_are_skipped(subset, chosen_people, real_jpeg):
    trick = subset / "..\\escape"
    trick.mkdir()
    shutil.copy(real_jpeg, trick / "x.jpg")
    shutil.copy(real_jpeg, subset / "loose.jpg")
    (subset / "README.md").write_text("a dataset card is not an image\n")
    dataset = _open_expecting_one_warning(subset)
    skipped = {s.relpath: s.reason for s in dataset.skipped}
    assert skipped == {
        "..\\escape/": "name holds a backslash or control character",
        "loose.jpg": "image not inside an identity folder",
    }
    assert list(dataset.identities()) == sorted(chosen_people)


def test_nothing_usable_raises_naming_the_folder(tmp_path):
    root = tmp_path / "junk"
    (root / "Someone").mkdir(parents=True)
    (root / "Someone" / "a.jpg").write_text("junk")
    with pytest.warns(UserWarning), pytest.raises(DataError, match=rf"^{root}: no usable image"):
        open_dataset(root)


def test_missing_folder_raises_naming_it(tmp_path):
    with pytest.raises(DataError, match=rf"^{tmp_path / 'absent'}: no such dataset folder"):
        open_dataset(tmp_path / "absent")


def test_file_instead_of_folder_raises(real_jpeg):
    with pytest.raises(DataError, match=r"Al_Gore_0001\.jpg: not a folder"):
        open_dataset(real_jpeg)


def test_sub_folder_with_images_is_reported_not_read(subset, chosen_people, real_jpeg):
    nested = subset / chosen_people[0] / "extra" / "more"
    nested.mkdir(parents=True)
    shutil.copy(real_jpeg, nested / "x.jpg")
    (subset / chosen_people[1] / "empty_sub").mkdir()  # holds no image: ignored silently
    dataset = _open_expecting_one_warning(subset)
    assert dataset.skipped == (
        SkippedFile(f"{chosen_people[0]}/extra/", "sub-folder of an identity folder (not read)"),
    )
    assert all("extra" not in r.relpath for r in dataset.records)


def test_unreadable_identity_folder_is_skipped(subset, chosen_people, monkeypatch):
    # Simulated: chmod cannot lock a folder against root, which CI containers often run as.
    locked = str(subset / chosen_people[0])
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    dataset = _open_expecting_one_warning(subset)
    assert dataset.skipped == (
        SkippedFile(f"{chosen_people[0]}/", "cannot list the folder: Permission denied"),
    )
    assert chosen_people[0] not in dataset.identities()


def test_unsupported_pixel_format_is_skipped(subset, chosen_people, real_jpeg):
    with Image.open(real_jpeg) as face:
        values = np.asarray(face.convert("L"), dtype=np.float32) / 255.0
    Image.fromarray(values, mode="F").save(subset / chosen_people[0] / "float.tif")
    dataset = _open_expecting_one_warning(subset)
    (skip,) = dataset.skipped
    assert skip.relpath == f"{chosen_people[0]}/float.tif"
    assert skip.reason.startswith("unsupported pixel mode")


def test_warning_names_the_first_twenty_and_counts_all(subset, chosen_people):
    for index in range(25):
        (subset / chosen_people[0] / f"junk_{index:02d}.jpg").write_text("junk")
    with pytest.warns(UserWarning) as caught:
        dataset = open_dataset(subset)
    (message,) = [str(w.message) for w in caught]
    assert len(dataset.skipped) == 25
    assert "skipped 25 unusable" in message and message.endswith("; and 5 more")
    assert f"{chosen_people[0]}/junk_19.jpg" in message
    assert f"{chosen_people[0]}/junk_20.jpg" not in message
