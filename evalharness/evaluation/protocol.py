"""Split a dataset into gallery, mated probes and non-mated probes (ISO/IEC 19795-1 terms).

- **Gallery**: ``k`` enrolment images per enrolled identity, undegraded (like a custody
  photograph): the first ``k`` by sorted relative path, a seeded choice, or (on a dataset whose
  ``views.csv`` gives each photograph's view, :mod:`evalharness.data.views`) the ``k`` nearest
  a frontal, level view. Optional
  gallery-only identities (never probed) enlarge the gallery to ``gallery_size`` N.
- **Mated probes**: the enrolled identities' other images.
- **Non-mated probes**: images of identities that are not enrolled: those with too few images
  to enrol, plus any multi-image identities held out.

With ``probe_view = "camera"``, each condition evaluates only each person's probes whose view is
nearest the direction its camera sees the face from (:func:`for_camera_view`), so that a camera
mounted high is simulated from photographs taken from above, where the dataset has them.

The split depends only on the file list, the views and the seed. :func:`check_protocol` verifies that no
probe image is in the gallery and that no non-mated identity is enrolled, and the runner calls
it before every run.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol as TypingProtocol

import numpy as np

from evalharness.camera.geometry import derive_geometry
from evalharness.config.experiment import ProtocolSettings
from evalharness.config.profile import CameraProfile
from evalharness.data.views import View
from evalharness.errors import DataError
from evalharness.quality.pose import view_angles_deg


class ProtocolError(DataError):
    """The dataset cannot give the requested split, or a split leaks probes into the gallery."""


class Record(TypingProtocol):
    """What the split needs of a dataset record (``evalharness.data.folder.FaceRecord``)."""

    identity: str
    relpath: str


@dataclass(frozen=True)
class Image:
    """One image's place in the split: its identity and path relative to the dataset root."""

    identity: str
    relpath: str


@dataclass(frozen=True)
class Split:
    """A gallery / probe split.

    Attributes
    ----------
    gallery : tuple of Image
        Enrolment images, enrolled identities first, then gallery-only ones; sorted by path.
    mated : tuple of Image
        Probes whose identity is enrolled.
    nonmated : tuple of Image
        Probes whose identity is not enrolled.
    """

    gallery: tuple[Image, ...]
    mated: tuple[Image, ...]
    nonmated: tuple[Image, ...]

    def gallery_identities(self) -> list[str]:
        """Distinct gallery identities, sorted (the columns of a score matrix)."""
        return sorted({image.identity for image in self.gallery})

    def probes(self) -> tuple[Image, ...]:
        """Mated then non-mated probes."""
        return self.mated + self.nonmated


def _seeded_rng(seed: int, purpose: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\x1fprotocol\x1f{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _choose(items: list[str], count: int | None, rng: np.random.Generator) -> list[str]:
    """A seeded choice of ``count`` items (all when None), returned sorted."""
    if count is None or count >= len(items):
        return sorted(items)
    return sorted(rng.choice(np.array(items, dtype=object), size=count, replace=False).tolist())


def _nearest(paths: Sequence[str], views: Mapping[str, View], *, yaw_deg: float, pitch_deg: float) -> list[str]:
    """``paths`` sorted by the angle between their view and (``yaw_deg``, ``pitch_deg``), then
    by path."""
    angles = view_angles_deg(yaw_deg, pitch_deg,
                             np.array([[views[p].yaw_deg, views[p].pitch_deg] for p in paths]).reshape(-1, 2))
    return [path for _, path in sorted(zip(np.round(angles, 6).tolist(), paths, strict=True))]


def uses_views(settings: ProtocolSettings) -> bool:
    """Whether the split needs each photograph's view."""
    return settings.gallery_choice == "frontal" or settings.probe_view == "camera"


def _check_views(records: Sequence[Record], views: Mapping[str, View] | None) -> Mapping[str, View]:
    if not views:
        raise ProtocolError("protocol.gallery_choice = 'frontal' and protocol.probe_view = 'camera' need "
                            "the view of every photograph: put views.csv (path,yaw_deg,pitch_deg) in the "
                            "dataset folder")
    missing = sorted(record.relpath for record in records if record.relpath not in views)
    if missing:
        raise ProtocolError(f"views.csv gives no view for {len(missing)} photograph(s): "
                            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return views


def build_split(records: Sequence[Record], settings: ProtocolSettings, seed: int,
                views: Mapping[str, View] | None = None) -> Split:
    """Split ``records`` as ``settings`` asks; the same inputs always give the same split.

    Parameters
    ----------
    records : sequence of records with ``identity`` and ``relpath``
        The dataset's images.
    settings : ProtocolSettings
        Gallery size, caps and hold-outs.
    seed : int
        Seeds every random choice (each choice draws from its own stream).
    views : mapping of relpath to View, optional
        Each photograph's view; needed by the frontal gallery choice and the camera probe view.

    Raises
    ------
    ProtocolError
        When no identity can be enrolled, the gallery would hold fewer than two identities, it
        cannot reach ``gallery_size``, or views are needed and some are missing.
    """
    if uses_views(settings):
        views = _check_views(records, views)
    by_identity: dict[str, list[str]] = {}
    for record in records:
        by_identity.setdefault(record.identity, []).append(record.relpath)
    for paths in by_identity.values():
        paths.sort()

    k = settings.gallery_images_per_identity
    enrollable = [name for name, paths in by_identity.items() if len(paths) > k]
    held_out = _choose(enrollable, settings.holdout_identities, _seeded_rng(seed, "holdout"))
    enrolled = _choose(sorted(set(enrollable) - set(held_out)), settings.enrolled_identities,
                       _seeded_rng(seed, "enrolled"))
    if not enrolled:
        raise ProtocolError(f"no identity has more than {k} images, so none can be enrolled and probed")

    too_few = sorted(name for name, paths in by_identity.items() if len(paths) <= k)
    nonmated_ids = _choose(too_few + held_out, settings.nonmated_identities, _seeded_rng(seed, "nonmated"))
    for key, chosen in (("holdout_identities", held_out), ("enrolled_identities", enrolled),
                        ("nonmated_identities", nonmated_ids)):
        if (wanted := getattr(settings, key)) is not None and len(chosen) < wanted:
            warnings.warn(f"protocol.{key} = {wanted}: the dataset has {len(chosen)} such people, and all "
                          "are used", stacklevel=2)

    gallery, mated = [], []
    pick_rng = _seeded_rng(seed, "gallery")
    for name in enrolled:
        paths = by_identity[name]
        if settings.gallery_choice == "frontal":
            chosen = sorted(_nearest(paths, views or {}, yaw_deg=0.0, pitch_deg=0.0)[:k])
        else:
            chosen = paths[:k] if settings.gallery_choice == "first" else _choose(paths, k, pick_rng)
        gallery += [Image(name, p) for p in chosen]
        rest = [p for p in paths if p not in chosen][: settings.mated_per_identity]
        mated += [Image(name, p) for p in rest]

    if settings.gallery_size is not None and settings.gallery_size > len(enrolled):
        spare = sorted(set(by_identity) - set(enrolled) - set(nonmated_ids))
        needed = settings.gallery_size - len(enrolled)
        if needed > len(spare):
            raise ProtocolError(
                f"protocol.gallery_size {settings.gallery_size}: only {len(enrolled)} enrolled and "
                f"{len(spare)} spare identities are available"
            )
        for name in _choose(spare, needed, _seeded_rng(seed, "filler")):
            gallery += [Image(name, p) for p in by_identity[name][:k]]

    gallery_ids = sorted({image.identity for image in gallery})
    if len(gallery_ids) < 2:
        # Rank and non-mate scores need someone else in the gallery to be mistaken for.
        raise ProtocolError(f"the gallery holds 1 identity ({gallery_ids[0]}); at least 2 are needed: use "
                            f"a dataset with 2 or more people who have more than {k} images "
                            "(protocol.gallery_images_per_identity), or raise protocol.gallery_size")

    cap = settings.nonmated_per_identity
    nonmated = [Image(name, p) for name in nonmated_ids for p in by_identity[name][:cap]]
    split = Split(tuple(gallery), tuple(mated), tuple(nonmated))
    check_split(split)
    return split


def check_split(split: Split) -> None:
    """Raise :class:`ProtocolError` if any probe image is a gallery image, a non-mated
    identity is in the gallery, or a mated identity is not."""
    gallery_paths = {image.relpath for image in split.gallery}
    gallery_ids = {image.identity for image in split.gallery}
    leaked = sorted(image.relpath for image in split.probes() if image.relpath in gallery_paths)
    if leaked:
        raise ProtocolError(f"probe images are also gallery images: {', '.join(leaked[:5])}")
    enrolled_nonmated = sorted({i.identity for i in split.nonmated} & gallery_ids)
    if enrolled_nonmated:
        raise ProtocolError(f"non-mated identities are in the gallery: {', '.join(enrolled_nonmated[:5])}")
    unenrolled = sorted({i.identity for i in split.mated} - gallery_ids)
    if unenrolled:
        raise ProtocolError(f"mated probes of identities not in the gallery: {', '.join(unenrolled[:5])}")


def for_camera_view(split: Split, views: Mapping[str, View], *, yaw_deg: float, pitch_deg: float) -> Split:
    """``split`` with each person's probes cut to those whose view is nearest the camera's view
    of the face (``yaw_deg``, ``pitch_deg``: :class:`~evalharness.camera.geometry.Geometry`'s,
    pitch positive when the camera is above the eyes); all of them where several share that
    view. The gallery is unchanged; probe order is kept."""
    def nearest(probes: tuple[Image, ...]) -> tuple[Image, ...]:
        by_identity: dict[str, list[str]] = {}
        for image in probes:
            by_identity.setdefault(image.identity, []).append(image.relpath)
        keep = set()
        for paths in by_identity.values():
            best = views[_nearest(paths, views, yaw_deg=yaw_deg, pitch_deg=pitch_deg)[0]]
            keep |= {path for path in paths if views[path] == best}
        return tuple(image for image in probes if image.relpath in keep)

    return replace(split, mated=nearest(split.mated), nonmated=nearest(split.nonmated))


def for_condition(split: Split, settings: ProtocolSettings, views: Mapping[str, View],
                  profile: CameraProfile) -> Split:
    """The split one camera condition evaluates: with ``probe_view = "camera"``, each person's
    probes nearest the view the camera ``profile`` has of the face (:func:`for_camera_view`);
    otherwise ``split`` itself."""
    if settings.probe_view != "camera":
        return split
    geometry = derive_geometry(profile)
    return for_camera_view(split, views, yaw_deg=geometry.yaw_deg, pitch_deg=geometry.pitch_deg)


def limit_probes(split: Split, limit: int | None, seed: int) -> Split:
    """Keep at most ``limit`` probes, a seeded choice across mated and non-mated (for quick
    runs); the gallery is unchanged and probe order is kept."""
    probes = split.probes()
    if limit is None or limit >= len(probes):
        return split
    keep = set(_seeded_rng(seed, "limit").permutation(len(probes))[:limit].tolist())
    mated = tuple(p for i, p in enumerate(split.mated) if i in keep)
    nonmated = tuple(p for i, p in enumerate(split.nonmated, start=len(split.mated)) if i in keep)
    return Split(split.gallery, mated, nonmated)
