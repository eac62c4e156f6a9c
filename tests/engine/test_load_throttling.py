"""A load run against a vendor whose rate limit runs out after N requests: the run's
summary says where throttling began, and the remaining budget is there to plot."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.cli.load import model_json, print_table
from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.vendor_server import LoadProfile, Script

A = ModelRef("openai", "model-a")
LIMIT = 14


def test_throttling_begins_where_the_budget_ran_out(providers, vendor, capsys):
    # 8 requests one at a time, then 24 at concurrency 4: the 15th request (in step 2) finds
    # the budget of 14 spent and every later one is answered 429 too (no retries).
    vendor.set_load("model-a", LoadProfile(limit_requests=LIMIT, limit_tokens=10_000, tokens_per_request=100,
                                           window_s=60))
    vendor.set_default("model-a", Script(first_token_delay_ms=20))
    plan = LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(1, 8), LoadStep(4, 24)),
                    retry=RetryPolicy(max_retries=0), timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10),
                    warmup=False)

    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    result = asyncio.run(go())
    figures = result.summary["models"]["openai/model-a"]
    assert (figures["ok"], figures["rate_limited"]) == (LIMIT, 32 - LIMIT)
    assert vendor.stats("model-a")["rejected_limit"] == 32 - LIMIT

    t = figures["throttling"]
    assert t == result.summary["throttling"]
    assert (t["model"], t["step"], t["concurrency"], t["requests_before"]) == ("openai/model-a", 1, 4, LIMIT)
    assert 0 < t["in_flight"] <= 3  # the other workers' requests, still streaming
    assert t["window_s"] == pytest.approx(min(5.0, t["first_429_at_s"]), abs=0.001)
    assert t["request_rate_rps"] == pytest.approx(LIMIT / t["window_s"], rel=0.01)  # all 14 fall in the window
    first_429 = min(m.start_s for o in result.outcomes for m in o.marks if m.http_status == 429)
    assert t["first_429_at_s"] == pytest.approx(first_429, abs=0.001)
    assert all(m.start_s < first_429 for o in result.outcomes for m in o.marks if m.http_status == 200)

    # What the vendor said was left, request by request, ready to plot.
    marks = sorted((m for o in result.outcomes for m in o.marks), key=lambda m: m.start_s)
    assert [m.remaining_requests for m in marks[:LIMIT]] == list(range(LIMIT - 1, -1, -1))
    assert [m.remaining_tokens for m in marks[:3]] == [9900, 9800, 9700]
    assert all(m.remaining_requests == 0 for m in marks[LIMIT:])

    # The stored run says the same.
    stored = providers.runs.get(result.run_id)
    assert stored.summary["throttling"] == t

    # `desk load`: the table says it in a sentence, --json carries it per model.
    print_table(result.run_id, result.status, result.summary)
    out = capsys.readouterr().out
    assert f"openai/model-a: throttling began {t['first_429_at_s']:.2f} s into the run (first 429): concurrency 4" in out
    assert f"{LIMIT} requests sent before it" in out
    record = json.loads(json.dumps(model_json(result.run_id, "openai/model-a", figures, result.summary)))
    assert record["run_id"] == result.run_id and record["throttling"] == t


def test_no_429_means_no_throttling(providers, vendor, capsys):
    plan = LoadPlan(models=(A,), inputs=(TrialInput("hi"),), steps=(LoadStep(2, 4),),
                    retry=RetryPolicy(max_retries=0), warmup=False)

    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    result = asyncio.run(go())
    assert result.summary["throttling"] is None and result.summary["models"]["openai/model-a"]["throttling"] is None
    print_table(result.run_id, result.status, result.summary)
    assert "throttling: none (no request was answered 429)" in capsys.readouterr().out
