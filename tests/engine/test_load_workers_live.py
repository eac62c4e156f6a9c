"""A run across worker processes that a window draws as it goes: the workers hand their
finished requests over during each step, not only at its end, so progress moves while the
step is still sending."""

from __future__ import annotations

import asyncio

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.vendor_server import Script

A = ModelRef("openai", "model-a")
PLANNED = 60


def plan() -> LoadPlan:
    # 2 workers x 2 streams, 15 requests each one after another at ~80 ms: about 1.2 s of step
    return LoadPlan(models=(A,), inputs=(TrialInput("one"),), steps=(LoadStep(4, PLANNED),),
                    retry=RetryPolicy(max_retries=0), timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10),
                    warmup=False, workers=2)


def progress_while_sending(providers, vendor, **how) -> tuple[list[tuple[int, int]], int]:
    """Each progress call's (done, requests the vendor had received by then), and the run's total."""
    seen: list[tuple[int, int]] = []

    async def go():
        async with engine_for(providers) as engine:
            result = await engine.loads.run(plan(), progress=lambda _o, done, _p: seen.append(
                (done, len(vendor.requests))), **how)
            return result

    result = asyncio.run(go())
    assert result.status == "done" and len(result.outcomes) == PLANNED
    return seen, PLANNED


def test_live_progress_arrives_while_the_workers_are_still_sending(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=80))
    seen, planned = progress_while_sending(providers, vendor, live=True)
    assert [done for done, _ in seen] == list(range(1, planned + 1))  # each request once, in order of arrival
    _, sent_by_then = seen[0]
    # the first requests were drawn while the step was still sending the rest
    assert sent_by_then < planned, seen[:3]
    assert sum(1 for _, sent in seen if sent < planned) >= 2


def test_without_a_live_watcher_workers_report_at_the_steps_end(providers, vendor):
    # (the command line and the benchmark: no pickling on a worker's loop mid-step)
    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=80))
    seen, planned = progress_while_sending(providers, vendor)
    # each worker hands its share over when it has sent all of it: a busy machine may let one
    # worker end before the other has sent its last, but never report from mid-share
    assert all(sent >= planned // 2 for _, sent in seen), seen[:3]
    assert seen[-1][1] == planned
