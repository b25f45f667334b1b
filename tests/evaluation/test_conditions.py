"""The condition grid: ids stable across runs and orderings, sweeps validated like profiles."""

from __future__ import annotations

import pytest

from evalharness.config.experiment import Experiment, load_experiment
from evalharness.config.loading import validate
from evalharness.config.profile import load_profile
from evalharness.errors import ConfigError
from evalharness.evaluation.compare import read_summary
from evalharness.evaluation.conditions import Condition, build_grid
from evalharness.paths import EXPERIMENTS_DIR, PROJECT_ROOT


def _experiment(**grid) -> Experiment:
    return validate(Experiment, {"dataset": "x", "grid": [grid]}, "test")


def test_grid_is_profiles_times_sweep() -> None:
    grid = build_grid(_experiment(profiles=["ir-two-lane", "legacy-interlaced"],
                                  sweep={"distance_m": [10, 20, 30], "jpeg_quality": [30, 90]}))
    assert len(grid) == 2 * 3 * 2
    assert len({c.id for c in grid}) == len(grid)
    first = grid[0]
    assert first.profile.distance_m == 10 and first.profile.jpeg_quality == 30
    assert first.label == "ir-two-lane distance_m=10 jpeg_quality=30"


def test_condition_id_depends_on_values_only() -> None:
    one = Condition(load_profile("ir-two-lane", {"distance_m": 20}), (("distance_m", 20),), "facenet-casia", "mtcnn")
    same = Condition(load_profile("ir-two-lane", {"distance_m": 20.0}), (("distance_m", 20.0),),
                     "facenet-casia", "mtcnn")
    assert one.id == same.id and len(one.id) == 12
    other = Condition(load_profile("ir-two-lane", {"distance_m": 21}), (("distance_m", 21),), "facenet-casia", "mtcnn")
    assert other.id != one.id
    assert Condition(one.profile, one.swept, "facenet-casia", "mtcnn", upscale=2.0).id != one.id
    assert Condition(one.profile, one.swept, "facenet-casia", "mtcnn", probe_mode="frame").id != one.id
    bf16 = Condition(one.profile, one.swept, "facenet-casia", "mtcnn", recognizer_options=(("numerics", "bf16"),))
    assert bf16.id != one.id and bf16.label == "ir-two-lane distance_m=20 [numerics=bf16]"
    assert bf16.noise_id == one.noise_id == one.id  # the same camera noise: a paired comparison


def test_ids_of_the_default_experiment_are_those_of_the_committed_reference() -> None:
    """Options added to conditions later must not change the ids of runs that do not set them."""
    grid = build_grid(load_experiment(EXPERIMENTS_DIR / "default.toml"))
    reference = read_summary(PROJECT_ROOT / "benchmarks" / "reference" / "default").reset_index()
    assert [c.id for c in grid] == reference["condition_id"].tolist()


def test_sweep_values_are_validated_like_profiles() -> None:
    with pytest.raises(ConfigError, match="jpeg_quality"):
        build_grid(_experiment(profiles=["ir-two-lane"], sweep={"jpeg_quality": [0]}))
    with pytest.raises(ConfigError, match="no camera profile"):
        build_grid(_experiment(profiles=["no-such-camera"]))
    with pytest.raises(ConfigError, match="repeats a value"):
        _experiment(profiles=["ir-two-lane"], sweep={"distance_m": [10, 10]})


def test_several_detectors_add_conditions_and_keep_the_first_detectors_ids() -> None:
    one = build_grid(_experiment(profiles=["ir-two-lane"], sweep={"distance_m": [10, 20]}))
    data = {"dataset": "x", "detectors": ["mtcnn", "yunet"], "recognizers": ["facenet-casia", "sface"],
            "detector_options": {"yunet": {"score_threshold": 0.8}},
            "grid": [{"profiles": ["ir-two-lane"], "sweep": {"distance_m": [10, 20]}}]}
    several = build_grid(validate(Experiment, data, "test"))
    assert len(several) == 2 * 2 * 2
    assert {c.id for c in one} < {c.id for c in several}
    yunet = [c for c in several if c.detector == "yunet"]
    assert all(c.detector_options == (("score_threshold", 0.8),) for c in yunet)
    assert all(c.detector_options == () for c in several if c.detector == "mtcnn")
    assert yunet[0].label == "ir-two-lane distance_m=10 [yunet]"


def test_detector_lists_and_option_tables_are_checked() -> None:
    grid = [{"profiles": ["ir-two-lane"]}]
    with pytest.raises(ConfigError, match="give detectors alone"):
        validate(Experiment, {"dataset": "x", "detector": "mtcnn", "detectors": ["yunet"], "grid": grid}, "t")
    with pytest.raises(ConfigError, match="repeats a name"):
        validate(Experiment, {"dataset": "x", "detectors": ["yunet", "yunet"], "grid": grid}, "t")
    with pytest.raises(ConfigError, match="detector_options.centerface names no listed detector"):
        validate(Experiment, {"dataset": "x", "detectors": ["yunet"],
                              "detector_options": {"centerface": {"nms_iou": 0.5}}, "grid": grid}, "t")
