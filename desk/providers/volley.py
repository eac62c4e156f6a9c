"""Arm, then fire: a load step's first wave of requests written in one tight pass.

Preparing a request (its result, its httpx request, httpx's send path down to the
transport) costs a few hundred microseconds of the event loop. Spent one request after
another at a step's start, as a plain `await client.send` does, a wave of 2,500 requests
takes more than half a second to go out, and the answers to the first ones arrive while
the loop is still sending the last: they are read (and stamped) only when that pass ends.

With a Volley, each request of the wave goes through all of that before the step's
instant and stops at the transport with its bytes ready and its connection taken from
the pool (`load`); at the instant `fire` writes them all in one pass, a few microseconds
each, stamping each request's start at its own write, as the leanest client would. The
requests were already waiting for their answers' heads, so nothing has to resume first.
A request with no pre-opened connection (or whose connection was found dead) waits for
the fire and is then sent as any other (`wait`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from time import perf_counter
from typing import Protocol


class WireTiming(Protocol):
    """What a volley reads and stamps of a request's timing (desk.providers.transport's)."""

    volley: Volley | None
    started: float | None


class Volley:
    """One step's first wave: `expected` requests, each of which arrives here once (loaded,
    waiting, or let go by its sender when it ended without reaching the transport)."""

    def __init__(self, expected: int) -> None:
        loop = asyncio.get_running_loop()
        self._expected = expected
        self._arrived = 0
        self._loaded: list[tuple[asyncio.WriteTransport, bytes, WireTiming]] = []
        self._on_fire: list[Callable[[float], None]] = []
        self._armed: asyncio.Future[None] = loop.create_future()
        self._fired: asyncio.Future[None] = loop.create_future()
        self.fired_at: float | None = None  # perf_counter instant of the fire
        self.fired_loop: float | None = None  # the same on the loop's clock (deadlines)
        if expected <= 0:
            self._armed.set_result(None)

    @property
    def fired(self) -> bool:
        return self.fired_at is not None

    async def armed(self) -> None:
        """Until every request of the wave has arrived."""
        await asyncio.shield(self._armed)

    def _arrive(self, timing: WireTiming) -> None:
        if timing.volley is self:
            timing.volley = None  # counted once, whichever way it came
            self._arrived += 1
            if self._arrived >= self._expected and not self._armed.done():
                self._armed.set_result(None)

    def load(self, transport: asyncio.WriteTransport, data: bytes, timing: WireTiming) -> None:
        """`data` goes out on `transport` at the fire (or at once if it has fired)."""
        self._arrive(timing)
        if self.fired:
            timing.started = perf_counter()
            transport.write(data)
        else:
            self._loaded.append((transport, data, timing))

    async def wait(self, timing: WireTiming) -> None:
        """Until the fire: a request of the wave that is then sent the ordinary way (its
        start stamped now, unless the fire already wrote it on a connection since found dead)."""
        self._arrive(timing)
        if not self.fired:
            await asyncio.shield(self._fired)
        if timing.started is None:
            timing.started = perf_counter()

    def let_go(self, timing: WireTiming) -> None:
        """A request of the wave that ended without reaching the transport."""
        self._arrive(timing)

    def on_fire(self, call: Callable[[float], None]) -> None:
        """`call(loop time of the fire)` after the wave is written (a request's deadlines
        start then); at once if it has fired."""
        if self.fired_loop is not None:
            call(self.fired_loop)
        else:
            self._on_fire.append(call)

    def fire(self) -> None:
        """Write every loaded request, one after another, each stamped at its own write;
        then start their clocks and let the waiting ones go."""
        if self.fired:
            return
        loaded, self._loaded = self._loaded, []
        self.fired_at = perf_counter()
        for transport, data, timing in loaded:
            if not transport.is_closing():  # found dead since: its sender retries on a fresh one
                timing.started = perf_counter()
                transport.write(data)
        self.fired_loop = now = asyncio.get_running_loop().time()
        calls, self._on_fire = self._on_fire, []
        for call in calls:
            with suppress(RuntimeError):  # a request already over: its deadline is gone
                call(now)
        self._fired.set_result(None)
