"""The run directory's files, each written atomically, and which conditions are finished.

Every file is written to a temporary name in its final directory and moved into place with
:func:`os.replace`, which is atomic on one filesystem: a run killed at any moment leaves each
file either complete or absent, never half-written. A condition is finished exactly when its
``conditions/<id>.parquet`` exists. Nothing here uses pickle.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from evalharness.errors import DataError, OutputError

CONDITIONS_DIR = "conditions"


def _atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, flush it, then rename it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
    except OSError as error:
        raise OutputError(f"{path.parent}: cannot write here: {error.strerror}") from None
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); give it the permissions a plain open would.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        with tmp.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except OSError as error:
        raise OutputError(f"{path}: cannot be written: {error.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return _atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def read_json(path: Path, missing: str = "") -> Any:
    """Read a run directory's JSON file.

    Raises :class:`DataError` naming the file when it is missing (``missing`` says why it might
    be, defaulting to "is this a finished run directory?") or not valid JSON.
    """
    path = Path(path)
    if not path.is_file():
        hint = missing or f"is {path.parent} a finished evalharness run directory?"
        raise DataError(f"{path}: missing; {hint}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not valid JSON: {error}") from None


def read_parquet(path: Path, missing: str = "") -> pd.DataFrame:
    """Read a run directory's Parquet table; errors as :func:`read_json`'s."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: missing; {missing or f'is {path.parent} a finished evalharness run directory?'}")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable Parquet table: {error}") from None


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as indented, key-sorted JSON atomically."""
    return write_text(path, json.dumps(value, indent=2, sort_keys=True, allow_nan=True) + "\n")


def write_parquet(path: Path, table: pd.DataFrame) -> Path:
    """Write ``table`` (without its index) as Parquet atomically."""
    return _atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow"))


def remove_partial_files(run_dir: Path) -> list[Path]:
    """Delete the temporary files a killed run left under ``run_dir``; returns their paths.

    Only names :func:`_atomic_write` makes (``.<name>.<random>.tmp``) are removed.
    """
    partial = sorted(path for path in Path(run_dir).rglob(".*.tmp") if path.is_file())
    for path in partial:
        path.unlink(missing_ok=True)
    return partial


def condition_path(run_dir: Path, condition_id: str, suffix: str = ".parquet") -> Path:
    """``RUN_DIR/conditions/<id><suffix>``."""
    return Path(run_dir) / CONDITIONS_DIR / f"{condition_id}{suffix}"


def completed_conditions(run_dir: Path) -> set[str]:
    """Ids of the conditions whose rows and JSON are stored and readable (temporary files are not
    counted). Both are written atomically, so a damaged one was damaged since: it is warned about
    and its condition is not counted, so that a resumed run evaluates it again."""
    done = set()
    for path in sorted((Path(run_dir) / CONDITIONS_DIR).glob("*.parquet")):
        if path.name.startswith("."):
            continue
        try:
            pq.read_metadata(path)
            json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            warnings.warn(f"{path.parent / path.stem}: damaged ({error}); the condition is evaluated again",
                          stacklevel=2)
            continue
        done.add(path.stem)
    return done


def read_rows(run_dir: Path, condition_ids: Iterable[str]) -> pd.DataFrame:
    """The per-probe rows of the given conditions, concatenated in the order given."""
    return pd.concat([pd.read_parquet(condition_path(run_dir, cid)) for cid in condition_ids],
                     ignore_index=True)
