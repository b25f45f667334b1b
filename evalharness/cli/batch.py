"""Commands over several files: a bad file is reported and the others are still processed.

``degrade`` and ``quality`` take several images. One that cannot be read must not cost the
others their results: :func:`each` prints an ``error:`` line naming it and goes on, and
:func:`finish` then ends the command with the failures' exit status (after everything that
could be written was written).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import typer

from evalharness.errors import DataError

T = TypeVar("T")


@dataclass
class Batch(Generic[T]):
    """What :func:`each` did: results of the files that worked, and the files that did not."""

    total: int
    done: list[tuple[Path, T]] = field(default_factory=list)
    failed: list[Path] = field(default_factory=list)


def each(paths: Sequence[Path], work: Callable[[Path], T], *, single_raises: bool = True) -> Batch[T]:
    """``work(path)`` for every path; a :class:`DataError` is printed as one ``error:`` line and
    the next path is processed. With a single path its error is raised as it is, unless
    ``single_raises`` is false (``--json``: the caller still prints its document, listing it)."""
    batch: Batch[T] = Batch(len(paths))
    for path in paths:
        try:
            batch.done.append((path, work(path)))
        except DataError as error:
            if len(paths) == 1 and single_raises:
                raise
            typer.echo(f"error: {error}", err=True)
            batch.failed.append(path)
    return batch


def finish(batch: Batch[T]) -> None:
    """Raise a :class:`DataError` (exit 3) counting the failed files, if any failed."""
    if batch.failed:
        raise DataError(f"{len(batch.failed)} of {batch.total} file(s) could not be processed "
                        f"(each named above); the other {len(batch.done)} were processed")
