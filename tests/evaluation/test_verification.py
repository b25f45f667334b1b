"""Verification metrics against brute-force definitions and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from evalharness.evaluation.verification import (
    best_threshold,
    kfold_accuracy,
    roc_auc,
    tar_at_far,
    verify_pairs,
)


def _random_scores(seed: int, n: int = 300, tie_levels: int | None = None):
    rng = np.random.default_rng(seed)
    is_mated = rng.random(n) < 0.5
    scores = rng.normal(0, 1, n) + 1.2 * is_mated
    if tie_levels:  # coarse scores, so that many pairs tie
        scores = np.round(scores * tie_levels) / tie_levels
    return scores, is_mated


def _far_tar(scores, is_mated, threshold):
    accepted = scores >= threshold
    return accepted[~is_mated].mean(), accepted[is_mated].mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_is_the_probability_a_mated_pair_outscores_a_non_mated_one(seed):
    scores, is_mated = _random_scores(seed, tie_levels=4)
    mated, non_mated = scores[is_mated][:, None], scores[~is_mated][None, :]
    expected = np.mean((mated > non_mated) + 0.5 * (mated == non_mated))
    assert roc_auc(scores, is_mated) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("seed", "tie_levels"), [(0, None), (1, 3), (2, 1)])
@pytest.mark.parametrize("far", [0.0, 0.01, 0.1, 0.5])
def test_tar_at_far_is_the_best_tar_whose_far_does_not_exceed_the_limit(seed, tie_levels, far):
    scores, is_mated = _random_scores(seed, tie_levels=tie_levels)
    candidates = np.append(np.unique(scores), np.inf)
    admissible = [tar for t in candidates for f, tar in [_far_tar(scores, is_mated, t)] if f <= far]
    assert tar_at_far(scores, is_mated, far) == pytest.approx(max(admissible))


def test_tar_at_far_rejects_a_tie_that_would_exceed_the_far():
    # Two of four non-mated pairs tie with a mated pair at 0.8: accepting the tie gives FAR 0.5.
    scores = np.array([0.9, 0.8, 0.8, 0.8, 0.1, 0.2])
    is_mated = np.array([True, True, False, False, False, False])
    assert tar_at_far(scores, is_mated, 0.25) == 0.5  # only 0.9 accepted
    assert tar_at_far(scores, is_mated, 0.5) == 1.0


def test_tar_at_far_rejects_bad_input():
    with pytest.raises(ValueError, match="far"):
        tar_at_far([0.1, 0.2], [True, False], 1.5)
    with pytest.raises(ValueError, match="both mated and non-mated"):
        tar_at_far([0.1, 0.2], [True, True], 0.1)
    with pytest.raises(ValueError, match="finite"):
        roc_auc([np.nan, 0.2], [True, False])


@pytest.mark.parametrize("seed", [0, 3])
def test_best_threshold_maximises_accuracy(seed):
    scores, is_mated = _random_scores(seed, tie_levels=5)
    threshold, accuracy = best_threshold(scores, is_mated)
    assert np.mean((scores >= threshold) == is_mated) == pytest.approx(accuracy)
    every = [np.mean((scores >= t) == is_mated) for t in np.append(np.unique(scores), np.inf)]
    assert accuracy == pytest.approx(max(every))


def test_kfold_accuracy_uses_the_threshold_of_the_other_folds():
    # Each fold alone separates perfectly, but fold 2 must use the threshold learnt on folds
    # 0 and 1 (0.8, the lowest score-valued threshold separating them), which rejects its 0.7.
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.6])
    is_mated = np.array([True, False, True, False, True, False])
    result = kfold_accuracy(scores, is_mated, [0, 0, 1, 1, 2, 2])
    assert result.fold_accuracies[:2] == (1.0, 1.0)
    assert result.thresholds[2] == 0.8
    assert result.fold_accuracies[2] == 0.5
    assert result.accuracy == pytest.approx(2.5 / 3)


def test_verify_pairs_reports_both_protocols():
    scores, is_mated = _random_scores(4, n=400)
    plain = verify_pairs(scores, is_mated)
    assert plain.folds == 0 and plain.accuracy_std is None and plain.threshold is not None
    assert plain.pairs == 400
    folded = verify_pairs(scores, is_mated, np.arange(400) % 10)
    assert folded.folds == 10 and folded.threshold is None
    # Cross-validation cannot beat the threshold chosen on all pairs.
    assert folded.accuracy <= plain.accuracy + 1e-12
    assert folded.auc == plain.auc == roc_auc(scores, is_mated)
    assert plain.tar_at_far_1e_3 == tar_at_far(scores, is_mated, 1e-3)
