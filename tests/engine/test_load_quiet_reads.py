"""A load run reads the rest of an answer quietly once its first content came (one wake-up
for many pieces): the same text, each piece's own arrival, and the idle deadline still
fires on a stall."""

from __future__ import annotations

import asyncio

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.vendor_server import Script

A = ModelRef("openai", "model-a")


def run(providers, timeouts: Timeouts, streams: int = 4):
    plan = LoadPlan(models=(A,), inputs=(TrialInput("one"),), steps=(LoadStep(streams, streams),),
                    retry=RetryPolicy(max_retries=0), timeouts=timeouts, warmup=False, workers=1)

    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    return asyncio.run(go())


def test_a_stall_after_the_first_content_still_ends_on_the_idle_deadline(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a", "b", "c", "d"], interval_ms=20, stall_after_pieces=2))
    result = run(providers, Timeouts(connect=2, first_token=5, idle=0.4, total=10))
    assert [o.status for o in result.outcomes] == ["error"] * 4
    for o in result.outcomes:
        assert o.error_kind == "timeout" and o.text == "ab"
        # the stall began ~20 ms after the first piece: caught at most a quiet period (0.1 s) late
        assert 400 <= o.total_ms - o.request_ttft_ms < 400 + 100 + 250, o


def test_pieces_read_quietly_keep_their_text_and_gaps(providers, vendor):
    pieces = [f"p{i} " for i in range(8)]
    vendor.set_default("model-a", Script(text_pieces=pieces, first_token_delay_ms=30, interval_ms=40))
    result = run(providers, Timeouts(connect=2, first_token=5, idle=2, total=10))
    for o in result.outcomes:
        assert o.status == "ok" and o.text == "".join(pieces)
        assert len(o.itl_ms) == len(pieces) - 1
        assert all(25 <= gap <= 200 for gap in o.itl_ms), o.itl_ms  # each piece's arrival, not the batch's
