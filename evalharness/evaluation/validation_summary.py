"""Real against simulated identification, by inter-eye distance, with corrections.

The figures of ``evalharness validate``, from its per-probe rows
(:mod:`evalharness.evaluation.validation`):

- *rank-1*: over the real probes whose face was detected, the share identified at rank 1, in
  reality and in simulation (each probe's simulated outcome is the share of its draws identified,
  a draw whose face was not detected counting as a miss), with the simulated rate's Monte Carlo
  standard error (:func:`monte_carlo_se`);
- *detection*: the share of the real probes whose face was detected, against the share of their
  simulations;
- *gap*: simulated (or predicted) minus real, with a paired bootstrap over people: each resample
  draws people with replacement and keeps every probe of each, real and simulated together.

All are over the simulated probes: a probe whose source photograph gave no simulation (no face
found in it) is counted (``not_simulated``) and left out of both sides, real and simulated, as
the corrections leave it out of their fit.

Corrections (:class:`Corrections`) stand for what a camera model cannot produce: real probes come
from another session than the studio sources (hair, glasses, make-up, lighting, expression).
They are fitted on one validation run (the development subjects) and applied to another:

- *session calibration*: a logistic model of the real probe's rank-1 success on what its
  simulation gave and its size, ``P(real success) = 1 / (1 + exp(-(a + b d + c d m + e log2 ied)))``
  with ``d`` = 1 when the simulated face was detected, ``m`` its margin (mate score minus best
  non-mate score, cosine similarity) and ``ied`` the real face's inter-eye distance in pixels,
  read where the run read the size at which it simulated each face (``size_column``: the fitted
  head's with ``--size head``, the default, so a turned face's foreshortened eye distance does not
  count as a smaller face; the landmarks' with ``--size eyes``, and in corrections written before
  session 19); with several draws, ``d`` and ``d m`` are their means over the draws. Fitted by
  maximum likelihood on the real-detected probes, it maps the simulation's outcome to the real
  one (Platt's calibration, with a term for simulations whose face was not found, and one for
  what changes with size that the camera model misses); the raw simulated rate is always
  reported beside it, so the reader sees how much the correction carries;
- *detection ratio*: real detection rate / simulated detection rate, multiplying the simulated
  detection rate; one per camera group (``probes.csv``), as what a camera model misses in
  detection (sunglasses, hoods, bowed heads, dim scenes) differs with where each camera films
  (on the FRMDB development subjects: CCTV real/simulated 0.73, HD 1.00). A group that the
  fitting run lacks takes the ratio of all its probes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from evalharness.evaluation.intervals import subject_bootstrap

#: Bins of the real probe's inter-eye distance, pixels: [low, high).
BINS_PX = ((0.0, 12.0), (12.0, 20.0), (20.0, 30.0), (30.0, 50.0), (50.0, math.inf))
#: The rows' column whose inter-eye distance places a validation's simulations, by ``validate
#: --size``: the fitted head's, or the landmarks'. Its session calibration reads the same column
#: (``size_column``).
IED_COLUMNS = {"head": "real_head_ied_px", "eyes": "real_ied_px"}


@dataclass(frozen=True)
class Corrections:
    """Corrections fitted on one validation run (see the module docstring).

    ``session_logit``: (a, b, c, e) of the session calibration; ``detection_ratio``: real /
    simulated detection rate of all probes, and ``camera_detection_ratios`` of each camera group;
    ``n_probes``: real-detected probes fitted; ``fitted_on``: the run directory and dataset
    fingerprint they come from; ``size_column``: the rows' column (of :data:`IED_COLUMNS`) whose
    inter-eye distance the session calibration reads.
    """

    session_logit: tuple[float, float, float, float]
    detection_ratio: float
    n_probes: int
    fitted_on: dict[str, str]
    camera_detection_ratios: dict[str, float] = field(default_factory=dict)
    size_column: str = "real_ied_px"

    def describe(self) -> str:
        """One line: the session calibration's formula and the detection ratios."""
        a, b, c, e = self.session_logit
        ratios = ", ".join(f"{camera} {ratio:.3f}"
                           for camera, ratio in sorted(self.camera_detection_ratios.items()))
        pooled = f"{self.detection_ratio:.3f}"
        size = "head ied" if self.size_column == "real_head_ied_px" else "ied"
        return (f"session calibration P = 1 / (1 + exp(-({a:.2f} {b:+.2f} d {c:+.2f} d m {e:+.2f} "
                f"log2 {size}))) on {self.n_probes} real-detected probes; detection ratio "
                + (f"{ratios} (pooled {pooled})" if ratios else pooled))

    def detection_ratio_of(self, camera: str) -> float:
        """The camera group's detection ratio, or that of all probes for a group not fitted."""
        return self.camera_detection_ratios.get(camera, self.detection_ratio)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, object]) -> Corrections:
        a, b, c, e = (float(x) for x in data["session_logit"])  # type: ignore[union-attr]
        # Runs before per-camera ratios (session 8) have none: all groups take the pooled one.
        saved = dict(data.get("camera_detection_ratios", {}))  # type: ignore[call-overload]
        cameras = {str(camera): float(ratio) for camera, ratio in saved.items()}
        # Runs before session 19 read the landmarks' inter-eye distance whatever their --size.
        size_column = str(data.get("size_column", "real_ied_px"))
        if size_column not in IED_COLUMNS.values():
            raise ValueError(f"size_column {size_column!r} is none of {', '.join(IED_COLUMNS.values())}")
        return Corrections((a, b, c, e), float(data["detection_ratio"]), int(data["n_probes"]),  # type: ignore[arg-type]
                           dict(data["fitted_on"]), cameras, size_column)  # type: ignore[arg-type]


#: The simulated outcome of each probe over its draws (``validation.draw_shares``).
DRAW_COLUMNS = ("sim_detected_share", "sim_rank1_share", "sim_margin_mean")


def simulated_outcomes(rows: pd.DataFrame) -> pd.DataFrame:
    """:data:`DRAW_COLUMNS` of ``rows``, and ``sim_draws``. Runs made before ``validate --draws``
    (session 15) simulated each probe once: their columns are that simulation's outcome."""
    if "sim_draws" in rows:
        return rows[["sim_draws", *DRAW_COLUMNS]]
    detected = rows["sim_detected"].to_numpy(bool)
    margin = (rows["sim_mate_score"] - rows["sim_best_nonmate_score"]).to_numpy(np.float64)
    return pd.DataFrame({"sim_draws": rows["simulated"].to_numpy(int), "sim_detected_share": detected.astype(float),
                         "sim_rank1_share": (detected & (rows["sim_mate_rank"] == 1).fillna(False).to_numpy(bool)
                                             ).astype(float),
                         "sim_margin_mean": np.where(detected, margin, 0.0)}, index=rows.index)


def session_features(rows: pd.DataFrame, size_column: str) -> np.ndarray:
    """``(P, 3)``: what the session calibration reads of each probe: share of the simulated draws
    whose face was detected, mean over draws of detected times margin, log2 of the real IED in
    ``size_column`` (with one draw: detected 0/1, that times its margin)."""
    simulated = simulated_outcomes(rows)
    size = np.log2(np.maximum(rows[size_column].to_numpy(np.float64), 1.0))
    return np.stack([simulated["sim_detected_share"].to_numpy(np.float64),
                     simulated["sim_margin_mean"].to_numpy(np.float64), size], axis=1)


def fit_corrections(rows: pd.DataFrame, fitted_on: dict[str, str], *, size_column: str) -> Corrections:
    """Fit the session calibration, reading the face's size from ``size_column`` (of
    :data:`IED_COLUMNS`), and the detection ratio on a validation run's simulated rows (a probe
    whose source gave no simulation says nothing of the camera model)."""
    rows = rows[rows["simulated"]]
    detected = rows[rows["real_detected"]]
    logit = fit_session_logit(session_features(detected, size_column), real_success(detected))
    cameras = {str(camera): _detection_ratio(group) for camera, group in rows.groupby("camera")}
    return Corrections(logit, _detection_ratio(rows), len(detected), fitted_on,
                       {camera: ratio for camera, ratio in cameras.items() if math.isfinite(ratio)},
                       size_column)


def real_success(rows: pd.DataFrame) -> np.ndarray:
    """``(P,)`` 1 where the real probe was identified at rank 1, else 0 (not detected included)."""
    return (rows["real_mate_rank"] == 1).fillna(False).to_numpy(int)


def fit_session_logit(features: np.ndarray, success: np.ndarray) -> tuple[float, ...]:
    """Intercept and slopes of the session calibration, by maximum likelihood, from
    :func:`session_features` ``(P, K)`` and :func:`real_success` ``(P,)``. With one outcome only
    (or no probe) the slopes are not identified: the rate's logit (clipped to 1-99%), no slope."""
    if len(success) == 0 or success.min() == success.max():
        rate = float(np.clip(success.mean() if len(success) else 0.5, 0.01, 0.99))
        return (math.log(rate / (1 - rate)), *[0.0] * features.shape[1])
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000).fit(features, success)
    return (float(model.intercept_[0]), *(float(x) for x in model.coef_[0]))


def session_probability(logit: tuple[float, ...], features: np.ndarray) -> np.ndarray:
    """``(P,)`` probability of real rank-1 success under the session calibration ``logit``
    (intercept, slopes) of probes with :func:`session_features` ``(P, K)``."""
    intercept, *slopes = logit
    return expit(intercept + features @ np.array(slopes))


def _detection_ratio(simulated: pd.DataFrame) -> float:
    """Real / simulated detection rate of simulated probes (NaN when none was detected)."""
    sim_rate = float(simulated_outcomes(simulated)["sim_detected_share"].mean()) if len(simulated) else math.nan
    real_rate = float(simulated["real_detected"].mean()) if len(simulated) else math.nan
    return real_rate / sim_rate if sim_rate > 0 else math.nan


def predicted_detection(rows: pd.DataFrame, corrections: Corrections) -> np.ndarray:
    """Probability ``(P,)`` that each probe's real face is detected: the share of its simulated
    draws detected times its camera group's detection ratio, at most 1."""
    ratios = rows["camera"].map(corrections.detection_ratio_of).to_numpy(np.float64)
    return np.minimum(1.0, simulated_outcomes(rows)["sim_detected_share"].to_numpy(np.float64) * ratios)


def predicted_success(rows: pd.DataFrame, corrections: Corrections) -> np.ndarray:
    """Probability ``(P,)`` that each real probe is identified at rank 1, from its simulation."""
    return session_probability(corrections.session_logit, session_features(rows, corrections.size_column))


def widest_source_yaw_deg(rows: pd.DataFrame) -> float:
    """The widest source view a validation chose from, ``|source_yaw_deg|`` in degrees (45 for
    FRMDB's copy; NaN without rows or views): real faces turned further are simulated from a face
    turned less than theirs; NaN too for rows that do not record the sources' views."""
    if not len(rows) or "source_yaw_deg" not in rows:
        return math.nan
    return float(rows["source_yaw_deg"].abs().max())


def pose_coverage(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Masks over ``rows``: real faces turned (``|yaw_deg|``) at most as far as the widest source
    view the validation chose from (:func:`widest_source_yaw_deg`), and further, which are
    simulated from a face turned less than theirs; empty without sources."""
    widest = widest_source_yaw_deg(rows)
    if not math.isfinite(widest):
        return {}
    yaw = rows["yaw_deg"].abs().to_numpy(np.float64)
    return {f"turned at most {widest:g} deg, as the sources": yaw <= widest,
            f"turned more than {widest:g} deg": yaw > widest}


def in_ied_bin(rows: pd.DataFrame, low: float, high: float) -> np.ndarray:
    """Whether each row's real inter-eye distance lies in the bin ``[low, high)`` px (of
    :data:`BINS_PX`)."""
    return ((rows["real_ied_px"] >= low) & (rows["real_ied_px"] < high)).to_numpy()


def probe_outcomes(rows: pd.DataFrame, corrections: Corrections | None) -> dict[str, np.ndarray]:
    """Per-probe outcomes ``(P,)``: ``real`` rank-1 success, 0 or 1; ``sim``, the share of its
    simulated draws identified at rank 1 (a draw whose face was not detected is a miss); and
    ``pred`` (the prediction) with ``corrections``."""
    outcomes = {
        "real": real_success(rows).astype(np.float64),
        "sim": simulated_outcomes(rows)["sim_rank1_share"].to_numpy(np.float64),
    }
    if corrections is not None:
        outcomes["pred"] = predicted_success(rows, corrections)
    return outcomes


def monte_carlo_se(shares: np.ndarray, draws: np.ndarray) -> float | None:
    """Standard error of the mean of ``shares (P,)``, each the share of ``draws (P,)`` independent
    simulations identified, from the draws' own spread (``s (1 - s) / (draws - 1)`` per probe, the
    unbiased estimate of a share's variance): how far another seed could move the simulated
    rate. None where a probe has one draw (its spread is unknown); a probe not simulated (0 draws)
    adds nothing."""
    if (draws == 1).any():
        return None
    variance = np.where(draws >= 2, shares * (1.0 - shares) / np.maximum(draws - 1, 1), 0.0)
    return float(np.sqrt(variance.sum()) / len(shares))


def _compare(rows: pd.DataFrame, corrections: Corrections | None, rng: np.random.Generator,
             n_resamples: int) -> dict[str, float | int | None]:
    """Rank-1 of real, simulated (and predicted) and the paired-bootstrap interval of the gap."""
    n = len(rows)
    if n == 0:
        return {"n": 0, "real_rank1": None, "sim_rank1": None, "sim_rank1_mc_se": None, "gap": None,
                "gap_ci_low": None, "gap_ci_high": None} | ({"pred_rank1": None} if corrections else {})
    outcomes = probe_outcomes(rows, corrections)
    model = "pred" if corrections is not None else "sim"

    def gap(index: np.ndarray) -> float:
        return float(outcomes[model][index].mean() - outcomes["real"][index].mean())

    low, high = subject_bootstrap({"gap": gap}, rows["identity"].to_numpy(), rng,
                                  n_resamples=n_resamples)["gap"]
    result: dict[str, float | int | None] = {
        "n": n, "real_rank1": float(outcomes["real"].mean()), "sim_rank1": float(outcomes["sim"].mean()),
        "sim_rank1_mc_se": monte_carlo_se(outcomes["sim"], simulated_outcomes(rows)["sim_draws"].to_numpy()),
        "gap": gap(np.arange(n)), "gap_ci_low": low, "gap_ci_high": high}
    if corrections is not None:
        result["pred_rank1"] = float(outcomes["pred"].mean())
    return result


def group_figures(rows: pd.DataFrame, inside: np.ndarray, corrections: Corrections | None,
                  rng: np.random.Generator, n_resamples: int) -> dict[str, object]:
    """The rank-1 figures of the real-detected ``rows`` where ``inside`` (as each IED bin has
    them), with the group's probes per IED bin, ``n_per_bin``."""
    return {"n_per_bin": [int((inside & in_ied_bin(rows, low, high)).sum()) for low, high in BINS_PX],
            **_compare(rows[inside], corrections, rng, n_resamples)}


def summarize(rows: pd.DataFrame, corrections: Corrections | None = None, seed: int = 0,
              n_resamples: int = 2000) -> dict[str, object]:
    """The ``validate --json`` figures: ``overall``, ``bins`` (of :data:`BINS_PX`, by the real
    inter-eye distance), ``cameras`` (per camera group), ``poses`` (:func:`pose_coverage`, each
    with its probes per bin, ``n_per_bin``), ``undetected_real`` (of all real probes) and
    ``not_simulated``. Every comparison is over the simulated probes: one whose source gave no
    simulation is counted there and compared nowhere, real or simulated."""
    rng = np.random.default_rng(seed)
    simulated_rows = rows[rows["simulated"]]
    detected = simulated_rows[simulated_rows["real_detected"]]

    def block(subset: pd.DataFrame, simulated: pd.DataFrame) -> dict[str, object]:
        figures: dict[str, object] = dict(_compare(subset, corrections, rng, n_resamples))
        figures["real_detection"] = float(simulated["real_detected"].mean()) if len(simulated) else None
        figures["sim_detection"] = float(simulated_outcomes(simulated)["sim_detected_share"].mean()) \
            if len(simulated) else None
        if corrections is not None and len(simulated):
            figures["pred_detection"] = float(predicted_detection(simulated, corrections).mean())
        return figures

    bins = []
    for low, high in BINS_PX:
        inside = detected[in_ied_bin(detected, low, high)]
        bins.append({"ied_px_low": low, "ied_px_high": None if math.isinf(high) else high,
                     **_compare(inside, corrections, rng, n_resamples)})
    cameras = [{"camera": camera, **block(detected[detected["camera"] == camera], group[group["simulated"]])}
               for camera, group in rows.groupby("camera", sort=True)]
    overall = block(detected, simulated_rows)  # after bins and cameras: their intervals' draws stay as they were
    poses = [{"pose": name, **group_figures(detected, inside, corrections, rng, n_resamples)}
             for name, inside in pose_coverage(detected).items()]
    return {"overall": overall, "bins": bins, "cameras": cameras, "poses": poses,
            "undetected_real": int((~rows["real_detected"]).sum()),
            "not_simulated": int((~rows["simulated"]).sum()),
            "corrected": corrections is not None}

