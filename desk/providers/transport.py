"""A lean HTTP/1.1 transport for httpx that timestamps bytes as they arrive.

Why not httpx's default transport: at 500 concurrent streams httpcore's pool spends
hundreds of milliseconds per request on bookkeeping, which lands in every TTFT measured
(see DEVELOPERS.md). This transport keeps one idle list per origin, reads with a plain
asyncio Protocol, and records the `perf_counter` instant each chunk of bytes reached the
process, so a provider can report when a token *arrived*, not when Python got round to
parsing it. Proxies are still honoured: httpx mounts its own proxy transport for proxied
URLs (trust_env), and only direct connections come here.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from time import perf_counter

import httpx

from desk.providers.heads import Origin, head_only, origin_of, request_head
from desk.providers.pacer import Pacer
from desk.providers.volley import Volley

_MAX_HEADER_BYTES = 64 * 1024
_HIGH_WATER = 1024 * 1024
_QUIET_MAX = 64 * 1024  # a quiet reader is woken once this much is buffered
HEAD_GRACE_S = 0.25  # a fired wave's answer is read this long after its head at the latest
_LAST_CHUNK = b"0\r\n\r\n"  # a chunked body's end (without trailers)


def _may_end(buf: bytearray) -> bool:
    """Whether `buf` ends as a chunked body does (its last chunk, alone or after a chunk's CRLF)."""
    return buf.endswith(_LAST_CHUNK) and (len(buf) == 5 or buf[-7:-5] == b"\r\n")


@dataclass(slots=True)
class WireTiming:
    """Filled in by the transport for one request (all `perf_counter` seconds)."""

    started: float | None = None  # request handed to the transport
    connect_ms: float | None = None  # set only when a new connection had to be opened
    arrival: float | None = None  # when the bytes of the latest chunk reached the process
    reused_connection: bool = False
    body_id: str | None = None  # the response / message id the body named (set by the provider)
    body: _Body | None = None  # the response's body, which a provider may read in batches
    # Set by a reader that needs no piece before the body's end (a load run, once the first
    # content came): the connection stops waking it for every piece (see _Body.batches).
    quiet_s: float | None = None
    volley: Volley | None = None  # write the request when this fires (a load step's first wave)


TIMING_KEY = "desk.timing"


class _Protocol(asyncio.Protocol):
    """Buffers received bytes and remembers when each piece arrived."""

    def __init__(self, pacer: Pacer | None = None) -> None:
        self._pacer = pacer  # wakes the reader in its turn (see desk.providers.pacer)
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.consumed = 0  # absolute offset of buf[0]
        self.marks: deque[tuple[int, float]] = deque()  # (absolute end offset, arrival)
        self.eof = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused_reading = False
        self.quiet = False  # wake the reader only at a chunked body's end, or when much is buffered
        self.until_body = False  # a fired wave's request: no wake for its head alone (heads.head_only),
        self._grace: asyncio.TimerHandle | None = None  # but HEAD_GRACE_S after it (an answer may stall)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self.marks.append((self.consumed + len(self.buf), perf_counter()))
        if len(self.buf) > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._paused_reading = True
        # Quiet: the pieces are stamped here all the same; the reader takes them in one batch
        # when the last chunk may have come (a false hint only wakes it early) or much is here.
        if (not self.quiet or _may_end(self.buf) or len(self.buf) > _QUIET_MAX) and \
                not (self.until_body and head_only(self.buf)):
            self._wake()
            if self._grace is not None:
                self._grace.cancel()
        elif self.until_body and self._grace is None:
            self._grace = asyncio.get_running_loop().call_later(HEAD_GRACE_S, self._wake)

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None:
            self.error = exc
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(exc or ConnectionResetError("connection lost"))

    def pause_writing(self) -> None:
        self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._pacer.wake(waiter) if self._pacer is not None else waiter.set_result(None)

    @property
    def usable(self) -> bool:
        """An idle connection can be reused if the server has not closed it or sent stray bytes."""
        return (
            not self.eof
            and not self.buf
            and self.transport is not None
            and not self.transport.is_closing()
        )

    async def drain(self) -> None:
        if self._drain is not None:
            await self._drain

    async def _fill(self) -> None:
        if self.eof:
            if self.error is not None:
                raise httpx.ReadError(f"connection lost: {self.error}")
            raise httpx.RemoteProtocolError("server closed the connection before the response ended")
        if self._paused_reading and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _take(self, n: int) -> tuple[bytes, float]:
        """Remove n bytes from the buffer; return them with the arrival time of the last one."""
        data = bytes(self.buf[:n])
        del self.buf[:n]
        self.consumed += n
        marks = self.marks
        while len(marks) > 1 and marks[0][0] < self.consumed:
            marks.popleft()
        arrival = marks[0][1] if marks else perf_counter()
        return data, arrival

    async def wait_for_bytes(self) -> None:
        """Until more bytes (or the end of the connection) arrive."""
        if self.eof:
            return
        await self._fill()

    def take_chunk(self) -> tuple[bytes, float] | None:
        """A chunked body's next chunk when all of it (size line, data, CRLF) is already
        here, with the arrival of its last data byte, as the step by step read would give;
        None otherwise (not all here, the last chunk, or a size line to be refused)."""
        buf = self.buf
        eol = buf.find(b"\r\n", 0, 4096)
        if eol <= 0:
            return None
        try:
            size = int(buf[:eol].split(b";", 1)[0], 16)
        except ValueError:
            return None
        end = eol + 2 + size
        if size <= 0 or len(buf) < end + 2 or buf[end:end + 2] != b"\r\n":
            return None
        data = bytes(buf[eol + 2:end])
        del buf[:end + 2]
        marks = self.marks
        done = self.consumed + end
        while len(marks) > 1 and marks[0][0] < done:
            marks.popleft()
        arrival = marks[0][1] if marks else perf_counter()
        self.consumed = done + 2
        while len(marks) > 1 and marks[0][0] < self.consumed:
            marks.popleft()
        return data, arrival

    async def read_until(self, sep: bytes, limit: int) -> bytes:
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                return self._take(i + len(sep))[0]
            if len(self.buf) > limit:
                raise httpx.RemoteProtocolError("response header or chunk line too long")
            start = max(0, len(self.buf) - len(sep) + 1)
            await self._fill()

    async def read_some(self, n: int) -> tuple[bytes, float]:
        while not self.buf:
            await self._fill()
        return self._take(min(n, len(self.buf)))

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        return self._take(n)[0]

    async def read_to_eof(self) -> tuple[bytes, float] | None:
        while not self.buf:
            if self.eof:
                if self.error is not None:
                    raise httpx.ReadError(f"connection lost: {self.error}")
                return None
            await self._fill()
        return self._take(len(self.buf))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive, chunked and fixed-length bodies, TLS via an SSL context."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = 10.0,
        max_idle_per_origin: int = 1024,
    ) -> None:
        self._ssl_context = ssl_context
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle_per_origin
        self._idle: dict[Origin, list[_Protocol]] = {}
        self._probes: dict[Origin, asyncio.Future[bool]] = {}
        self._plain: dict[Origin, float] = {}  # origins found to speak plain HTTP, and when
        self._pacer = Pacer()
        self._closed = False

    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    async def _open(self, origin: Origin, timeout: float | None) -> _Protocol:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        proto = _Protocol(self._pacer)
        tls = self._ssl() if scheme == "https" else None
        connect = partial(
            loop.create_connection, lambda: proto, host, port, ssl=tls, server_hostname=host if tls else None
        )
        try:
            if tls is None:
                await asyncio.wait_for(connect(), timeout)
            else:
                await self._tls_or_plain(connect, origin, timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"could not connect to {host}:{port} within {timeout} s") from None
        except ssl.SSLError as exc:
            if exc.reason in _PLAIN_TEXT_REPLIES:
                raise httpx.ConnectError(_plain_http_message(host, port)) from None
            raise httpx.ConnectError(f"TLS handshake with {host} failed: {exc.reason or exc}") from None
        except socket.gaierror as exc:
            # Its errno is a resolver code (-2), which os.strerror calls "Unknown error -2".
            raise httpx.ConnectError(
                f"cannot find the host {host!r}: the name does not resolve ({exc.strerror or exc}); "
                "check the base URL for a typo, and this machine's network and DNS"
            ) from None
        except OSError as exc:
            # asyncio's strerror is "Connect call failed (addr)", which hides the why.
            reason = (os.strerror(exc.errno) if exc.errno else exc.strerror) or str(exc) or type(exc).__name__
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {reason}") from None
        return proto

    async def _tls_or_plain(
        self, connect: Callable[[], Awaitable[object]], origin: Origin, timeout: float | None
    ) -> None:
        """Await a TLS connection. A plain HTTP server never answers a TLS hello (it waits for
        a request line), so a handshake still pending after a second asks the port, once per
        origin at a time, in plain HTTP: an HTTP answer there ends the wait at once."""
        if perf_counter() - self._plain.get(origin, float("-inf")) < _PLAIN_VERDICT_S:
            raise httpx.ConnectError(_plain_http_message(origin[1], origin[2]))
        task = asyncio.ensure_future(connect())
        try:
            async with asyncio.timeout(timeout):
                done, _ = await asyncio.wait({task}, timeout=_PLAIN_PROBE_AFTER_S)
                if not done:
                    probe = self._probes.get(origin)
                    if probe is None:
                        probe = self._probes[origin] = asyncio.ensure_future(_answers_plain_http(origin))
                        probe.add_done_callback(lambda _: self._probes.pop(origin, None))
                    await asyncio.wait((task, probe), return_when=asyncio.FIRST_COMPLETED)
                    if not task.done() and probe.result():
                        self._plain[origin] = perf_counter()  # so a retry fails at once too
                        raise httpx.ConnectError(_plain_http_message(origin[1], origin[2]))
                await task
        finally:
            if not task.done():
                task.cancel()

    def _checkout(self, origin: Origin) -> _Protocol | None:
        idle = self._idle.get(origin)
        while idle:
            proto = idle.pop()
            if proto.usable:
                return proto
            proto.close()
        return None

    def _checkin(self, origin: Origin, proto: _Protocol) -> None:
        idle = self._idle.setdefault(origin, [])
        if self._closed or len(idle) >= self._max_idle or not proto.usable:
            proto.close()
        else:
            idle.append(proto)

    async def prewarm(self, url: str, count: int) -> int:
        """Open up to `count` idle connections to `url`'s origin (all kept idle); how many are idle."""
        origin = origin_of(httpx.URL(url))
        self._max_idle = max(self._max_idle, count)
        idle = self._idle.setdefault(origin, [])
        missing = max(0, count - len(idle))
        sem = asyncio.Semaphore(64)

        async def one() -> None:
            async with sem:
                proto = await self._open(origin, self._connect_timeout)
            self._checkin(origin, proto)

        results = await asyncio.gather(*(one() for _ in range(missing)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors and len(errors) == len(results):
            raise errors[0]
        return len(self._idle.get(origin, []))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timing: WireTiming | None = request.extensions.get(TIMING_KEY)
        volley = None if timing is None else timing.volley
        if timing is not None and volley is None:
            timing.started = perf_counter()  # else at the volley's fire, when it is written
        connect_timeout = request.extensions.get("timeout", {}).get("connect", self._connect_timeout)
        origin = origin_of(request.url)
        head = request_head(request)
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        proto = self._checkout(origin)
        reused = proto is not None
        for try_fresh in (False, True):
            if proto is None:
                if volley is not None:  # nothing pre-opened (or it died): sent as usual after the fire
                    await volley.wait(timing)  # type: ignore[arg-type]
                    volley = None
                t0 = perf_counter()
                proto = await self._open(origin, connect_timeout)
                if timing is not None:
                    timing.connect_ms = round((perf_counter() - t0) * 1000, 3)
            try:
                assert proto.transport is not None
                if volley is not None:  # written at the fire; the head is awaited from now, and
                    volley.load(proto.transport, head + body, timing)  # type: ignore[arg-type]
                    # read with the first body bytes: thousands of heads come back together
                    # as the server reads the wave, which their readers' CPU would slow down
                    proto.until_body = True
                else:
                    proto.transport.writelines((head, body))
                    await proto.drain()
                raw_head = await proto.read_until(b"\r\n\r\n", _MAX_HEADER_BYTES)
                proto.until_body = False
                break
            except (httpx.ReadError, httpx.RemoteProtocolError, ConnectionError) as exc:
                proto.abort()
                proto = None
                # A reused keep-alive connection the server had already dropped: one fresh try.
                if not reused or try_fresh:
                    if isinstance(exc, httpx.TransportError):
                        raise
                    raise httpx.WriteError(f"connection lost while sending: {exc}") from None
                reused = False
            except BaseException:
                proto.abort()
                raise
        if timing is not None:
            timing.reused_connection = reused

        assert proto is not None
        status, reason, headers = _parse_head(raw_head)
        stream = _Body(self, origin, proto, headers, request.method, status, timing)
        if timing is not None:
            timing.body = stream
        return httpx.Response(status, headers=headers, stream=stream,
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason})

    async def aclose(self) -> None:
        self._closed = True
        for probe in list(self._probes.values()):
            probe.cancel()
        for idle in self._idle.values():
            for proto in idle:
                proto.close()
        self._idle.clear()


_PLAIN_PROBE_AFTER_S = 1.0  # far longer than a TLS handshake takes once connected
_PROBE_TIMEOUT_S = 10.0
_PLAIN_VERDICT_S = 30.0  # how long that finding stands before a TLS connection is tried again
# What OpenSSL says when the reply to its hello was plain text (an HTTP error page).
_PLAIN_TEXT_REPLIES = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


def _plain_http_message(host: str, port: int) -> str:
    return (f"{host}:{port} speaks plain HTTP, not TLS: change the base URL to start with "
            "http:// (or point https:// at the server's TLS port)")


async def _answers_plain_http(origin: Origin) -> bool:
    """Whether the port answers a plain HTTP request like an HTTP server (a TLS server that
    answers "plain HTTP request sent to HTTPS port", as nginx does, does not count)."""
    _, host, port = origin
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
                reply = (await reader.read(4096)).lower()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False
    return reply.startswith(b"http/") and b"https" not in reply


def body_batches(response: httpx.Response, timing: WireTiming) -> AsyncIterator[list[tuple[bytes, float]]]:
    """A response's body in batches (`_Body.batches`): straight from the lean transport's body
    when it served the response, none of httpx's layers per piece; else (a proxied request,
    on httpx's own transport) a piece at a time as httpx yields it."""
    return timing.body.batches() if timing.body is not None else _pieces(response, timing)


async def _pieces(response: httpx.Response, timing: WireTiming) -> AsyncIterator[list[tuple[bytes, float]]]:
    async for chunk in response.aiter_raw():
        yield [(chunk, timing.arrival or perf_counter())]


def _parse_head(raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise httpx.RemoteProtocolError(f"not an HTTP/1.1 response: {lines[0][:80]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise httpx.RemoteProtocolError(f"bad status line: {lines[0][:80]!r}") from None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return status, parts[2] if len(parts) > 2 else b"", headers


class _Body(httpx.AsyncByteStream):
    """Yields the body as it arrives; returns the connection to the pool only when fully read."""

    def __init__(
        self,
        transport: LeanTransport,
        origin: Origin,
        proto: _Protocol,
        headers: list[tuple[bytes, bytes]],
        method: str,
        status: int,
        timing: WireTiming | None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._proto: _Protocol | None = proto
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

    async def batches(self) -> AsyncIterator[list[tuple[bytes, float]]]:
        """The body as it arrives: per wake-up of the loop, every piece already here, each
        with the arrival of its last byte (a chunked body's whole chunks, one by one, as the
        server framed them). Many streams at once make their chunks wait for the loop
        together: taken in one step, they cost one pass through the reading layers."""
        proto = self._proto
        if proto is None:
            return
        timing = self._timing
        if self._chunked:
            while True:
                quiet = timing is not None and timing.quiet_s is not None
                if quiet:
                    await self._quietly(proto, timing.quiet_s)  # type: ignore[union-attr, arg-type]
                elif not proto.buf and not proto.eof:
                    await proto.wait_for_bytes()  # then most often the whole next chunk is here
                if (whole := proto.take_chunk()) is not None:  # the usual case: one step
                    batch = [whole]
                    while (whole := proto.take_chunk()) is not None:
                        batch.append(whole)
                    if timing is not None:
                        timing.arrival = batch[-1][1]
                    yield batch
                    continue
                if quiet and not proto.buf and not proto.eof:
                    continue  # woken by the clock with nothing new: the reader's deadline runs on
                line = await proto.read_until(b"\r\n", 4096)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError(f"bad chunk size line {line[:40]!r}") from None
                if size == 0:
                    while await proto.read_until(b"\r\n", _MAX_HEADER_BYTES) != b"\r\n":
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
    async def _quietly(proto: _Protocol, every_s: float) -> None:
        """Wait for the body's end, a full buffer, or `every_s` (so that a reader's idle
        deadline sees the stream still flowing): one wake-up for many pieces, each still
        stamped on arrival. The first content byte is never read this way (see WireTiming)."""
        if proto.eof or _may_end(proto.buf) or len(proto.buf) > _QUIET_MAX:
            return
        proto.quiet = True
        wake = asyncio.get_running_loop().call_later(every_s, proto._wake)
        try:
            await proto.wait_for_bytes()
        finally:
            wake.cancel()
            proto.quiet = False

    def _finish(self, *, reusable: bool) -> None:
        proto, self._proto = self._proto, None
        if proto is None:
            return
        if reusable:
            self._transport._checkin(self._origin, proto)
        else:
            proto.close()

    async def aclose(self) -> None:
        # Not fully read (cancelled, timed out, error): the connection's state is unknown.
        proto, self._proto = self._proto, None
        if proto is not None:
            proto.abort()
