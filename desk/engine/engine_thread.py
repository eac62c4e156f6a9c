"""An engine on a thread and event loop of its own, for a window that must never stall.

Streaming a trial is CPU work per chunk (HTTP, SSE framing, JSON, timing, pricing, storing):
on the window's event loop it ran between paints, and 16 answers at 200 chunks/s made the
window miss its frames. Here that work runs on a worker thread with its own asyncio loop and
its own engine, opened there by `open_engine` (its own store connection and HTTP client: SQLite
connections and httpx clients stay with the thread and loop that made them). The caller
awaits `run(use)` on its own loop; cancelling that await cancels the work over there and
waits until it has ended, so what arrived is stored before the caller hears "cancelled".
Nothing here knows about Qt.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, Generic, TypeVar

from desk.engine import aio
from desk.engine.errors import EngineError

E = TypeVar("E")
T = TypeVar("T")

START_S = 10.0  # a thread that does not come up in this long is a broken interpreter


class EngineThread(Generic[E]):
    """Runs coroutines against an engine that lives on a worker thread.

    `open_engine()` is entered on the worker thread the first time work is given (and again
    once `key()` changes: the window switched stores); `close()` cancels what runs there,
    waits for it to end and closes the engine."""

    def __init__(self, open_engine: Callable[[], AbstractAsyncContextManager[E]],
                 key: Callable[[], Hashable] = lambda: None, name: str = "desk-streams") -> None:
        self._open_engine = open_engine
        self._key = key
        self._name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._engine: asyncio.Future[E] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._opened_for: Hashable = None

    @property
    def ident(self) -> int | None:
        """The worker thread's id while it runs (tests check the stream is parsed there)."""
        thread = self._thread
        return thread.ident if thread is not None and thread.is_alive() else None

    async def run(self, use: Callable[[E], Awaitable[T]]) -> T:
        """`await use(engine)` on the worker thread; its result or exception comes back here.
        Cancelled here, it is cancelled there, and this returns (raising CancelledError) only
        once it has ended."""
        loop, engine = self._started()
        caller = asyncio.get_event_loop()  # not get_running_loop: qasync may step tasks outside it
        outcome: asyncio.Future[T] = caller.create_future()
        task: list[asyncio.Task[T]] = []

        def begin() -> None:
            started = loop.create_task(self._using(use, engine))
            task.append(started)
            self._tasks.add(started)
            started.add_done_callback(lambda done: self._ended(done, caller, outcome))

        if not self._call(begin):
            raise EngineError("the streaming thread has stopped; send again")
        try:
            return await asyncio.shield(outcome)
        except asyncio.CancelledError:
            if not outcome.done() and self._call(lambda: task[0].cancel() if task else None):
                with suppress(BaseException):  # it ends cancelled, or with what it was doing
                    await asyncio.shield(outcome)
            raise

    def close(self, timeout: float = 10.0) -> None:
        """Cancel what runs on the worker thread, wait (up to `timeout` s) until it has ended
        (a cancelled answer stores what arrived) and the engine is closed; the next `run`
        starts afresh. Blocks the caller: for when the window closes or the store changes."""
        thread, stop = self._thread, self._stop
        if thread is None or stop is None:
            return
        self._call(stop.set)
        thread.join(timeout)
        self._thread = self._loop = self._stop = self._engine = None

    # --- the worker side -------------------------------------------------------------------
    def _started(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Future[E]]:
        key = self._key()
        failed = self._engine is not None and self._engine.done() and self._engine.exception() is not None
        if self._thread is not None and (not self._thread.is_alive() or key != self._opened_for or failed):
            self.close()  # gone, on another store, or its engine did not open (a locked file): afresh
        if self._thread is None:
            ready = threading.Event()
            self._opened_for = key
            self._thread = threading.Thread(target=lambda: aio.run(self._serve(ready)), name=self._name, daemon=True)
            self._thread.start()
            if not ready.wait(START_S):
                raise EngineError("the streaming thread did not start")
        assert self._loop is not None and self._engine is not None
        return self._loop, self._engine

    async def _serve(self, ready: threading.Event) -> None:
        """The worker thread's life: open the engine, serve until stopped, then cancel what
        still runs, let it end, and close the engine."""
        self._loop = asyncio.get_running_loop()
        self._stop = stop = asyncio.Event()
        self._engine = engine = self._loop.create_future()
        ready.set()
        try:
            async with self._open_engine() as opened:
                engine.set_result(opened)
                await stop.wait()
                await self._cancel_all()
        except Exception as exc:  # the store or client could not open: each run says why
            if not engine.done():
                engine.set_exception(EngineError(f"cannot stream: {exc}"))
            await stop.wait()
            await self._cancel_all()

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _using(use: Callable[[E], Awaitable[T]], engine: asyncio.Future[E]) -> T:
        return await use(await asyncio.shield(engine))

    def _ended(self, task: asyncio.Task[T], caller: asyncio.AbstractEventLoop, outcome: asyncio.Future[T]) -> None:
        """Worker side: hand the task's end to the caller's loop (gone when the app quit)."""
        self._tasks.discard(task)

        def report() -> None:
            if outcome.done():
                return
            if task.cancelled():
                outcome.cancel()
            elif (exc := task.exception()) is not None:
                outcome.set_exception(exc)
            else:
                outcome.set_result(task.result())

        if not caller.is_closed():  # a window closed after its loop (tests) has no one to tell
            with suppress(RuntimeError):
                caller.call_soon_threadsafe(report)

    def _call(self, callback: Callable[[], object]) -> bool:
        """Run `callback` on the worker loop; False when that loop is gone."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError:
            return False
        return True
