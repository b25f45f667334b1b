"""Identification rates in galleries other than the run's: a household of a few, a database of millions.

A run measures each mated probe's score against its mate (``s``) and against every other gallery
identity (the *non-mate*, or impostor, scores). From these, the rate in a gallery of another size
follows under one assumption, stated here once:

**Non-mate scores are independent draws from one distribution ``F``**, the condition's pooled
impostor scores (every detected probe's scores against the identities that are not its own).
Then a mated probe with mate score ``s`` is ranked first among ``N - 1`` non-mates with
probability ``G(s)^(N - 1)``, where ``G(s) = P(X < s)`` (a non-mate tied with the mate beats it,
as ties count throughout), and a non-mated search of ``N`` identities returns a candidate above
``T`` with probability ``1 - G(T)^N`` (the FPIR). It ignores that one probe's non-mate scores are
correlated (a blurred probe scores low against everyone), so it is checked against direct
measurement (``benchmarks/projection_check.py``, ``tests/evaluation/test_projection.py``).

- :func:`household_chances`: rank 1 among ``g - 1`` non-mates drawn *without replacement from the
  probe's own non-mate scores*: exact for a random household, no distributional assumption.
- :func:`database_hit_rate`: rank 1 with a score above the threshold that gives the stated FPIR in
  a database of ``N`` (1 - FNIR(N, R=1, T)), with ``G`` from the impostor scores: empirical in the
  body, a generalised Pareto tail fitted to the highest :data:`TAIL_FRACTION` of them beyond
  (peaks over threshold, Pickands 1975; Balkema & de Haan 1974), because ``N = 10^7`` needs
  ``G`` near ``1 - 10^-9``, far past what tens of thousands of impostor scores resolve. The tail
  is fitted by probability-weighted moments (Hosking & Wallis 1987), closed-form and so cheap
  enough for every bootstrap resample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

#: Fraction of the impostor scores, highest first, whose excesses the Pareto tail is fitted to.
TAIL_FRACTION = 0.01
#: Fewest excesses the tail fit accepts; with fewer the empirical distribution is used throughout.
MIN_TAIL_POINTS = 20


@dataclass(frozen=True)
class ImpostorModel:
    """The impostor (non-mate) score distribution: empirical body, generalised Pareto tail.

    ``descending`` holds the distinct scores' positions highest first and ``counted`` how many
    scores lie at or before each (cumulative counts, so a bootstrap resample's copies need no
    repeated array); above ``threshold`` (the score exceeded by a fraction ``tail_mass`` of them)
    the survival function is ``tail_mass * (1 + shape * (x - threshold) / scale) ** (-1 / shape)``
    (shape < 0: a bounded tail, as cosine scores are). ``scale`` is NaN when there were too few
    scores for a tail.
    """

    descending: np.ndarray
    counted: np.ndarray
    threshold: float
    tail_mass: float
    shape: float
    scale: float

    @property
    def size(self) -> int:
        """How many scores the distribution holds (copies counted)."""
        return int(self.counted[-1]) if self.counted.size else 0

    def highest(self, rank: np.ndarray | int) -> np.ndarray | float:
        """The score at 0-based ``rank`` from the top, copies counted."""
        return self.descending[np.searchsorted(self.counted, rank, side="right")]

    def exceedance(self, scores: ArrayLike) -> np.ndarray:
        """``P(X >= s)`` for each ``s`` of ``scores``: the chance a non-mate ties or beats it."""
        s = np.asarray(scores, dtype=np.float64)
        n = self.size
        at_or_above = np.searchsorted(-self.descending, -s, side="right")
        empirical = np.where(at_or_above > 0, self.counted[np.maximum(at_or_above - 1, 0)], 0) / n
        if math.isnan(self.scale):
            return empirical
        z = np.maximum(s - self.threshold, 0.0) / self.scale
        if abs(self.shape) < 1e-9:
            tail = np.exp(-z)
        else:
            base = np.maximum(1.0 + self.shape * z, 0.0)
            with np.errstate(divide="ignore"):
                tail = np.where(base > 0, base ** (-1.0 / self.shape), 0.0)
        return np.where(s > self.threshold, self.tail_mass * tail, empirical)

    def quantile_above(self, mass: float) -> float:
        """The score ``t`` with ``P(X > t) = mass`` (``mass`` in (0, 1))."""
        if math.isnan(self.scale) or mass >= self.tail_mass:
            n = self.size
            index = min(n - 1, max(0, math.ceil((1.0 - mass) * n) - 1))  # from the bottom
            return float(self.highest(n - 1 - index))
        ratio = mass / self.tail_mass
        if abs(self.shape) < 1e-9:
            return self.threshold - self.scale * math.log(ratio)
        return self.threshold + self.scale / self.shape * (ratio ** (-self.shape) - 1.0)

    def search_threshold(self, *, fpir: float, gallery_size: int) -> float:
        """The score ``T`` that a non-mated search of ``gallery_size`` identities exceeds with
        probability ``fpir`` (in (0, 1)), non-mates independent: ``P(X > T) = 1 - (1 - fpir)^(1/N)``
        per identity (at most that, between two scores of the empirical body)."""
        return self.quantile_above(-math.expm1(math.log1p(-fpir) / gallery_size))


def fit_impostors(scores: ArrayLike, *, copies: ArrayLike | None = None, presorted: bool = False,
                  tail_fraction: float = TAIL_FRACTION) -> ImpostorModel:
    """Fit :class:`ImpostorModel` to impostor scores (any order; highest first when ``presorted``),
    each counted ``copies`` times (a bootstrap resample's; once each by default).

    The tail is the generalised Pareto distribution of the excesses over the score exceeded by
    ``tail_fraction`` of them (in [0, 1); :data:`TAIL_FRACTION` in every run, other values for
    ``benchmarks/projection_check.py``; 0: no tail, the empirical distribution throughout), by
    probability-weighted moments: with ``a0`` the mean excess and ``a1`` the mean of
    ``(1 - p_i) y_(i)`` (``y`` ascending, plotting positions ``p_i = (i - 0.35) / n``), shape
    ``= 2 - a0 / (a0 - 2 a1)`` and scale ``= 2 a0 a1 / (a0 - 2 a1)``.
    """
    if not 0.0 <= tail_fraction < 1.0:
        raise ValueError(f"tail_fraction must lie in [0, 1), got {tail_fraction}")
    descending = np.asarray(scores, dtype=np.float64)
    copies = np.ones(descending.size, np.int64) if copies is None else np.asarray(copies, np.int64)
    if not presorted:
        order = np.argsort(-descending, kind="stable")
        descending, copies = descending[order], copies[order]
    counted = np.cumsum(copies)
    n = int(counted[-1]) if counted.size else 0
    k = int(tail_fraction * n)
    if k < MIN_TAIL_POINTS:
        return ImpostorModel(descending, counted, math.inf, 0.0, 0.0, math.nan)
    # Only the highest k + 1 scores (copies repeated) enter the fit.
    covering = int(np.searchsorted(counted, k + 1, side="left")) + 1
    top = np.repeat(descending[:covering], copies[:covering])[:k + 1]
    threshold = float(top[k])
    excess = top[:k][::-1] - threshold
    positions = (np.arange(1, k + 1) - 0.35) / k
    a0, a1 = float(excess.mean()), float(np.mean((1.0 - positions) * excess))
    if a0 <= 0.0 or a0 - 2.0 * a1 <= 0.0:  # all excesses equal: no tail to speak of
        return ImpostorModel(descending, counted, math.inf, 0.0, 0.0, math.nan)
    shape = 2.0 - a0 / (a0 - 2.0 * a1)
    scale = 2.0 * a0 * a1 / (a0 - 2.0 * a1)
    return ImpostorModel(descending, counted, threshold, k / n, shape, scale)


def database_hit_rate(mate_scores: ArrayLike, detected: ArrayLike, impostors: ImpostorModel,
                      *, gallery_size: int, fpir: float | None) -> float:
    """Projected fraction of mated searches in a gallery of ``gallery_size`` identities whose mate
    is ranked first (and, with ``fpir``, scores above the threshold giving that FPIR).

    Parameters
    ----------
    mate_scores : array_like, shape (P,)
        Mate score of each mated probe (any value where undetected).
    detected : array_like of bool, shape (P,)
        Undetected probes are misses.
    impostors : ImpostorModel
        The non-mate score distribution (:func:`fit_impostors`).
    gallery_size : int
        N, identities enrolled (the mate and N - 1 non-mates), >= 1.
    fpir : float or None
        Target FPIR of a non-mated search of the same gallery; None for closed-set rank 1.

    Returns
    -------
    float
        In [0, 1]; NaN without mated probes. Equals 1 - FNIR(N, R=1, T) of ISO/IEC 19795-1.
    """
    detected = np.asarray(detected, dtype=bool)
    if detected.size == 0:
        return math.nan
    s = np.asarray(mate_scores, dtype=np.float64)[detected]
    beaten = impostors.exceedance(s)
    # (1 - beaten) ** (N - 1) without underflow trouble for beaten near 0.
    ranked_first = np.exp((gallery_size - 1) * np.log1p(-np.minimum(beaten, 1.0 - 1e-300)))
    if fpir is not None:
        ranked_first = ranked_first * (s > impostors.search_threshold(fpir=fpir, gallery_size=gallery_size))
    return float(ranked_first.sum() / detected.size)


def household_chances(mate_scores: ArrayLike, detected: ArrayLike, nonmate_scores: list[np.ndarray],
                      *, household_size: int) -> np.ndarray:
    """Each mated probe's chance of rank 1 when searched against its mate and
    ``household_size - 1`` other people drawn at random from the run's gallery.

    For a probe with ``n`` non-mate scores of which ``c`` tie or beat its mate, the chance that a
    random draw of ``m = household_size - 1`` of them contains none of those ``c`` is
    ``C(n - c, m) / C(n, m)`` (hypergeometric); an undetected probe's chance is 0. With
    ``m >= n`` the whole gallery is the household. The household rank-1 rate is the mean.

    Parameters
    ----------
    mate_scores, detected : array_like, shape (P,)
        As in :func:`database_hit_rate`.
    nonmate_scores : list of P arrays
        Each probe's scores against the gallery identities that are not its own.
    household_size : int
        g >= 1: the keeper's household or named drivers, the true driver among them.

    Returns
    -------
    numpy.ndarray of float64, shape (P,)
        Chances in [0, 1].
    """
    chances = np.zeros(len(nonmate_scores))
    for i, (score, found, others) in enumerate(zip(np.asarray(mate_scores, dtype=np.float64),
                                                   np.asarray(detected, dtype=bool), nonmate_scores,
                                                   strict=True)):
        n = len(others)
        c = int(np.count_nonzero(np.asarray(others) >= score))
        draw = min(household_size - 1, n)
        if found and c <= n - draw:  # else every draw holds a non-mate at or above the mate
            chances[i] = math.exp(_log_choose(n - c, draw) - _log_choose(n, draw))
    return chances


def _log_choose(n: int, k: int) -> float:
    return float(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
