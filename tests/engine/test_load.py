"""Load runs against a scripted loopback vendor: the figures match what the script implies.

Tolerances are stated per check; the vendor runs in this process, so timings carry a few
milliseconds of thread-switch noise.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from desk.core.load import LoadStep
from desk.core.pricing import Price
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadCancelled, LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.timing import SLACK_MS, SLACK_S
from tests.vendor_server import LoadProfile, Script

A, B = ModelRef("openai", "model-a"), ModelRef("openai", "model-b")
T = Timeouts(connect=2, first_token=5, idle=2, total=10)
NO_RETRY = RetryPolicy(max_retries=0)


def plan(**kw) -> LoadPlan:
    base = dict(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(4, 8),), retry=NO_RETRY,
                timeouts=T, warmup=False)
    base.update(kw)
    return LoadPlan(**base)


def run(providers, p: LoadPlan):
    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(p)

    return asyncio.run(go())


def test_queueing_on_limited_slots_shows_in_ttft(providers, vendor):
    # 4 slots, 100 ms service, 8 in flight: after the first wave every request waits one
    # service time for a slot, so TTFT ~ 200 ms at the median and ~100 ms at the minimum.
    vendor.set_load("model-a", LoadProfile(slots=4, service_ms=100))
    vendor.set_default("model-a", Script(text_pieces=["a", "b", "c"], interval_ms=2))
    result = run(providers, plan(steps=(LoadStep(8, 24),)))
    s = result.summary["models"]["openai/model-a"]
    assert (s["requests"], s["ok"], s["errors"]) == (24, 24, {})
    ttfts = sorted(o.request_ttft_ms for o in result.outcomes)
    assert 95 <= ttfts[0] <= 100 + SLACK_MS
    assert 190 <= s["ttft_ms"]["p50"] <= 200 + SLACK_MS
    assert s["ttft_ms"]["p95"] <= 200 + SLACK_MS
    # 4 slots x (100 ms + ~4 ms streaming) -> ~38 req/s; 24 requests in ~0.6 s.
    # A busy machine (CI running other work) only ever makes it slower, never faster.
    assert 24 / (0.65 + 2 * SLACK_S) <= s["throughput_rps"] <= 42
    assert vendor.stats("model-a")["max_queued"] == 4
    assert s["itl_ms"]["n"] == 24 * 2 and 0 <= s["itl_ms"]["p50"] < 50  # a median: robust to the odd late read


def test_rate_cap_429s_are_retried_after_the_wait_the_server_asked(providers, vendor):
    vendor.set_load("model-a", LoadProfile(max_concurrent=3, retry_after_s=0.2))
    vendor.set_default("model-a", Script(first_token_delay_ms=50))
    result = run(providers, plan(steps=(LoadStep(6, 12),), retry=RetryPolicy(max_retries=10)))
    s = result.summary["models"]["openai/model-a"]
    assert (s["ok"], s["errors"]) == (12, {})
    rejected = vendor.stats("model-a")["rejected_429"]
    assert rejected >= 3 and s["rate_limited"] == rejected == s["retries"]
    assert s["retry_wait_ms"] == pytest.approx(200.0 * rejected, rel=0.01)  # Retry-After honoured exactly
    assert s["retries_per_success"] == pytest.approx(rejected / 12)
    # A request that had to wait shows it in its latency.
    waited = [o for o in result.outcomes if o.rate_limited]
    assert all(o.total_ms >= 200 * o.rate_limited for o in waited)


def test_injected_errors_are_counted_by_kind(providers, vendor):
    vendor.set_load("model-a", LoadProfile(error_rate=0.25, error_status=503, seed=7))
    rng = random.Random(7)
    expected = sum(rng.random() < 0.25 for _ in range(40))
    result = run(providers, plan(steps=(LoadStep(1, 40),)))
    s = result.summary["models"]["openai/model-a"]
    assert s["errors"] == {"server_error": expected} and s["ok"] == 40 - expected
    assert s["error_rate"] == pytest.approx(expected / 40)


def test_fallback_chain_and_cost_per_successful_task(providers, vendor):
    providers.prices.set("openai", "model-b", Price(input_per_mtok=1.0, output_per_mtok=2.0))
    vendor.set_load("model-a", LoadProfile(error_rate=1.0, error_status=503))
    vendor.set_default("model-b", Script(usage={"input_tokens": 1000, "output_tokens": 500}))
    result = run(providers, plan(steps=(LoadStep(3, 9),), fallback=(B,),
                                 retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02)))
    s = result.summary["models"]["openai/model-a"]
    assert (s["requests"], s["ok"], s["fallbacks"], s["retries"]) == (9, 9, 9, 9)
    assert all(o.attempts == 3 and o.answered_by == "openai/model-b" for o in result.outcomes)
    per_answer = (1000 * 1.0 + 500 * 2.0) / 1_000_000  # B's price; A's 503s carried no usage
    assert s["cost_per_success_usd"] == pytest.approx(per_answer)
    assert s["cost_usd"] == pytest.approx(9 * per_answer)


def test_ramp_finds_the_knee(providers, vendor):
    # 2 slots of 250 ms: up to 2 in flight nobody queues (p95 ~250 ms); 8 in flight queue in
    # four waves (p95 ~1000 ms). The budget sits between, a scheduling hiccup away from neither.
    vendor.set_load("model-a", LoadProfile(slots=2, service_ms=250))
    vendor.set_default("model-a", Script(text_pieces=["x"]))
    budget = 250 + SLACK_MS
    assert budget < 1000
    steps = (LoadStep(1, 2), LoadStep(2, 4), LoadStep(8, 8))
    result = run(providers, plan(steps=steps, p95_budget_ms=budget))
    steps = result.summary["steps"]
    p95 = [st["models"]["openai/model-a"]["total_ms"]["p95"] for st in steps]
    assert p95[0] < budget and p95[1] < budget and p95[2] > 900  # 8 in flight on 2 slots queue
    assert result.summary["models"]["openai/model-a"]["knee_concurrency"] == 8
    assert [st["concurrency"] for st in steps] == [1, 2, 8]


def test_everything_is_stored_with_the_run(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["same answer"]))
    result = run(providers, plan(steps=(LoadStep(2, 6),)))
    info = providers.runs.get(result.run_id)
    assert info.status == "done" and info.kind == "load"
    assert info.spec["steps"] == [{"concurrency": 2, "requests": 6, "duration_s": None}]
    assert info.summary["models"]["openai/model-a"]["ok"] == 6
    stored = providers.runs.requests(result.run_id)
    assert sorted(o.seq for o in stored) == sorted(o.seq for o in result.outcomes)
    responses = providers.runs.responses(result.run_id)
    assert len(responses) == 6 and all(r.text == "same answer" for r in responses)
    # Repeats of one prompt: the answers agree.
    stability = info.summary["models"]["openai/model-a"]["stability"]
    assert stability["exact_match_rate"] == 1.0 and stability["mean_similarity"] == 1.0


def test_cancel_stores_a_cancelled_run_with_what_was_measured(providers, vendor):
    vendor.set_default("model-a", Script(first_token_delay_ms=30))

    async def go():
        async with engine_for(providers) as engine:
            measured = asyncio.Event()

            def progress(outcome, done, planned):
                if done >= 5:
                    measured.set()

            task = asyncio.ensure_future(engine.loads.run(plan(steps=(LoadStep(2, 1000),)), progress=progress))
            await asyncio.wait_for(measured.wait(), 30)  # some measured, however slow the start
            task.cancel()
            with pytest.raises(LoadCancelled) as caught:
                await task
            return caught.value.result

    result = asyncio.run(go())
    assert result.status == "cancelled" and 0 < len(result.outcomes) < 1000
    assert providers.runs.get(result.run_id).status == "cancelled"
    assert len(providers.runs.requests(result.run_id)) == len(result.outcomes)


def test_fallbacks_count_every_request_that_asked_the_next_model(providers, vendor):
    # A fails always, B (its fallback) on the requests the seed picks: every request needed
    # B, only some were rescued by it.
    vendor.set_load("model-a", LoadProfile(error_rate=1.0, error_status=503))
    b_profile = LoadProfile(error_rate=0.5, error_status=503, seed=4)
    vendor.set_load("model-b", b_profile)
    rng = random.Random(4)
    b_failed = sum(rng.random() < 0.5 for _ in range(10))
    assert 0 < b_failed < 10
    result = run(providers, plan(steps=(LoadStep(1, 10),), fallback=(B,)))
    s = result.summary["models"]["openai/model-a"]
    assert (s["requests"], s["ok"], s["errors"]) == (10, 10 - b_failed, {"server_error": b_failed})
    assert s["fallbacks"] == 10 and s["fallbacks_answered"] == 10 - b_failed
    stored = providers.runs.requests(result.run_id)  # a reopened run counts the same
    assert sum(o.fallback_needed for o in stored) == 10


def test_cost_with_unpriced_answers_is_partial_not_understated(providers, vendor):
    # A has no price and answers half the time; B (priced) answers the rest. The sum of
    # the known costs is B's share only: a lower bound, and said to be one.
    providers.prices.set("openai", "model-b", Price(input_per_mtok=1.0, output_per_mtok=2.0))
    vendor.set_load("model-a", LoadProfile(error_rate=0.5, error_status=503, seed=2))
    rng = random.Random(2)
    a_failed = sum(rng.random() < 0.5 for _ in range(10))
    for model in ("model-a", "model-b"):
        vendor.set_default(model, Script(usage={"input_tokens": 1000, "output_tokens": 500}))
    result = run(providers, plan(steps=(LoadStep(1, 10),), fallback=(B,)))
    s = result.summary["models"]["openai/model-a"]
    per_answer = (1000 * 1.0 + 500 * 2.0) / 1_000_000
    assert s["ok"] == 10 and s["cost_unknown"] == 10 - a_failed and s["cost_partial"] is True
    assert s["cost_usd"] == pytest.approx(a_failed * per_answer)
    assert s["cost_per_success_usd"] == pytest.approx(a_failed * per_answer / 10)


def test_an_unpriced_model_that_used_tokens_before_its_fallback_makes_the_cost_unknown(providers, vendor):
    # A (no price) answers, but its answer is filtered: tokens billed, then B (priced) answers.
    # B's price alone would look like the whole cost; it is not.
    providers.prices.set("openai", "model-b", Price(input_per_mtok=1.0, output_per_mtok=2.0))
    vendor.set_default("model-a", Script(finish_reason="content_filter", usage={"input_tokens": 10, "output_tokens": 5}))
    vendor.set_default("model-b", Script(usage={"input_tokens": 1000, "output_tokens": 500}))
    result = run(providers, plan(steps=(LoadStep(1, 4),), fallback=(B,)))
    assert all(o.answered_by == "openai/model-b" and o.cost_usd is None for o in result.outcomes)
    s = result.summary["models"]["openai/model-a"]
    assert s["ok"] == 4 and s["cost_unknown"] == 4 and s["cost_usd"] is None
