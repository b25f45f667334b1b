"""Matching probes against the gallery: each identity scores its best gallery image."""

from __future__ import annotations

import numpy as np

from evalharness.evaluation.evaluator import identity_scores


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
