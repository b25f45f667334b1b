"""One-to-one verification: scores of image pairs, mated (same person) or not.

Scores are similarities: higher means "more likely the same person", and a pair is accepted
when ``score >= threshold``. The functions are pure, on numpy arrays, and wrap
:mod:`sklearn.metrics` where it has the computation.

- :func:`roc_auc`: area under the ROC curve.
- :func:`tar_at_far`: true accept rate at the threshold whose false accept rate is at most ``far``.
- :func:`best_threshold`: the single threshold with the highest accuracy, and that accuracy.
- :func:`kfold_accuracy`: LFW's protocol, the threshold chosen on the other folds.
- :func:`verify_pairs`: all of these for one pairs file, as ``evalharness pairs`` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score, roc_curve


def _checked(scores: ArrayLike, is_mated: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` as float64 and ``is_mated`` as bool, both (N,); both classes must be present."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    is_mated = np.asarray(is_mated, dtype=bool).ravel()
    if scores.shape != is_mated.shape:
        raise ValueError(f"scores {scores.shape} and is_mated {is_mated.shape} differ in length")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (no NaN or infinity)")
    if is_mated.all() or not is_mated.any():
        raise ValueError("need both mated and non-mated pairs; got only one kind")
    return scores, is_mated


def roc_auc(scores: ArrayLike, is_mated: ArrayLike) -> float:
    """Area under the ROC curve of a verification experiment.

    Parameters
    ----------
    scores : array_like, shape (N,)
        Similarity of each pair; higher means more alike.
    is_mated : array_like of bool, shape (N,)
        True where the pair shows the same person.

    Returns
    -------
    float
        AUC in [0, 1]: the probability that a random mated pair scores above a random non-mated
        pair, ties counting one half (0.5 is chance, 1 is perfect separation).
    """
    scores, is_mated = _checked(scores, is_mated)
    return float(roc_auc_score(is_mated, scores))


def tar_at_far(scores: ArrayLike, is_mated: ArrayLike, far: float) -> float:
    """True accept rate at the operating point whose false accept rate is at most ``far``.

    The threshold is the lowest one whose false accept rate (the fraction of non-mated pairs
    with ``score >= threshold``) does not exceed ``far``. Tied scores are accepted or rejected
    together, never split, so when a tie straddles the limit the whole tie is rejected: the
    reported TAR is conservative (it never benefits from a FAR above ``far``). With fewer than
    ``1 / far`` non-mated pairs the only admissible FAR is 0, so the TAR is that of a threshold
    above every non-mated score.

    Parameters
    ----------
    scores : array_like, shape (N,)
        Similarity of each pair; higher means more alike.
    is_mated : array_like of bool, shape (N,)
        True where the pair shows the same person.
    far : float
        Largest admissible false accept rate, in [0, 1].

    Returns
    -------
    float
        TAR in [0, 1]: the fraction of mated pairs accepted at that threshold.
    """
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"far must lie in [0, 1]; got {far}")
    scores, is_mated = _checked(scores, is_mated)
    # roc_curve puts one point per distinct score, so tied scores move together.
    fpr, tpr, _ = roc_curve(is_mated, scores, drop_intermediate=False)
    return float(tpr[fpr <= far].max())


def best_threshold(scores: ArrayLike, is_mated: ArrayLike) -> tuple[float, float]:
    """The single threshold that classifies the pairs most accurately, and that accuracy.

    Candidate thresholds are the distinct scores (and one above them all); a pair is accepted
    when ``score >= threshold``. Of equally accurate thresholds the lowest is returned.

    Parameters
    ----------
    scores : array_like, shape (N,)
        Similarity of each pair.
    is_mated : array_like of bool, shape (N,)
        True where the pair shows the same person.

    Returns
    -------
    threshold : float
        The chosen threshold (``inf`` when rejecting everything is best).
    accuracy : float
        Fraction of pairs classified correctly at it, in [0, 1].
    """
    scores, is_mated = _checked(scores, is_mated)
    fpr, tpr, thresholds = roc_curve(is_mated, scores, drop_intermediate=False)
    n_mated = is_mated.sum()
    correct = tpr * n_mated + (1.0 - fpr) * (is_mated.size - n_mated)
    best = int(np.flatnonzero(correct == correct.max())[-1])
    return float(thresholds[best]), float(correct[best] / is_mated.size)


@dataclass(frozen=True)
class FoldAccuracy:
    """Accuracy under k-fold cross-validation of the threshold (LFW's View 2 protocol).

    Attributes
    ----------
    accuracy : float
        Mean of the per-fold accuracies, in [0, 1].
    std : float
        Standard deviation of the per-fold accuracies (population, as LFW reports it).
    fold_accuracies : tuple of float
        Accuracy on each held-out fold, in fold order.
    thresholds : tuple of float
        The threshold chosen on the other folds for each held-out fold.
    """

    accuracy: float
    std: float
    fold_accuracies: tuple[float, ...]
    thresholds: tuple[float, ...]


def kfold_accuracy(scores: ArrayLike, is_mated: ArrayLike, folds: ArrayLike) -> FoldAccuracy:
    """Accuracy with the threshold chosen on the other folds, as LFW's View 2 protocol asks.

    For each fold, :func:`best_threshold` is fitted on the pairs of all other folds and applied
    to the held-out fold; the result is the mean and spread of the held-out accuracies.

    Parameters
    ----------
    scores : array_like, shape (N,)
        Similarity of each pair.
    is_mated : array_like of bool, shape (N,)
        True where the pair shows the same person.
    folds : array_like of int, shape (N,)
        Fold label of each pair; at least two distinct labels.

    Returns
    -------
    FoldAccuracy
    """
    scores, is_mated = _checked(scores, is_mated)
    folds = np.asarray(folds).ravel()
    if folds.shape != scores.shape:
        raise ValueError(f"folds {folds.shape} and scores {scores.shape} differ in length")
    labels = np.unique(folds)
    if labels.size < 2:
        raise ValueError("k-fold accuracy needs at least two folds")
    accuracies, thresholds = [], []
    for label in labels:
        held_out = folds == label
        threshold, _ = best_threshold(scores[~held_out], is_mated[~held_out])
        accepted = scores[held_out] >= threshold
        accuracies.append(float(np.mean(accepted == is_mated[held_out])))
        thresholds.append(threshold)
    return FoldAccuracy(
        accuracy=float(np.mean(accuracies)),
        std=float(np.std(accuracies)),
        fold_accuracies=tuple(accuracies),
        thresholds=tuple(thresholds),
    )


@dataclass(frozen=True)
class PairsResult:
    """The figures ``evalharness pairs`` reports for a pairs file.

    Attributes
    ----------
    accuracy : float
        With folds: the k-fold cross-validated accuracy; without: the accuracy of the best single
        threshold (optimistic, since it is chosen on the very pairs it is measured on).
    accuracy_std : float or None
        Spread of the per-fold accuracies (None without folds).
    threshold : float or None
        The best single threshold (None with folds, where each fold has its own).
    auc : float
        ROC AUC.
    tar_at_far_1e_3 : float
        TAR at FAR <= 0.001 (see :func:`tar_at_far`).
    pairs : int
        Number of pairs.
    folds : int
        Number of folds (0 without).
    """

    accuracy: float
    accuracy_std: float | None
    threshold: float | None
    auc: float
    tar_at_far_1e_3: float
    pairs: int
    folds: int


def verify_pairs(scores: ArrayLike, is_mated: ArrayLike,
                 folds: ArrayLike | None = None) -> PairsResult:
    """Accuracy, AUC and TAR at FAR 1e-3 of a verification pairs file.

    Parameters
    ----------
    scores : array_like, shape (N,)
        Similarity of each pair.
    is_mated : array_like of bool, shape (N,)
        True where the pair shows the same person.
    folds : array_like of int, shape (N,), optional
        Fold of each pair (LFW View 2); None for a file without folds.
    """
    scores, is_mated = _checked(scores, is_mated)
    if folds is None:
        threshold, accuracy = best_threshold(scores, is_mated)
        std, n_folds = None, 0
    else:
        by_fold = kfold_accuracy(scores, is_mated, folds)
        threshold, accuracy, std = None, by_fold.accuracy, by_fold.std
        n_folds = len(by_fold.fold_accuracies)
    return PairsResult(accuracy=accuracy, accuracy_std=std, threshold=threshold,
                       auc=roc_auc(scores, is_mated),
                       tar_at_far_1e_3=tar_at_far(scores, is_mated, 1e-3),
                       pairs=int(scores.size), folds=n_folds)
