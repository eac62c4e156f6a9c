"""A load run on a thread of its own (what the window starts) runs on the engine's store
of the moment: after switching stores it is stored in the new one, not the old."""

from __future__ import annotations

import asyncio
import threading

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan, LoadResult
from desk.engine.policy import RetryPolicy, Timeouts
from desk.store.db import open_store
from tests.engine.conftest import config_for, engine_for
from tests.vendor_server import Script


def test_a_threaded_run_is_stored_in_the_store_switched_to(providers, vendor, tmp_path):
    vendor.set_default("model-a", Script(text_pieces=["ok"]))
    plan = LoadPlan(models=(ModelRef("openai", "model-a"),), inputs=(TrialInput("hi"),), steps=(LoadStep(2, 4),),
                    retry=RetryPolicy(max_retries=0), timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10),
                    warmup=False)
    ended = threading.Event()
    got: list[tuple[LoadResult | None, BaseException | None]] = []

    def done(result: LoadResult | None, error: BaseException | None) -> None:
        got.append((result, error))
        ended.set()

    async def go() -> None:
        async with engine_for(providers) as engine:
            engine.switch_store(str(tmp_path / "other.db"))
            engine.store.providers.add(config_for("openai", vendor))
            seen: list[int] = []
            engine.loads.run_in_thread(plan, progress=lambda _o, n, _p: seen.append(n), done=done, name="moved")
            assert await asyncio.to_thread(ended.wait, 30)
            (result, error), = got
            assert error is None and result is not None and result.status == "done" and len(seen) == 4
            stored = engine.loads.runs.get(result.run_id)
            assert stored is not None and stored.name == "moved" and stored.status == "done"
            assert len(engine.loads.runs.requests(result.run_id)) == 4

    old_path = providers.path
    asyncio.run(go())  # switching closes the fixture's store
    with open_store(old_path) as old:
        assert old.runs.list() == []  # the store left behind got nothing
