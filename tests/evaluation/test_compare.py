"""compare_summaries on the committed reference run's summary; what computed two runs."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import DataError
from evalharness.evaluation.compare import Arithmetic, arithmetic, compare_summaries, read_summary

REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "default"


def test_a_rate_only_one_run_could_estimate_differs_exactly_but_not_within_the_intervals():
    """The H200 run of the default experiment detected none of the 140 probes of one 4.5 px
    condition where the CPU detected one: rank-1 of the detected was 0/1 on the CPU and undefined
    on the GPU. Within the intervals that is no difference; exactly, it is one. Rebuilt on any
    condition of the reference whose few detected faces were none identified."""
    reference = read_summary(REFERENCE)
    (condition,) = reference.index[(reference["n_detected_mated"] > 0)
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


def test_the_first_difference_of_arithmetic_is_named():
    """Device, then processor, then vector sets, then kernel choices (the AVX2 pin that moved 100
    metrics of the default experiment on an AMX Xeon)."""
    xeon = Arithmetic("cpu", "Xeon", ("avx2", "avx512f", "fma"), (("torch", "AVX512"),))
    assert xeon.difference(xeon) is None
    assert xeon.difference(replace(xeon, device="cuda")) == "devices cpu and cuda"
    assert xeon.difference(replace(xeon, processor="EPYC")) == "processors Xeon and EPYC"
    assert xeon.difference(replace(xeon, vector_extensions=("avx2", "fma"))) == \
        "vector instruction sets (first run only: avx512f; second run only: none)"
    pinned = replace(xeon, kernels=(("ONEDNN_MAX_CPU_ISA", "AVX2"), ("torch", "AVX2")))
    assert xeon.difference(pinned) == "kernel choices torch AVX512 and ONEDNN_MAX_CPU_ISA AVX2, torch AVX2"
    assert arithmetic(REFERENCE) is None  # a summary without its manifest


def test_a_condition_id_of_digits_stays_text(tmp_path) -> None:
    """Condition ids are 12 hex characters; one of digits only (a one-condition run, about 1 in 250)
    is still the id that names conditions/<id>.json, not a number."""
    (tmp_path / "summary.csv").write_text("condition_id,rank1\n012345678901,0.5\n123e45678901,0.25\n")
    assert list(read_summary(tmp_path).index) == ["012345678901", "123e45678901"]


def test_a_metric_only_one_run_has_is_a_difference_either_way(tmp_path):
    """A summary lacking a metric column does not agree with one that has it, whichever is first."""
    reference = read_summary(REFERENCE)
    fewer = reference.drop(columns=["rank1", "rank1_ci_low", "rank1_ci_high"])
    for a, b, only_in in ((fewer, reference, "b"), (reference, fewer, "a")):
        assert [(d.condition_id, d.metric, d.only_in) for d in compare_summaries(a, b)] == [
            ("(every condition)", "rank1", only_in)]


def test_a_malformed_summary_is_named_by_file_row_and_column(tmp_path):
    rows = "condition_id,rank1,rank1_ci_low,rank1_ci_high\n"
    (tmp_path / "summary.csv").write_text(rows + "aaa111bbb222,0.5,0.4,abc\n")
    with pytest.raises(DataError, match="summary.csv: rank1_ci_high of condition aaa111bbb222 is 'abc', not a"):
        read_summary(tmp_path)
    (tmp_path / "summary.csv").write_text(rows + "aaa111bbb222,0.5,0.4,0.6\naaa111bbb222,0.5,0.4,0.6\n")
    with pytest.raises(DataError, match="condition aaa111bbb222 has more than one row"):
        read_summary(tmp_path)
