"""A load run reads each body in bulk (no wake-up per piece), so the body keeps the run's
read deadlines with one timer: a first token that never comes, a stall after some text, and
an answer past the total limit fail with the error a trial stores, at the same deadline; an
answer that flows past the first-token limit is not cut."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.load import LoadStep
from desk.core.response import ResponseResult
from desk.core.trial import TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import KINDS, engine_for, ref, script_for
from tests.vendor_server import Script

NO_RETRY = RetryPolicy(max_retries=0)
PIECES = [f"tok{i} " for i in range(10)]

# (script, timeouts, the deadline in seconds after the request's start or its first token)
CASES = {
    "first_token": (Script(text_pieces=PIECES, first_token_delay_ms=1500),
                    Timeouts(connect=2, first_token=0.3, idle=5, total=10), ("start", 0.3)),
    "silent_after_headers": (Script(stall_after_headers=True),
                             Timeouts(connect=2, first_token=0.3, idle=5, total=10), ("start", 0.3)),
    "stall_after_text": (Script(text_pieces=PIECES, interval_ms=20, stall_after_pieces=2),
                         Timeouts(connect=2, first_token=5, idle=0.4, total=10), ("first", 0.4)),
    "total": (Script(text_pieces=PIECES, interval_ms=100),
              Timeouts(connect=2, first_token=5, idle=5, total=0.55), ("start", 0.55)),  # between two pieces
    "flows_past_first_token_limit": (Script(text_pieces=PIECES, interval_ms=60),
                                     Timeouts(connect=2, first_token=0.2, idle=0.3, total=10), None),
}


def trial(providers, kind: str, timeouts: Timeouts) -> ResponseResult:
    async def go() -> ResponseResult:
        async with engine_for(providers, timeouts=timeouts, retry=NO_RETRY) as engine:
            return (await engine.trials.run(TrialInput("hi"), [ref(kind)])).responses[0]

    return asyncio.run(go())


def load(providers, kind: str, timeouts: Timeouts) -> ResponseResult:
    plan = LoadPlan(models=(ref(kind),), inputs=(TrialInput("hi"),), steps=(LoadStep(1, 1),),
                    retry=NO_RETRY, timeouts=timeouts, warmup=False, workers=1)

    async def go():
        async with engine_for(providers, timeouts=timeouts, retry=NO_RETRY) as engine:
            return await engine.loads.run(plan)

    (outcome,) = asyncio.run(go()).outcomes
    got = providers.responses.get(outcome.response_ids[0])
    assert got is not None
    return got


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", KINDS)
def test_a_load_run_keeps_the_read_deadlines_of_a_trial(kind, case, providers, vendor):
    script, timeouts, deadline = CASES[case]
    script_for(vendor, kind, script)
    live = trial(providers, kind, timeouts)
    script_for(vendor, kind, script)
    bulk = load(providers, kind, timeouts)
    assert (bulk.status, bulk.error_kind, bulk.error_message, bulk.text) == \
        (live.status, live.error_kind, live.error_message, live.text)
    if deadline is None:
        assert bulk.status == "ok" and bulk.text == "".join(PIECES)
        return
    assert bulk.error_kind == "timeout"
    since, limit = deadline
    assert bulk.total_ms is not None
    took = bulk.total_ms / 1000 - (bulk.ttft_ms or 0) / 1000 * (since == "first")
    assert limit - 0.01 <= took < limit + 0.25, (took, bulk)
