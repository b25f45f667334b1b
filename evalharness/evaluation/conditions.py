"""The grid of conditions an experiment evaluates, each a frozen value with a stable id.

A :class:`Condition` is everything that decides a probe's result besides the probe itself:
the camera profile after sweep overrides, the models, the probe mode and the upscaling before
detection. Its ``id`` is a short hash of those values in canonical JSON, so the same condition
has the same id in every run, on every machine, whatever the grid's order; results are keyed
by it, which is what makes resuming a run safe.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field, replace
from typing import Any

from evalharness.config.experiment import DEFAULT_DETECTOR, Experiment
from evalharness.config.profile import CameraProfile, load_profile, with_overrides
from evalharness.errors import ConfigError


#: Profile fields added after condition ids were first published: they enter the id only when set
#: away from their default, so that every earlier condition keeps its id (and its results).
LATER_PROFILE_FIELDS = ("subject_speed_mps", "subject_direction_deg", "video_qp", "colour_sampling",
                        "stored_noise_dn", "stored_noise_correlation_px")


def profile_values(profile: CameraProfile) -> dict[str, Any]:
    """The profile's values as a condition id hashes them (see :data:`LATER_PROFILE_FIELDS`)."""
    values = profile.model_dump(mode="json", exclude={"validation"})  # a note, not a parameter
    for name in LATER_PROFILE_FIELDS:
        if values[name] == type(profile).model_fields[name].default:
            del values[name]
    return values


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class Condition:
    """One cell of the grid.

    Attributes
    ----------
    profile : CameraProfile
        The camera after this cell's sweep overrides.
    swept : tuple of (str, value)
        The sweep axes and this cell's values, in the experiment's axis order.
    recognizer, detector : str
        Model names as the registry knows them.
    detector_options, recognizer_options : tuple of (str, value)
        Options given to the detector and the recognizer, sorted by name.
    probe_mode : {"crop", "frame"}
        Face crop, or the face placed in the camera's full frame.
    upscale : float
        Factor the stored image is enlarged by before detection (1: as stored).
    """

    profile: CameraProfile
    swept: tuple[tuple[str, Any], ...]
    recognizer: str
    detector: str
    detector_options: tuple[tuple[str, Any], ...] = ()
    probe_mode: str = "crop"
    upscale: float = 1.0
    recognizer_options: tuple[tuple[str, Any], ...] = ()
    id: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(canonical_json(self.values()).encode()).hexdigest()
        object.__setattr__(self, "id", digest[:12])

    def values(self) -> dict[str, Any]:
        """Every value the id is the hash of, as plain JSON-able data."""
        values = {
            "profile": profile_values(self.profile),
            "recognizer": self.recognizer,
            "detector": self.detector,
            "detector_options": dict(self.detector_options),
            "probe_mode": self.probe_mode,
            "upscale": self.upscale,
        }
        # Only when set, so that conditions without them keep the ids they always had.
        if self.recognizer_options:
            values["recognizer_options"] = dict(self.recognizer_options)
        return values

    @property
    def noise_id(self) -> str:
        """The id that seeds the camera's noise: this condition's without the recognizer options,
        so that runs differing only in how embeddings are computed degrade every probe alike."""
        return replace(self, recognizer_options=()).id if self.recognizer_options else self.id

    @property
    def label(self) -> str:
        """Human-readable: ``"ir-two-lane distance_m=20"``, plus the mode, the upscaling, the
        detector and the recognizer options when not the defaults."""
        parts = [self.profile.name, *(f"{axis}={value}" for axis, value in self.swept)]
        if self.probe_mode != "crop":
            parts.append(f"[{self.probe_mode}]")
        if self.upscale != 1.0:
            parts.append(f"x{self.upscale:g} upscale")
        if self.detector != DEFAULT_DETECTOR:
            parts.append(f"[{self.detector}]")
        parts.extend(f"[{key}={value}]" for key, value in self.recognizer_options)
        return " ".join(parts)


def build_grid(experiment: Experiment, source: str = "experiment") -> list[Condition]:
    """Every condition of ``experiment``, in file order: grid block, profile, sweep cell
    (last axis fastest), recognizer, detector, probe mode. Duplicates are kept once.

    Raises
    ------
    ConfigError
        For an unknown profile, or a sweep key or value a profile rejects; the message starts
        with ``source`` (the experiment file) and the ``[[grid]]`` entry, then names the field.
    """
    conditions: dict[str, Condition] = {}
    options = {name: tuple(sorted(experiment.options_for(name).items()))
               for name in experiment.detector_names}
    recognizer_options = tuple(sorted(experiment.recognizer_options.items()))
    for number, block in enumerate(experiment.grid, start=1):
        axes = list(block.sweep)
        try:
            for profile_name in block.profiles:
                base = load_profile(profile_name)
                for cell in itertools.product(*(block.sweep[axis] for axis in axes)):
                    swept = tuple(zip(axes, cell, strict=True))
                    profile = with_overrides(base, dict(swept)) if swept else base
                    for recognizer, detector, mode in itertools.product(
                            experiment.recognizers, experiment.detector_names, experiment.probe_modes):
                        condition = Condition(profile, swept, recognizer, detector, options[detector],
                                              mode, experiment.upscale, recognizer_options)
                        conditions.setdefault(condition.id, condition)
        except ConfigError as error:
            raise ConfigError(f"{source}: [[grid]] entry {number}: {error}") from None
    return list(conditions.values())


def sweep_axes(experiment: Experiment) -> list[str]:
    """Every swept parameter of ``experiment``, in first-seen order (the rows' and summary's
    parameter columns)."""
    return list(dict.fromkeys(axis for block in experiment.grid for axis in block.sweep))
