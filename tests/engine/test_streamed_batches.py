"""A suite or judge run's callbacks come back from the streaming thread in batches (issue 21):
the caller's loop is woken about once a frame, not once per answer, and every callback is
told there, in the order it was made, none lost, all before the run's end."""

from __future__ import annotations

import asyncio
import threading

from desk.engine.engine_thread import EngineThread
from desk.engine.session import Engine
from desk.engine.streamed import Streamed
from tests.engine.conftest import engine_for

CALLS = 600


def run_posting(store, work, *callbacks_made):
    """Runs `work(engine, *posting)` on a streaming thread, `posting` being `callbacks_made`
    passed through back_here; returns (the run's result, what was told and where, wake-ups)."""
    told: list[tuple[str, object, int]] = []

    async def go():
        async with engine_for(store) as engine:
            streams = EngineThread(lambda: engine.elsewhere())
            sending = Streamed(engine, streams)
            loop = asyncio.get_running_loop()
            wakeups = [0]
            threadsafe = loop.call_soon_threadsafe

            def counted(*args, **kwargs):
                wakeups[0] += 1
                return threadsafe(*args, **kwargs)

            loop.call_soon_threadsafe = counted
            posting = [sending.back_here(make(told)) for make in callbacks_made]
            try:
                result = await sending.run([], lambda there: work(there, *posting))
                seen_at_end = len(told)
            finally:
                streams.close()
                loop.call_soon_threadsafe = threadsafe
            return result, seen_at_end, wakeups[0]

    return asyncio.run(go()), told


def progress(told):
    return lambda done, total: told.append(("progress", (done, total), threading.get_ident()))


def answer(told):
    return lambda item: told.append(("answer", item, threading.get_ident()))


def test_callbacks_arrive_in_order_none_lost_before_the_end_with_few_wakeups(store):
    async def work(engine: Engine, on_progress, on_answer):
        for i in range(CALLS):
            on_answer(f"a{i}")
            on_progress(i + 1, CALLS)
            if i % 50 == 0:
                await asyncio.sleep(0.005)  # answers come over time, a few frames' worth
        return "done", threading.get_ident()

    ((result, seen_at_end, wakeups), told) = run_posting(store, work, progress, answer)
    (outcome, there) = result
    assert outcome == "done"
    expected = [e for i in range(CALLS) for e in (("answer", f"a{i}"), ("progress", (i + 1, CALLS)))]
    assert [(what, value) for what, value, _ in told] == expected
    assert seen_at_end == 2 * CALLS  # every callback told before the run's end
    assert {thread for *_, thread in told} == {threading.get_ident()} != {there}
    # posted one by one, 1,200 callbacks woke the loop 1,200 times; batched, once per frame or so
    assert wakeups < CALLS / 10


def test_a_failing_callback_loses_none_of_the_others(store, caplog):
    def fragile(told):
        def call(item):
            if item == "a3":
                raise RuntimeError("a view broke")
            told.append(("answer", item, threading.get_ident()))
        return call

    async def work(engine: Engine, on_answer):
        for i in range(10):
            on_answer(f"a{i}")
        return "done"

    ((result, _, _), told) = run_posting(store, work, fragile)
    assert result == "done"
    assert [item for _, item, _ in told] == [f"a{i}" for i in range(10) if i != 3]
    assert "callback failed" in caplog.text


def test_without_a_streaming_thread_callbacks_are_told_at_once(store):
    told: list[object] = []

    async def go():
        async with engine_for(store) as engine:
            sending = Streamed(engine)
            tell = sending.back_here(told.append)

            async def work(_engine):
                tell("now")
                assert told == ["now"]
                return len(told)

            return await sending.run([], work)

    assert asyncio.run(go()) == 1
