"""Readers woken a few at a time, so that bytes are stamped as they arrive however many
streams have something to read.

A connection stamps its bytes when the event loop hands them over (`data_received`), and
the loop does that only between passes over the callbacks that are ready. When thousands
of streams get their answers' heads or first tokens at once (a load step's first wave,
written in one pass), waking every reader in the same pass makes one pass of hundreds of
milliseconds, and the bytes that arrive meanwhile are stamped only after it: the client's
own delay, landing in the figures. Woken `PER_PASS` at a time, in order, the same work is
done in many short passes, and the loop reads the sockets between them.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Pacer:
    PER_PASS = 16

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self, waiter: asyncio.Future[None]) -> None:
        """`waiter` is set in its turn (at the latest a pass or so later when few are waiting)."""
        self._waiting.append(waiter)
        if self._loop is None:
            self._loop = waiter.get_loop()
            self._loop.call_soon(self._pass)

    def _pass(self) -> None:
        waiting, woken = self._waiting, 0
        while waiting and woken < self.PER_PASS:
            waiter = waiting.popleft()
            if not waiter.done():  # cancelled meanwhile (a deadline), or already woken
                waiter.set_result(None)
                woken += 1
        if waiting and self._loop is not None:
            self._loop.call_soon(self._pass)
        else:
            self._loop = None
