"""Gallery / probe splits on the bundled lfw-mini: sizes, determinism and leak checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalharness.config.experiment import ProtocolSettings
from evalharness.data.folder import open_dataset
from evalharness.evaluation.protocol import (
    Image,
    ProtocolError,
    Split,
    build_split,
    check_split,
    limit_probes,
)


@pytest.fixture(scope="module")
def records(lfw_mini: Path):
    return open_dataset(lfw_mini).records


def test_default_split_of_lfw_mini(records) -> None:
    split = build_split(records, ProtocolSettings(), seed=0)
    by_identity: dict[str, int] = {}
    for record in records:
        by_identity[record.identity] = by_identity.get(record.identity, 0) + 1
    enrollable = {name for name, n in by_identity.items() if n > 1}
    assert set(split.gallery_identities()) == enrollable
    assert len(split.gallery) == len(enrollable)
    assert len(split.mated) == sum(by_identity[name] - 1 for name in enrollable)
    assert {i.identity for i in split.nonmated} == set(by_identity) - enrollable
    # Gallery is the first image by sorted path.
    for image in split.gallery:
        assert image.relpath == min(r.relpath for r in records if r.identity == image.identity)


def test_split_is_seeded(records) -> None:
    settings = ProtocolSettings(gallery_choice="random", enrolled_identities=30, nonmated_identities=20,
                                holdout_identities=5, gallery_size=60)
    first, again = build_split(records, settings, 7), build_split(records, settings, 7)
    assert first == again
    other = build_split(records, settings, 8)
    assert first.gallery != other.gallery
    assert len(first.gallery_identities()) == 60
    # Held-out multi-image identities are probed as non-mated, all their images up to the cap.
    assert len({i.identity for i in first.nonmated}) == 20


def test_k_gallery_images_and_caps(records) -> None:
    split = build_split(records, ProtocolSettings(gallery_images_per_identity=2, mated_per_identity=1,
                                                  nonmated_per_identity=1), seed=0)
    counts: dict[str, int] = {}
    for image in split.gallery:
        counts[image.identity] = counts.get(image.identity, 0) + 1
    assert set(counts.values()) == {2}
    assert len(split.mated) == len(counts)


def test_gallery_size_beyond_the_data_is_refused(records) -> None:
    with pytest.raises(ProtocolError, match="gallery_size"):
        build_split(records, ProtocolSettings(gallery_size=100_000), seed=0)


def test_check_split_catches_each_leak() -> None:
    a1, a2, b1 = Image("a", "a/1.jpg"), Image("a", "a/2.jpg"), Image("b", "b/1.jpg")
    check_split(Split((a1,), (a2,), (b1,)))
    with pytest.raises(ProtocolError, match="also gallery images"):
        check_split(Split((a1,), (a1,), (b1,)))
    with pytest.raises(ProtocolError, match="non-mated identities are in the gallery"):
        check_split(Split((a1, b1), (a2,), (Image("b", "b/2.jpg"),)))
    with pytest.raises(ProtocolError, match="not in the gallery"):
        check_split(Split((a1,), (a2, Image("c", "c/2.jpg")), ()))


def test_limit_keeps_a_seeded_subset(records) -> None:
    split = build_split(records, ProtocolSettings(), seed=0)
    limited = limit_probes(split, 50, seed=0)
    assert len(limited.probes()) == 50
    assert limited == limit_probes(split, 50, seed=0)
    assert set(limited.probes()) <= set(split.probes())
    assert limited.mated and limited.nonmated
    assert limit_probes(split, None, seed=0) == split
