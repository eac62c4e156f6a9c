"""A step wider than the connection pool's usual cap (1,024 idle per origin) still sends
every stream on a connection opened before the step's clock started (issue 22: "each with
its own pre-opened connections"): no request of the spike pays for a connection set-up."""

from __future__ import annotations

import asyncio
import resource

import pytest

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.export_runs import run_attempt_rows
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.vendor_server import Script

WIDE = 1100  # over the 1,024 the pool kept idle per origin, and the prewarm's old cap


@pytest.fixture(autouse=True)
def enough_files():
    """Both ends of WIDE connections live in this process (the vendor runs on a thread)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * WIDE + 512
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"needs {need} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_step_wider_than_the_pool_cap_sends_every_stream_on_a_pre_opened_connection(providers, vendor):
    vendor.set_default("m", Script(text_pieces=["a", "b"], first_token_delay_ms=50))
    plan = LoadPlan(models=(ModelRef("openai", "m"),), inputs=(TrialInput("hi"),), steps=(LoadStep(WIDE, WIDE),),
                    retry=RetryPolicy(max_retries=0), timeouts=Timeouts(connect=10, first_token=20, idle=20, total=60),
                    warmup=False, workers=1)

    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    result = asyncio.run(go())
    assert result.summary["models"]["openai/m"]["ok"] == WIDE
    rows = run_attempt_rows(providers, result.run_id)
    assert len(rows) == WIDE
    opened_in_flight = [r for r in rows if r["connect_ms"] is not None]
    assert opened_in_flight == []  # desk's record: no request opened a connection
    assert len({q.conn_id for q in vendor.requests}) == WIDE  # the vendor's: one connection per stream
