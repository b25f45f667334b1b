"""Paired real-camera datasets: what `evalharness validate` compares the camera model with.

Layout (each part a folder-per-identity dataset, :mod:`evalharness.data.folder`)::

    REAL/gallery/<id>/<image>   enrolment photographs (what a probe is searched against)
    REAL/probes/<id>/<image>    real camera images of the same people
    REAL/sources/<id>/<image>   photographs the camera model starts from; never a gallery
                                photograph itself (the simulation would then be searched against
                                its own source)
    REAL/sources.csv            optional: path,yaw_deg,pitch_deg - the view of each source
                                (path relative to REAL/sources; conventions of
                                :mod:`evalharness.quality.pose`: pitch positive when the camera
                                was above the eyes)
    REAL/probes.csv             optional: path,camera - groups probes by camera (path relative
                                to REAL/probes)

Every probe's identity must have a gallery photograph and at least one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalharness.data.folder import FaceRecord, FolderDataset, open_dataset
from evalharness.data.views import View, read_csv_rows, read_views
from evalharness.errors import DataError

#: The parts of a paired dataset, each a folder-per-identity dataset.
PARTS = ("gallery", "probes", "sources")


@dataclass(frozen=True)
class PairedDataset:
    """A paired real-camera dataset (see the module docstring).

    ``views`` maps a source relpath to its :class:`View` (empty without ``sources.csv``);
    ``cameras`` maps a probe relpath to its camera group (empty without ``probes.csv``).
    """

    root: Path
    gallery: FolderDataset
    probes: FolderDataset
    sources: FolderDataset
    views: dict[str, View]
    cameras: dict[str, str]

    def sources_of(self, identity: str) -> list[FaceRecord]:
        """The source photographs of one person, sorted by relpath."""
        return [record for record in self.sources.records if record.identity == identity]

    def camera_of(self, relpath: str) -> str:
        """A probe's camera group (``"all"`` without ``probes.csv``)."""
        return self.cameras.get(relpath, "all")

    @property
    def fingerprint(self) -> str:
        """The three parts' fingerprints, joined (sha256 of each canonical manifest)."""
        return "+".join(part.fingerprint for part in (self.gallery, self.probes, self.sources))


def open_paired(root: str | Path) -> PairedDataset:
    """Open and check a paired real-camera dataset.

    Raises
    ------
    DataError
        A part is missing or has no usable image, the gallery holds fewer than 2 people, a
        probe's person has no gallery photograph or no source, a source is byte-identical to a
        gallery photograph, or a CSV file is malformed (each message names the file).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: paired dataset folder not found")
    parts = {}
    for part in PARTS:
        if not (root / part).is_dir():
            raise DataError(f"{root / part}: missing; a paired dataset holds "
                            f"{', '.join(f'{name}/<id>/<image>' for name in PARTS)}")
        parts[part] = open_dataset(root / part)
        if not parts[part].records:
            raise DataError(f"{root / part}: no usable image")
    gallery, probes, sources = parts["gallery"], parts["probes"], parts["sources"]
    enrolled, simulated = set(gallery.identities()), set(sources.identities())
    for record in probes.records:
        if record.identity not in enrolled:
            raise DataError(f"{record.path}: person {record.identity!r} has no gallery photograph "
                            f"in {root / 'gallery'}")
        if record.identity not in simulated:
            raise DataError(f"{record.path}: person {record.identity!r} has no source photograph "
                            f"in {root / 'sources'}")
    if len(enrolled) < 2:
        # A probe's rank and best non-mate score need someone else to be mistaken for.
        raise DataError(f"{root / 'gallery'}: holds {len(enrolled)} person; identification needs a "
                        "gallery of at least 2 people")
    gallery_hashes = {record.sha256: record for record in gallery.records}
    for record in sources.records:
        if record.sha256 in gallery_hashes:
            raise DataError(f"{record.path}: identical to the gallery photograph "
                            f"{gallery_hashes[record.sha256].path}; a source must be another "
                            "photograph, or the simulation is searched against itself")
    views = read_views(root / "sources.csv", {r.relpath for r in sources.records})
    cameras = {row["path"]: row["camera"] or "all" for row in
               read_csv_rows(root / "probes.csv", ("path", "camera"), {r.relpath for r in probes.records})}
    return PairedDataset(root, gallery, probes, sources, views, cameras)
