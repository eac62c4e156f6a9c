"""A remote worker's clock offset, estimated NTP-style, and its answers moved onto the head's clock."""

from __future__ import annotations

import pytest

from desk.core.clock_offset import estimate_offset, shift_result
from desk.core.load_report import cluster_lines
from desk.core.response import Attempt, ResponseResult


def probes(offset: float, trips: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """Round trips from a head at t0 = 100 + n to a worker whose clock is `offset` ahead;
    each trip's (out, back) delays."""
    found = []
    for n, (out, back) in enumerate(trips):
        t0 = 100.0 + n
        found.append((t0, t0 + out + offset, t0 + out + back))
    return found


def test_the_quickest_round_trip_is_kept_and_its_half_is_the_uncertainty():
    # a queue delayed the first trips one way only: they would misplace the worker's clock by 45 ms
    est = estimate_offset(probes(2.5, [(0.1, 0.01), (0.05, 0.002), (0.001, 0.001), (0.003, 0.0005)]))
    assert est.offset_s == pytest.approx(2.5, abs=1e-9)
    assert est.rtt_s == pytest.approx(0.002) and est.uncertainty_s == pytest.approx(0.001)


def test_the_error_never_exceeds_the_uncertainty_even_one_way():
    est = estimate_offset(probes(-0.75, [(0.004, 0.0)]))  # the whole trip on the way out
    assert abs(est.offset_s - (-0.75)) <= est.uncertainty_s + 1e-12
    assert est.as_dict() == {"offset_ms": -748.0, "uncertainty_ms": 2.0, "rtt_ms": 4.0}
    with pytest.raises(ValueError):
        estimate_offset([])


def test_a_workers_answer_moves_onto_the_heads_clock_with_its_durations_kept():
    r = ResponseResult(id="r", trial_id="t", model="p/m", settings={}, started_at=1000.5, first_token_at=1000.7,
                       ended_at=1001.0, ttft_ms=200.0)
    r.attempts = [Attempt(1, started_at=1000.5, first_token_at=1000.7, ended_at=1001.0, ttft_ms=200.0)]
    shift_result(r, -0.5)
    assert (r.started_at, r.first_token_at, r.ended_at, r.ttft_ms) == (1000.0, 1000.2, 1000.5, 200.0)
    (a,) = r.attempts
    assert (a.started_at, a.first_token_at, a.ended_at, a.ttft_ms) == (1000.0, 1000.2, 1000.5, 200.0)


def test_a_cluster_runs_details_name_each_workers_node_and_clock_and_what_was_lost():
    summary = {"cluster": {"address": "ray://head:10001", "clock": "how", "workers": [
        {"worker": 0, "node": "eu-1", "offset_ms": 12.5, "uncertainty_ms": 0.4, "rtt_ms": 0.8},
        {"worker": 1, "node": "us-2"}],
        "lost_in_flight": [{"worker": 1, "node": "us-2", "step": 0, "requests": 2, "inputs": [0, 2], "not_sent": 7}]}}
    lines = cluster_lines(summary)
    assert lines[0].startswith("Ran on the Ray cluster at ray://head:10001 (2 workers")
    assert "worker 0 on eu-1: clock offset +12.500 ms ± 0.400 ms" in lines[1]
    assert "worker 1 on us-2: clock offset not measured" in lines[2]
    assert "worker 1 was lost in step 1: 2 requests in flight" in lines[3] and "prompts 1, 3" in lines[3]
    assert "7 of its share never sent" in lines[3]
    summary["cluster"]["lost_in_flight"][0].update(step=None, requests=0, inputs=[])
    assert "worker 1 was lost before the first step: 0 requests" in cluster_lines(summary)[3]
    assert cluster_lines({"models": {}}) == []
