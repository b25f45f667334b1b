"""Experiment files: the shipped ones validate; bad keys and overrides name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalharness.config.experiment import load_experiment, resolve_dataset
from evalharness.data.folder import open_dataset
from evalharness.errors import ConfigError, DataError
from evalharness.evaluation.conditions import build_grid
from evalharness.evaluation.protocol import build_split

EXPERIMENTS = sorted((Path(__file__).resolve().parents[2] / "configs" / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_shipped_experiments_validate(path: Path) -> None:
    experiment = load_experiment(path)
    assert build_grid(experiment)
    assert resolve_dataset(experiment, path).is_dir()


def test_default_experiment_covers_the_shipped_profiles() -> None:
    experiment = load_experiment(EXPERIMENTS[0].parent / "default.toml")
    grid = build_grid(experiment)
    profiles = {c.profile.name for c in grid}
    assert {"control-passport", "ir-two-lane", "ir-single-lane", "colour-overview-day",
            "colour-overview-night", "legacy-interlaced"} <= profiles
    assert len({c.profile.distance_m for c in grid if c.profile.name == "ir-two-lane"}) >= 5


def test_large_experiment_has_a_few_hundred_conditions_and_100000_probe_conditions() -> None:
    path = EXPERIMENTS[0].parent / "large.toml"
    experiment = load_experiment(path)
    grid = build_grid(experiment)
    split = build_split(open_dataset(resolve_dataset(experiment, path)).records, experiment.protocol,
                        experiment.seed)
    assert 200 <= len(grid) <= 500
    assert len(grid) * len(split.probes()) == 166_750  # as its header states
    assert {"distance_m", "jpeg_quality", "speed_kmh"} == {axis for block in experiment.grid for axis in block.sweep}


def test_overrides_use_dotted_keys(tmp_path: Path) -> None:
    path = EXPERIMENTS[0].parent / "default.toml"
    experiment = load_experiment(path, {"seed": 7, "protocol.enrolled_identities": 20})
    assert experiment.seed == 7 and experiment.protocol.enrolled_identities == 20


def test_bad_values_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('dataset = "x"\nupscale = 0.5\nprobe_mode = ["crop"]\n[[grid]]\nprofiles = []\n')
    with pytest.raises(ConfigError) as error:
        load_experiment(path)
    message = str(error.value)
    assert f"{path}: upscale" in message
    assert "probe_mode: unknown key; did you mean 'probe_modes'? allowed keys:" in message
    assert "grid.0.profiles" in message


def test_missing_dataset_folder(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text('dataset = "nowhere"\n[[grid]]\nprofiles = ["ir-two-lane"]\n')
    with pytest.raises(DataError, match="dataset: folder 'nowhere' not found"):
        resolve_dataset(load_experiment(path), path)


def test_frame_scene_settings_are_checked(tmp_path: Path, lfw_mini: Path) -> None:
    from evalharness.config.experiment import FrameScene

    assert FrameScene(scene="road", sun_visor=True).a_pillar is False
    with pytest.raises(ValueError, match="sun_visor and a_pillar need scene"):
        FrameScene(sun_visor=True)
    path = tmp_path / "crop.toml"
    path.write_text(f'dataset = "{lfw_mini}"\n[frame]\nscene = "road"\n[[grid]]\nprofiles = ["ir-two-lane"]\n')
    with pytest.raises(ConfigError, match="a scene is drawn in frame mode only"):
        load_experiment(path)
