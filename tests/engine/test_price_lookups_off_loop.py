"""A run reads its models' own prices once, on a worker thread, and prices every request
from memory: no store read per request on the event loop (a load run makes thousands)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from desk.core.load import LoadStep
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import Usage
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer
from tests.engine.conftest import engine_for
from tests.vendor_server import Script

B = ModelRef("openai", "model-b")


def test_a_load_run_prices_its_requests_without_reading_the_store_on_the_loop(providers, vendor):
    providers.prices.set("openai", "model-b", Price(input_per_mtok=1.0, output_per_mtok=2.0))
    vendor.set_default("model-b", Script(usage={"input_tokens": 1000, "output_tokens": 500}))
    reads: list[str] = []  # the thread of each read of the prices table

    def trace(sql: str) -> None:
        if "FROM prices" in sql:
            reads.append(threading.current_thread().name)

    plan = LoadPlan(models=(B,), inputs=(TrialInput("hi"),), steps=(LoadStep(3, 12),),
                    retry=RetryPolicy(max_retries=0), timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10),
                    warmup=False)

    async def go():
        async with engine_for(providers) as engine:
            providers.db.conn.set_trace_callback(trace)
            try:
                return await engine.loads.run(plan)
            finally:
                providers.db.conn.set_trace_callback(None)

    loop_thread = threading.current_thread().name
    result = asyncio.run(go())
    s = result.summary["models"]["openai/model-b"]
    assert s["ok"] == 12 and s["cost_usd"] == pytest.approx(12 * (1000 * 1.0 + 500 * 2.0) / 1e6)
    assert reads and loop_thread not in reads  # read, but never on the loop


def test_held_prices_are_read_once_and_again_after_forget():
    asked: list[tuple[str, str]] = []
    price = Price(input_per_mtok=1.0, output_per_mtok=1.0)

    def overrides(provider: str, model: str) -> Price | None:
        asked.append((provider, model))
        return price

    config = ProviderConfig("mine", "openai", "http://127.0.0.1:9/v1")
    pricer = Pricer(overrides)
    pricer.hold([(config, "m")])
    for _ in range(5):
        assert pricer.cost(config, "m", Usage(1_000_000, 0)).usd == pytest.approx(1.0)
        assert pricer.source(config, "m") == "user"
    assert asked == [("mine", "m")]
    pricer.forget()  # the user changed a price
    pricer.cost(config, "m", Usage(1, 1))
    assert asked == [("mine", "m")] * 2
