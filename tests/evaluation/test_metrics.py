"""Identification metrics against hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalharness.evaluation import metrics


def test_mate_rank_counts_ties_pessimistically() -> None:
    scores = [
        [0.9, 0.5, 0.1],  # mate (column 0) is best: rank 1
        [0.7, 0.7, 0.2],  # tie with one non-mate: rank 2, not 1
        [0.3, 0.3, 0.3],  # tie with every non-mate: rank 3
        [0.1, 0.8, 0.6],  # two non-mates above: rank 3
    ]
    assert metrics.mate_ranks(scores, [0, 0, 2, 0]).tolist() == [1, 2, 3, 3]


def test_identification_rate_and_cmc_count_undetected_as_misses() -> None:
    ranks = np.array([1, 2, 1, 5, 1])
    detected = np.array([True, True, False, True, True])
    # Rank 1: probes 0 and 4 (probe 2 has rank 1 but was not detected) -> 2 / 5.
    assert metrics.identification_rate(ranks, detected, 1) == pytest.approx(0.4)
    assert metrics.cmc(ranks, detected, 5).tolist() == pytest.approx([0.4, 0.6, 0.6, 0.6, 0.8])
    # Over detected probes only: 2 of 4.
    assert metrics.identification_rate(ranks[detected], detected[detected], 1) == pytest.approx(0.5)


def test_single_probe_and_empty_input() -> None:
    assert metrics.identification_rate([1], [True]) == 1.0
    assert metrics.identification_rate([2], [True]) == 0.0
    assert math.isnan(metrics.identification_rate([], []))


def test_threshold_at_fpir_by_hand() -> None:
    nonmated = [0.2, 0.9, 0.5, 0.4]
    # FPIR 0.25 of 4 searches allows 1 above the threshold: the 2nd highest score, 0.5.
    assert metrics.threshold_at_fpir(nonmated, 0.25) == 0.5
    # Fewer than 1 / fpir searches: none may pass, so the threshold is the highest score.
    assert metrics.threshold_at_fpir(nonmated, 0.1) == 0.9
    assert metrics.threshold_at_fpir(nonmated, 1.0) == -math.inf


def test_threshold_at_fpir_never_splits_a_tie() -> None:
    # Allowance 1 of 4, but the top two tie: admitting one admits both, so neither is.
    assert metrics.threshold_at_fpir([0.8, 0.8, 0.3, 0.1], 0.25) == 0.8


def test_threshold_weights_equal_repetition() -> None:
    scores = np.array([0.9, 0.7, 0.5, 0.3, 0.1])
    weights = np.array([0, 2, 1, 3, 1])
    repeated = np.repeat(scores, weights)
    for fpir in (0.0, 0.1, 0.3, 0.5, 0.9):
        assert metrics.threshold_at_fpir(scores, fpir, weights) == metrics.threshold_at_fpir(repeated, fpir)


def test_undetected_nonmated_probes_are_correct_rejections() -> None:
    # Two of four non-mated probes were not detected (-inf): at FPIR 0.5 the threshold is the
    # 3rd highest score, -inf, so any detected mate at rank 1 is a hit.
    assert metrics.threshold_at_fpir([0.6, 0.4, -math.inf, -math.inf], 0.5) == -math.inf


def test_fnir_at_fpir_by_hand() -> None:
    ranks = [1, 1, 2, 1]
    mate_scores = [0.8, 0.4, 0.9, 0.6]
    detected = [True, True, True, False]
    nonmated = [0.3, 0.5, 0.6, 0.2]
    # Threshold at FPIR 0.25: 0.5. Hits need rank 1, detected, score > 0.5: only probe 0.
    assert metrics.fnir_at_fpir(ranks, mate_scores, detected, nonmated, 0.25) == pytest.approx(0.75)
    # A mate scoring exactly the threshold is a miss.
    assert metrics.fnir_at_threshold([1], [0.5], [True], 0.5) == 1.0
    # Rank R = 2 admits probe 2 as well.
    assert metrics.fnir_at_fpir(ranks, mate_scores, detected, nonmated, 0.25, rank=2) == pytest.approx(0.5)


def test_fnir_without_nonmated_probes_is_undefined() -> None:
    assert math.isnan(metrics.threshold_at_fpir([], 0.01))
    assert math.isnan(metrics.fnir_at_fpir([1, 1], [0.9, 0.8], [True, True], [], 0.01))


def test_fpir_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="fpir"):
        metrics.threshold_at_fpir([0.1], 1.5)
