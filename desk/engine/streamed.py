"""Engine work (a suite run, a judge run) sent from the window's streaming thread.

A trial streams on desk.engine.engine_thread's EngineThread; a suite run or a judge run is
the same kind of work (HTTP, SSE framing, JSON, timing, storing per chunk), so it streams
there too, on that thread's engine, never on the window's event loop. Its callbacks are
per answer (progress, an answer started or ended): they are handed back to the caller's
loop in batches, at most one a frame (as a trial's text is), and called there in the
order they happened, every one before the work's end is told. Nothing here knows about Qt.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import ParamSpec, TypeVar

from desk.engine.engine_thread import EngineThread
from desk.engine.session import Engine

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("desk.engine")
FRAME_S = 0.016  # callbacks told at most this often: a window draws them once a frame


class Streamed:
    """Runs `use(engine)` on `streams`' engine with the keys this `engine` holds for the
    providers it sends to; with no streams, on this engine and loop (the CLI, the tests
    of a Qt-free tab). A cancel here cancels it there and returns once it has ended: a
    CancelledError raised there that carries what was done (SuiteRunCancelled) is raised
    here in place of the plain one, so its caller can say what was stored."""

    def __init__(self, engine: Engine, streams: EngineThread[Engine] | None = None) -> None:
        self.engine = engine
        self.streams = streams
        self._lock = threading.Lock()
        self._posted: list[Callable[[], object]] = []  # callbacks waiting for the next batch, in order
        self._batch_due = False  # a batch is scheduled on the caller's loop

    async def run(self, providers: Sequence[str], use: Callable[[Engine], Awaitable[T]]) -> T:
        streams = self.streams
        if streams is None:
            return await use(self.engine)
        keys = await self.engine.providers.resolved_keys(providers)
        ended: list[asyncio.CancelledError] = []

        async def there(engine: Engine) -> T:
            engine.providers.use_keys(keys)
            try:
                return await use(engine)
            except asyncio.CancelledError as exc:
                ended.append(exc)
                raise

        try:
            return await streams.run(there)
        except asyncio.CancelledError:
            if ended and type(ended[0]) is not asyncio.CancelledError:  # it carries what was done
                raise ended[0] from None
            raise
        finally:
            self.tell_posted()  # the last batch before the end

    def back_here(self, callback: Callable[P, object]) -> Callable[P, None]:
        """`callback`, called on the caller's loop whichever thread calls it (with no
        streams, at once). Call this on the caller's loop; once that loop is closed (the
        app quit), calls are dropped."""
        if self.streams is None:
            def at_once(*args: P.args, **kwargs: P.kwargs) -> None:
                callback(*args, **kwargs)

            return at_once
        loop = asyncio.get_event_loop()  # not get_running_loop: qasync may step tasks outside it

        def post(*args: P.args, **kwargs: P.kwargs) -> None:
            if loop.is_closed():
                return
            with self._lock:
                self._posted.append(lambda: callback(*args, **kwargs))
                first, self._batch_due = not self._batch_due, True
            if first:  # one wake-up of the caller's loop a batch, not one a callback
                with suppress(RuntimeError):
                    loop.call_soon_threadsafe(lambda: loop.call_later(FRAME_S, self.tell_posted))

        return post

    def tell_posted(self) -> None:
        """Call the callbacks posted so far, in order, here (on the caller's loop). One that
        fails is logged and the rest are still told."""
        with self._lock:
            posted, self._posted = self._posted, []
            self._batch_due = False
        for call in posted:
            try:
                call()
            except Exception:
                log.exception("a streamed run's callback failed; the others are still told")
