"""Fixtures for the data tests: real LFW photographs (bundled lfw-mini), and files made from them."""

from __future__ import annotations

import csv
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_jpeg(lfw_mini: Path) -> Path:
    """One real 250x250 LFW photograph."""
    return lfw_mini / "Al_Gore" / "Al_Gore_0001.jpg"


@pytest.fixture(scope="session")
def people_counts(lfw_mini: Path) -> dict[str, int]:
    """Images per person, read from lfw-mini's ``manifest.csv`` (independent of the loader)."""
    with (lfw_mini / "manifest.csv").open(newline="") as manifest:
        return dict(Counter(row["identity"] for row in csv.DictReader(manifest)))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture(scope="session")
def write_bomb_png() -> Callable[[Path, int, int], Path]:
    """Write a 200-byte PNG whose header claims ``width x height`` RGB pixels.

    Its pixel data is far too short for that size, so a loader that decoded it before
    checking the header would fail with "truncated", not with a size refusal.
    """

    def write(path: Path, width: int, height: int) -> Path:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        path.write_bytes(
            b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
            + _png_chunk(b"IEND", b"")
        )
        return path

    return write
