"""Gallery / probe splits on the bundled lfw-mini: sizes, determinism and leak checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalharness.config.experiment import ProtocolSettings
from evalharness.config.profile import CameraProfile, load_profile, with_overrides
from evalharness.data.folder import open_dataset
from evalharness.data.views import View
from evalharness.evaluation.protocol import (
    Image,
    ProtocolError,
    Split,
    build_split,
    check_split,
    for_camera_view,
    for_condition,
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


# -- choosing photographs by view (views.csv) ----------------------------------------------------
#: FRMDB's studio views (Img_XY: X the yaw index, Y the pitch index; see frmdb-dev's README).
STUDIO_VIEWS = {f"Img_{x}{y}.png": View(yaw, pitch) for x, yaw in ((2, -45.0), (3, 0.0), (4, 45.0))
                for y, pitch in ((1, 60.0), (2, 30.0), (3, 0.0))}


def _studio(people: int) -> tuple[list[Image], dict[str, View]]:
    records = [Image(f"p{i}", f"p{i}/{name}") for i in range(people) for name in sorted(STUDIO_VIEWS)]
    return records, {record.relpath: STUDIO_VIEWS[record.relpath.split("/")[1]] for record in records}


def test_frontal_gallery_and_the_view_nearest_the_camera() -> None:
    records, views = _studio(3)
    settings = ProtocolSettings(gallery_choice="frontal", probe_view="camera")
    split = build_split(records, settings, seed=0, views=views)
    assert [image.relpath for image in split.gallery] == ["p0/Img_33.png", "p1/Img_33.png", "p2/Img_33.png"]
    assert len(split.mated) == 3 * 8
    # Camera 20 deg above the eyes, straight ahead: the 30-degree view (10 deg off) beats level
    # views turned 45 deg and the 60-degree view (40 deg off); the frontal one is the gallery's.
    chosen = for_camera_view(split, views, yaw_deg=0.0, pitch_deg=20.0)
    assert [image.relpath for image in chosen.mated] == ["p0/Img_32.png", "p1/Img_32.png", "p2/Img_32.png"]
    assert chosen.gallery == split.gallery
    assert [image.relpath for image in for_camera_view(split, views, yaw_deg=0.0, pitch_deg=50.0).mated][0] \
        == "p0/Img_31.png"
    assert [image.relpath for image in for_camera_view(split, views, yaw_deg=40.0, pitch_deg=5.0).mated][0] \
        == "p0/Img_43.png"


def test_views_are_needed_for_every_photograph() -> None:
    records, views = _studio(2)
    with pytest.raises(ProtocolError, match=r"views\.csv"):
        build_split(records, ProtocolSettings(probe_view="camera"), seed=0)
    del views["p1/Img_21.png"]
    with pytest.raises(ProtocolError, match=r"no view for 1 photograph\(s\): p1/Img_21\.png"):
        build_split(records, ProtocolSettings(gallery_choice="frontal"), seed=0, views=views)


def _camera(**values: float) -> CameraProfile:
    return with_overrides(load_profile("ir-two-lane"), {"lateral_offset_m": 0.0, "face_height_m": 1.2} | values)


def test_condition_split_follows_the_camera_geometry() -> None:
    records, views = _studio(2)
    settings = ProtocolSettings(gallery_choice="frontal", probe_view="camera")
    split = build_split(records, settings, seed=0, views=views)
    # Camera 6 m high, eyes at 1.2 m: elevation atan(4.8 / 8) = 31 deg at 8 m, 6.8 deg at 40 m.
    near = for_condition(split, settings, views, _camera(mounting_height_m=6.0, distance_m=8.0))
    far = for_condition(split, settings, views, _camera(mounting_height_m=6.0, distance_m=40.0))
    assert {image.relpath.split("/")[1] for image in near.mated} == {"Img_32.png"}
    # At 6.8 deg the nearest non-gallery views are the 30-degree one (23 deg off) and the level
    # turned ones (45.0 deg off): the 30-degree view still.
    assert {image.relpath.split("/")[1] for image in far.mated} == {"Img_32.png"}
    steep = _camera(mounting_height_m=12.0, distance_m=5.0)
    assert {image.relpath.split("/")[1] for image in for_condition(split, settings, views, steep).mated} \
        == {"Img_31.png"}  # 65 deg above
    # Without probe_view = "camera" every probe stays, whatever the camera.
    assert for_condition(split, ProtocolSettings(gallery_choice="frontal"), views, steep) is split


def test_asking_for_more_people_than_the_dataset_has_warns(records) -> None:
    """A count beyond what the dataset holds takes everyone, and says so (an open-set rate on
    fewer non-mated people than asked is not what the experiment states)."""
    with pytest.warns(UserWarning, match=r"protocol.nonmated_identities = 100000: the dataset has \d+ such people"):
        split = build_split(records, ProtocolSettings(nonmated_identities=100000), seed=0)
    assert split == build_split(records, ProtocolSettings(), seed=0)
