"""Experiments: which dataset, protocol, models and camera conditions to evaluate.

An experiment TOML (``configs/experiments/*.toml``) looks like::

    name = "default"
    dataset = "datasets/lfw-mini"
    seed = 20261126
    detector = "mtcnn"            # or detectors = ["mtcnn", "yunet"]: one condition each
    recognizers = ["facenet-casia"]
    probe_modes = ["crop"]
    upscale = 1.0                 # factor applied to the stored image before detection
    source_eyes = "detected"      # or "lfw-deepfunneled": the aligned set's fixed eye centres

    [frame]                       # frame mode only: scene = "flat" (grey) or "road"
    scene = "road"                #   (sun_visor = true and a_pillar = true occlude the face)

    [protocol]
    gallery_images_per_identity = 1   # probe_view = "camera": views.csv, view nearest the camera

    [[grid]]                      # each block: every profile x every combination of its sweep
    profiles = ["control-passport"]

    [[grid]]
    profiles = ["ir-two-lane", "legacy-interlaced"]
    sweep = { distance_m = [5, 10, 20, 40] }

    [detector_comparison]         # optional: detection only, several detectors, same images
    detectors = ["mtcnn", "yunet"]
    probes_per_condition = 30

``--set`` overrides address keys with dots: ``seed=7``, ``protocol.enrolled_identities=20``,
``upscale=2``. Relative paths are relative to the experiment file, not to the working directory:
a ``dataset`` folder is looked for beside the file, then in its parent folders; a profile given as
a ``.toml`` path, beside the file. So a run directory's own ``experiment.toml`` (which names its
copies ``profiles/*.toml`` and pins ``dataset_fingerprint``) reruns from anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from evalharness.config.loading import StrictModel, read_toml, validate
from evalharness.config.scenarios import ScenarioSettings
from evalharness.errors import ConfigError, DataError

#: The models an experiment (and ``evalharness pairs``) uses unless it names others: registry
#: names (:mod:`evalharness.models.registry`), kept here so that reading them imports no model code.
DEFAULT_DETECTOR = "mtcnn"
DEFAULT_RECOGNIZER = "facenet-casia"
#: Simulations of each real probe in ``evalharness validate`` unless ``--draws`` says otherwise
#: (:attr:`evalharness.evaluation.validation.Validation.draws`). The simulated rates' Monte Carlo
#: error falls as 1 / sqrt(draws); with 8, on FRMDB's 134 development probes, it is 0.8 points
#: overall and at most 2.2 in an IED bin, a fifth or less of the bootstrap intervals' half-width
#: (one draw: about 2.4 and 6; docs/VALIDATION.md, "Each probe simulated eight times").
DEFAULT_VALIDATION_DRAWS = 8
#: The seed of ``evalharness validate``'s simulated noise and bootstrap unless ``--seed`` says
#: otherwise (the date it was first run).
DEFAULT_VALIDATION_SEED = 20261130

SweepValue = int | float | str | bool


class ProtocolSettings(StrictModel):
    """How a dataset is split into gallery, mated probes and non-mated probes.

    Enrolled identities are those with more than ``gallery_images_per_identity`` images; the
    non-mated pool is every identity with fewer (LFW's many one-image people), plus
    ``holdout_identities`` multi-image identities held out of the gallery.
    """

    gallery_images_per_identity: int = Field(1, ge=1, le=10)
    #: "frontal": the images nearest a frontal, level view (needs the dataset's views.csv).
    gallery_choice: Literal["first", "random", "frontal"] = "first"
    enrolled_identities: int | None = Field(None, ge=1)
    mated_per_identity: int | None = Field(None, ge=1)
    nonmated_identities: int | None = Field(None, ge=0)
    nonmated_per_identity: int | None = Field(None, ge=1)
    holdout_identities: int = Field(0, ge=0)
    gallery_size: int | None = Field(None, ge=1)
    #: "camera": each condition probes each person with the photographs whose view (views.csv) is
    #: nearest the direction the camera sees the face from; "all": every probe photograph.
    probe_view: Literal["all", "camera"] = "all"


class GridBlock(StrictModel):
    """Profiles evaluated over every combination of the sweep values (none: each profile once)."""

    profiles: list[str] = Field(min_length=1)
    sweep: dict[str, list[SweepValue]] = Field(default_factory=dict)

    @field_validator("sweep")
    @classmethod
    def _non_empty_unique(cls, sweep: dict[str, list[SweepValue]]) -> dict[str, list[SweepValue]]:
        for axis, values in sweep.items():
            if not values:
                raise ValueError(f"sweep axis {axis!r} has no values")
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"sweep axis {axis!r} repeats a value: {values}")
        return sweep


def _distinct(detectors: list[str] | None) -> list[str] | None:
    """``detectors`` when no name repeats in it (a repeat would evaluate one detector twice)."""
    if detectors is not None and len(set(detectors)) != len(detectors):
        raise ValueError(f"detectors repeats a name: {detectors}")
    return detectors


class FrameScene(StrictModel):
    """What surrounds the face in frame mode (``probe_modes = ["frame"]``): ``scene = "flat"``
    (photographic mid-grey) or ``"road"`` (the driver behind the windscreen of a car on a road,
    :mod:`evalharness.camera.scene`), with its sun visor down or the A-pillar in front of the face."""

    scene: Literal["flat", "road"] = "flat"
    sun_visor: bool = False
    a_pillar: bool = False

    @model_validator(mode="after")
    def _occlusions_need_the_road(self) -> FrameScene:
        if self.scene != "road" and (self.sun_visor or self.a_pillar):
            raise ValueError("sun_visor and a_pillar need scene = \"road\"")
        return self


class DetectorComparison(StrictModel):
    """``[detector_comparison]``: detection only, by several detectors on the same stored images.

    For each camera condition of the run's first detector and recognizer, a seeded choice of
    ``probes_per_condition`` probes (the probes ``--limit`` that many would keep) is simulated
    exactly as the run simulates it, and every detector of ``detectors`` searches the same stored
    images (:mod:`evalharness.evaluation.detector_comparison`). No recognition; the run's
    conditions and their results are unchanged.
    """

    detectors: list[str] = Field(min_length=2)
    probes_per_condition: int = Field(30, ge=1)

    @field_validator("detectors")
    @classmethod
    def _unique(cls, detectors: list[str]) -> list[str]:
        return _distinct(detectors)  # type: ignore[return-value]


class Experiment(StrictModel):
    """A validated experiment (see the module docstring for the file format).

    Attributes
    ----------
    dataset : folder-per-identity dataset (path). seed : seeds the split, the camera's noise and
    the bootstrap. detector or detectors, recognizers : model registry names (one condition per
    detector and recognizer; the first detector also locates the faces of the undegraded source
    photographs, for every condition). detector_options : given to every detector; a table named
    after a detector (``[detector_options.yunet]``) is given to that one only.
    recognizer_options : given to every recognizer, e.g. ``numerics = "bf16"`` for FaceNet's
    opt-in bfloat16 path (``benchmarks/RESULTS.md`` measures its effect). probe_modes : "crop"
    (the stored face canvas) and/or "frame" (the face in the camera's full frame). frame : what
    surrounds the face in frame mode (:class:`FrameScene`: flat grey, or the road scene).
    upscale : factor (>= 1, bicubic) the stored image is enlarged by before detection, as an
    examiner's viewer would; 1 means as stored.
    source_eyes : where the source photograph's eyes are: "detected" (MTCNN landmarks of the
    face nearest the centre) or "lfw-deepfunneled" (the aligned set's fixed positions, immune to
    head yaw; the run skips, and lists, every image that is not 250x250 px, where they mark no
    eyes). grid : blocks of profiles x sweep axes. bootstrap_resamples : B of the subject
    bootstrap. samples_per_condition : stored images kept per condition for contact sheets.
    batch_size : probes per batch. limit : at most this many probes per condition (``--limit``).
    dataset_fingerprint : the SHA-256 fingerprint the dataset must have (a run directory's
    ``experiment.toml`` pins it, so that a rerun on other data stops); None: any data.
    nonmate_scores_kept : at most this many of a probe's non-mate scores are stored in its row (a
    seeded sample; the best is always in ``best_nonmate_score``); None keeps all. Set it for large
    galleries, where all of them would make each row as long as the gallery; TAR at FAR is then
    estimated from the sample. scenarios : settings of the report's usage scenarios
    (:class:`~evalharness.config.scenarios.ScenarioSettings`). detector_comparison : detection
    rate against IED of several detectors on a sample of the run's stored images
    (:class:`DetectorComparison`); None: no comparison.
    """

    name: str = "experiment"
    dataset: str
    dataset_fingerprint: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    seed: int = Field(0, ge=0)
    detector: str = DEFAULT_DETECTOR
    detectors: list[str] | None = Field(None, min_length=1)
    detector_options: dict[str, int | float | bool | str | dict[str, int | float | bool | str]] = \
        Field(default_factory=dict)
    recognizer_options: dict[str, int | float | bool | str] = Field(default_factory=dict)
    recognizers: list[str] = Field(default_factory=lambda: [DEFAULT_RECOGNIZER], min_length=1)
    probe_modes: list[Literal["crop", "frame"]] = Field(default_factory=lambda: ["crop"], min_length=1)
    frame: FrameScene = Field(default_factory=FrameScene)
    upscale: float = Field(1.0, ge=1.0, le=8.0)
    source_eyes: Literal["detected", "lfw-deepfunneled"] = "detected"
    protocol: ProtocolSettings = Field(default_factory=ProtocolSettings)
    grid: list[GridBlock] = Field(min_length=1)
    bootstrap_resamples: int = Field(1000, ge=10, le=100_000)
    samples_per_condition: int = Field(6, ge=0, le=100)
    batch_size: int = Field(32, ge=1, le=4096)
    limit: int | None = Field(None, ge=1)
    nonmate_scores_kept: int | None = Field(None, ge=1)
    scenarios: ScenarioSettings = Field(default_factory=ScenarioSettings)
    detector_comparison: DetectorComparison | None = None

    @model_validator(mode="after")
    def _detectors(self) -> Experiment:
        if self.detectors is not None and "detector" in self.model_fields_set \
                and self.detector != self.detectors[0]:
            raise ValueError(f"detector = {self.detector!r} but detectors starts with "
                             f"{self.detectors[0]!r}; give detectors alone (its first detector "
                             "locates the source faces), or list detector first in it")
        _distinct(self.detectors)
        compared = self.detector_comparison.detectors if self.detector_comparison else []
        listed = list(dict.fromkeys([*self.detector_names, *compared]))
        unknown = [key for key, value in self.detector_options.items()
                   if isinstance(value, dict) and key not in listed]
        if unknown:
            raise ValueError(f"detector_options.{unknown[0]} names no listed detector; "
                             f"listed: {', '.join(listed)}")
        if self.frame != FrameScene() and "frame" not in self.probe_modes:
            raise ValueError("frame: a scene is drawn in frame mode only; add \"frame\" to probe_modes")
        return self

    @property
    def detector_names(self) -> list[str]:
        """The detectors evaluated, in order; the first locates the source faces."""
        return list(self.detectors) if self.detectors is not None else [self.detector]

    def options_for(self, detector: str) -> dict[str, int | float | bool | str]:
        """The options ``detector`` is given: the shared ones, then its own table."""
        shared = {key: value for key, value in self.detector_options.items()
                  if not isinstance(value, dict)}
        own = self.detector_options.get(detector, {})
        return {**shared, **(own if isinstance(own, dict) else {})}


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``data[a][b] = value`` for ``key = "a.b"``, creating tables on the way."""
    *parents, leaf = key.split(".")
    table = data
    for part in parents:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a table")
    table[leaf] = value


def load_experiment(path: Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Read, override (dotted keys) and validate an experiment TOML.

    Raises
    ------
    ConfigError
        Naming the file and field when the file or an override is invalid.
    """
    path = Path(path)
    data = read_toml(path)
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    source = f"{path} with --set {' '.join(f'{k}={v}' for k, v in overrides.items())}" if overrides else str(path)
    experiment = validate(Experiment, data, source)
    folder = path.resolve().parent
    grid = [block.model_copy(update={"profiles": [_beside(name, folder) for name in block.profiles]})
            for block in experiment.grid]
    return experiment.model_copy(update={"grid": grid})


def _beside(profile: str, folder: Path) -> str:
    """A profile named by a relative ``.toml`` path, made absolute against the experiment's folder."""
    path = Path(profile)
    return str(folder / path) if path.suffix == ".toml" and not path.is_absolute() else profile


def resolve_dataset(experiment: Experiment, experiment_path: Path) -> Path:
    """The dataset folder: as given if absolute, else the first match beside the experiment file
    or in one of its parent folders (never the working directory).

    Raises
    ------
    DataError
        No such folder; the message names the experiment file and where it looked.
    """
    given = Path(experiment.dataset)
    here = Path(experiment_path).resolve().parent
    candidates = [given] if given.is_absolute() else [folder / given for folder in (here, *here.parents)]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    where = "" if given.is_absolute() else (
        f" (a relative path is looked for beside the experiment file, in {here}, and in its parent folders)")
    raise DataError(f"{experiment_path}: dataset: folder {experiment.dataset!r} not found{where}")
