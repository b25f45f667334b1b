"""Folder-per-identity face datasets (the LFW, VGGFace2 and CASIA-WebFace layout).

A dataset is a folder holding one sub-folder per person, named after the person, holding that
person's photographs::

    <root>/<identity>/<image>.jpg

:func:`open_dataset` lists it deterministically, checks every image, and fingerprints it:

- Image files are recognised by extension (:data:`IMAGE_EXTENSIONS`, any case). Other files, and
  names starting with ``.``, are ignored; ``README.md`` and ``manifest.csv`` may sit in the root.
- Files that cannot be used are skipped, each listed in :attr:`FolderDataset.skipped` with its
  reason, and announced in one warning: unreadable, empty, truncated or non-image content,
  oversized (see :data:`evalharness.data.images.MAX_IMAGE_PIXELS`), names that are not valid
  UTF-8 or hold a backslash or control character, images outside an identity folder or in a
  sub-folder of one, symbolic links that lead outside the root, and identity folders left with no
  usable image.
- An optional ``views.csv`` in the root gives each photograph's view (:attr:`FolderDataset.views`,
  :mod:`evalharness.data.views`), for protocols that choose photographs by view.
- :attr:`FolderDataset.fingerprint` is the SHA-256 of the canonical manifest (identity, relpath,
  size_bytes, sha256 of each usable image, sorted), which is also the exact content that
  :meth:`FolderDataset.write_manifest` writes: ``sha256sum manifest.csv`` reproduces it. It depends
  only on file names and bytes, not on where the folder is, file times or listing order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from evalharness.data.images import MAX_IMAGE_PIXELS, ImageError, load_image, upright_size
from evalharness.data.views import View, read_views
from evalharness.errors import DataError

#: File extensions read as images (compared in lower case).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

#: The optional file in the root that gives each photograph's view.
VIEWS_FILE = "views.csv"

#: Columns of the manifest, in order.
MANIFEST_COLUMNS = ("identity", "relpath", "size_bytes", "sha256")

#: How many skipped files the warning names before summarising the rest.
_WARN_LIST_MAX = 20


@dataclass(frozen=True)
class FaceRecord:
    """One usable photograph of one person.

    Attributes
    ----------
    identity
        The person: the name of the identity folder.
    relpath
        Path relative to the dataset root, with ``/`` separators (``"<identity>/<file>"``).
    path
        Where the file is on this machine.
    size_bytes
        File size in bytes.
    sha256
        SHA-256 of the file's bytes, lower-case hex.
    """

    identity: str
    relpath: str
    path: Path
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class SkippedFile:
    """A file or folder that :func:`open_dataset` did not use, and why.

    ``relpath`` is relative to the root with ``/`` separators (a folder ends in ``/``); bytes of a
    name that are not valid UTF-8 are shown as ``\\xNN``.
    """

    relpath: str
    reason: str


@dataclass(frozen=True)
class RequiredSize:
    """Only images of this size (upright, as decoded) are usable; ``why`` says why, in the
    reason each other image is skipped with."""

    width_px: int
    height_px: int
    why: str


@dataclass(frozen=True)
class FolderDataset:
    """A checked folder-per-identity dataset; build it with :func:`open_dataset`.

    Attributes
    ----------
    root
        The dataset folder, as given.
    records
        Usable images, sorted by identity, then relpath (code-point order, locale-independent).
    skipped
        Files and folders not used, sorted by relpath.
    """

    root: Path
    records: tuple[FaceRecord, ...]
    skipped: tuple[SkippedFile, ...]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def name(self) -> str:
        """The dataset's name: the root folder's name."""
        return self.root.resolve().name

    def identities(self) -> dict[str, list[FaceRecord]]:
        """Records grouped by identity, identities and records in sorted order."""
        groups: dict[str, list[FaceRecord]] = {}
        for record in self.records:
            groups.setdefault(record.identity, []).append(record)
        return groups

    def manifest(self) -> list[dict[str, str | int]]:
        """One row per usable image with the keys of :data:`MANIFEST_COLUMNS`."""
        return [
            {
                "identity": r.identity,
                "relpath": r.relpath,
                "size_bytes": r.size_bytes,
                "sha256": r.sha256,
            }
            for r in self.records
        ]

    @cached_property
    def manifest_text(self) -> str:
        """The canonical manifest: UTF-8 CSV with a header row and ``\\n`` line ends."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.manifest())
        return buffer.getvalue()

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 (lower-case hex) of :attr:`manifest_text` encoded as UTF-8."""
        return hashlib.sha256(self.manifest_text.encode("utf-8")).hexdigest()

    @cached_property
    def views(self) -> dict[str, View]:
        """Each photograph's view from the optional :data:`VIEWS_FILE` in the root, by relpath
        (:mod:`evalharness.data.views`); empty without the file."""
        return read_views(self.root / VIEWS_FILE, {record.relpath for record in self.records})

    @cached_property
    def views_sha256(self) -> str | None:
        """SHA-256 of :data:`VIEWS_FILE`'s bytes; None without the file."""
        path = self.root / VIEWS_FILE
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None

    def write_manifest(self, path: str | os.PathLike[str]) -> Path:
        """Write :attr:`manifest_text` to ``path`` (its SHA-256 equals :attr:`fingerprint`)."""
        path = Path(path)
        try:
            path.write_text(self.manifest_text, encoding="utf-8", newline="")
        except OSError as error:
            raise DataError(f"{path}: cannot write the manifest: {error.strerror}") from None
        return path


def open_dataset(
    root: str | os.PathLike[str],
    *,
    verify_images: bool = True,
    max_pixels: int = MAX_IMAGE_PIXELS,
    size: RequiredSize | None = None,
) -> FolderDataset:
    """List, check and fingerprint a folder-per-identity dataset.

    Parameters
    ----------
    root
        The dataset folder, holding ``<identity>/<image>`` files.
    verify_images
        Read every image with :func:`~evalharness.data.images.load_image`, which decodes it
        completely (catches truncated, corrupt and unsupported files; about 1.3 ms per 250x250
        JPEG on one CPU core). When false, only names, sizes and hashes are checked.
    max_pixels
        Largest accepted width x height of an image (checked only when ``verify_images``).
    size
        Skip every image not of this size (upright, as decoded; from its header when
        ``verify_images`` is false), with the size's reason.

    Returns
    -------
    FolderDataset
        The usable images and the skipped files. If any file was skipped, one ``UserWarning``
        names them (the first 20) and gives their count.

    Raises
    ------
    DataError
        The folder is missing, is not a folder, or holds no usable image.

    Examples
    --------
    >>> dataset = open_dataset("datasets/lfw-mini")
    >>> len(dataset.identities()), len(dataset)
    (290, 807)
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such dataset folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected a folder of <identity>/<image> files")
    try:
        entries = _list(root)
    except OSError as error:
        raise DataError(f"{root}: cannot list the folder: {error.strerror}") from None
    real_root = root.resolve()
    records: list[FaceRecord] = []
    skipped: list[SkippedFile] = []
    for entry in entries:
        problem = _name_problem(entry.name) or _link_problem(entry, real_root)
        if problem is None and entry.name.startswith("."):
            continue
        if problem is not None:
            shown = _shown(entry.name) + ("/" if entry.is_dir() else "")
            skipped.append(SkippedFile(shown, problem))
        elif entry.is_dir():
            found, bad = _scan_identity(entry, real_root, verify_images, max_pixels, size)
            records += found
            skipped += bad
        elif _is_image_name(entry.name):
            skipped.append(SkippedFile(entry.name, "image not inside an identity folder"))
    records.sort(key=lambda r: (r.identity, r.relpath))
    skipped.sort(key=lambda s: s.relpath)
    if skipped:
        _warn_skipped(root, skipped)
    if not records:
        raise DataError(
            f"{root}: no usable image found; expected <identity>/<image> files with extension "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))} ({len(skipped)} files or folders skipped)"
        )
    return FolderDataset(root=root, records=tuple(records), skipped=tuple(skipped))


def _scan_identity(
    folder: os.DirEntry[str], real_root: Path, verify_images: bool, max_pixels: int, size: RequiredSize | None
) -> tuple[list[FaceRecord], list[SkippedFile]]:
    """The usable images of one identity folder, and what in it was skipped.

    The folder itself is listed as skipped when nothing in it is usable.
    """
    identity = folder.name
    try:
        entries = _list(Path(folder.path))
    except OSError as error:
        return [], [SkippedFile(f"{identity}/", f"cannot list the folder: {error.strerror}")]
    records: list[FaceRecord] = []
    skipped: list[SkippedFile] = []
    for entry in entries:
        relpath = f"{identity}/{entry.name}"
        problem = _name_problem(entry.name)
        if problem is not None:
            skipped.append(SkippedFile(f"{identity}/{_shown(entry.name)}", problem))
            continue
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            # Reported only if it holds images (and never walked if it leads outside the root).
            problem = _link_problem(entry, real_root)
            if problem is None and _holds_images(entry.path):
                problem = "sub-folder of an identity folder (not read)"
            if problem is not None:
                skipped.append(SkippedFile(f"{relpath}/", problem))
            continue
        if not _is_image_name(entry.name):
            continue
        problem = _link_problem(entry, real_root) or _file_problem(entry, verify_images, max_pixels, size)
        if problem is not None:
            skipped.append(SkippedFile(relpath, problem))
            continue
        try:
            with open(entry.path, "rb") as handle:
                sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as error:
            skipped.append(SkippedFile(relpath, f"cannot be read: {error.strerror}"))
            continue
        records.append(
            FaceRecord(identity, relpath, Path(entry.path), entry.stat().st_size, sha256)
        )
    if not records:
        skipped.append(SkippedFile(f"{identity}/", "identity folder holds no usable image"))
    return records, skipped


def _list(folder: Path) -> list[os.DirEntry[str]]:
    """Entries of a folder sorted by name (code-point order)."""
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda e: e.name)


def _is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _holds_images(folder: str) -> bool:
    return any(_is_image_name(name) for _, _, names in os.walk(folder) for name in names)


def _name_problem(name: str) -> str | None:
    """Why a file or folder name cannot be used in a portable manifest, or None."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.scandir decodes undecodable bytes as lone surrogates
        return "name is not valid UTF-8"
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "name holds a backslash or control character"
    return None


def _link_problem(entry: os.DirEntry[str], real_root: Path) -> str | None:
    """Why a symbolic link cannot be followed (broken, or leads outside the root), or None."""
    if not entry.is_symlink():
        return None
    target = Path(entry.path).resolve()
    if not target.exists():
        return "broken symbolic link"
    if not target.is_relative_to(real_root):
        return f"symbolic link to outside the dataset folder ({target})"
    return None


def _file_problem(entry: os.DirEntry[str], verify_images: bool, max_pixels: int,
                  size: RequiredSize | None) -> str | None:
    """Why an image file is unusable (not a regular file, empty, undecodable, not of the required
    size), or None."""
    if not entry.is_file():
        return "not a regular file"
    try:
        if entry.stat().st_size == 0:
            return "empty file (0 bytes)"
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    decoded = None
    if verify_images:
        try:
            decoded = load_image(entry.path, max_pixels)
        except ImageError as error:
            return error.reason
    if size is None:
        return None
    try:
        # The decoded image's own size when there is one: reading the file again would decode a
        # PNG twice (Pillow decodes it to read its EXIF).
        width, height = upright_size(entry.path, max_pixels) if decoded is None \
            else (decoded.shape[-1], decoded.shape[-2])
    except ImageError as error:
        return error.reason
    if (width, height) != (size.width_px, size.height_px):
        return f"{width}x{height} px, not {size.width_px}x{size.height_px}: {size.why}"
    return None


def _shown(name: str) -> str:
    """A name made printable: undecodable bytes appear as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def _warn_skipped(root: Path, skipped: list[SkippedFile]) -> None:
    listed = "; ".join(f"{s.relpath} ({s.reason})" for s in skipped[:_WARN_LIST_MAX])
    more = f"; and {len(skipped) - _WARN_LIST_MAX} more" if len(skipped) > _WARN_LIST_MAX else ""
    warnings.warn(
        f"{root}: skipped {len(skipped)} unusable files or folders: {listed}{more}",
        UserWarning,
        stacklevel=3,
    )
