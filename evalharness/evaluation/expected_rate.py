"""One expected identification rate per real face (``evalharness quality``).

The model, stated: rank-1 success is a logistic function of the face's measures,
``p = 1 / (1 + exp(-(a + b log2 ied_px [+ c |yaw_deg| + d pitch_deg])))``, fitted by maximum
likelihood (scikit-learn, no penalty). Its 95% interval is the percentile interval of the
prediction over fits to subject bootstrap resamples. It is fitted on one of two things:

- *a run* (:func:`fit_rate_model`): the run's detected mated probes, pooled over its conditions,
  on ``log2 ied_px`` alone. The other measures (noise, sharpness, JPEG bytes) read differently on
  real images than on simulated ones (docs/VALIDATION.md: real faces carry 2-4 times the
  simulated noise at the same IED), so a model on them would not transfer; and a run's sources
  are near-frontal photographs, so it says nothing of pose. The prediction is *unvalidated*.
- *a validation of a camera like this one* (:func:`fit_validated_model`, ``quality
  --validation DIR``): its real-detected probes, each weighted by its predicted success (its
  simulation through that camera's profile, from the source view nearest its pose, mapped by the
  session calibration of :mod:`~evalharness.evaluation.validation_summary`), on ``log2 ied_px``,
  ``|yaw_deg|`` and ``pitch_deg``: the validation simulated that camera at these sizes and poses,
  and its corrections were measured against real images. Each bootstrap resample refits the
  corrections too, so the interval carries their uncertainty. The prediction is *validated*.

Why not add a validation's real-minus-simulated gap to a run's model: the gap is measured against
the validation's own camera simulation, not the run's cameras; on the development subjects that
mix was 6-10 points too high (docs/VALIDATION.md).

A face whose head pose lies outside the poses the fit covered (their 2.5th-97.5th percentiles,
widened by 10 degrees) gets no number: nothing it was fitted on looked like that face. A face
turned further than the validation's widest source view gets its number with a warning: its like
were simulated from a face turned less, so the rate rests on the validation's corrections. The rate
holds for the gallery size of what it was fitted on (the number of enrolled people).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from evalharness.evaluation.validation_summary import (fit_session_logit, real_success, session_features,
                                                       session_probability, widest_source_yaw_deg)

#: Degrees added on each side of the fit's central 95% of poses before a face counts as outside.
POSE_MARGIN_DEG = 10.0
#: Subject bootstrap resamples behind each interval: as many as validate's intervals draw. With 200
#: the bounds moved by up to 1.4 points from one seed to the next on the development people, as
#: much as decided whether a bin's mean interval covered its real rate (docs/VALIDATION.md).
RESAMPLES = 2000


@dataclass(frozen=True)
class RateModel:
    """A fitted logistic model.

    ``coef (K,)``: intercept and slopes on :meth:`features` (K = 2 on ``log2 ied_px``; K = 4 with
    ``uses_pose``, adding ``|yaw_deg|`` and ``pitch_deg``); ``boot (B, K)`` the bootstrap fits;
    ``ied_range_px`` and ``pose_range_deg`` (yaw low, high, pitch low, high) the coverage of what
    it was fitted on; ``gallery_size`` enrolled people; ``n`` probes fitted; ``validated`` whether
    it comes from a validation against real images; ``widest_source_yaw_deg`` the widest source
    view that validation simulated from (NaN for a run's model).
    """

    coef: np.ndarray
    boot: np.ndarray
    ied_range_px: tuple[float, float]
    pose_range_deg: tuple[float, float, float, float]
    gallery_size: int
    n: int
    uses_pose: bool = False
    validated: bool = False
    widest_source_yaw_deg: float = math.nan

    def features(self, *, ied_px: float, yaw_deg: float, pitch_deg: float) -> np.ndarray:
        """``(K,)``: 1, ``log2 ied_px`` (and ``|yaw_deg|``, ``pitch_deg`` with ``uses_pose``)."""
        return _design(np.array([ied_px]), np.array([yaw_deg]), np.array([pitch_deg]), self.uses_pose)[0]

    def predict(self, *, ied_px: float, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> tuple[float, float, float]:
        """Expected rank-1 and its 95% interval for a face of this size and pose."""
        x = self.features(ied_px=ied_px, yaw_deg=yaw_deg, pitch_deg=pitch_deg)
        point = float(expit(self.coef @ x))
        low, high = np.quantile(expit(self.boot @ x), [0.025, 0.975])
        return point, float(min(low, point)), float(max(high, point))

    def pose_inside(self, yaw_deg: float, pitch_deg: float) -> bool:
        """Whether the pose lies within the covered poses (with :data:`POSE_MARGIN_DEG`)."""
        yaw_low, yaw_high, pitch_low, pitch_high = self.pose_range_deg
        return (yaw_low - POSE_MARGIN_DEG <= yaw_deg <= yaw_high + POSE_MARGIN_DEG
                and pitch_low - POSE_MARGIN_DEG <= pitch_deg <= pitch_high + POSE_MARGIN_DEG)


def _design(ied_px: np.ndarray, yaw_deg: np.ndarray, pitch_deg: np.ndarray, uses_pose: bool) -> np.ndarray:
    """``(P, K)`` design matrix of :meth:`RateModel.features` for ``P`` faces."""
    columns = [np.ones_like(ied_px, dtype=np.float64), np.log2(np.maximum(ied_px, 1e-3))]
    if uses_pose:
        columns += [np.abs(yaw_deg), pitch_deg]
    return np.stack(columns, axis=1).astype(np.float64)


def _fit(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Maximum-likelihood coefficients ``(K,)`` of success probabilities ``p (P,)`` in [0, 1]
    (0/1 outcomes, or a prediction's probabilities: each face counts as a success with weight p
    and a failure with weight 1 - p) on the design ``x (P, K)`` whose first column is 1."""
    if p.min() == p.max():  # one outcome only: the slopes are not identified
        rate = np.clip(p.mean(), 0.5 / len(p), 1 - 0.5 / len(p))
        return np.r_[math.log(rate / (1 - rate)), np.zeros(x.shape[1] - 1)]
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000).fit(
        np.concatenate([x[:, 1:], x[:, 1:]]), np.r_[np.ones(len(p)), np.zeros(len(p))],
        sample_weight=np.r_[p, 1.0 - p])
    return np.r_[model.intercept_[0], model.coef_[0]]


def _pose_range(yaw_deg: np.ndarray, pitch_deg: np.ndarray) -> tuple[float, float, float, float]:
    """Central 95% of the fitted faces' yaw and pitch, degrees (frontal when none was measured)."""
    known = np.isfinite(yaw_deg) & np.isfinite(pitch_deg)
    if not known.any():
        return 0.0, 0.0, 0.0, 0.0
    yaw = np.quantile(yaw_deg[known], [0.025, 0.975])
    pitch = np.quantile(pitch_deg[known], [0.025, 0.975])
    return float(yaw[0]), float(yaw[1]), float(pitch[0]), float(pitch[1])


def _bootstrap(fit: Callable[[np.ndarray], np.ndarray], identity: np.ndarray, seed: int) -> np.ndarray:
    """``(RESAMPLES, K)``: ``fit(rows)`` on resamples drawing people with replacement (all their rows)."""
    rng = np.random.default_rng(seed)
    names, codes = np.unique(identity, return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(len(names))]
    # Each fit is of a few hundred rows, too small to share among threads: BLAS and OpenMP threads
    # only wait on each other (on 2 busy cores the resamples took 7 times as long).
    with threadpool_limits(limits=1):
        return np.array([fit(np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))]))
                         for _ in range(RESAMPLES)])


def fit_rate_model(probes: pd.DataFrame, gallery_size: int, seed: int = 0) -> RateModel:
    """Fit the unvalidated model on a run's mated probes (``quality_curves.read_probes``: columns
    ``identity``, ``rank1_hit``, ``ied_px_landmarks``, ``yaw_deg``, ``pitch_deg``); undetected
    probes (no landmarks) are left out, as a real face is only rated once detected."""
    detected = probes[np.isfinite(probes["ied_px_landmarks"].to_numpy(np.float64))]
    ied = detected["ied_px_landmarks"].to_numpy(np.float64)
    pose = [detected[c].to_numpy(np.float64) if c in detected else np.full(len(detected), np.nan)
            for c in ("yaw_deg", "pitch_deg")]
    x = _design(ied, *pose, uses_pose=False)
    y = detected["rank1_hit"].to_numpy(bool).astype(np.float64)
    boot = _bootstrap(lambda rows: _fit(x[rows], y[rows]), detected["identity"].to_numpy(), seed)
    return RateModel(_fit(x, y), boot, (float(ied.min()), float(ied.max())), _pose_range(*pose),
                     gallery_size, len(detected))


def fit_validated_model(rows: pd.DataFrame, gallery_size: int, seed: int = 0, *, size_column: str) -> RateModel:
    """Fit the validated model on a validation run's rows (``probes.parquet`` of ``evalharness
    validate``): its real-detected, simulated probes, at their real IED and pose, weighted by
    corrections that read the face's size from ``size_column`` (as the validation's did)."""
    usable = rows[rows["real_detected"] & rows["simulated"]
                  & np.isfinite(rows["yaw_deg"].to_numpy(np.float64))].reset_index(drop=True)
    if usable.empty:
        raise ValueError("the validation has no real-detected, simulated probe to fit")
    ied = usable["real_ied_px"].to_numpy(np.float64)
    yaw, pitch = (usable[c].to_numpy(np.float64) for c in ("yaw_deg", "pitch_deg"))
    x = _design(ied, yaw, pitch, uses_pose=True)
    # The session calibration of validation_summary.fit_corrections, refitted on each resample's
    # rows (the detection ratios play no part here), on arrays read once.
    features, success = session_features(usable, size_column), real_success(usable)

    def fit(drawn: np.ndarray) -> np.ndarray:
        logit = fit_session_logit(features[drawn], success[drawn])
        return _fit(x[drawn], session_probability(logit, features[drawn]))

    boot = _bootstrap(fit, usable["identity"].to_numpy(), seed)
    return RateModel(fit(np.arange(len(usable))), boot, (float(ied.min()), float(ied.max())),
                     _pose_range(yaw, pitch), gallery_size, len(usable), uses_pose=True, validated=True,
                     widest_source_yaw_deg=widest_source_yaw_deg(usable))


@dataclass(frozen=True)
class ExpectedRate:
    """The expected rank-1 rate of one face, as ``quality --json`` reports it (its fields are the
    JSON keys): ``expected_rank1`` and its 95% interval in [0, 1], None where the face's head pose
    is outside the model's; the ``gallery_size`` it holds for; the face's ``ied_px`` and head
    pose in degrees; ``validated`` (fitted on a validation, not a run); ``notes`` say why no rate
    is given, or what to beware of."""

    expected_rank1: float | None
    expected_rank1_ci_low: float | None
    expected_rank1_ci_high: float | None
    gallery_size: int
    ied_px: float
    yaw_deg: float
    pitch_deg: float
    validated: bool
    notes: tuple[str, ...]


def expected_rank1(model: RateModel, *, ied_px: float, yaw_deg: float, pitch_deg: float) -> ExpectedRate:
    """The expected rate of one face of ``ied_px`` (px between the eyes) and head pose
    (``yaw_deg``, ``pitch_deg``) under ``model``."""
    fitted_on = "validation" if model.validated else "run"
    unrated = ExpectedRate(expected_rank1=None, expected_rank1_ci_low=None, expected_rank1_ci_high=None,
                           gallery_size=model.gallery_size, ied_px=ied_px, yaw_deg=yaw_deg, pitch_deg=pitch_deg,
                           validated=model.validated, notes=())
    if not model.pose_inside(yaw_deg, pitch_deg):
        yaw_low, yaw_high, pitch_low, pitch_high = model.pose_range_deg
        return replace(unrated, notes=(
            f"head pose yaw {yaw_deg:+.0f}, pitch {pitch_deg:+.0f} deg is outside the poses the {fitted_on} "
            f"covered (yaw {yaw_low:+.0f} to {yaw_high:+.0f}, pitch {pitch_low:+.0f} to {pitch_high:+.0f} deg, "
            f"+-{POSE_MARGIN_DEG:.0f}): no rate is given",))
    notes: list[str] = []
    if abs(yaw_deg) > model.widest_source_yaw_deg:  # False while NaN: a run's model
        notes.append(f"head yaw {yaw_deg:+.0f} deg is beyond the widest source view the validation "
                     f"simulated ({model.widest_source_yaw_deg:.0f} deg): faces turned this far were "
                     "simulated from a face turned less, so the rate rests on the validation's "
                     "corrections (docs/VALIDATION.md, \"Pose\")")
    if ied_px < model.ied_range_px[0] or ied_px > model.ied_range_px[1]:
        notes.append(f"IED {ied_px:.1f} px is outside the {fitted_on}'s {model.ied_range_px[0]:.1f}-"
                     f"{model.ied_range_px[1]:.1f} px: extrapolated")
    point, low, high = model.predict(ied_px=ied_px, yaw_deg=yaw_deg, pitch_deg=pitch_deg)
    return replace(unrated, expected_rank1=point, expected_rank1_ci_low=low, expected_rank1_ci_high=high,
                   notes=tuple(notes))
