"""95% confidence intervals for rates: Wilson for plain proportions, bootstrap over subjects.

One person's images are correlated (same face, often the same shoot), so treating probes as
independent understates the uncertainty. :func:`subject_bootstrap` resamples *subjects* with
replacement and takes all of each drawn subject's probes (Bolle, Ratha & Pankanti, "Evaluation
techniques for biometrics-based authentication systems", ICPR 2000), then reads the interval
from the percentiles of the recomputed statistic. :func:`wilson_interval` is the score interval
for a binomial proportion k / n (Wilson 1927), exact enough for small n and never outside [0, 1].
Where every resample gives the same 0 or 1 (all probes succeed, or none), the bootstrap interval
collapses to a point; :func:`settle` then gives the exact binomial (Clopper-Pearson 1934) interval
instead and names the method used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import binomtest, norm

Interval = tuple[float, float]
#: Names of the interval methods, as the summary's ``<metric>_interval`` columns give them.
BOOTSTRAP, CLOPPER_PEARSON = "bootstrap", "clopper-pearson"


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> Interval:
    """Wilson score interval for a proportion.

    Parameters
    ----------
    successes : int
        Number of successes k, 0 <= k <= n.
    trials : int
        Number of trials n.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    (low, high) : tuple of float
        Bounds in [0, 1]; (NaN, NaN) when ``trials`` is 0.

    Examples
    --------
    >>> [round(b, 4) for b in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials; got {successes} of {trials}")
    if trials == 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + level / 2.0))
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # Exact bounds at the extremes (the formula gives them only up to rounding).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def subject_bootstrap(
    statistics: Mapping[str, Callable[[np.ndarray], float]],
    subjects: ArrayLike,
    rng: np.random.Generator,
    strata: ArrayLike | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Percentile bootstrap intervals, resampling subjects with replacement.

    Each resample draws, within each stratum, as many subjects as the stratum holds, with
    replacement, and keeps every probe of every drawn subject (a subject drawn twice counts
    twice). Every statistic is evaluated on the same resamples.

    Parameters
    ----------
    statistics : mapping of name to callable
        Each takes an index array into the probes (with repeats) and returns a float; NaN
        results (an undefined statistic in that resample) are left out of the percentiles.
    subjects : array_like, shape (P,)
        Subject label of each probe.
    rng : numpy.random.Generator
        Source of the resampling; seed it for reproducible intervals.
    strata : array_like, shape (P,), optional
        Stratum of each probe (for example mated / non-mated), resampled separately so each
        resample keeps the number of subjects per stratum. A subject must lie in one stratum.
    n_resamples : int
        Number of bootstrap resamples B.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    dict of name to (low, high)
        (NaN, NaN) for a statistic that is NaN in every resample. With a single subject
        every resample is the original sample, so the interval collapses to the point value:
        the data then say nothing about between-subject spread.
    """
    subject_codes = np.unique(np.asarray(subjects), return_inverse=True)[1].ravel()
    strata_codes = (
        np.zeros_like(subject_codes) if strata is None
        else np.unique(np.asarray(strata), return_inverse=True)[1].ravel()
    )
    n_subjects = int(subject_codes.max()) + 1 if subject_codes.size else 0
    stratum_of_subject = np.zeros(n_subjects, dtype=np.int64)
    stratum_of_subject[subject_codes] = strata_codes
    pools = [np.flatnonzero(stratum_of_subject == s) for s in np.unique(stratum_of_subject)]
    probe_index = np.arange(subject_codes.size)

    values: dict[str, list[float]] = {name: [] for name in statistics}
    for _ in range(n_resamples if subject_codes.size else 0):
        drawn = np.concatenate([rng.choice(pool, size=pool.size, replace=True) for pool in pools])
        copies = np.bincount(drawn, minlength=n_subjects)[subject_codes]
        resample = np.repeat(probe_index, copies)
        for name, statistic in statistics.items():
            values[name].append(statistic(resample))

    alpha = (1.0 - level) / 2.0
    intervals = {}
    for name, samples in values.items():
        finite = np.asarray(samples, dtype=np.float64)
        finite = finite[~np.isnan(finite)]
        if finite.size == 0:
            intervals[name] = (math.nan, math.nan)
        else:
            low, high = np.quantile(finite, [alpha, 1.0 - alpha])
            intervals[name] = (float(low), float(high))
    return intervals


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval for a proportion; (NaN, NaN) when ``trials`` is 0.

    Examples
    --------
    >>> [round(b, 4) for b in clopper_pearson(10, 10)]
    [0.6915, 1.0]
    """
    if trials == 0:
        return math.nan, math.nan
    interval = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return float(interval.low), float(interval.high)


def settle(estimate: float, bootstrap: Interval, trials: int, level: float = 0.95) -> tuple[float, float, str]:
    """The interval to report for a rate: the bootstrap's, unless it collapsed at 0 or 1.

    Parameters
    ----------
    estimate : float
        The rate on all probes, in [0, 1] (or NaN).
    bootstrap : (low, high)
        Its subject-bootstrap interval.
    trials : int
        The attempts the rate is a fraction of (mated probes, usually).

    Returns
    -------
    (low, high, method)
        ``method`` is :data:`BOOTSTRAP`, or :data:`CLOPPER_PEARSON` when ``estimate`` is 0 or 1
        and the bootstrap interval has zero width (all successes or none).
    """
    low, high = bootstrap
    if trials > 0 and estimate in (0.0, 1.0) and low == high:
        return (*clopper_pearson(round(estimate * trials), trials, level), CLOPPER_PEARSON)
    return low, high, BOOTSTRAP
