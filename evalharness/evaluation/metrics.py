"""Identification metrics on per-probe results, in the terms of ISO/IEC 19795-1:2021.

A *search* compares one probe against a gallery of N enrolled identities and gives one
similarity score per identity (higher is more alike; with several gallery images per
identity, the identity's score is the best of them). A *mated* probe shows an enrolled
identity (its *mate*); a *non-mated* probe shows an identity that is not enrolled.

Conventions (stated here once; every function follows them):

- **Ties are counted pessimistically.** The rank of the mate is one plus the number of
  non-mate identities whose score is *greater than or equal to* the mate's score, so a mate
  tied with a non-mate is not credited with the better rank. Likewise a mate whose score
  equals the decision threshold is a miss.
- **An undetected probe returns no candidates.** For a mated probe it is a failure to
  identify at every rank and threshold (ISO/IEC 19795-1 counts a failure to acquire against
  the system); for a non-mated probe it is a correct rejection (no false positive is
  possible). Undetected non-mated probes are represented by a best score of ``-inf``.
- **Open-set errors.** FPIR(T) is the fraction of non-mated searches whose best score is
  above T. FNIR(N, R, T) is the fraction of mated searches where the mate is not returned at
  rank R or better with a score above T (the threshold is exclusive, as above); R = 1 here by
  default (the top candidate is the decision, as a lights-out identification system would use it).
- **Threshold at a target FPIR** is set from the non-mated scores alone: the lowest threshold
  whose FPIR does not exceed the target. With fewer than ``1 / fpir`` non-mated searches only
  an FPIR of zero is admissible, so the threshold lies above every non-mated score. With no
  non-mated probes the threshold, and so FNIR, is undefined (NaN).

All functions are pure, take numpy arrays of per-probe values and return plain floats.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def mate_ranks(scores: ArrayLike, mate_index: ArrayLike) -> np.ndarray:
    """Rank of each probe's mate in its candidate list, ties counted pessimistically.

    Parameters
    ----------
    scores : array_like, shape (P, N)
        Similarity of each of P probes to each of N gallery identities.
    mate_index : array_like of int, shape (P,)
        Column of each probe's mate in ``scores``.

    Returns
    -------
    numpy.ndarray of int64, shape (P,)
        1 + the number of other identities scoring at least as high as the mate; in [1, N].

    Examples
    --------
    >>> mate_ranks([[0.9, 0.5, 0.9], [0.1, 0.8, 0.3]], [0, 1]).tolist()
    [2, 1]
    """
    scores = np.asarray(scores, dtype=np.float64)
    mate_index = np.asarray(mate_index, dtype=np.int64)
    rows = np.arange(scores.shape[0])
    mate_scores = scores[rows, mate_index]
    # Counting every identity at or above the mate's score (the mate included) is the rank.
    return (scores >= mate_scores[:, None]).sum(axis=1).astype(np.int64)


def identification_rate(ranks: ArrayLike, detected: ArrayLike, rank: int = 1) -> float:
    """Closed-set identification rate at ``rank``: mated probes identified at rank <= ``rank``.

    Parameters
    ----------
    ranks : array_like of int, shape (P,)
        Rank of the mate for each mated probe (any value where undetected).
    detected : array_like of bool, shape (P,)
        Whether the probe's face was detected; undetected probes count as misses.
    rank : int
        Largest rank that counts as a hit (1 for rank-1).

    Returns
    -------
    float
        In [0, 1]; NaN when there are no probes.
    """
    ranks = np.asarray(ranks)
    detected = np.asarray(detected, dtype=bool)
    if detected.size == 0:
        return math.nan
    return float(np.mean(detected & (ranks <= rank)))


def cmc(ranks: ArrayLike, detected: ArrayLike, max_rank: int) -> np.ndarray:
    """Cumulative match characteristic: identification rate at ranks 1 .. ``max_rank``.

    Parameters
    ----------
    ranks, detected : as in :func:`identification_rate`.
    max_rank : int
        Number of ranks to report.

    Returns
    -------
    numpy.ndarray of float64, shape (max_rank,)
        Non-decreasing rates in [0, 1] (NaN throughout when there are no probes).
    """
    return np.array([identification_rate(ranks, detected, r) for r in range(1, max_rank + 1)])


def threshold_at_fpir(nonmated_best: ArrayLike, fpir: float, weights: ArrayLike | None = None) -> float:
    """The decision threshold for a target false positive identification rate.

    A search is a positive when its score is strictly above the returned value. That value is
    the ``(floor(fpir * n) + 1)``-th highest non-mated best score, so at most
    ``floor(fpir * n)`` non-mated searches (and never part of a tie) score above it. The same
    rule gives a verification threshold at a false accept rate, from impostor scores.

    Parameters
    ----------
    nonmated_best : array_like, shape (M,)
        Best score of each non-mated search; ``-inf`` for a probe with no detected face.
    fpir : float
        Target FPIR in [0, 1].
    weights : array_like of int, shape (M,), optional
        How many times each search counts (a bootstrap resample's copies); 1 each by default.

    Returns
    -------
    float
        The exclusive threshold; ``-inf`` when every search may be positive, NaN when there
        are no searches.

    Examples
    --------
    >>> threshold_at_fpir([0.2, 0.9, 0.5, 0.4], 0.25)
    0.5
    """
    scores = np.asarray(nonmated_best, dtype=np.float64)
    weights = np.ones(scores.size, np.int64) if weights is None else np.asarray(weights, np.int64)
    if not np.all(scores[:-1] >= scores[1:]):  # callers that repeat a search pass sorted scores
        order = np.argsort(-scores, kind="stable")
        scores, weights = scores[order], weights[order]
    return threshold_of_counts(scores, np.cumsum(weights), fpir)


def threshold_of_counts(descending: np.ndarray, counted: np.ndarray, fpir: float) -> float:
    """:func:`threshold_at_fpir` of scores sorted highest first, ``descending (M,)``, given
    ``counted (M,)``: the cumulative count of searches at or before each (a bootstrap resample
    computes them once for several rates)."""
    if not 0.0 <= fpir <= 1.0:
        raise ValueError(f"fpir must lie in [0, 1]; got {fpir}")
    total = int(counted[-1]) if counted.size else 0
    if total == 0:
        return math.nan
    allowed = math.floor(fpir * total + 1e-9)
    # The first score, from the top, whose cumulative count passes the allowance.
    position = int(np.searchsorted(counted, allowed, side="right"))
    return -math.inf if position >= descending.size else float(descending[position])


def fnir_at_threshold(
    ranks: ArrayLike, mate_scores: ArrayLike, detected: ArrayLike, threshold: float, rank: int = 1
) -> float:
    """FNIR(N, R, T): mated searches whose mate is not at rank <= R with score above T.

    Parameters
    ----------
    ranks : array_like of int, shape (P,)
        Rank of the mate of each mated probe.
    mate_scores : array_like, shape (P,)
        Score of the mate (any value where undetected).
    detected : array_like of bool, shape (P,)
        Undetected probes are misses.
    threshold : float
        Exclusive threshold from :func:`threshold_at_fpir` (a mate must score above it).
    rank : int
        R, the largest rank that counts.

    Returns
    -------
    float
        In [0, 1]; NaN when there are no mated probes or the threshold is NaN.
    """
    detected = np.asarray(detected, dtype=bool)
    if detected.size == 0 or math.isnan(threshold):
        return math.nan
    hit = detected & (np.asarray(ranks) <= rank) & (np.asarray(mate_scores, dtype=np.float64) > threshold)
    return float(1.0 - np.mean(hit))


def fnir_at_fpir(
    ranks: ArrayLike,
    mate_scores: ArrayLike,
    detected: ArrayLike,
    nonmated_best: ArrayLike,
    fpir: float,
    rank: int = 1,
) -> float:
    """FNIR at the threshold that gives ``fpir`` on the non-mated searches.

    Combines :func:`threshold_at_fpir` and :func:`fnir_at_threshold`; see the module notes
    for how undetected probes and ties count.

    Examples
    --------
    >>> fnir_at_fpir([1, 1, 2], [0.8, 0.4, 0.9], [True, True, True], [0.3, 0.5, 0.6, 0.2], 0.25)
    0.6666666666666667
    """
    threshold = threshold_at_fpir(nonmated_best, fpir)
    return fnir_at_threshold(ranks, mate_scores, detected, threshold, rank)
