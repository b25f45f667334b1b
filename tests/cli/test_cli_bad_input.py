"""Bad input through the real command line: one clear ``error:`` line naming the file or field,
what is wrong and what is allowed; a non-zero exit; no traceback unless ``--debug``. Bad
dataset files are skipped, and the run's manifest counts and lists them."""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import ENROLLED, ONE_IMAGE, copy_people  # tests/cli/ is on sys.path
from PIL import Image

from evalharness.paths import PROFILES_DIR

CONFIG_ERROR, DATA_ERROR, OUTPUT_ERROR = 2, 3, 5


def _one_clear_error(result, code: int, *fragments: str) -> str:
    """The invocation failed with ``code`` and printed exactly one line, an ``error:`` line
    holding every fragment, and no traceback."""
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    (line,) = result.err_lines
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.mark.parametrize(("extra", "grid", "fragments"), [
    ("bogus = 1", "", ["exp.toml", "bogus", "unknown key", "allowed keys", "seed"]),
    ('limit = "ten"', "", ["exp.toml", "limit", "valid integer", "(got 'ten')"]),
    ("upscale = 0.5", "", ["exp.toml", "upscale", "allowed: 1.0 <= upscale <= 8.0"]),
    ("", "sweep = { distance_m = [-5] }", ["exp.toml: [[grid]] entry 1: profile 'control-passport'",
                                           "distance_m", "got -5", "allowed: 0.0 < distance_m <= 500.0"]),
    ("", "sweep = { jpeg_quality = [0] }", ["jpeg_quality", "got 0", "1 <= jpeg_quality <= 100"]),
    ("", "sweep = { jpeg_quality = [101] }", ["jpeg_quality", "got 101", "1 <= jpeg_quality <= 100"]),
    ("", "sweep = { warp_factor = [1] }", ["warp_factor", "unknown key", "allowed keys",
                                            "distance_m", "jpeg_quality"]),
    ("", "sweep = { distanc_m = [10] }", ["exp.toml: [[grid]] entry 1:", "distanc_m: unknown key",
                                          "did you mean 'distance_m'?"]),
    ("", '[[grid]]\nprofiles = ["no-such-camera"]', ["exp.toml: [[grid]] entry 2:", "no-such-camera",
                                                     "available:", "ir-two-lane"]),
    ("sed = 5", "", ["exp.toml", "sed: unknown key", "did you mean 'seed'?"]),
    ("[protocol]\ngalery_choice = 'first'", "", ["exp.toml", "protocol.galery_choice: unknown key",
                                                 "did you mean 'gallery_choice'?",
                                                 "allowed keys: enrolled_identities, gallery_choice,"]),
    ("", '[[grid]]\nprofiles = ["/nowhere/camera.toml"]', ["/nowhere/camera.toml", "no such config file"]),
], ids=["unknown-key", "wrong-type", "out-of-range", "negative-distance", "jpeg-quality-0",
        "jpeg-quality-101", "sweep-axis-no-parameter", "sweep-axis-typo", "unknown-profile",
        "top-level-typo", "nested-typo", "missing-profile-file"])
def test_bad_experiment_is_one_line_exit_2(cli, write_experiment, tmp_path, extra, grid, fragments):
    out = tmp_path / "run"
    result = cli("run", write_experiment(extra=extra, grid=grid), "--out", out, "--device", "cpu")
    _one_clear_error(result, CONFIG_ERROR, *fragments)
    assert not out.exists()  # a run that cannot start claims no directory


def test_bad_override_and_missing_files(cli, write_experiment, tmp_path):
    experiment = write_experiment()
    _one_clear_error(cli("run", experiment, "--out", tmp_path / "r", "--set", "seed=-1"), CONFIG_ERROR,
                     "seed", "got -1", "allowed: 0 <= seed")
    _one_clear_error(cli("run", experiment, "--out", tmp_path / "r", "--set", "protocol.nonmated_identity=50"),
                     CONFIG_ERROR, "exp.toml with --set protocol.nonmated_identity=50",
                     "protocol.nonmated_identity: unknown key", "'nonmated_identities'",
                     "allowed keys: enrolled_identities,")
    _one_clear_error(cli("run", tmp_path / "none.toml", "--out", tmp_path / "r"), CONFIG_ERROR,
                     "none.toml", "no such config file")
    _one_clear_error(cli("profiles", "show", tmp_path / "camera.toml"), CONFIG_ERROR,
                     "camera.toml", "no such config file")
    _one_clear_error(cli("profiles", "show", "ir-two-lane", "--set", "speed_kmh=fast"), CONFIG_ERROR,
                     "speed_kmh", "valid number")


def test_missing_dataset_folder(cli, write_experiment, tmp_path):
    experiment = write_experiment(dataset=tmp_path / "no-faces-here")
    _one_clear_error(cli("run", experiment, "--out", tmp_path / "r"), DATA_ERROR,
                     "exp.toml: dataset", "no-faces-here", "not found")
    relative = write_experiment(dataset="no-faces-here")
    _one_clear_error(cli("run", relative, "--out", tmp_path / "r"), DATA_ERROR,
                     "exp.toml: dataset", "'no-faces-here' not found", "beside the experiment file")


def test_an_output_that_is_a_file_is_refused(cli, write_experiment, tiny_dataset, tmp_path):
    """--out naming a file (not a folder): the output error, the file untouched."""
    in_the_way = tmp_path / "afile"
    in_the_way.write_text("mine\n")
    _one_clear_error(cli("run", write_experiment(dataset=tiny_dataset), "--out", in_the_way, "--limit", "2",
                         "--device", "cpu"), OUTPUT_ERROR, "afile: exists and is not a run directory")
    assert in_the_way.read_text() == "mine\n"


def test_relative_paths_are_relative_to_the_experiment_file(cli, write_experiment, tmp_path, tiny_dataset,
                                                            monkeypatch):
    """A dataset folder and a profile file named relative to the experiment, run from elsewhere."""
    shutil.copytree(tiny_dataset, tmp_path / "faces")
    shutil.copy(PROFILES_DIR / "control-passport.toml", tmp_path / "my-camera.toml")
    experiment = write_experiment(dataset="faces", grid='[[grid]]\nprofiles = ["my-camera.toml"]')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli("--quiet", "run", experiment, "--out", tmp_path / "r", "--limit", "2", "--device", "cpu",
                 "--no-report")
    assert result.code == 0, result.err
    assert {row["label"] for row in json.loads((tmp_path / "r" / "summary.json").read_text())} == {
        "control-passport", "my-camera"}
    assert not any(elsewhere.iterdir())


def test_dataset_of_one_identity_cannot_form_a_gallery(cli, write_experiment, tmp_path, lfw_mini):
    faces = copy_people(lfw_mini, tmp_path / "faces", ENROLLED[:1])
    line = _one_clear_error(cli("run", write_experiment(dataset=faces), "--out", tmp_path / "r"),
                            DATA_ERROR, ENROLLED[0], "at least 2 are needed")
    assert "2 or more people" in line
    assert not (tmp_path / "r").exists()


def test_dataset_without_usable_images(cli, write_experiment, tmp_path):
    faces = tmp_path / "faces"
    (faces / "Empty_Person").mkdir(parents=True)
    (faces / "Text_Person").mkdir()
    (faces / "Text_Person" / "photo.jpg").write_text("not a photograph\n")
    result = cli("run", write_experiment(dataset=faces), "--out", tmp_path / "r")
    assert result.code == DATA_ERROR and "Traceback" not in result.err
    warning, error = result.err_lines  # the skipped files, then why the run cannot start
    assert warning.startswith("warning: ") and "Empty_Person/" in warning and "UserWarning" not in warning
    assert error.startswith("error: ") and str(faces) in error and "no usable image" in error
    assert ".jpg" in error  # what is allowed


def test_debug_shows_the_traceback(cli, write_experiment, tmp_path):
    experiment = write_experiment(extra="bogus = 1")
    plain = cli("run", experiment, "--out", tmp_path / "r")
    debug = cli("--debug", "run", experiment, "--out", tmp_path / "r")
    assert plain.code == debug.code == CONFIG_ERROR
    assert "Traceback" not in plain.err
    assert "Traceback (most recent call last)" in debug.err and "ConfigError" in debug.err
    assert debug.err_lines[-1] == plain.err_lines[-1]


def test_cuda_without_gpu_is_a_clear_error_and_claims_nothing(cli, write_experiment, tmp_path, monkeypatch):
    # Whether or not this machine has a GPU, torch is made to report none.
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    out = tmp_path / "r"
    _one_clear_error(cli("run", write_experiment(), "--out", out, "--device", "cuda"), 4,
                     "--device 'cuda'", "no CUDA GPU", "--device cpu")
    assert not out.exists()


def _bad_files(root: Path) -> dict[str, str]:
    """Write every kind of bad or unusual file into ``root``'s identity folders; returns the
    relpaths that must be skipped and a word of each reason."""
    first, second, third = (root / name for name in ENROLLED[:3])
    photo = next(first.iterdir())
    (first / "truncated.jpg").write_bytes(photo.read_bytes()[:3000])
    (second / "empty.jpg").touch()
    (second / "notes.jpg").write_text("not a photograph\n")
    with Image.open(photo) as face:
        face = face.convert("RGB")
    # A decompression bomb: a header that claims 30000 x 30000 pixels.
    bomb = face.resize((64, 64))
    bomb.save(third / "bomb.png")
    data = bytearray((third / "bomb.png").read_bytes())
    data[16:24] = (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(data[12:29]).to_bytes(4, "big")  # the IHDR chunk's checksum
    (third / "bomb.png").write_bytes(bytes(data))
    with open(os.path.join(os.fsencode(third), b"bad\xff.jpg"), "wb") as handle:
        handle.write(photo.read_bytes())
    (root / "Nobody_Here").mkdir()
    # Path traversal: an identity folder that leads outside the dataset is not followed.
    shutil.copytree(first, root.parent / "outside" / "Stolen_Person")
    (root / "Linked_Person").symlink_to(root.parent / "outside" / "Stolen_Person", target_is_directory=True)
    # Unusual but valid: each is converted, not skipped.
    face.convert("L").save(first / "grey.png")
    face.convert("RGBA").save(first / "alpha.png")
    face.convert("CMYK").save(first / "cmyk.jpg")
    Image.fromarray(np.asarray(face.convert("L")).astype(np.uint16) * 257).save(first / "deep.png")
    # Valid images, but not of the aligned set's size, where its fixed eye centres mark no eyes.
    face.resize((1, 1)).save(second / "dot.png")
    face.resize((125, 125)).save(second / "half.jpg")
    return {f"{second.name}/dot.png": "1x1 px, not 250x250: source_eyes = 'lfw-deepfunneled'",
            f"{second.name}/half.jpg": "125x125 px, not 250x250",
            f"{first.name}/truncated.jpg": "truncated", f"{second.name}/empty.jpg": "empty",
            f"{second.name}/notes.jpg": "not an image", f"{third.name}/bomb.png": "decompression bomb",
            f"{third.name}/bad\\xff.jpg": "UTF-8", "Nobody_Here/": "no usable image",
            "Linked_Person/": "symbolic link to outside"}


def test_bad_dataset_files_are_skipped_counted_and_listed(cli, write_experiment, tmp_path, lfw_mini):
    faces = copy_people(lfw_mini, tmp_path / "faces", ENROLLED + ONE_IMAGE)
    expected = _bad_files(faces)
    out = tmp_path / "run"
    result = cli("run", write_experiment(dataset=faces), "--out", out, "--device", "cpu", "--no-report")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    (warning,) = [line for line in result.err_lines if line.startswith("warning")]
    assert f"skipped {len(expected)} unusable" in warning and "UserWarning" not in warning
    skipped = json.loads((out / "manifest.json").read_text())["dataset"]["skipped"]
    reasons = {entry["relpath"]: entry["reason"] for entry in skipped}
    assert set(reasons) == set(expected)
    for relpath, word in expected.items():
        assert word in reasons[relpath], (relpath, reasons[relpath])
    rows = pd.read_parquet(next((out / "conditions").glob("*.parquet")))
    converted = rows[rows["relpath"].str.rsplit("/", n=1).str[-1].isin(
        ["grey.png", "alpha.png", "cmyk.jpg", "deep.png"])]
    assert len(converted) == 4 and converted["detected"].all()  # used, not skipped
    assert not set(rows["relpath"]) & set(expected)
    assert not rows["relpath"].str.startswith("Linked_Person/").any()


def test_other_commands_name_the_bad_file(cli, tmp_path, tiny_dataset):
    fake, empty, pairs = tmp_path / "fake.jpg", tmp_path / "empty.jpg", tmp_path / "pairs.txt"
    fake.write_text("not a photograph\n")
    empty.touch()
    pairs.write_text("garbage\n")
    for image, reason in ((fake, "not an image"), (empty, "empty file (0 bytes)")):
        _one_clear_error(cli("degrade", image, "--profile", "ir-two-lane", "--out", tmp_path / "d",
                             "--eyes", "lfw"), DATA_ERROR, str(image), reason)
    _one_clear_error(cli("pairs", tiny_dataset, pairs), DATA_ERROR, f"{pairs}:1", "positive integers")
    _one_clear_error(cli("pairs", tiny_dataset, tmp_path / "none.txt"), DATA_ERROR, "none.txt",
                     "cannot read")
    _one_clear_error(cli("--quiet", "report", tmp_path), DATA_ERROR, "summary.csv")


COMPARISON = '[detector_comparison]\ndetectors = ["mtcnn", "yunet"]\nprobes_per_condition = 2'


@pytest.mark.parametrize(("extra", "setting", "fragments"), [
    ("", 'recognizers=["facenet-casiax"]', ["unknown recognizer 'facenet-casiax'", "did you mean 'facenet-casia'?"]),
    ("", 'detector_options={min_face_px=20}', ["detector 'mtcnn': unknown option(s) min_face_px", "allowed:"]),
    ("", 'recognizer_options={numerics="fp16"}', ["numerics must be one of auto, fp32, bf16"]),
    ("", 'recognizer_options={margin="wide"}', ["recognizer 'facenet-casia': option margin = 'wide'",
                                                "valid number"]),
    ("", 'detector_options={factor=true}', ["detector 'mtcnn': option factor = True", "true/false"]),
    ("", 'detector_options={fast=1}', ["detector 'mtcnn': option fast = 1", "true/false"]),
    ("", 'detector_options={min_face_size=nan}', ["detector 'mtcnn': option min_face_size = nan", "finite"]),
    (COMPARISON, 'detector_options={factor="x"}', ["detector 'mtcnn': option factor = 'x'"]),
], ids=["unknown-recognizer", "unknown-option", "bad-option-value", "option-of-another-type", "true-for-a-number",
        "a-number-for-true", "not-a-number", "with-a-detector-comparison"])
def test_a_model_setting_is_a_config_error(cli, write_experiment, tiny_dataset, tmp_path, extra, setting, fragments):
    """A model name or option is a setting to correct (exit 2, naming the experiment), not a
    missing or damaged weights file (exit 4) nor a crash (exit 70), and a run that cannot start
    claims no directory."""
    out = tmp_path / "run"
    result = cli("run", write_experiment(dataset=tiny_dataset, extra=extra), "--out", out, "--set", setting,
                 "--device", "cpu", "--limit", "2")
    _one_clear_error(result, CONFIG_ERROR, "exp.toml: ", *fragments)
    assert not out.exists()


def test_a_command_line_flag_is_not_blamed_on_the_experiment(cli, write_experiment, tiny_dataset, tmp_path):
    result = cli("run", write_experiment(dataset=tiny_dataset), "--out", tmp_path / "run", "--address", "127.0.0.1:1",
                 "--device", "cpu")
    line = _one_clear_error(result, CONFIG_ERROR, "--address")
    assert "exp.toml" not in line
