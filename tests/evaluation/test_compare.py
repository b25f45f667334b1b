"""compare_summaries on the committed reference run's summary."""

from pathlib import Path

import numpy as np

from evalharness.evaluation.compare import compare_summaries, read_summary

REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "default"


def test_a_rate_only_one_run_could_estimate_differs_exactly_but_not_within_the_intervals():
    """The H200 run of the default experiment detected none of the 140 probes of one 4.5 px
    condition where the CPU detected one: rank-1 of the detected was 0/1 on the CPU and undefined
    on the GPU. Within the intervals that is no difference; exactly, it is one."""
    reference = read_summary(REFERENCE)
    (condition,) = reference.index[(reference["n_detected_mated"] == 1)
                                   & (reference["rank1_detected"] == 0)][:1]
    undetected = reference.copy()
    for column in ("rank1_detected", "rank1_detected_ci_low", "rank1_detected_ci_high"):
        undetected.loc[condition, column] = np.nan
    exact = compare_summaries(reference, undetected)
    assert [(d.condition_id, d.metric) for d in exact] == [(condition, "rank1_detected")]
    assert compare_summaries(reference, undetected, within_ci=True) == []
    # A defined rate that moves beyond its interval still differs.
    undetected.loc[condition, "detection_rate"] += 0.5
    assert [d.metric for d in compare_summaries(reference, undetected, within_ci=True)] == ["detection_rate"]
