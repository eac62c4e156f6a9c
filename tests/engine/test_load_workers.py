"""Load runs across worker processes against the loopback vendor: every request is sent,
reported once and stored once by the parent, on the run's one clock, with the figures a
run in one process gives."""

from __future__ import annotations

import asyncio
import time

import pytest

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadCancelled, LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.timing import SLACK_MS
from tests.vendor_server import Script

A, B = ModelRef("openai", "model-a"), ModelRef("openai", "model-b")
T = Timeouts(connect=2, first_token=5, idle=2, total=10)


def plan(**kw) -> LoadPlan:
    base = dict(models=(A,), inputs=(TrialInput("one"), TrialInput("two"), TrialInput("three")),
                steps=(LoadStep(4, 10), LoadStep(6, 9)), retry=RetryPolicy(max_retries=0), timeouts=T,
                warmup=False, workers=2)
    base.update(kw)
    return LoadPlan(**base)


def run(store, p: LoadPlan):
    async def go():
        async with engine_for(store) as engine:
            return await engine.loads.run(p)

    return asyncio.run(go())


def test_two_workers_send_every_request_once_and_the_parent_stores_them(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a", "b", "c"], first_token_delay_ms=40, interval_ms=5))
    vendor.set_default("model-b", Script(text_pieces=["x"], first_token_delay_ms=10))
    t0 = time.time()
    result = run(providers, plan(models=(A, B)))
    assert result.status == "done"
    assert len(vendor.requests) == 2 * (10 + 9)  # each request sent exactly once, across both processes
    for model in ("openai/model-a", "openai/model-b"):
        s = result.summary["models"][model]
        assert (s["requests"], s["ok"], s["errors"]) == (19, 19, {})
    a = result.summary["models"]["openai/model-a"]
    assert 40 <= a["ttft_ms"]["p50"] <= 40 + SLACK_MS  # measured in the workers, on their clocks
    assert [s["concurrency"] for s in result.summary["steps"]] == [4, 6]
    assert all(s["workers"] == 2 for s in result.summary["steps"])
    assert all(s["send_burst_ms"] is not None and s["wall_s"] > 0.04 for s in result.summary["steps"])
    assert result.summary["event_loop_lag"]["samples"] > 0  # the workers' loops, merged
    # the run's wall time is its steps', not the workers' start-up or shutdown
    assert result.summary["wall_s"] <= sum(s["wall_s"] + 0.4 for s in result.summary["steps"])

    stored = providers.runs.requests(result.run_id)
    assert sorted(o.seq for o in stored) == list(range(38))  # one dense numbering, by the parent
    assert len({o.response_ids[0] for o in stored}) == 38
    # the step's full concurrency, not a worker's share; every input used
    assert {(o.step, o.concurrency) for o in stored} == {(0, 4), (1, 6)}
    assert {o.input_index for o in result.outcomes} == {0, 1, 2}  # (kept in memory only)
    assert providers.runs.get(result.run_id).spec["workers"] == 2
    # One clock: each stored attempt's wall time sits inside the run, and in start order.
    started_at = result.summary["started_at"]
    assert t0 <= started_at <= time.time()
    for o in stored:
        assert 0 <= o.start_offset_ms <= result.summary["wall_s"] * 1000
        assert abs(o.marks[0].start_s * 1000 - o.start_offset_ms) <= SLACK_MS
    by_seq = sorted(stored, key=lambda o: o.seq)
    assert [o.start_offset_ms for o in by_seq] == sorted(o.start_offset_ms for o in by_seq)


def test_a_report_larger_than_a_pipe_buffer_arrives_whole(providers, vendor):
    # Each worker's step report here is far beyond the 64 KiB a pipe holds: it must be
    # written whole even though the worker's event loop watches its orders pipe.
    vendor.set_default("model-a", Script(text_pieces=["a", "b"]))
    result = run(providers, plan(steps=(LoadStep(20, 300),)))
    assert result.status == "done", result.summary.get("workers_lost")
    assert len(providers.runs.requests(result.run_id)) == 300


def test_steps_start_together_on_every_worker(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=150))
    result = run(providers, plan(steps=(LoadStep(6, 6),), workers=3))
    offsets = sorted(o.start_offset_ms for o in result.outcomes)
    # three processes, one agreed instant: all six sent within a few ms of each other
    assert offsets[-1] - offsets[0] <= 2 * SLACK_MS
    assert result.summary["steps"][0]["wall_s"] < 0.15 + 2 * SLACK_MS / 1000


@pytest.mark.slow
def test_a_cancelled_run_stores_what_the_workers_had(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=30))

    async def go():
        async with engine_for(providers) as engine:
            task = asyncio.ensure_future(engine.loads.run(plan(steps=(LoadStep(4, duration_s=30),))))
            await asyncio.to_thread(vendor.wait_for, lambda requests: len(requests) >= 20)  # well into the step
            task.cancel()
            with pytest.raises(LoadCancelled) as caught:
                await task
            return caught.value.result

    result = asyncio.run(go())
    assert result.status == "cancelled"
    stored = providers.runs.requests(result.run_id)
    assert len(stored) == len(result.outcomes) >= 20
    assert providers.runs.get(result.run_id).status == "cancelled"


def test_a_worker_that_cannot_start_fails_the_run_and_says_why(providers, vendor, tmp_path):
    vendor.set_default("model-a", Script(text_pieces=["a"]))

    async def go():
        async with engine_for(providers) as engine:
            engine.loads._store_path = str(tmp_path / "\0bad")  # no worker can open it
            return await engine.loads.run(plan(steps=(LoadStep(2, 2),)))

    result = asyncio.run(go())
    assert result.status == "failed"
    assert len(result.summary["workers_lost"]) == 2
