"""Wilson and subject-bootstrap intervals: known values and degenerate cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalharness.evaluation.intervals import (
    BOOTSTRAP,
    CLOPPER_PEARSON,
    clopper_pearson,
    settle,
    subject_bootstrap,
    wilson_interval,
)


def test_wilson_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # 0 of 10 and 10 of 10 keep within [0, 1] and mirror each other.
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 10)[1] == pytest.approx(1 - wilson_interval(10, 10)[0])


def test_wilson_without_trials_is_undefined() -> None:
    assert all(math.isnan(b) for b in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def _mean_of(values: np.ndarray):
    return lambda idx: float(values[idx].mean())


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(40), 3)
    hits = (rng.random(120) < 0.7).astype(float)
    first = subject_bootstrap({"rate": _mean_of(hits)}, subjects, np.random.default_rng(5))
    again = subject_bootstrap({"rate": _mean_of(hits)}, subjects, np.random.default_rng(5))
    assert first == again
    low, high = first["rate"]
    assert low < hits.mean() < high
    assert 0.05 < high - low < 0.4


def test_bootstrap_resamples_whole_subjects() -> None:
    # Each subject is all hits or all misses: resampling whole subjects keeps every resample's
    # rate a multiple of 1/4 (4 subjects), which probe-level resampling would not.
    subjects = np.repeat(np.arange(4), 5)
    hits = np.repeat([1.0, 0.0, 1.0, 0.0], 5)
    seen = []
    subject_bootstrap({"rate": lambda idx: seen.append(hits[idx].mean()) or 0.0}, subjects,
                      np.random.default_rng(1), n_resamples=200)
    assert set(np.round(np.array(seen) * 4, 9)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_bootstrap_single_subject_collapses_to_the_point() -> None:
    values = np.array([0.0, 1.0, 1.0])
    interval = subject_bootstrap({"rate": _mean_of(values)}, ["only"] * 3, np.random.default_rng(2))
    assert interval["rate"] == pytest.approx((2 / 3, 2 / 3))


def test_bootstrap_strata_keep_their_sizes_and_nan_is_skipped() -> None:
    strata = np.array([True] * 6 + [False] * 2)
    subjects = np.array(["a", "a", "b", "b", "c", "c", "x", "y"])
    sizes = []

    def count_mated(idx: np.ndarray) -> float:
        sizes.append(int(strata[idx].sum()))
        return math.nan

    result = subject_bootstrap({"n": count_mated}, subjects, np.random.default_rng(3), strata=strata,
                               n_resamples=50)
    assert set(sizes) == {6}  # 3 mated subjects of 2 probes each, whichever are drawn
    assert all(math.isnan(b) for b in result["n"])


def test_bootstrap_of_no_probes() -> None:
    result = subject_bootstrap({"rate": lambda idx: 1.0}, np.array([]), np.random.default_rng(0))
    assert all(math.isnan(b) for b in result["rate"])


def test_exact_interval_replaces_a_bootstrap_collapsed_at_0_or_1():
    """All 10 succeed: every resample gives 1, the bootstrap says [1, 1]; the exact interval's
    lower bound is 0.025 ** (1 / 10), where 10 successes in 10 has probability 2.5%."""
    low, high, method = settle(1.0, (1.0, 1.0), 10)
    assert method == CLOPPER_PEARSON and high == 1.0 and low == pytest.approx(0.025 ** 0.1)
    assert settle(0.0, (0.0, 0.0), 10)[:2] == pytest.approx((0.0, 1.0 - 0.025 ** 0.1))
    assert settle(0.5, (0.3, 0.7), 10) == (0.3, 0.7, BOOTSTRAP)
    assert settle(1.0, (0.9, 1.0), 10) == (0.9, 1.0, BOOTSTRAP)  # not collapsed: kept
    assert settle(0.5, (0.5, 0.5), 10) == (0.5, 0.5, BOOTSTRAP)  # one subject, not all-or-none
    assert all(math.isnan(bound) for bound in clopper_pearson(0, 0))  # no trials, no interval
