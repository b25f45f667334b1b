"""LFW's protocol files: verification pairs and people lists, in both of LFW's layouts.

Pairs files
    View 1 (``pairsDevTrain.txt``, ``pairsDevTest.txt``): a first line ``N``, then ``N`` matched
    lines ``name<TAB>i<TAB>j`` and ``N`` mismatched lines ``name1<TAB>i<TAB>name2<TAB>j``.
    View 2 (``pairs.txt``): a first line ``folds N``, then for each fold ``N`` matched and ``N``
    mismatched lines. Image numbers are 1-based, as in the file names ``Name_0001.jpg``.

People files
    View 1 (``peopleDevTrain.txt``): a first line ``count``, then ``name<TAB>n_images`` lines.
    View 2 (``people.txt``): a first line ``folds``, then per fold a count line and its people.

See G. B. Huang et al., "Labeled Faces in the Wild", UMass Amherst TR 07-49, 2007.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evalharness.errors import DataError


@dataclass(frozen=True)
class Pair:
    """One verification pair; mated when both names are the same person.

    Attributes
    ----------
    name1, name2 : str
        Person names as in LFW's folder names (``George_W_Bush``).
    index1, index2 : int
        1-based image numbers within each person's folder.
    fold : int or None
        0-based fold of View 2's ten folds; None for a file without folds (View 1).
    """

    name1: str
    index1: int
    name2: str
    index2: int
    fold: int | None

    @property
    def is_mated(self) -> bool:
        """True when both images show the same person."""
        return self.name1 == self.name2


@dataclass(frozen=True)
class Person:
    """One line of a people file: a name, how many images it has, and its fold (or None)."""

    name: str
    n_images: int
    fold: int | None


def _read_lines(path: str | os.PathLike[str]) -> list[list[str]]:
    """Return the non-empty lines of ``path`` split on whitespace, or raise DataError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read LFW protocol file ({error})") from error
    return [line.split() for line in text.splitlines() if line.strip()]


def _positive_ints(path: str | os.PathLike[str], fields: list[str], line_no: int) -> list[int]:
    """Parse ``fields`` as positive integers, naming the file and line when they are not."""
    try:
        values = [int(field) for field in fields]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise DataError(f"{path}:{line_no}: expected positive integers, got {' '.join(fields)!r}")
    return values


def _parse_pair(path: str | os.PathLike[str], fields: list[str], line_no: int, fold: int | None,
                mated: bool) -> Pair:
    """Parse one pairs line of the kind (mated or not) its position in the file requires."""
    if mated and len(fields) == 3:
        index1, index2 = _positive_ints(path, fields[1:], line_no)
        return Pair(fields[0], index1, fields[0], index2, fold)
    if not mated and len(fields) == 4:
        index1, index2 = _positive_ints(path, [fields[1], fields[3]], line_no)
        if fields[0] == fields[2]:
            raise DataError(f"{path}:{line_no}: a mismatched pair names {fields[0]} twice; it must name "
                            "two different people")
        return Pair(fields[0], index1, fields[2], index2, fold)
    expected = "name i j" if mated else "name1 i name2 j"
    raise DataError(f"{path}:{line_no}: expected a {'matched' if mated else 'mismatched'} "
                    f"pair '{expected}', got {' '.join(fields)!r}")


def read_pairs(path: str | os.PathLike[str]) -> list[Pair]:
    """Read an LFW pairs file of either layout (View 1 without folds, View 2 with folds).

    Parameters
    ----------
    path
        ``pairsDevTrain.txt``, ``pairsDevTest.txt`` or ``pairs.txt``.

    Returns
    -------
    list of Pair
        In file order; ``fold`` is None for View 1 files, 0..folds-1 for View 2.

    Raises
    ------
    DataError
        The file is unreadable, its header is not ``N`` or ``folds N`` (at least 2 folds), or a
        line does not match the matched/mismatched layout its position requires, or a
        mismatched pair names one person twice (names file and line).
    """
    lines = _read_lines(path)
    if not lines or len(lines[0]) not in (1, 2):
        raise DataError(f"{path}: first line must be 'N' or 'folds N' (LFW pairs file)")
    header = _positive_ints(path, lines[0], 1)
    n_folds, per_kind = (None, header[0]) if len(header) == 1 else header
    if n_folds is not None and n_folds < 2:
        raise DataError(f"{path}: header 'folds N' with {n_folds} fold: k-fold accuracy needs at least 2 "
                        "(one split is written 'N')")
    expected = (n_folds or 1) * 2 * per_kind
    if len(lines) - 1 != expected:
        raise DataError(f"{path}: header promises {expected} pairs, file has {len(lines) - 1}")
    pairs = []
    for position, fields in enumerate(lines[1:]):
        fold, within = divmod(position, 2 * per_kind)
        pairs.append(_parse_pair(path, fields, position + 2, None if n_folds is None else fold,
                                 mated=within < per_kind))
    return pairs


def read_people(path: str | os.PathLike[str]) -> list[Person]:
    """Read an LFW people file of either layout.

    Parameters
    ----------
    path
        ``peopleDevTrain.txt``, ``peopleDevTest.txt`` or ``people.txt``.

    Returns
    -------
    list of Person
        In file order; ``fold`` is None for View 1 files.

    Raises
    ------
    DataError
        The file is unreadable or its counts do not match its lines (names file and line).
    """
    lines = _read_lines(path)
    if not lines or len(lines[0]) != 1:
        raise DataError(f"{path}: first line must be a count (LFW people file)")
    first = _positive_ints(path, lines[0], 1)[0]
    with_folds = len(lines) > 1 and len(lines[1]) == 1
    groups = []
    cursor = 1
    for fold in range(first) if with_folds else [None]:
        if with_folds:
            if cursor >= len(lines) or len(lines[cursor]) != 1:
                raise DataError(f"{path}:{cursor + 1}: expected the count of fold {fold}")
            count = _positive_ints(path, lines[cursor], cursor + 1)[0]
            cursor += 1
        else:
            count = first
        groups.append((fold, lines[cursor:cursor + count], cursor))
        cursor += count
    if cursor != len(lines):
        raise DataError(f"{path}: counts promise {cursor - 1} lines, file has {len(lines) - 1}")
    people = []
    for fold, group, start in groups:
        for offset, fields in enumerate(group):
            if len(fields) != 2:
                raise DataError(f"{path}:{start + offset + 1}: expected 'name n_images', "
                                f"got {' '.join(fields)!r}")
            n_images = _positive_ints(path, fields[1:], start + offset + 1)[0]
            people.append(Person(fields[0], n_images, fold))
    return people


def lfw_image_path(root: str | os.PathLike[str], name: str, index: int) -> Path:
    """Path of image ``index`` (1-based) of ``name`` under ``root``: ``root/Name/Name_0001.jpg``."""
    return Path(root) / name / f"{name}_{index:04d}.jpg"
