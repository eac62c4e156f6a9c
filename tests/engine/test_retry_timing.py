"""Honest timing when retries happen: the backoff is visible while it lasts, and the wall
time the user waited is kept beside the final attempt's own TTFT and total."""

from __future__ import annotations

import asyncio
import time

import pytest

from desk.core.response import Status, retry_status
from desk.core.trial import TrialInput
from desk.engine.export import table_rows
from desk.engine.policy import RetryPolicy
from tests.engine.conftest import engine_for, ref, script_for
from tests.vendor_server import Script

POLICY = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)


class Watcher:
    """A view: what it would say at each failed attempt, and once more half-way through the wait."""

    def __init__(self) -> None:
        self.said: list[str | None] = []
        self.later: list[asyncio.Task] = []

    def response_started(self, result): pass
    def text_received(self, result, delta, parts): pass
    def response_finished(self, result): pass

    def attempt_finished(self, result, attempt):
        self.said.append(retry_status(result, time.time()))
        if result.pending_retry is not None:
            async def halfway():
                await asyncio.sleep(0.2)
                self.said.append(retry_status(result, time.time()))
            self.later.append(asyncio.ensure_future(halfway()))


def test_backoff_is_said_live_and_wall_time_includes_the_retries(providers, vendor):
    script_for(vendor, "openai", Script(status=429, headers={"Retry-After": "0.5"}),
               Script(status=429, headers={"Retry-After": "0.5"}), Script())
    watcher = Watcher()

    async def go():
        async with engine_for(providers, retry=POLICY) as engine:
            outcome = await engine.trials.run(TrialInput("Say hello."), [ref("openai")], sink=watcher)
            await asyncio.gather(*watcher.later)
            return outcome

    outcome = asyncio.run(go())
    (r,) = outcome.responses
    assert r.status == Status.OK and r.retries == 2
    assert watcher.said[0] == "429 · retry 1 of 2 in 0.5 s"
    assert watcher.said[1].startswith("429 · retry 1 of 2 in 0.")  # counting down
    assert watcher.said[2] == "429 · retry 2 of 2 in 0.5 s"
    assert watcher.said[-1] is None  # the final attempt: nothing pending
    assert r.pending_retry is None
    # The final attempt alone took a few ms; the user waited for both backoffs too.
    assert r.total_ms < 500
    assert r.wall_ms >= 1000 and r.wall_ms >= r.total_ms + r.retry_wait_ms
    stored = providers.responses.get(r.id)
    assert stored.wall_ms == r.wall_ms  # derived from the stored attempts

    providers.ratings.save(r.id, "ann", {"outcome": "success", "uncertainty": "confident_correct",
                                        "constraints": "na", "quality": 4})
    _, (row,) = table_rows(providers)
    assert row["wall_ms"] == r.wall_ms and row["total_ms"] == r.total_ms and row["ttft_ms"] == r.ttft_ms
    assert row["wall_ms"] > 1000 > row["total_ms"]


def test_no_retry_wall_time_is_the_total(providers, vendor):
    script_for(vendor, "openai", Script())

    async def go():
        async with engine_for(providers, retry=POLICY) as engine:
            return await engine.trials.run(TrialInput("Say hello."), [ref("openai")])

    (r,) = asyncio.run(go()).responses
    assert r.retries == 0 and r.wall_ms == pytest.approx(r.total_ms, abs=0.01)
