"""One condition's per-probe results as arrays, and rates of a subset of them.

:class:`Probes` reads a condition's rows (``conditions/<id>.parquet``; columns in
:mod:`evalharness.evaluation.evaluator`) once; each rate is a function of an index array into the
probes (with repeats), so the same code gives the point estimate (all probes) and every bootstrap
resample (:func:`evalharness.evaluation.intervals.subject_bootstrap`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from evalharness.evaluation import metrics, projection

#: Score given to an undetected mated probe's genuine comparison (below any cosine).
UNDETECTED_SCORE = -2.0

Rate = Callable[[np.ndarray], float]


class Probes:
    """Per-probe arrays of one condition, and rate functions of an index array.

    ``best_of_k`` (optional, shape (P,)): whether the probe was identified at rank 1 in any of
    the captures of its pass (:func:`evalharness.evaluation.scenarios.best_of_k_hits`).
    ``tail_fraction``: of the impostor scores, the highest fraction the database projection's
    tail is fitted to (:func:`projection.fit_impostors`).
    """

    def __init__(self, rows: pd.DataFrame, best_of_k: np.ndarray | None = None, *,
                 tail_fraction: float = projection.TAIL_FRACTION) -> None:
        self.mated = (rows["probe_kind"] == "mated").to_numpy()
        self.detected = rows["detected"].to_numpy(dtype=bool)
        self.rank = rows["mate_rank"].fillna(np.iinfo(np.int32).max).to_numpy(dtype=np.int64)
        self.mate_score = rows["mate_score"].to_numpy(dtype=np.float64)
        best = rows["best_nonmate_score"].to_numpy(dtype=np.float64)
        self.best_nonmate = np.where(self.detected, best, -np.inf)
        self.genuine = np.where(self.detected, self.mate_score, UNDETECTED_SCORE)
        # Impostor scores flattened, with the probe each belongs to.
        self.nonmate_lists = [np.asarray(s, dtype=np.float64) if d else np.zeros(0)
                              for s, d in zip(rows["nonmate_scores"], self.detected, strict=True)]
        impostor = np.concatenate(self.nonmate_lists) if self.nonmate_lists else np.zeros(0)
        owner = np.repeat(np.arange(len(self.nonmate_lists)), [len(s) for s in self.nonmate_lists])
        # Sorted once, highest first, so each resample's threshold needs no sort.
        order = np.argsort(-impostor, kind="stable")
        self.impostor, self.impostor_owner = impostor[order], owner[order]
        self.best_of_k = best_of_k
        self.tail_fraction = tail_fraction
        self._model: tuple[np.ndarray, projection.ImpostorModel] | None = None

    def detection_rate(self, idx: np.ndarray) -> float:
        m = idx[self.mated[idx]]
        return float(np.mean(self.detected[m])) if m.size else math.nan

    def rank_rate(self, k: int, detected_only: bool = False) -> Rate:
        def rate(idx: np.ndarray) -> float:
            m = idx[self.mated[idx]]
            if detected_only:
                m = m[self.detected[m]]
            return metrics.identification_rate(self.rank[m], self.detected[m], k)
        return rate

    def fnir(self, fpir: float) -> Rate:
        def rate(idx: np.ndarray) -> float:
            m, n = idx[self.mated[idx]], idx[~self.mated[idx]]
            return metrics.fnir_at_fpir(self.rank[m], self.mate_score[m], self.detected[m],
                                        self.best_nonmate[n], fpir)
        return rate

    def verification_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Scores and is-mated labels of every 1:1 comparison (genuine first)."""
        genuine = self.genuine[self.mated]
        scores = np.concatenate([genuine, self.impostor])
        return scores, np.arange(scores.size) < genuine.size

    def tar(self, far: float) -> Rate:
        """TAR at FAR for a resample; the same rule as :func:`verification.tar_at_far`, with
        impostor comparisons weighted by copies instead of repeated (much faster)."""
        def rate(idx: np.ndarray) -> float:
            m = idx[self.mated[idx]]
            threshold = metrics.threshold_of_counts(self.impostor, self._pooled(idx).counted, far)
            if m.size and not self.detected[idx].any():
                return 0.0  # nothing detected: no comparison can be accepted
            if m.size == 0 or math.isnan(threshold):
                return math.nan
            return float(np.mean(self.genuine[m] > threshold))
        return rate

    def mean_of(self, values: np.ndarray) -> Rate:
        """The mean of a per-probe value over the mated probes of a resample."""
        def rate(idx: np.ndarray) -> float:
            m = idx[self.mated[idx]]
            return float(np.mean(values[m])) if m.size else math.nan
        return rate

    def _pooled(self, idx: np.ndarray) -> projection.ImpostorModel:
        """The impostor scores of the resample ``idx``, each weighted by its copies, with their
        fitted distribution (once per resample: the bootstrap passes one index array to every
        statistic in turn)."""
        if self._model is None or self._model[0] is not idx:
            copies = np.bincount(idx, minlength=self.mated.size)[self.impostor_owner]
            self._model = (idx, projection.fit_impostors(self.impostor, copies=copies, presorted=True,
                                                                tail_fraction=self.tail_fraction))
        return self._model[1]

    def impostor_model(self, idx: np.ndarray) -> projection.ImpostorModel | None:
        """The impostor distribution of the resample ``idx``; None without impostors."""
        model = self._pooled(idx)
        return model if model.size else None

    def database(self, gallery_size: int, fpir: float) -> Rate:
        """Projected 1 - FNIR(N, 1, T) at ``fpir`` in a gallery of ``gallery_size``
        (:func:`projection.database_hit_rate`)."""
        def rate(idx: np.ndarray) -> float:
            m = idx[self.mated[idx]]
            model = self.impostor_model(idx)
            if model is None:
                return 0.0 if m.size and not self.detected[m].any() else math.nan
            return projection.database_hit_rate(self.mate_score[m], self.detected[m], model,
                                                gallery_size=gallery_size, fpir=fpir)
        return rate
