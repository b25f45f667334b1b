"""Matching probes against the gallery: each identity scores its best gallery image."""

from __future__ import annotations

import numpy as np

from evalharness.evaluation.matching import identity_scores


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_identity_scores_take_each_identitys_best_gallery_image():
    rng = np.random.default_rng(3)
    probes, gallery = _unit(rng.normal(size=(7, 16))), _unit(rng.normal(size=(9, 16)))
    columns = np.array([2, 0, 1, 2, 0, 3, 1, 2, 3])  # identities with 2-3 images, unsorted
    scores = identity_scores(probes, gallery, columns, 4)
    cosine = probes.astype(np.float64) @ gallery.astype(np.float64).T
    for identity in range(4):
        np.testing.assert_array_equal(scores[:, identity], cosine[:, columns == identity].max(axis=1))


def test_identity_without_gallery_image_scores_minus_infinity():
    rng = np.random.default_rng(4)
    probes, gallery = _unit(rng.normal(size=(3, 8))), _unit(rng.normal(size=(2, 8)))
    scores = identity_scores(probes, gallery, np.array([0, 2]), 3)
    assert np.all(scores[:, 1] == -np.inf) and np.all(np.isfinite(scores[:, [0, 2]]))


def test_source_faces_do_not_depend_on_what_the_cache_held_before(lfw_mini, tmp_path, monkeypatch):
    """The same photograph gets the same face whichever photographs were detected with it or
    before it (MTCNN batches would move a near-tied box: Nan_Wang_0001 by 4.3 px)."""
    import torch

    from evalharness.data.folder import open_dataset
    from evalharness.evaluation.originals import detect_sources
    from evalharness.models import get_detector

    dataset = open_dataset(lfw_mini)
    relpaths = [record.relpath for record in dataset.records[:7]] + ["Nan_Wang/Nan_Wang_0001.jpg"]
    detector = get_detector("mtcnn", torch.device("cpu"))
    found = []
    for order, cache in ((relpaths, tmp_path / "a"), (relpaths[::-1][:2] + relpaths, tmp_path / "b")):
        monkeypatch.setenv("EVALHARNESS_CACHE", str(cache))
        detect_sources(dataset, order[:2], detector, "key")  # a different history per cache
        sources = detect_sources(dataset, relpaths, detector, "key")
        found.append(sources.boxes[sources.index(relpaths)])
    np.testing.assert_array_equal(found[0], found[1])


def test_decoded_batches_decode_each_batch_once_within_their_budget(lfw_mini, monkeypatch):
    """Every condition asks for the same batches of source photographs: a batch is decoded the
    first time only, and is the photographs as load_image gives them; past the byte budget a
    batch is decoded again each time, to the same pixels."""
    import torch

    from evalharness.data.folder import open_dataset
    from evalharness.data.images import load_image
    from evalharness.evaluation import originals

    dataset = open_dataset(lfw_mini)
    relpaths = [record.relpath for record in dataset.records[:4]]
    decodes = []
    monkeypatch.setattr(originals, "load_image", lambda path: decodes.append(path) or load_image(path))
    decoded = originals.DecodedBatches(dataset)
    first = decoded(relpaths)
    assert decoded(relpaths) is first and len(decodes) == 4
    assert torch.equal(torch.stack(first), torch.stack([load_image(dataset.root / relpath) for relpath in relpaths]))
    tight = originals.DecodedBatches(dataset, max_bytes=sum(face.nbytes for face in first) - 1)
    assert torch.equal(torch.stack(tight(relpaths)), torch.stack(first))
    assert torch.equal(torch.stack(tight(relpaths)), torch.stack(first))
    assert len(decodes) == 12
