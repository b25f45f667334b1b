"""What a stage of the camera model is: the types of :data:`evalharness.camera.simulate.STAGES`.

:func:`~evalharness.camera.simulate.simulate` places the face (``resample``), runs the declared
image stages in order, each where its profile uses it, and stores the file (``jpeg``), as
torchvision's ``Compose`` runs its transforms: adding a stage is one entry in that list, its
function and its description together. The runner writes the list's descriptions into the run's
``manifest.json`` (``camera_stages``), so that a report describes the camera of the run it
reports, not today's code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from evalharness.camera.geometry import Geometry
    from evalharness.config.profile import CameraProfile


@dataclass(frozen=True)
class StageDescription:
    """One stage: its name and what it does, in plain text (as the manifest stores it)."""

    name: str
    text: str


@dataclass(frozen=True)
class StageInput:
    """What the image stages take besides the image: the ``profile``, its ``geo``\\ metry, one
    CPU generator per face, and ``glazed``: whether the face is seen through the windscreen as
    the profile says (false when a road scene draws the glass and its glare itself)."""

    profile: CameraProfile
    geo: Geometry
    generators: Sequence[torch.Generator]
    glazed: bool


def _always(profile: CameraProfile) -> bool:
    return True


@dataclass(frozen=True)
class Stage:
    """One image stage: ``run(image (B, C, S, S), given) -> image``, applied where
    ``applies(profile)``; ``linear`` when its output is linear light (a contact sheet shows it
    sRGB-encoded) rather than stored values in [0, 1]; ``description``, its name (the key of
    ``Capture.stages``) and what it does."""

    description: StageDescription
    run: Callable[[torch.Tensor, StageInput], torch.Tensor]
    applies: Callable[[CameraProfile], bool] = _always
    linear: bool = False

    @property
    def name(self) -> str:
        return self.description.name
