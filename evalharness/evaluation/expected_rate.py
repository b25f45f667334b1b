"""One expected identification rate per real face (``evalharness quality``).

The model, stated: rank-1 success of a run's detected mated probes, pooled over its conditions,
is a logistic function of ``log2`` of the inter-eye distance measured from the landmarks,
``p = 1 / (1 + exp(-(a + b log2 ied_px)))``, fitted by maximum likelihood (scikit-learn, no
penalty). Its 95% interval is the percentile interval of the prediction over fits to subject
bootstrap resamples. The inter-eye distance alone is used: the other measures (noise, sharpness,
JPEG bytes) read differently on real images than on simulated ones (docs/VALIDATION.md: real
faces carry 2-4 times the simulated noise at the same IED), so a model on them would not
transfer. The rate holds for the run's gallery size, the number of enrolled people.

``--validation DIR`` (an ``evalharness validate`` run) moves the prediction by that validation's
real-minus-simulated rank-1 gap in the face's IED bin and widens the interval by the gap's
uncertainty (half-widths added in quadrature).

A face whose head pose lies outside the poses the run's probes covered (their 2.5th-97.5th
percentiles, widened by 10 degrees) gets no number: the simulation did not see such faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

#: Degrees added on each side of the run's central 95% of poses before a face counts as outside.
POSE_MARGIN_DEG = 10.0


@dataclass(frozen=True)
class RateModel:
    """The fitted logistic model: ``coef (2,)`` = (a, b) on ``log2 ied_px``; ``boot (B, 2)``
    the bootstrap fits; ``ied_range_px`` and ``pose_range_deg`` (yaw low, high, pitch low, high)
    the run's coverage; ``gallery_size`` enrolled people; ``n`` probes fitted."""

    coef: np.ndarray
    boot: np.ndarray
    ied_range_px: tuple[float, float]
    pose_range_deg: tuple[float, float, float, float]
    gallery_size: int
    n: int

    def predict(self, ied_px: float) -> tuple[float, float, float]:
        """Expected rank-1 and its 95% interval at ``ied_px``."""
        x = math.log2(max(ied_px, 1e-3))
        point = float(_logistic(self.coef[0] + self.coef[1] * x))
        spread = _logistic(self.boot[:, 0] + self.boot[:, 1] * x)
        low, high = np.quantile(spread, [0.025, 0.975])
        return point, float(min(low, point)), float(max(high, point))

    def pose_inside(self, yaw_deg: float, pitch_deg: float) -> bool:
        """Whether the pose lies within the run's covered poses (with :data:`POSE_MARGIN_DEG`)."""
        yaw_low, yaw_high, pitch_low, pitch_high = self.pose_range_deg
        return (yaw_low - POSE_MARGIN_DEG <= yaw_deg <= yaw_high + POSE_MARGIN_DEG
                and pitch_low - POSE_MARGIN_DEG <= pitch_deg <= pitch_high + POSE_MARGIN_DEG)


def _logistic(z: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def _fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if y.min() == y.max():  # all successes or all failures: the slope is not identified
        rate = np.clip(y.mean(), 0.5 / len(y), 1 - 0.5 / len(y))
        return np.array([math.log(rate / (1 - rate)), 0.0])
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=500).fit(x[:, None], y)
    return np.array([model.intercept_[0], model.coef_[0, 0]])


def fit_rate_model(probes: pd.DataFrame, gallery_size: int, seed: int = 0,
                   n_resamples: int = 200) -> RateModel:
    """Fit :class:`RateModel` on a run's mated probes (``quality_curves.read_probes``: columns
    ``identity``, ``rank1_hit``, ``ied_px_landmarks``, ``yaw_deg``, ``pitch_deg``); undetected
    probes (no landmarks) are left out, as a real face is only rated once detected."""
    detected = probes[np.isfinite(probes["ied_px_landmarks"].to_numpy(np.float64))]
    x = np.log2(detected["ied_px_landmarks"].to_numpy(np.float64))
    y = detected["rank1_hit"].to_numpy(bool).astype(np.float64)
    people = detected["identity"].to_numpy()
    rng = np.random.default_rng(seed)
    names, codes = np.unique(people, return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(len(names))]
    boot = []
    for _ in range(n_resamples):
        drawn = np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])
        boot.append(_fit(x[drawn], y[drawn]))
    pose = detected[["yaw_deg", "pitch_deg"]].dropna() if {"yaw_deg", "pitch_deg"} <= set(detected) \
        else pd.DataFrame({"yaw_deg": [0.0], "pitch_deg": [0.0]})
    yaw = np.quantile(pose["yaw_deg"], [0.025, 0.975])
    pitch = np.quantile(pose["pitch_deg"], [0.025, 0.975])
    ied = detected["ied_px_landmarks"]
    return RateModel(_fit(x, y), np.array(boot), (float(ied.min()), float(ied.max())),
                     (float(yaw[0]), float(yaw[1]), float(pitch[0]), float(pitch[1])), gallery_size,
                     len(detected))


def validation_gap(summary: dict[str, Any], ied_px: float) -> tuple[float, float, float] | None:
    """The real-minus-model rank-1 gap of a validation run's IED bin holding ``ied_px`` and its
    95% interval (``summary.json``'s corrected figures where it has them, else raw); None when
    that bin held no probe."""
    figures = summary.get("corrected", summary["raw"])
    for row in figures["bins"]:
        high = math.inf if row["ied_px_high"] is None else row["ied_px_high"]
        if row["ied_px_low"] <= ied_px < high:
            if row["gap"] is None:
                return None
            # validate's gap is model minus real; the correction is its negative.
            return -row["gap"], -row["gap_ci_high"], -row["gap_ci_low"]
    return None


def expected_rank1(model: RateModel, *, ied_px: float, yaw_deg: float, pitch_deg: float,
                   validation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The expected rate of one face, as ``quality --json`` reports it (None instead of a
    number where the pose is outside the run's; ``notes`` say why, or what to beware of)."""
    result: dict[str, Any] = {"expected_rank1": None, "expected_rank1_ci_low": None,
                              "expected_rank1_ci_high": None, "gallery_size": model.gallery_size,
                              "ied_px": ied_px, "yaw_deg": yaw_deg, "pitch_deg": pitch_deg,
                              "validated": False, "notes": []}
    if not model.pose_inside(yaw_deg, pitch_deg):
        yaw_low, yaw_high, pitch_low, pitch_high = model.pose_range_deg
        result["notes"].append(f"head pose yaw {yaw_deg:+.0f}, pitch {pitch_deg:+.0f} deg is outside the poses "
                             f"the run simulated (yaw {yaw_low:+.0f} to {yaw_high:+.0f}, pitch {pitch_low:+.0f} "
                             f"to {pitch_high:+.0f} deg, +-{POSE_MARGIN_DEG:.0f}): no rate is given")
        return result
    point, low, high = model.predict(ied_px)
    if validation is not None:
        gap = validation_gap(validation, ied_px)
        if gap is None:
            result["notes"].append("the validation has no real probe at this IED: prediction unvalidated")
        else:
            shift, shift_low, shift_high = gap
            below = math.hypot(point - low, shift - shift_low)
            above = math.hypot(high - point, shift_high - shift)
            point = point + shift
            low, high = point - below, point + above
            result["validated"] = True
    clip = lambda value: min(1.0, max(0.0, value))  # noqa: E731
    result |= {"expected_rank1": clip(point), "expected_rank1_ci_low": clip(low),
               "expected_rank1_ci_high": clip(high)}
    if ied_px < model.ied_range_px[0] or ied_px > model.ied_range_px[1]:
        result["notes"].append(f"IED {ied_px:.1f} px is outside the run's {model.ied_range_px[0]:.1f}-"
                             f"{model.ied_range_px[1]:.1f} px: extrapolated")
    return result
