"""A response body on the lean transport's connection (desk.providers.transport), read as it
arrives: a chunked body's whole chunks per wake-up of the loop, or, for a reader that needs no
piece before the body's end (a load run), in bulk: each piece only stamped on arrival by the
connection, the reader woken at the body's end, when much is buffered, or at its own clock,
which keeps its read deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol

import httpx

if TYPE_CHECKING:
    from desk.providers.volley import Volley

QUIET_MAX = 64 * 1024  # a reader of a body in bulk is woken once this much is buffered
_MAX_TRAILER_BYTES = 64 * 1024


@dataclass(slots=True)
class WireTiming:
    """Filled in by the transport for one request (`perf_counter` seconds, but for loop times)."""

    started: float | None = None  # request handed to the transport
    connect_ms: float | None = None  # set only when a new connection had to be opened
    arrival: float | None = None  # when the bytes of the latest chunk reached the process
    reused_connection: bool = False
    body_id: str | None = None  # the response / message id the body named (set by the provider)
    body: _Body | None = None  # the response's body, which a provider may read in batches
    # A reader that needs no piece before the body's end (a load run) asks for the body in
    # bulk: each piece is only stamped on arrival, and the reader is woken at the body's end,
    # when much is buffered, or at `wake_at` (see _Body.batches).
    bulk: bool = False
    # Set by the provider when it reads this body in bulk (a chunked stream on this transport):
    # from then on the reader keeps its read deadline here, not with a timer of its own.
    in_bulk: bool = False
    wake_at: float | None = None  # loop time: hand the reader what has come by then
    deadline: float | None = None  # loop time: past it, a body still unfinished raises TimeoutError
    events_at: float | None = None  # arrival of the latest piece that yielded events (set by the provider)
    volley: Volley | None = None  # write the request when this fires (a load step's first wave)


class _Connection(Protocol):
    """What a body reads from: the lean transport's connection (desk.providers.transport)."""

    buf: bytearray
    eof: bool
    rang: bool  # the last wait was ended by the reader's clock
    quiet: bool  # wake the reader only at a chunked body's end, or when much is buffered
    timing: WireTiming | None  # while a body is read in bulk: its deadline bounds every wait

    def take_chunks(self) -> list[tuple[bytes, float]]: ...
    async def wait_for_bytes(self) -> None: ...
    async def read_until(self, sep: bytes, limit: int) -> bytes: ...
    async def read_some(self, n: int) -> tuple[bytes, float]: ...
    async def read_exactly(self, n: int) -> bytes: ...
    async def read_to_eof(self) -> tuple[bytes, float] | None: ...
    async def _fill(self, wake_at: float | None = None, *, enforce: bool = True) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class _Pool(Protocol):
    def _checkin(self, origin: Any, proto: Any) -> None: ...


def _more_to_come(buf: bytearray) -> bool:
    """Whether what is left of a chunked body's buffer once its whole chunks are taken is
    nothing, or the start of a data chunk still arriving (not the last chunk, nor a size
    line to be refused, nor a chunk that is not followed by its CRLF)."""
    if not buf:
        return True
    eol = buf.find(b"\r\n", 0, 4096)
    if eol < 0:
        return len(buf) < 4096
    try:
        size = int(buf[:eol].split(b";", 1)[0], 16)
    except ValueError:
        return False
    return size > 0 and len(buf) < eol + 2 + size + 2


def _past(deadline: float | None) -> bool:
    return deadline is not None and asyncio.get_running_loop().time() >= deadline


def body_batches(response: httpx.Response, timing: WireTiming) -> AsyncIterator[list[tuple[bytes, float]]]:
    """A response's body in batches (`_Body.batches`): straight from the lean transport's body
    when it served the response, none of httpx's layers per piece; else (a proxied request,
    on httpx's own transport) a piece at a time as httpx yields it."""
    return timing.body.batches() if timing.body is not None else _pieces(response, timing)


async def _pieces(response: httpx.Response, timing: WireTiming) -> AsyncIterator[list[tuple[bytes, float]]]:
    async for chunk in response.aiter_raw():
        yield [(chunk, timing.arrival or perf_counter())]


class _Body(httpx.AsyncByteStream):
    """Yields the body as it arrives; returns the connection to the pool only when fully read."""

    def __init__(
        self,
        transport: _Pool,
        origin: tuple[str, str, int],
        proto: _Connection,
        headers: list[tuple[bytes, bytes]],
        method: str,
        status: int,
        timing: WireTiming | None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._proto: _Connection | None = proto
        self._timing = timing
        lower = {k.lower(): v for k, v in headers}
        self._keep_alive = lower.get(b"connection", b"").lower() != b"close"
        self._chunked = b"chunked" in lower.get(b"transfer-encoding", b"").lower()
        length = lower.get(b"content-length")
        self._length = int(length) if length is not None and not self._chunked else None
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self._length = 0
            self._chunked = False
        if self._length is None and not self._chunked:
            self._keep_alive = False  # body ends when the server closes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        timing = self._timing
        async for batch in self.batches():
            for data, arrival in batch:
                if timing is not None:
                    timing.arrival = arrival
                yield data

    @property
    def chunked(self) -> bool:
        return self._chunked

    async def batches(self) -> AsyncIterator[list[tuple[bytes, float]]]:
        """The body as it arrives: per wake-up of the loop, every piece already here, each
        with the arrival of its last byte (a chunked body's whole chunks, one by one, as the
        server framed them). Many streams at once make their chunks wait for the loop
        together: taken in one step, they cost one pass through the reading layers.
        Read in bulk (`WireTiming.in_bulk`), a batch comes only at the body's end, when much
        is buffered, or at the reader's `wake_at` (then perhaps empty, so that the reader can
        judge its deadline: still unfinished past `deadline`, the body raises TimeoutError)."""
        proto = self._proto
        if proto is None:
            return
        timing = self._timing
        if self._chunked:
            while True:
                bulk = timing is not None and timing.in_bulk
                proto.timing = timing if bulk else None
                rang = False
                if bulk:
                    rang = await self._in_bulk(proto, timing)  # type: ignore[arg-type]
                elif not proto.buf and not proto.eof:
                    await proto.wait_for_bytes()  # then most often the whole next chunk is here
                batch = proto.take_chunks()  # the usual case: every piece in one step
                if batch and timing is not None:
                    timing.arrival = batch[-1][1]
                if not bulk:
                    if batch:
                        yield batch
                        continue
                else:
                    more = not proto.eof and _more_to_come(proto.buf)
                    if batch or rang:
                        yield batch  # perhaps empty: the clock woke it, so that the reader can judge
                    if more and not proto.buf:
                        if rang and _past(timing.deadline):  # type: ignore[union-attr]
                            raise TimeoutError("read deadline")
                        continue
                    if more and not rang and len(proto.buf) <= QUIET_MAX:
                        continue  # a chunk still arriving: wait on in bulk
                    # The last chunk, an odd one, a large one, or one the clock found half here:
                    # read step by step (its bytes handed over as they come, the deadline kept).
                line = await proto.read_until(b"\r\n", 4096)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError(f"bad chunk size line {line[:40]!r}") from None
                if size == 0:
                    while await proto.read_until(b"\r\n", _MAX_TRAILER_BYTES) != b"\r\n":
                        pass  # trailers
                    break
                while size:
                    data, arrival = await proto.read_some(size)
                    size -= len(data)
                    if timing is not None:
                        timing.arrival = arrival
                    yield [(data, arrival)]
                if await proto.read_exactly(2) != b"\r\n":
                    raise httpx.RemoteProtocolError("chunk not terminated by CRLF")
        elif self._length is not None:
            left = self._length
            while left:
                data, arrival = await proto.read_some(left)
                left -= len(data)
                if timing is not None:
                    timing.arrival = arrival
                yield [(data, arrival)]
        else:
            while (got := await proto.read_to_eof()) is not None:
                if timing is not None:
                    timing.arrival = got[1]
                yield [got]
        self._finish(reusable=self._keep_alive)

    @staticmethod
    async def _in_bulk(proto: _Connection, timing: WireTiming) -> bool:
        """Wait for the body's end, a full buffer, or the reader's `wake_at`: one wake-up
        for many pieces, each still stamped on arrival. Whether the clock woke it."""
        if proto.eof or not _more_to_come(proto.buf) or len(proto.buf) > QUIET_MAX:
            return False  # something to take already
        proto.quiet = True
        try:
            await proto._fill(timing.wake_at, enforce=False)
        finally:
            proto.quiet = False
        return proto.rang

    def _finish(self, *, reusable: bool) -> None:
        proto, self._proto = self._proto, None
        if proto is None:
            return
        proto.timing = None
        if reusable:
            self._transport._checkin(self._origin, proto)
        else:
            proto.close()

    async def aclose(self) -> None:
        # Not fully read (cancelled, timed out, error): the connection's state is unknown.
        proto, self._proto = self._proto, None
        if proto is not None:
            proto.abort()
