"""Regressions found while building the Load tab: a cancel during the warm-up, and the
price-catalog preload that a load run waits for."""

from __future__ import annotations

import asyncio
import time

import pytest

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine import pricing
from desk.engine.load import LoadCancelled, LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.vendor_server import Script


def test_cancel_during_the_warmup_still_stores_a_cancelled_run(providers, vendor):
    vendor.set_default("model-a", Script(stall_after_headers=True))  # the warm-up request hangs
    plan = LoadPlan(models=(ModelRef("openai", "model-a"),), inputs=(TrialInput("hi"),), steps=(LoadStep(2, 10),),
                    retry=RetryPolicy(max_retries=0), timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10))

    async def go():
        async with engine_for(providers) as engine:
            task = asyncio.ensure_future(engine.loads.run(plan))
            await asyncio.to_thread(vendor.held, 1)  # the warm-up request is at the vendor
            task.cancel()
            with pytest.raises(LoadCancelled) as caught:
                await task
            return caught.value.result

    result = asyncio.run(go())
    assert result.status == "cancelled" and result.outcomes == []
    assert providers.runs.get(result.run_id).status == "cancelled"  # not left "running"


def test_waiting_for_the_preload_returns_once_it_is_done():
    pricing.preload_catalog()
    t0 = time.monotonic()
    assert pricing.wait_for_preload(timeout=10.0)
    assert time.monotonic() - t0 < 5.0  # it returns when the preload ends, not at the timeout
