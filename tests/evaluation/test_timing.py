"""The stage clock sums seconds per declared stage and turns them into probe-conditions a second."""

from __future__ import annotations

import time

import pytest
import torch

from evalharness.evaluation.timing import STAGES, StageClock, Throughput, device_name, summed


def test_stages_are_summed_per_name_and_across_clocks():
    first, second = StageClock(torch.device("cpu")), StageClock(torch.device("cpu"))
    for clock in (first, second):
        with clock.stage("simulate"):
            time.sleep(0.01)
        clock.probes += 8
    with first.stage("detect"):
        pass
    total = summed([first, second], torch.device("cpu"))
    assert total.probes == 16
    assert total.seconds["simulate"] == pytest.approx(first.seconds["simulate"] + second.seconds["simulate"])
    assert total.seconds["simulate"] >= 0.02 and set(total.seconds) == {"simulate", "detect"}


def test_an_undeclared_stage_is_refused():
    with pytest.raises(ValueError, match="unknown stage 'decode'"):
        with StageClock(torch.device("cpu")).stage("decode"):
            pass


def test_throughput_rates_and_table_follow_the_declared_stage_order():
    clock = StageClock(torch.device("cpu"), {"embed": 2.0, "simulate": 1.0, "summary": 0.0}, probes=100)
    speed = Throughput.of(clock, wall_s=4.0, device="cpu (test)")
    assert [s.stage for s in speed.stages] == [s for s in STAGES if s in clock.seconds]
    assert speed.probe_conditions_per_s == 25.0
    assert {s.stage: s.probe_conditions_per_s for s in speed.stages} == {
        "simulate": 100.0, "embed": 50.0, "summary": None}
    table = speed.table()
    assert table[0] == "100 probe-conditions on cpu (test)" and table[-1].split() == ["overall", "4.00", "100%", "25.0"]


@pytest.mark.gpu
def test_on_cuda_a_stage_waits_for_its_queued_work_and_the_device_is_named():
    device = torch.device("cuda", 0)
    clock = StageClock(device)
    big = torch.randn(4096, 4096, device=device)
    with clock.stage("embed"):
        for _ in range(20):
            big = big @ big / 4096
    # Twenty 4096^3 products take milliseconds at least; unsynchronised, the stage would end at once.
    assert clock.seconds["embed"] > 1e-3
    assert torch.cuda.get_device_name(device) in device_name(device)
