"""LFW protocol files: the real View 1 files, and View 2's layout written out small."""

from __future__ import annotations

import pytest

from evalharness.data.lfw import Pair, lfw_image_path, read_pairs, read_people
from evalharness.errors import DataError


def test_read_pairs_reads_the_real_devtrain_file(lfw_devtrain):
    pairs = read_pairs(lfw_devtrain / "pairsDevTrain.txt")
    assert len(pairs) == 2200
    assert sum(pair.is_mated for pair in pairs) == 1100
    assert all(pair.is_mated for pair in pairs[:1100])
    assert pairs[0] == Pair("Aaron_Peirsol", 1, "Aaron_Peirsol", 2, None)
    images = lfw_devtrain / "images"
    for pair in pairs[::97]:
        assert lfw_image_path(images, pair.name1, pair.index1).is_file()
        assert lfw_image_path(images, pair.name2, pair.index2).is_file()


def test_read_pairs_assigns_view_2_folds(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t1\tF\t1\n")
    pairs = read_pairs(path)
    assert [pair.fold for pair in pairs] == [0, 0, 1, 1]
    assert [pair.is_mated for pair in pairs] == [True, False, True, False]
    assert pairs[3] == Pair("E", 1, "F", 1, 1)


@pytest.mark.parametrize(("text", "message"), [
    ("2\nA\t1\t2\n", "promises 4 pairs"),
    ("1\nA\t1\nB\t1\tC\t1\n", ":2: expected a matched pair"),
    ("1\nA\t1\t2\nB\t1\tC\n", ":3: expected a mismatched pair"),
    ("1\nA\t0\t2\nB\t1\tC\t1\n", ":2: expected positive integers"),
    ("pairs\n", ":1: expected positive integers"),
    ("1 2 3\n", "first line must be"),
    ("1\nA\t1\t2\nB\t1\tB\t2\n", ":3: a mismatched pair names B twice"),
    ("1\t1\nA\t1\t2\nB\t1\tC\t1\n", "k-fold accuracy needs at least 2"),
])
def test_read_pairs_names_the_line_that_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as error:
        read_pairs(path)
    assert str(path) in str(error.value)


def test_read_people_reads_the_real_devtrain_file(lfw_devtrain):
    people = read_people(lfw_devtrain / "peopleDevTrain.txt")
    assert len(people) == 4038
    assert sum(person.n_images for person in people) == 9525
    assert people[0].fold is None


def test_read_people_reads_view_2_folds(tmp_path):
    path = tmp_path / "people.txt"
    path.write_text("2\n1\nA\t3\n2\nB\t1\nC\t2\n")
    assert [(p.name, p.n_images, p.fold) for p in read_people(path)] == [
        ("A", 3, 0), ("B", 1, 1), ("C", 2, 1)]
    path.write_text("2\n1\nA\t3\n3\nB\t1\nC\t2\n")
    with pytest.raises(DataError, match="counts promise"):
        read_people(path)


def test_lfw_image_path_uses_four_digit_numbers(tmp_path):
    assert lfw_image_path(tmp_path, "Ann_Lee", 7) == tmp_path / "Ann_Lee" / "Ann_Lee_0007.jpg"
