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
from collections.abc import Awaitable, Callable
from functools import partial
from time import perf_counter

import httpx

from desk.providers.body import QUIET_MAX as _QUIET_MAX
from desk.providers.body import WireTiming as WireTiming  # where readers import it from
from desk.providers.body import _Body
from desk.providers.heads import Origin, head_only, origin_of, request_head
from desk.providers.pacer import Pacer

_MAX_HEADER_BYTES = 64 * 1024
_HIGH_WATER = 1024 * 1024
HEAD_GRACE_S = 0.25  # a fired wave's answer is read this long after its head at the latest
_LAST_CHUNK = b"0\r\n\r\n"  # a chunked body's end (without trailers)


def _may_end(buf: bytearray) -> bool:
    """Whether `buf` ends as a chunked body does (its last chunk, alone or after a chunk's CRLF)."""
    return buf.endswith(_LAST_CHUNK) and (len(buf) == 5 or buf[-7:-5] == b"\r\n")


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
        self.rang = False  # the reader was woken by its clock (see `_fill`)
        self.timing: WireTiming | None = None  # while a body is read in bulk: its deadline bounds every wait
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

    def _alarm(self) -> None:
        self.rang = True
        self._wake()

    async def _fill(self, wake_at: float | None = None, *, enforce: bool = True) -> None:
        """Until more bytes arrive, the connection ends, or the loop's clock reaches `wake_at`
        (then `rang` is set). While a body is read in bulk, a wait (of the step by step read)
        that its read deadline ends with nothing new raises TimeoutError: all that came
        before was handed over, piece by piece."""
        if self.eof:
            if self.error is not None:
                raise httpx.ReadError(f"connection lost: {self.error}")
            raise httpx.RemoteProtocolError("server closed the connection before the response ended")
        if self._paused_reading and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
        loop = asyncio.get_running_loop()
        deadline = self.timing.deadline if self.timing is not None and enforce else None
        if wake_at is None:
            wake_at = deadline
        self.rang = False
        alarm = loop.call_at(wake_at, self._alarm) if wake_at is not None else None
        self._waiter = loop.create_future()
        had = self.consumed + len(self.buf)
        try:
            await self._waiter
        finally:
            self._waiter = None
            if alarm is not None:
                alarm.cancel()
        if self.rang and wake_at == deadline and not self.eof and self.consumed + len(self.buf) == had \
                and deadline is not None and loop.time() >= deadline:
            raise TimeoutError("read deadline")

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

    def take_chunks(self) -> list[tuple[bytes, float]]:
        """Every whole chunk of a chunked body already here (size line, data, CRLF), each with
        the arrival of its last data byte, as the step by step read would give them, in one
        pass: none once a chunk is not all here, is the last chunk, or has a size line to be
        refused (those are left to the step by step read)."""
        buf, marks = self.buf, self.marks
        base, start, n = self.consumed, 0, len(buf)
        out: list[tuple[bytes, float]] = []
        find = buf.find
        while True:
            eol = find(b"\r\n", start, start + 4096)
            if eol <= start:
                break
            try:
                size = int(buf[start:eol].split(b";", 1)[0], 16)
            except ValueError:
                break
            end = eol + 2 + size
            if size <= 0 or n < end + 2 or buf[end:end + 2] != b"\r\n":
                break
            done = base + end
            while len(marks) > 1 and marks[0][0] < done:
                marks.popleft()
            out.append((bytes(buf[eol + 2:end]), marks[0][1] if marks else perf_counter()))
            start = end + 2
        if start:
            del buf[:start]
            self.consumed = base + start
            while len(marks) > 1 and marks[0][0] < self.consumed:
                marks.popleft()
        return out

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
