"""An engine on a thread of its own: work runs there, results and errors come back, a cancel
waits until the work has cleaned up, closing ends what runs, and the handed-over progress
keeps each answer's order while coalescing its text."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import asynccontextmanager

import pytest

from desk.core.response import Attempt, ResponseResult
from desk.engine.engine_thread import EngineThread
from desk.engine.errors import EngineError
from desk.engine.handover import Handover


class Thing:
    """Stands for the engine: made and closed on the worker thread, which it records."""

    def __init__(self) -> None:
        self.opened_on = threading.get_ident()
        self.closed_on: int | None = None


def opener(made: list[Thing], key: list[str] | None = None):
    @asynccontextmanager
    async def open_thing():
        thing = Thing()
        made.append(thing)
        try:
            yield thing
        finally:
            thing.closed_on = threading.get_ident()
    return open_thing


def test_work_runs_on_the_thread_and_its_result_and_errors_come_back():
    made: list[Thing] = []
    streams = EngineThread(opener(made))

    async def where(thing: Thing) -> int:
        await asyncio.sleep(0)
        return threading.get_ident()

    async def fails(thing: Thing) -> None:
        raise EngineError("no such provider")

    async def main():
        ran_on = await streams.run(where)
        with pytest.raises(EngineError, match="no such provider"):
            await streams.run(fails)
        return ran_on

    try:
        ran_on = asyncio.run(main())
        assert ran_on == streams.ident == made[0].opened_on != threading.get_ident()
    finally:
        streams.close()
    assert made[0].closed_on == ran_on and len(made) == 1 and streams.ident is None


def test_a_cancel_returns_only_once_the_work_has_cleaned_up():
    streams = EngineThread(opener([]))
    events: list[str] = []
    started = threading.Event()

    async def slow(thing: Thing) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # storing what arrived takes a moment
            events.append("stored")
            raise

    async def main():
        task = asyncio.ensure_future(streams.run(slow))
        assert await asyncio.to_thread(started.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        events.append("caller told")

    try:
        asyncio.run(main())
    finally:
        streams.close()
    assert events == ["stored", "caller told"]


def test_closing_cancels_what_runs_and_lets_it_finish_before_returning():
    made: list[Thing] = []
    streams = EngineThread(opener(made))
    stored = threading.Event()
    started = threading.Event()

    async def slow(thing: Thing) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            stored.set()

    async def main():
        task = asyncio.ensure_future(streams.run(slow))
        assert await asyncio.to_thread(started.wait, 30)
        t0 = time.monotonic()
        streams.close()  # blocks: the work ends (cancelled) and the engine closes first
        assert stored.is_set() and made[0].closed_on is not None
        assert time.monotonic() - t0 < 5
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_new_key_opens_a_new_engine_and_a_failed_open_says_why():
    made: list[Thing] = []
    key = ["a.db"]
    streams = EngineThread(opener(made), key=lambda: key[0])

    async def ident(thing: Thing) -> int:
        return id(thing)

    @asynccontextmanager
    async def refuses():
        raise OSError("disk gone")
        yield  # pragma: no cover

    async def main():
        first = await streams.run(ident)
        assert await streams.run(ident) == first
        key[0] = "b.db"  # the window switched stores
        assert await streams.run(ident) != first
        broken = EngineThread(refuses)
        try:
            with pytest.raises(EngineError, match="disk gone"):
                await broken.run(ident)
        finally:
            broken.close()

    try:
        asyncio.run(main())
    finally:
        streams.close()
    assert len(made) == 2 and made[0].closed_on is not None


def result(rid: str) -> ResponseResult:
    return ResponseResult(id=rid, trial_id="t", model="p/m", settings={})


class Told:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def response_started(self, result, at=None):
        self.events.append(("started", result.id, at))

    def text_received(self, result, delta, parts, at=None):
        self.events.append(("text", result.id, delta, at))

    def attempt_finished(self, result, attempt):
        self.events.append(("attempt", result.id, attempt.number))

    def response_finished(self, result):
        self.events.append(("finished", result.id))


def test_handed_over_text_is_coalesced_and_keeps_its_place_before_an_answers_end():
    a, b = result("a"), result("b")
    hand = Handover()
    told = Told()
    hand.response_started(a)
    hand.response_started(b)
    for piece in ["He", "llo", ", ", "world"]:
        hand.text_received(a, piece, [])
    hand.text_received(b, "one", [])
    hand.attempt_finished(a, Attempt(number=1, started_at=0.0))  # a retry: a's text so far goes before it
    hand.text_received(a, "again", [])
    hand.response_finished(b)
    assert hand.drain(told) == 7
    kinds = [e[:3] if e[0] == "text" else e[:2] for e in told.events]
    assert kinds == [("started", "a"), ("started", "b"), ("text", "a", "Hello, world"), ("attempt", "a"),
                     ("text", "b", "one"), ("finished", "b"), ("text", "a", "again")]
    started_at = told.events[0][2]
    first_text_at = told.events[2][3]
    assert started_at is not None and first_text_at is not None and started_at <= first_text_at
    assert hand.drain(told) == 0  # nothing twice


def test_the_instants_handed_over_are_the_producers_not_the_drains():
    a = result("a")
    hand = Handover()
    told = Told()

    def produce():
        hand.response_started(a)
        hand.text_received(a, "x", [])

    worker = threading.Thread(target=produce)
    worker.start()
    worker.join()
    produced = time.monotonic()
    time.sleep(0.3)  # the GUI thread busy for a while before its next frame
    hand.drain(told)
    assert told.events[0][2] <= produced and told.events[1][3] <= produced


def test_a_view_failing_on_one_answer_still_gets_the_others_ends():
    a, b = result("a"), result("b")
    hand = Handover()

    class Broken(Told):
        def response_finished(self, result):
            if result.id == "a":
                raise RuntimeError("a pane was deleted")
            super().response_finished(result)

    told = Broken()
    hand.response_finished(a)
    hand.response_finished(b)
    hand.drain(told)
    assert told.events == [("finished", "b")]


def test_an_engine_that_did_not_open_is_tried_again_next_time():
    tries: list[int] = []

    @asynccontextmanager
    async def locked_once():
        tries.append(1)
        if len(tries) == 1:
            raise OSError("database is locked")
        yield Thing()

    streams = EngineThread(locked_once)

    async def ok(thing: Thing) -> str:
        return "streamed"

    async def main():
        with pytest.raises(EngineError, match="database is locked"):
            await streams.run(ok)
        return await streams.run(ok)

    try:
        assert asyncio.run(main()) == "streamed"
    finally:
        streams.close()
    assert len(tries) == 2
