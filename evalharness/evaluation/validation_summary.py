"""Real against simulated identification, by inter-eye distance, with corrections.

The figures of ``evalharness validate``, from its per-probe rows
(:mod:`evalharness.evaluation.validation`):

- *rank-1*: over the real probes whose face was detected, the share identified at rank 1, in
  reality and in simulation (a simulated probe whose face was not detected counts as a miss);
- *detection*: the share of all real probes whose face was detected, against the share of their
  simulations;
- *gap*: simulated (or predicted) minus real, with a paired bootstrap over people: each resample
  draws people with replacement and keeps every probe of each, real and simulated together.

Corrections (:class:`Corrections`) stand for what a camera model cannot produce: real probes come
from another session than the studio sources (hair, glasses, make-up, lighting, expression).
They are fitted on one validation run (the development subjects) and applied to another:

- *session margin drop*: for probes detected both ways, ``d = (simulated mate score - simulated
  best non-mate score) - (real mate score - real best non-mate score)``. A simulated probe with
  margin ``m`` is predicted identified with probability ``mean_k [m - d_k > 0]`` over the fitted
  drops ``d_k`` (their empirical distribution, not only their mean, so its spread carries over);
- *detection ratio*: real detection rate / simulated detection rate, multiplying the simulated
  detection rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from evalharness.evaluation.intervals import subject_bootstrap

#: Bins of the real probe's inter-eye distance, pixels: [low, high).
BINS_PX = ((0.0, 12.0), (12.0, 20.0), (20.0, 30.0), (30.0, 50.0), (50.0, math.inf))


@dataclass(frozen=True)
class Corrections:
    """Corrections fitted on one validation run (see the module docstring).

    ``margin_drops``: the fitted drops ``d_k`` (cosine similarity units), sorted;
    ``detection_ratio``: real / simulated detection rate; ``n_pairs``: probes detected both ways;
    ``fitted_on``: the run directory and dataset fingerprint they come from.
    """

    margin_drops: tuple[float, ...]
    detection_ratio: float
    n_pairs: int
    fitted_on: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"margin_drop_median": float(np.median(self.margin_drops))
                               if self.margin_drops else None}

    @staticmethod
    def from_dict(data: dict[str, object]) -> Corrections:
        return Corrections(tuple(float(x) for x in data["margin_drops"]),  # type: ignore[union-attr]
                           float(data["detection_ratio"]), int(data["n_pairs"]),  # type: ignore[arg-type]
                           dict(data["fitted_on"]))  # type: ignore[arg-type]


def _margin(rows: pd.DataFrame, kind: str) -> np.ndarray:
    return (rows[f"{kind}_mate_score"] - rows[f"{kind}_best_nonmate_score"]).to_numpy(np.float64)


def fit_corrections(rows: pd.DataFrame, fitted_on: dict[str, str]) -> Corrections:
    """Fit the session margin drop and the detection ratio on a validation run's rows."""
    both = rows[rows["real_detected"] & rows["sim_detected"]]
    drops = np.sort(_margin(both, "sim") - _margin(both, "real"))
    simulated = rows[rows["simulated"]]
    sim_rate = float(simulated["sim_detected"].mean()) if len(simulated) else math.nan
    real_rate = float(simulated["real_detected"].mean()) if len(simulated) else math.nan
    ratio = real_rate / sim_rate if sim_rate > 0 else math.nan
    return Corrections(tuple(drops.tolist()), ratio, len(both), fitted_on)


def predicted_success(rows: pd.DataFrame, corrections: Corrections) -> np.ndarray:
    """Probability ``(P,)`` that each simulated probe is identified at rank 1 once the session
    margin drop is applied (0 where the simulated face was not detected)."""
    drops = np.asarray(corrections.margin_drops, dtype=np.float64)
    margin = np.nan_to_num(_margin(rows, "sim"), nan=-np.inf)
    if drops.size == 0:
        return np.zeros(len(rows))
    # Share of drops smaller than the margin: searchsorted on the sorted drops.
    success = np.searchsorted(np.sort(drops), margin, side="left") / drops.size
    return np.where(rows["sim_detected"].to_numpy(bool), success, 0.0)


def _rates(rows: pd.DataFrame, corrections: Corrections | None) -> dict[str, np.ndarray]:
    """Per-probe outcomes: real and simulated rank-1 success (and the prediction)."""
    outcomes = {
        "real": (rows["real_mate_rank"] == 1).fillna(False).to_numpy(float),
        "sim": (rows["sim_detected"] & (rows["sim_mate_rank"] == 1).fillna(False)).to_numpy(float),
    }
    if corrections is not None:
        outcomes["pred"] = predicted_success(rows, corrections)
    return outcomes


def _compare(rows: pd.DataFrame, corrections: Corrections | None, rng: np.random.Generator,
             n_resamples: int) -> dict[str, float | int | None]:
    """Rank-1 of real, simulated (and predicted) and the paired-bootstrap interval of the gap."""
    n = len(rows)
    if n == 0:
        return {"n": 0, "real_rank1": None, "sim_rank1": None, "gap": None,
                "gap_ci_low": None, "gap_ci_high": None}
    outcomes = _rates(rows, corrections)
    model = "pred" if corrections is not None else "sim"

    def gap(index: np.ndarray) -> float:
        return float(outcomes[model][index].mean() - outcomes["real"][index].mean())

    low, high = subject_bootstrap({"gap": gap}, rows["identity"].to_numpy(), rng,
                                  n_resamples=n_resamples)["gap"]
    result: dict[str, float | int | None] = {
        "n": n, "real_rank1": float(outcomes["real"].mean()), "sim_rank1": float(outcomes["sim"].mean()),
        "gap": gap(np.arange(n)), "gap_ci_low": low, "gap_ci_high": high}
    if corrections is not None:
        result["pred_rank1"] = float(outcomes["pred"].mean())
    return result


def summarize(rows: pd.DataFrame, corrections: Corrections | None = None, seed: int = 0,
              n_resamples: int = 2000) -> dict[str, object]:
    """The ``validate --json`` figures: ``overall``, ``bins`` (of :data:`BINS_PX`, by the real
    inter-eye distance), ``cameras`` (per camera group) and ``undetected_real``."""
    rng = np.random.default_rng(seed)
    detected = rows[rows["real_detected"]]

    def block(subset: pd.DataFrame, everything: pd.DataFrame) -> dict[str, object]:
        simulated = everything[everything["simulated"]]
        figures: dict[str, object] = dict(_compare(subset, corrections, rng, n_resamples))
        figures["real_detection"] = float(everything["real_detected"].mean()) if len(everything) else None
        figures["sim_detection"] = float(simulated["sim_detected"].mean()) if len(simulated) else None
        if corrections is not None and figures["sim_detection"] is not None:
            figures["pred_detection"] = min(1.0, figures["sim_detection"] * corrections.detection_ratio)  # type: ignore[operator]
        return figures

    bins = []
    for low, high in BINS_PX:
        inside = detected[(detected["real_ied_px"] >= low) & (detected["real_ied_px"] < high)]
        bins.append({"ied_px_low": low, "ied_px_high": None if math.isinf(high) else high,
                     **_compare(inside, corrections, rng, n_resamples)})
    cameras = [{"camera": camera, **block(detected[detected["camera"] == camera], group)}
               for camera, group in rows.groupby("camera", sort=True)]
    return {"overall": block(detected, rows), "bins": bins, "cameras": cameras,
            "undetected_real": int((~rows["real_detected"]).sum()),
            "not_simulated": int((~rows["simulated"]).sum()),
            "corrected": corrections is not None}

