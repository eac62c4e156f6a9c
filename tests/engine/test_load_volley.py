"""Arm, then fire (issue 22): a load step's first wave is prepared up to the write before
the step's instant and written in one pass at it, each request stamped at its own write.
Before, each request was prepared and written one after another, so the last of a wide
step went out long after the first (at 5,000 streams, 0.6 s), and the first ones' answers
waited for that pass to end; and a request's clock started before its preparation."""

from __future__ import annotations

import asyncio
from time import perf_counter

import pytest

from desk.core import clock
from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.export_runs import run_attempt_rows
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.runner import Runner
from tests.engine.conftest import engine_for
from tests.vendor_server import Script

A, B = ModelRef("openai", "model-a"), ModelRef("openai", "model-b")
T = Timeouts(connect=5, first_token=10, idle=10, total=30)


def run(providers, plan: LoadPlan):
    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    return asyncio.run(go())


def stored(providers, run_id: str):
    """Each stored request with its HTTP attempts' rows, in start order."""
    rows = run_attempt_rows(providers, run_id)
    return [(o, [r for r in rows if r["seq"] == o.seq]) for o in providers.runs.requests(run_id)]


def test_every_request_of_the_first_wave_is_prepared_before_any_is_written(providers, vendor, monkeypatch):
    made: dict[str, float] = {}  # response id -> when the engine made its result (the first thing it does)
    new_result = Runner.new_result

    def noted(self, trial_id, target):
        result = new_result(self, trial_id, target)
        made[result.id] = clock.stamp(perf_counter())
        return result

    monkeypatch.setattr(Runner, "new_result", noted)
    vendor.set_default("model-a", Script(text_pieces=["a", "b"], first_token_delay_ms=20))
    n = 200
    result = run(providers, LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(n, n),),
                                     retry=RetryPolicy(max_retries=0), timeouts=T, warmup=False, workers=1))
    rows = run_attempt_rows(providers, result.run_id)
    assert len(rows) == n and all(r["http_status"] == 200 for r in rows)
    first_write = min(r["started_at"] for r in rows)
    last_made = max(made[r["response_id"]] for r in rows)
    # Before: the second request was made after the first had been written (one after another).
    assert last_made <= first_write
    burst = result.summary["steps"][0]["send_burst_ms"]
    assert (max(r["started_at"] for r in rows) - first_write) * 1000 <= burst  # all written in the fire's pass


@pytest.mark.parametrize("workers", [1, 2])
def test_a_first_wave_request_counts_its_time_from_its_own_write(providers, vendor, workers):
    vendor.set_default("model-a", Script(text_pieces=["a", "b", "c"], first_token_delay_ms=30))
    n = 60
    result = run(providers, LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(n, n),),
                                     retry=RetryPolicy(max_retries=0), timeouts=T, warmup=False, workers=workers))
    run_start = result.summary["started_at"]
    requests = stored(providers, result.run_id)
    assert len(requests) == n
    for outcome, (row,) in requests:
        # The request's clock is its HTTP request's: started at the write, nothing before it.
        # Before, it started when the engine began preparing it, hundreds of us earlier.
        assert outcome.request_ttft_ms == pytest.approx(row["ttft_ms"], abs=0.003)
        assert outcome.start_offset_ms == pytest.approx((row["started_at"] - run_start) * 1000, abs=0.003)


def test_retries_and_fallbacks_of_the_first_wave_go_as_before_and_count_from_its_first_write(providers, vendor):
    # Every request of the wave is refused once (a 429, retried), and B answers for A's
    # requests that fail again (a 500): the retry and the fallback are sent after the fire,
    # each when its turn comes, and the request's time runs from its first write.
    vendor.enqueue("model-a", *[Script(status=429, headers={"Retry-After": "0"})] * 6,
                   *[Script(status=500)] * 3)
    vendor.set_default("model-a", Script())
    vendor.set_default("model-b", Script(first_token_delay_ms=10))
    result = run(providers, LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(6, 6),),
                                     fallback=(B,), retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02),
                                     timeouts=T, warmup=False, workers=1))
    s = result.summary["models"]["openai/model-a"]
    assert (s["requests"], s["ok"], s["retries"], s["fallbacks"]) == (6, 6, 6, 3)
    run_start = result.summary["started_at"]
    for outcome, rows in stored(providers, result.run_id):
        first, final = rows[0], rows[-1]
        assert first["attempt"] == 1 and first["http_status"] == 429
        assert outcome.start_offset_ms == pytest.approx((first["started_at"] - run_start) * 1000, abs=0.003)
        assert outcome.request_ttft_ms == pytest.approx((final["first_token_at"] - first["started_at"]) * 1000,
                                                        abs=0.003)
        assert len(rows) == (3 if outcome.answered_by == str(B) else 2)


def test_a_ramp_and_a_step_wider_than_its_requests_send_every_request(providers, vendor):
    # Step 1: 3 streams for 7 requests (its first wave is 3; the other 4 go as streams free up);
    # step 2: 5 streams for 2 requests (a wave of 2); step 3 goes by time.
    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=5))
    vendor.set_default("model-b", Script(text_pieces=["b"], first_token_delay_ms=5))
    result = run(providers, LoadPlan(models=(A, B), inputs=(TrialInput("hi"), TrialInput("ho")),
                                     steps=(LoadStep(3, 7), LoadStep(5, 2), LoadStep(2, None, 0.2)),
                                     retry=RetryPolicy(max_retries=0), timeouts=T, warmup=False, workers=1))
    requests = [o for o, _ in stored(providers, result.run_id)]
    by_step = [[o for o in requests if o.step == i] for i in range(3)]
    assert [len(s) for s in by_step[:2]] == [14, 4]
    assert len(by_step[2]) >= 4  # at least each model's wave of 2
    assert all(o.status == "ok" for o in requests)
    assert len({o.seq for o in requests}) == len(requests)
    for step in result.summary["steps"]:
        assert step["send_burst_ms"] is not None and step["send_burst_ms"] >= 0


def test_a_first_wave_request_whose_answer_stalls_after_its_head_times_out_from_its_write(providers, vendor):
    # Its reader sleeps through the head (it waits for the body's first bytes) for at most
    # HEAD_GRACE_S, so the head is still recorded; the first-token deadline, started at the
    # fire, ends it, with the time counted from its write.
    vendor.set_default("model-a", Script(stall_after_headers=True))
    limits = Timeouts(connect=5, first_token=0.6, idle=5, total=10)
    result = run(providers, LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(20, 20),),
                                     retry=RetryPolicy(max_retries=0), timeouts=limits, warmup=False, workers=1))
    requests = stored(providers, result.run_id)
    assert len(requests) == 20
    for outcome, (row,) in requests:
        assert (outcome.status, outcome.error_kind, row["http_status"]) == ("error", "timeout", 200)
        assert "no first token within 0.6 s" in row["error_message"] and row["vendor_request_id"]
        assert 600 <= row["total_ms"] < 3000


def test_a_first_wave_of_whole_json_answers_is_read_as_before(providers, vendor):
    vendor.set_default("model-a", Script(first_token_delay_ms=5))
    result = run(providers, LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(10, 10),),
                                     retry=RetryPolicy(max_retries=0), timeouts=T, warmup=False, workers=1,
                                     stream=False))
    assert result.summary["models"]["openai/model-a"]["ok"] == 10
    assert all(o.status == "ok" and o.output_tokens == 4 and rows[0]["http_status"] == 200
               for o, rows in stored(providers, result.run_id))

