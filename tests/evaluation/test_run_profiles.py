"""A run directory stores each profile self-contained: bases merged in, sources kept, so that the
run reproduces and reports without the base files."""

from __future__ import annotations

from evalharness.config.experiment import load_experiment
from evalharness.config.profile import load_profile
from evalharness.data.folder import open_dataset
from evalharness.evaluation.runner import _claim


def test_the_run_directory_profile_needs_no_base(tmp_path, lfw_mini):
    camera = tmp_path / "cam.toml"
    camera.write_text('base = "legacy-interlaced"\njpeg_quality = 33  # frame grabber\n', encoding="utf-8")
    experiment = tmp_path / "exp.toml"
    experiment.write_text(f'name = "t"\ndataset = "{lfw_mini}"\n[[grid]]\nprofiles = ["{camera}"]\n',
                          encoding="utf-8")
    _claim(tmp_path / "run", "hash", load_experiment(experiment), open_dataset(lfw_mini))
    stored = tmp_path / "run" / "profiles" / "cam.toml"
    text = stored.read_text(encoding="utf-8")
    assert not any(line.startswith("base") for line in text.splitlines())  # no inheritance left
    assert "jpeg_quality = 33  # frame grabber [cam.toml]" in text
    assert "[legacy-interlaced.toml]" in text
    expected = load_profile(camera)
    camera.unlink()
    assert load_profile(stored) == expected
