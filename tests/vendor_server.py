"""Scripted fake LLM vendor server (OpenAI/Azure, Anthropic, Gemini, Ollama).

Raw asyncio streams + HTTP/1.1 so real clients can be pointed at it without
mocks. Each request is answered according to a `Script`; every request is
recorded in `VendorServer.requests`.

Normalised usage semantics (mapped into each vendor's own fields):
  input_tokens        total prompt tokens, cached ones included
  output_tokens       total output tokens, reasoning ones included
  cached_input_tokens subset of input_tokens served from cache
  reasoning_tokens    subset of output_tokens spent thinking

Server-wide load behaviours (for load-run tests) are set per model with
`VendorServer.set_load(model, LoadProfile(...))`: a fixed service time with a limited
number of slots so requests queue, a concurrency cap answered with 429 + Retry-After,
and a deterministic fraction of injected 5xx errors; `VendorServer.stats(model)` counts
what happened. Without a profile the request path is unchanged.

Run standalone:  python -m tests.vendor_server --port 0 --uvloop
Control API (separate-process mode), all JSON:
  POST /__control/enqueue {"model", "scripts": [Script...]}   POST /__control/default {"model"?, "script"}
  POST /__control/api_key {"api_key"}   POST /__control/clear   POST /__control/reset
  POST /__control/load {"model": "*", "profile": {LoadProfile...} | null}
  GET  /__control/stats?model=...   GET /__control/requests
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import heapq
import http
import itertools
import json
import random
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

__all__ = ["DEFAULT_USAGE", "LoadProfile", "RequestRecord", "Script", "VendorServer"]

DEFAULT_USAGE = {"input_tokens": 12, "output_tokens": 4, "cached_input_tokens": 0, "reasoning_tokens": 0}
FINGERPRINT = "fp_vendorsrv01"
_JUNK = "lorem ipsum dolor sit amet " * 64  # ~1.7 KB filler piece for oversize streams


@dataclass
class Script:
    """How to answer one request. Defaults give a fast, well-formed answer."""

    text_pieces: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "."])
    first_token_delay_ms: float = 0.0  # from request fully read to first piece written
    interval_ms: float = 0.0  # between subsequent pieces (deadline based, no drift)
    usage: dict | None = field(default_factory=lambda: dict(DEFAULT_USAGE))  # None: vendor reports none
    finish_reason: str = "stop"  # "stop" | "length" | "content_filter" (other values passed through)
    status: int = 200  # >= 400 renders a vendor error body
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (Retry-After...)
    error_message: str | None = None
    error_type: str | None = None  # OpenAI error.type / Anthropic error.type / Gemini status
    error_code: str | None = None  # OpenAI/Azure error.code (e.g. "insufficient_quota")
    # faults
    reset_after_pieces: int | None = None  # RST the TCP connection after N pieces
    stall_after_headers: bool = False  # headers, then silence until client leaves / server stops
    stall_after_pieces: int | None = None
    malformed_after_pieces: int | None = None  # emit an unparsable line after N pieces...
    malformed_stop: bool = False  # ...then end the body (False: carry on streaming)
    html_error_page: bool = False  # Cloudflare-like text/html page with `status`
    oversize_bytes: int | None = None  # stream valid junk events until this many body bytes
    drip_bytes_per_s: float | None = None  # trickle the body at this rate
    close_after_response: bool = False  # Connection: close, then FIN
    midstream_error: bool = False  # vendor-style error event mid-stream, then end the body
    midstream_error_after_pieces: int = 1
    sse_line_ending: str | None = None  # None: vendor's own ("\r\n" for Gemini, "\n" otherwise)
    request_id_headers: bool = True  # False: no x-request-id / request-id (the id is only in the body)
    # After N pieces, send the next event's JSON object cut off halfway, then end the body
    # (non-streamed: the JSON body cut in half) and close the connection. With truncate_abort
    # the connection closes mid-body instead (no last chunk / fewer bytes than Content-Length).
    truncate_after_pieces: int | None = None
    truncate_abort: bool = False
    # A recorded body sent as is instead of the generated one (a vendor's published example
    # stream, say): streamed, each item is one chunk, in order; whole, the items joined.
    replay: list[str] | None = None
    # What the answer says was served: None reports the requested model and FINGERPRINT
    # (OpenAI's system_fingerprint; Anthropic's message.model, Gemini's modelVersion too).
    served_model: str | None = None
    fingerprint: str | None = None
    # Tool calls instead of text: (name, argument pieces) each, in the protocol's own format
    # (tests/vendor_tool_calls.py); pieces that do not join to JSON make a malformed call.
    tool_calls: list[tuple[str, list[str]]] | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Script:
        return cls(**d)


@dataclass
class LoadProfile:
    """Server-wide load behaviour for one model (or "*": every model without its own).

    Applied in this order to each request of the model that passed auth and validation:
      1. rate cap, checked on arrival: with `max_concurrent` requests already in flight
         (queued or being served) the request is answered at once with 429 in the vendor's
         error format, `Retry-After: retry_after_s` and `x-ratelimit-remaining-requests: 0`;
      2. error injection: with rng = random.Random(seed) made when the profile is set, the
         k-th request (in arrival order, counting only requests not rejected by step 1) is
         answered at once with `error_status` and a vendor-format error body iff the k-th
         rng.random() < error_rate. So for N sequential requests the failures are exactly
         `[random.Random(seed).random() < error_rate for _ in range(N)]`;
      3. slots: at most `slots` requests are served at once, the others wait FIFO for a free
         slot; a slot is held until the response is over (or the connection dies);
      4. the request's Script (picked only now, so rejected requests consume none), whose
         first-token delay -- `service_ms` if set, else the script's first_token_delay_ms --
         counts from slot acquisition: queueing shows up as extra TTFT.
    A "*" profile is one shared pool (slots, cap, rng, counters) for all models it covers.

    Vendor rate limits (`limit_requests` and/or `limit_tokens`), checked between steps 1
    and 2: a fixed window of `window_s` seconds opens at the first request (and again at
    the first request after it has ended); each admitted request uses one request and
    `tokens_per_request` tokens of it. A request that finds the budget spent is answered
    at once with 429, `retry-after` (seconds until the window ends) and the headers below
    showing what is left. Every answer to an admitted request, errors included, carries
    the budget left *after* that request, in the vendor's own header names and formats
    (`ratelimit_style`; "auto": by protocol):
      openai     x-ratelimit-limit-requests: 60, x-ratelimit-remaining-requests: 59,
                 x-ratelimit-reset-requests: 1s (Go-style duration, e.g. 6m0s, 120ms),
                 and the same three for -tokens;
      anthropic  anthropic-ratelimit-requests-limit / -remaining / -reset (RFC 3339 UTC),
                 and the same three for tokens;
      none       (Gemini and Ollama send no rate-limit headers: "auto" sends none for them).
    Headers of a kind whose limit is None are not sent. `RequestRecord.headers_sent` logs
    every extra header written.
    """

    slots: int | None = None  # None: no queueing
    service_ms: float | None = None  # overrides Script.first_token_delay_ms, from slot acquisition
    max_concurrent: int | None = None  # in flight (queued + served) at arrival => 429
    retry_after_s: float = 1.0  # Retry-After of those 429s (fractions allowed: "0.2")
    error_rate: float = 0.0  # 0..1, fraction of requests answered with error_status
    error_status: int = 503
    seed: int = 0  # for the error-injection rng
    limit_requests: int | None = None  # requests per window (None: no request limit)
    limit_tokens: int | None = None  # tokens per window (None: no token limit)
    tokens_per_request: int = 16  # what one admitted request uses of limit_tokens
    window_s: float = 60.0
    ratelimit_style: str = "auto"  # auto | openai | anthropic | none

    def __post_init__(self):
        if self.slots is not None and self.slots < 1:
            raise ValueError("slots must be >= 1 (or None)")
        if self.max_concurrent is not None and self.max_concurrent < 0:
            raise ValueError("max_concurrent must be >= 0 (or None)")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be within 0..1")
        if self.error_status < 400:
            raise ValueError("error_status must be an error status (>= 400)")
        if self.retry_after_s < 0 or (self.service_ms is not None and self.service_ms < 0):
            raise ValueError("retry_after_s and service_ms must not be negative")
        if any(v is not None and v < 0 for v in (self.limit_requests, self.limit_tokens)):
            raise ValueError("limit_requests and limit_tokens must be >= 0 (or None)")
        if self.window_s <= 0 or self.tokens_per_request < 0:
            raise ValueError("window_s must be positive and tokens_per_request not negative")
        if self.ratelimit_style not in ("auto", "openai", "anthropic", "none"):
            raise ValueError("ratelimit_style must be auto, openai, anthropic or none")

    @classmethod
    def from_dict(cls, d: dict) -> LoadProfile:
        return cls(**d)


class _Load:
    """Live state of one LoadProfile (touched only on the server loop; stats() just reads ints)."""

    def __init__(self, profile: LoadProfile):
        self.profile, self.rng = profile, random.Random(profile.seed)
        ra = float(profile.retry_after_s)
        self.headers_429 = {
            "Retry-After": str(int(ra)) if ra.is_integer() else repr(ra),
            "x-ratelimit-remaining-requests": "0",
        }
        self.waiters: deque[asyncio.Future] = deque()
        self.active = 0  # slots held
        self.in_flight = self.queued = 0
        self.requests = self.served = self.rejected_429 = self.errors_injected = 0
        self.max_in_flight = self.max_queued = 0
        self.window_end: float | None = None  # time.time() when the rate-limit window resets
        self.used_requests = self.used_tokens = 0
        self.rejected_limit = 0  # 429s for a spent budget (also counted in rejected_429)

    def stats(self) -> dict:
        return {
            "requests": self.requests,
            "served": self.served,
            "rejected_429": self.rejected_429,
            "rejected_limit": self.rejected_limit,
            "errors_injected": self.errors_injected,
            "max_in_flight": self.max_in_flight,
            "max_queued": self.max_queued,
            "in_flight": self.in_flight,
            "queued": self.queued,
        }

    async def acquire(self) -> bool:
        """Take a slot; True if it came at once (no queueing)."""
        if self.active < self.profile.slots and not self.waiters:
            self.active += 1
            return True
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        self.queued += 1
        self.max_queued = max(self.max_queued, self.queued)
        try:
            await fut  # release() hands its slot over directly (active stays as is)
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot arrived just as we were cancelled: pass it on
            else:
                try:
                    self.waiters.remove(fut)
                except ValueError:
                    pass
            raise
        finally:
            self.queued -= 1
        return False

    @property
    def limited(self) -> bool:
        return self.profile.limit_requests is not None or self.profile.limit_tokens is not None

    def admit(self, protocol: str | None) -> tuple[bool, dict[str, str]]:
        """Use one request (and its tokens) of the window's budget if it has them left:
        (admitted, the rate-limit headers to send with the answer)."""
        p, now = self.profile, time.time()
        if self.window_end is None or now >= self.window_end:
            self.window_end, self.used_requests, self.used_tokens = now + p.window_s, 0, 0
        spent = (p.limit_requests is not None and self.used_requests >= p.limit_requests) or (
            p.limit_tokens is not None and self.used_tokens + p.tokens_per_request > p.limit_tokens
        )
        if not spent:
            self.used_requests += 1
            self.used_tokens += p.tokens_per_request
        headers = self.ratelimit_headers(protocol, now)
        if spent:
            wait = max(0.0, self.window_end - now)
            headers["retry-after"] = str(int(wait)) if float(wait).is_integer() else f"{wait:.3f}"
        return not spent, headers

    def ratelimit_headers(self, protocol: str | None, now: float) -> dict[str, str]:
        p = self.profile
        style = p.ratelimit_style
        if style == "auto":
            style = {"openai": "openai", "anthropic": "anthropic"}.get(protocol or "", "none")
        if style == "none":
            return {}
        reset_in = max(0.0, (self.window_end or now) - now)
        out: dict[str, str] = {}
        for what, limit, used in (("requests", p.limit_requests, self.used_requests),
                                  ("tokens", p.limit_tokens, self.used_tokens)):
            if limit is None:
                continue
            left = max(0, limit - used)
            if style == "openai":
                out[f"x-ratelimit-limit-{what}"] = str(limit)
                out[f"x-ratelimit-remaining-{what}"] = str(left)
                out[f"x-ratelimit-reset-{what}"] = _go_duration(reset_in)
            else:
                out[f"anthropic-ratelimit-{what}-limit"] = str(limit)
                out[f"anthropic-ratelimit-{what}-remaining"] = str(left)
                out[f"anthropic-ratelimit-{what}-reset"] = _rfc3339(now + reset_in)
        return out

    def release(self):
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.active -= 1


_NO_LOAD_STATS = _Load(LoadProfile()).stats()


@dataclass(eq=False)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any
    read_at: float  # time.time() when the request was fully read
    request_id: str
    protocol: str | None = None  # "openai" | "anthropic" | "gemini" | "ollama"
    model: str | None = None
    stream: bool = False
    azure: bool = False
    conn_id: int = 0  # same value => same TCP connection (keep-alive checks)
    status: int | None = None
    script: Script | None = None
    first_token_written_at: float | None = None  # first non-empty content piece handed to the socket
    ended_at: float | None = None
    queued_ms: float | None = None  # LoadProfile only: time waited for a slot (0.0 without slots)
    slot_acquired_at: float | None = None  # LoadProfile only: time.time() when service began
    headers_sent: dict[str, str] = field(default_factory=dict)  # extra response headers written (as sent)
    # The conversation received, in the vendor's order, each message normalised (see
    # conversation_of): what multi-turn tests compare across the four protocols.
    messages: list[dict] = field(default_factory=list)
    _t0: float = field(default=0.0, repr=False)  # perf_counter() at read_at

    def stamp(self) -> float:
        # Wall-clock value derived from a monotonic delta so intervals are exact.
        return self.read_at + (time.perf_counter() - self._t0)

    def summary(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("body", "script", "_t0")}
        d["script"] = asdict(self.script) if self.script else None
        return d


def conversation_of(protocol: str, body: dict) -> list[dict]:
    """The messages of a chat request as {"role": system|user|assistant, "text": its text
    parts joined by blank lines, "attachments": images and files, "thinking", "signature"},
    and "redacted" (the data of Anthropic redacted_thinking blocks) when there are any:
    OpenAI/Ollama `messages`, Anthropic `system` + `messages` of content blocks, Gemini
    `systemInstruction` + `contents` (role `model` is the assistant)."""
    out: list[dict] = []

    def add(role, texts, attachments=0, thinking=None, signature=None):
        out.append({"role": role, "text": "\n\n".join(texts), "attachments": attachments,
                    "thinking": thinking, "signature": signature})

    if protocol == "gemini":
        if sys_ := body.get("systemInstruction"):
            add("system", [p.get("text", "") for p in sys_.get("parts", [])])
        for c in body.get("contents") or []:
            parts = c.get("parts") or []
            add("assistant" if c.get("role") == "model" else c.get("role"),
                [p["text"] for p in parts if "text" in p and not p.get("thought")],
                sum("inline_data" in p or "inlineData" in p for p in parts),
                signature=next((p["thoughtSignature"] for p in parts if p.get("thoughtSignature")), None))
        return out
    if protocol == "anthropic" and body.get("system"):
        system = body["system"]
        add("system", [system] if isinstance(system, str) else [b.get("text", "") for b in system])
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            add(m.get("role"), [content], len(m.get("images") or []), m.get("thinking"))
            continue
        blocks = content or []
        thinking = next((b for b in blocks if b.get("type") == "thinking"), {})
        add(m.get("role"), [b["text"] for b in blocks if b.get("type") == "text"],
            sum(b.get("type") in ("image", "image_url", "document") for b in blocks),
            thinking.get("thinking"), thinking.get("signature"))
        if redacted := [b.get("data") for b in blocks if b.get("type") == "redacted_thinking"]:
            out[-1]["redacted"] = redacted  # Anthropic's encrypted thinking, as sent back
    return out


class _Closed(Exception):
    """Connection is finished (reset, stall ended, protocol error)."""


# ---------------------------------------------------------------- helpers


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return {529: "Overloaded", 520: "Unknown Error", 524: "A Timeout Occurred"}.get(status, "Unknown")


def _go_duration(seconds: float) -> str:
    """A duration as OpenAI's rate-limit reset headers write it: 120ms, 1s, 6m0s, 1m2.5s."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    secs = f"{rest:.3f}".rstrip("0").rstrip(".")
    return f"{int(minutes)}m{secs}s" if minutes else f"{secs}s"


def _rfc3339(ts: float) -> str:
    """Unix seconds as Anthropic's reset headers write them: 2025-01-31T09:15:03Z."""
    return datetime.fromtimestamp(int(ts + 0.999), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_date_cache = [0, ""]


def _date() -> str:
    now = int(time.time())
    if now != _date_cache[0]:  # formatdate is slow-ish; one per second is enough
        _date_cache[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date_cache[1]


def _head(status: int, ctype: str, rid: str | None, extra: dict, length: int | None, close: bool) -> bytes:
    h = {"Date": _date(), "Content-Type": ctype}
    if length is None:
        h["Transfer-Encoding"], h["Cache-Control"] = "chunked", "no-cache"
    else:
        h["Content-Length"] = str(length)
    h["Connection"] = "close" if close else "keep-alive"
    if rid is not None:
        h["x-request-id"] = h["request-id"] = rid
    canon = {k.lower(): k for k in h}
    for k, v in extra.items():  # script headers may override defaults (e.g. a wrong Content-Type)
        h[canon.get(k.lower(), k)] = v
    lines = "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return f"HTTP/1.1 {status} {_reason(status)}\r\n{lines}\r\n".encode("latin-1")


def _dumps(obj, pretty=False, google=False) -> bytes:
    # A lone surrogate in a text piece (half an emoji) goes out as its JSON escape "\ud83d".
    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace")
    # Google's streaming JSON uses ",", ": " separators; others are compact.
    return json.dumps(obj, separators=(",", ": ") if google else (",", ":"),
                      ensure_ascii=False).encode("utf-8", "backslashreplace")


def _usage(s: Script, n: int) -> tuple[int, int, int, int]:
    u = s.usage or {}
    return (
        u.get("input_tokens", 0),
        u.get("output_tokens", n),
        u.get("cached_input_tokens", 0),
        u.get("reasoning_tokens", 0),
    )


class _PreciseTimer:
    """One shared timer for all connections: epoll/libuv timers are ms-granular,
    so wake ~1.5 ms early on a coarse timer, then yield-spin (call_soon) until the
    exact perf_counter deadline. A single spinner keeps the cost O(1) in waiters."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop, self.heap, self.handle, self.seq = loop, [], None, itertools.count()

    def wait(self, deadline: float) -> asyncio.Future:
        fut = self.loop.create_future()
        heapq.heappush(self.heap, (deadline, next(self.seq), fut))
        if self.heap[0][2] is fut:  # new earliest deadline: re-arm
            if self.handle:
                self.handle.cancel()
            self._tick()
        return fut

    def _tick(self):
        now = time.perf_counter()
        while self.heap and self.heap[0][0] <= now:
            fut = heapq.heappop(self.heap)[2]
            if not fut.done():
                fut.set_result(None)
        if not self.heap:
            self.handle = None
        elif (rem := self.heap[0][0] - now) > 0.002:
            self.handle = self.loop.call_later(rem - 0.0015, self._tick)
        else:
            self.handle = self.loop.call_soon(self._tick)


class _Conn:
    __slots__ = ("body_bytes", "drip", "id", "r", "w")
    _ids = itertools.count(1)

    def __init__(self, r: asyncio.StreamReader, w: asyncio.StreamWriter):
        self.r, self.w, self.drip, self.body_bytes, self.id = r, w, None, 0, next(self._ids)

    async def send(self, data: bytes):
        if self.w.transport.is_closing():
            raise _Closed
        self.body_bytes += len(data)
        if not self.drip:
            self.w.write(data)
            await self.w.drain()
            return
        step = max(1, int(self.drip / 50))  # ~50 writes per second
        for i in range(0, len(data), step):
            piece = data[i : i + step]
            await asyncio.sleep(len(piece) / self.drip)  # sleep first: bytes never beat the rate
            self.w.write(piece)
            await self.w.drain()

    async def chunk(self, data: bytes):
        await self.send(b"%x\r\n%b\r\n" % (len(data), data))

    async def stall(self):
        # Hold the connection silently; leave when the client hangs up (or on stop()).
        while await self.r.read(65536):
            pass
        raise _Closed

    def reset(self):
        sock = self.w.get_extra_info("socket")
        try:  # linger 0 => close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError):
            pass
        self.w.transport.abort()
        raise _Closed


class _Ctx:
    """Per-response state shared by a vendor formatter."""

    def __init__(self, rec: RequestRecord, script: Script, nl: str):
        self.rec, self.s, self.nl = rec, script, nl
        self.model, self.hex = rec.model or "", rec.request_id[4:]
        self.created = int(rec.read_at)
        self.include_usage = False
        self.sse = True  # Gemini: False => streamed JSON array (no ?alt=sse)
        self.n = 0  # pieces written
        self.finished = False
        self.first_piece = True
        self._tpl: list[bytes] | None = None
        self.t_first: float | None = None  # perf_counter deadline of the first piece (LoadProfile)
        self.extra: dict[str, str] = {}  # headers the LoadProfile adds (rate limits), over the script's
        self.tool: str | None = None  # Anthropic: the tool a forced tool_choice names (the answer is its input)

    @property
    def served(self) -> str:  # the script is picked after the context is made
        return self.s.served_model or self.model

    @property
    def fingerprint(self) -> str:
        return self.s.fingerprint or FINGERPRINT

    def templated(self, build, text: str) -> bytes:
        # Hot path: encode a piece event once around a sentinel, then splice each text in.
        if self._tpl is None:
            self._tpl = build("\x00").split(b'"\\u0000"')
        return self._tpl[0] + json.dumps(text, ensure_ascii=False).encode("utf-8", "backslashreplace") + self._tpl[1]

    def sse_event(self, data: bytes, event: str | None = None) -> bytes:
        nl = self.nl.encode()
        return (b"event: " + event.encode() + nl if event else b"") + b"data: " + data + nl + nl


# ---------------------------------------------------------------- vendor formats


def _structured_problem(proto: str, body: dict) -> str | None:
    """Why a structured-output request is not what the vendor accepts (a 400), else None:
    OpenAI response_format json_schema, an Anthropic forced tool, Gemini responseSchema,
    Ollama format."""
    if proto == "openai" and "response_format" in body:
        rf = body["response_format"]
        if rf.get("type") == "json_schema":
            js = rf.get("json_schema") or {}
            if not js.get("name") or not isinstance(js.get("schema"), dict):
                return "response_format.json_schema needs a name and a schema"
    if proto == "anthropic" and "tool_choice" in body:
        choice = body["tool_choice"]
        tools = {t.get("name"): t for t in body.get("tools") or []}
        if choice.get("type") == "tool" and choice.get("name") not in tools:
            return "tool_choice names a tool that is not in tools"
        if any(not isinstance(t.get("input_schema"), dict) or t["input_schema"].get("type") != "object"
               for t in tools.values()):
            return "tools.input_schema: an object schema is required"
        if body.get("thinking"):
            return "Thinking may not be enabled when tool_choice forces tool use."
    if proto == "gemini":
        config = body.get("generationConfig") or {}
        if "responseSchema" in config:
            if config.get("responseMimeType") != "application/json":
                return "responseSchema needs responseMimeType application/json"
            if "additionalProperties" in json.dumps(config["responseSchema"]):
                return 'Unknown name "additionalProperties" at generation_config.response_schema'
    if proto == "ollama" and "format" in body and not (body["format"] == "json" or isinstance(body["format"], dict)):
        return "format must be \"json\" or a JSON schema"
    return None


def _llama_cpp_python_refusal(body: dict) -> dict | None:
    """llama-cpp-python's server (its FastAPI app, llama_cpp/server) validates a request
    against its own schema, which allows a response_format of type text or json_object only;
    its route handler turns the validation error into HTTP 500 with the errors as the message."""
    kind = (body.get("response_format") or {}).get("type")
    if kind in (None, "text", "json_object"):
        return None
    errors = [{"type": "literal_error", "loc": ("body", "response_format", "type"),
               "msg": "Input should be 'text' or 'json_object'", "input": kind,
               "ctx": {"expected": "'text' or 'json_object'"}}]
    return {"error": {"message": str(errors), "type": "internal_server_error", "param": None, "code": None}}


class _OpenAI:
    ctype = "text/event-stream; charset=utf-8"
    FINISH: ClassVar[dict[Any, str]] = {
        "stop": "stop",
        "length": "length",
        "content_filter": "content_filter",
    }
    TYPES: ClassVar[dict[Any, str]] = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        403: "permission_error",
        404: "invalid_request_error",
        429: "requests",
        500: "server_error",
        503: "server_error",
    }
    CODES: ClassVar[dict[Any, str]] = {
        401: "invalid_api_key",
        404: "model_not_found",
        429: "rate_limit_exceeded",
    }

    @staticmethod
    def usage_on(c: _Ctx) -> bool:
        return c.include_usage and c.s.usage is not None  # None: like llama.cpp ignoring include_usage

    @classmethod
    def _chunk(cls, c: _Ctx, choices: list, usage=None) -> bytes:
        d = {
            "id": "chatcmpl-" + c.hex,
            "object": "chat.completion.chunk",
            "created": c.created,
            "model": c.served,
            "system_fingerprint": c.fingerprint,
            "choices": choices,
        }
        if cls.usage_on(c):
            d["usage"] = usage
        return c.sse_event(_dumps(d))

    @staticmethod
    def _usage(c: _Ctx) -> dict:
        i, o, cached, reas = _usage(c.s, c.n)
        return {
            "prompt_tokens": i,
            "completion_tokens": o,
            "total_tokens": i + o,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reas,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    @classmethod
    def head(cls, c: _Ctx) -> list[bytes]:
        out = []
        if c.rec.azure:  # real Azure leads with a choice-less prompt-filter chunk
            out.append(
                c.sse_event(
                    _dumps(
                        {
                            "choices": [],
                            "created": 0,
                            "id": "",
                            "model": "",
                            "object": "",
                            "prompt_filter_results": [_azure_filter()],
                        }
                    )
                )
            )
        out.append(
            cls._chunk(
                c,
                [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": "", "refusal": None},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            )
        )
        return out

    @classmethod
    def piece(cls, c: _Ctx, text: str, last: bool) -> bytes:
        return c.templated(
            lambda t: cls._chunk(
                c, [{"index": 0, "delta": {"content": t}, "logprobs": None, "finish_reason": None}]
            ),
            text,
        )

    @classmethod
    def tail(cls, c: _Ctx) -> list[bytes]:
        fr = cls.FINISH.get(c.s.finish_reason, c.s.finish_reason)
        out = [cls._chunk(c, [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": fr}])]
        if cls.usage_on(c):
            out.append(cls._chunk(c, [], cls._usage(c)))
        out.append(c.sse_event(b"[DONE]"))
        return out

    @classmethod
    def error_event(cls, c: _Ctx) -> bytes:
        return c.sse_event(_dumps(cls.error(c, 500)[1]))

    @staticmethod
    def garbage(c: _Ctx) -> bytes:
        return c.sse_event(b"{not json")

    @classmethod
    def full(cls, c: _Ctx, text: str) -> tuple[bytes, str]:
        fr = cls.FINISH.get(c.s.finish_reason, c.s.finish_reason)
        d = {
            "id": "chatcmpl-" + c.hex,
            "object": "chat.completion",
            "created": c.created,
            "model": c.served,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": fr,
                }
            ],
        }
        if c.s.usage is not None:
            d["usage"] = cls._usage(c)
        d["service_tier"] = "default"
        d["system_fingerprint"] = c.fingerprint
        if c.rec.azure:
            d["prompt_filter_results"] = [_azure_filter()]
        return _dumps(d, pretty=True), "application/json"

    @classmethod
    def error(
        cls, c: _Ctx, status: int, msg: str | None = None, etype: str | None = None, code: str | None = None
    ) -> tuple[int, dict]:
        s = c.s
        msg = msg or s.error_message or _DEFAULT_MSG.get(status, "Error")
        code = code or s.error_code
        if c.rec.azure:  # Azure's own gateway error shape
            return status, {"error": {"code": code or str(status), "message": msg}}
        return status, {
            "error": {
                "message": msg,
                "type": etype or s.error_type or cls.TYPES.get(status, "api_error"),
                "param": None,
                "code": code or cls.CODES.get(status),
            }
        }

    @classmethod
    def auth_error(cls, c: _Ctx, got: str | None) -> tuple[int, dict]:
        if c.rec.azure:
            return cls.error(
                c,
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. "
                "Make sure to provide a valid key for an active subscription and use a correct "
                "regional API endpoint for your resource.",
                code="401",
            )
        if not got:
            return 401, {
                "error": {
                    "message": "You didn't provide an API key. You need to provide your API key "
                    "in an Authorization header using Bearer auth (i.e. Authorization: Bearer "
                    "YOUR_KEY).",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        return 401, {
            "error": {
                "message": f"Incorrect API key provided: {got[:3]}***{got[-4:]}. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }


def _azure_filter() -> dict:
    safe = {"filtered": False, "severity": "safe"}
    return {
        "prompt_index": 0,
        "content_filter_results": {k: safe for k in ("hate", "self_harm", "sexual", "violence")},
    }


class _Anthropic:
    ctype = "text/event-stream; charset=utf-8"
    FINISH: ClassVar[dict[Any, str]] = {
        "stop": "end_turn",
        "length": "max_tokens",
        "content_filter": "refusal",
    }
    TYPES: ClassVar[dict[Any, str]] = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    }

    @staticmethod
    def _usage(c: _Ctx, output: int) -> dict:
        i, _, cached, _ = _usage(c.s, c.n)
        cw = (c.s.usage or {}).get("cache_creation_input_tokens", 0)
        # Anthropic's input_tokens excludes cache reads/writes.
        return {
            "input_tokens": i - cached - cw,
            "cache_creation_input_tokens": cw,
            "cache_read_input_tokens": cached,
            "output_tokens": output,
        }

    @classmethod
    def _message(cls, c: _Ctx, content: list, stop, output: int) -> dict:
        d = {
            "id": "msg_" + c.hex,
            "type": "message",
            "role": "assistant",
            "model": c.served,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
        }
        if c.s.usage is not None:
            d["usage"] = cls._usage(c, output)
        return d

    @classmethod
    def head(cls, c: _Ctx) -> list[bytes]:
        return [
            c.sse_event(
                _dumps({"type": "message_start", "message": cls._message(c, [], None, 1)}), "message_start"
            ),
            c.sse_event(
                _dumps({"type": "content_block_start", "index": 0, "content_block": cls._block(c)}),
                "content_block_start",
            ),
            c.sse_event(b'{"type": "ping"}', "ping"),
        ]

    @staticmethod
    def _block(c: _Ctx) -> dict:
        if c.tool:  # structured output: the pieces are the forced tool's input JSON
            return {"type": "tool_use", "id": "toolu_" + c.hex, "name": c.tool, "input": {}}
        return {"type": "text", "text": ""}

    @staticmethod
    def piece(c: _Ctx, text: str, last: bool) -> bytes:
        delta = (lambda t: {"type": "input_json_delta", "partial_json": t}) if c.tool else (
            lambda t: {"type": "text_delta", "text": t})
        return c.templated(
            lambda t: c.sse_event(
                _dumps(
                    {"type": "content_block_delta", "index": 0, "delta": delta(t)}
                ),
                "content_block_delta",
            ),
            text,
        )

    @classmethod
    def tail(cls, c: _Ctx) -> list[bytes]:
        md = {
            "type": "message_delta",
            "delta": {
                "stop_reason": cls._stop(c),
                "stop_sequence": None,
            },
        }
        if c.s.usage is not None:
            md["usage"] = {"output_tokens": _usage(c.s, c.n)[1]}
        return [
            c.sse_event(_dumps({"type": "content_block_stop", "index": 0}), "content_block_stop"),
            c.sse_event(_dumps(md), "message_delta"),
            c.sse_event(_dumps({"type": "message_stop"}), "message_stop"),
        ]

    @classmethod
    def error_event(cls, c: _Ctx) -> bytes:
        return c.sse_event(_dumps(cls.error(c, 529)[1]), "error")

    @staticmethod
    def garbage(c: _Ctx) -> bytes:
        return c.sse_event(b"{not json", "content_block_delta")

    @classmethod
    def _stop(cls, c: _Ctx) -> str:
        if c.tool and c.s.finish_reason == "stop":
            return "tool_use"
        return cls.FINISH.get(c.s.finish_reason, c.s.finish_reason)

    @classmethod
    def full(cls, c: _Ctx, text: str) -> tuple[bytes, str]:
        block: dict = {"type": "text", "text": text}
        if c.tool:
            try:  # Anthropic sends the input parsed; text that is not JSON goes as a string
                block = {**cls._block(c), "input": json.loads(text)}
            except ValueError:
                block = {**cls._block(c), "input": text}
        d = cls._message(c, [block], cls._stop(c), _usage(c.s, c.n)[1])
        return _dumps(d), "application/json"

    @classmethod
    def error(
        cls, c: _Ctx, status: int, msg: str | None = None, etype: str | None = None, code: str | None = None
    ) -> tuple[int, dict]:
        s = c.s
        return status, {
            "type": "error",
            "error": {
                "type": etype or s.error_type or cls.TYPES.get(status, "api_error"),
                "message": msg or s.error_message or _DEFAULT_MSG.get(status, "Error"),
            },
            "request_id": c.rec.request_id,
        }

    @classmethod
    def auth_error(cls, c: _Ctx, got: str | None) -> tuple[int, dict]:
        return cls.error(
            c, 401, "invalid x-api-key" if got else "x-api-key header is required", "authentication_error"
        )


class _Gemini:
    FINISH: ClassVar[dict[Any, str]] = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
    STATUS: ClassVar[dict[Any, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ABORTED",
        429: "RESOURCE_EXHAUSTED",
        499: "CANCELLED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }

    @staticmethod
    def _usage(c: _Ctx, final: bool, k: int) -> dict:
        """Cumulative usage after k pieces, as Gemini repeats it on every chunk (the last is the total)."""
        n = k if final or c.s.oversize_bytes is not None else max(1, len(c.s.text_pieces))
        i, o, cached, reas = _usage(c.s, n)
        cand = o - reas if final else (o - reas) * k // n  # thoughts are all spent before the text
        u = {"promptTokenCount": i, "candidatesTokenCount": cand, "totalTokenCount": i + cand + reas}
        if cached:  # proto3 JSON omits zero-valued fields
            u["cachedContentTokenCount"] = cached
        u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": i}]
        if reas:
            u["thoughtsTokenCount"] = reas
        return u

    @classmethod
    def _obj(cls, c: _Ctx, text: str, last: bool, n: int) -> dict:
        cand = {"content": {"parts": [{"text": text}], "role": "model"}}
        if last:
            cand["finishReason"] = cls.FINISH.get(c.s.finish_reason, c.s.finish_reason)
        cand["index"] = 0
        d = {"candidates": [cand]}
        if c.s.usage is not None:
            d["usageMetadata"] = cls._usage(c, last, n)
        d["modelVersion"] = c.served
        d["responseId"] = c.hex
        return d

    @staticmethod
    def ctype_for(c: _Ctx) -> str:
        return "text/event-stream" if c.sse else "application/json; charset=UTF-8"

    @staticmethod
    def _frame(c: _Ctx, obj: dict | bytes) -> bytes:
        if c.sse:
            return c.sse_event(obj if isinstance(obj, bytes) else _dumps(obj, google=True))
        # Without ?alt=sse Gemini streams one pretty-printed JSON array.
        data = obj if isinstance(obj, bytes) else _dumps(obj, pretty=True)
        prefix = b"[" if c.first_piece else b"\n,\r\n"
        c.first_piece = False
        return prefix + data

    @staticmethod
    def head(c: _Ctx) -> list[bytes]:
        return []

    @classmethod
    def piece(cls, c: _Ctx, text: str, last: bool) -> bytes:
        c.finished = c.finished or last  # the last piece carries finishReason + full usage
        return cls._frame(c, cls._obj(c, text, last, c.n + 1))

    @classmethod
    def tail(cls, c: _Ctx) -> list[bytes]:
        out = [] if c.finished else [cls._frame(c, cls._obj(c, "", True, c.n))]
        if not c.sse:
            out.append(b"[]" if c.first_piece else b"\n]")
        return out

    @classmethod
    def error_event(cls, c: _Ctx) -> bytes:
        return cls._frame(c, cls.error(c, 500)[1])

    @classmethod
    def garbage(cls, c: _Ctx) -> bytes:
        return cls._frame(c, b"{not json")

    @classmethod
    def full(cls, c: _Ctx, text: str) -> tuple[bytes, str]:
        return _dumps(cls._obj(c, text, True, c.n), pretty=True), "application/json; charset=UTF-8"

    @classmethod
    def error(
        cls, c: _Ctx, status: int, msg: str | None = None, etype: str | None = None, code: str | None = None
    ) -> tuple[int, dict]:
        s = c.s
        return status, {
            "error": {
                "code": status,
                "message": msg or s.error_message or _DEFAULT_MSG.get(status, "Error"),
                "status": etype or s.error_type or cls.STATUS.get(status, "UNKNOWN"),
            }
        }

    @classmethod
    def auth_error(cls, c: _Ctx, got: str | None) -> tuple[int, dict]:
        # Real Gemini: no key -> 403 PERMISSION_DENIED; wrong key -> 400 INVALID_ARGUMENT/API_KEY_INVALID.
        if not got:
            return cls.error(
                c,
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call this "
                "API.",
                "PERMISSION_DENIED",
            )
        st, body = cls.error(c, 400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
        body["error"]["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
        return st, body


class _Ollama:
    ctype = "application/x-ndjson"
    FINISH: ClassVar[dict[Any, str]] = {"stop": "stop", "length": "length", "content_filter": "stop"}

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    @staticmethod
    def head(c: _Ctx) -> list[bytes]:
        return []

    @classmethod
    def piece(cls, c: _Ctx, text: str, last: bool) -> bytes:
        return (
            _dumps(
                {
                    "model": c.served,
                    "created_at": cls._now(),
                    "message": {"role": "assistant", "content": text},
                    "done": False,
                }
            )
            + b"\n"
        )

    @classmethod
    def _final(cls, c: _Ctx, text: str) -> dict:
        rec = c.rec
        total = int((time.perf_counter() - rec._t0) * 1e9)
        first = rec.first_token_written_at
        prompt_ns = int((first - rec.read_at) * 1e9) if first else total // 2
        load = min(1_000_000, prompt_ns)
        i, o, _, _ = _usage(c.s, c.n)
        d = {
            "model": c.served,
            "created_at": cls._now(),
            "message": {"role": "assistant", "content": text},
            "done_reason": cls.FINISH.get(c.s.finish_reason, c.s.finish_reason),
            "done": True,
            "total_duration": total,
            "load_duration": load,
            "prompt_eval_count": i,
            "prompt_eval_duration": prompt_ns - load,
            "eval_count": o,
            "eval_duration": max(0, total - prompt_ns),
        }
        if c.s.usage is None:  # no usage: drop the counts (as Ollama does for fully cached prompts)
            del d["prompt_eval_count"], d["eval_count"]
        return d

    @classmethod
    def tail(cls, c: _Ctx) -> list[bytes]:
        return [_dumps(cls._final(c, "")) + b"\n"]

    @staticmethod
    def error_event(c: _Ctx) -> bytes:
        return (
            _dumps({"error": c.s.error_message or "an error was encountered while running the model"}) + b"\n"
        )

    @staticmethod
    def garbage(c: _Ctx) -> bytes:
        return b"{not json\n"

    @classmethod
    def full(cls, c: _Ctx, text: str) -> tuple[bytes, str]:
        return _dumps(cls._final(c, text)), "application/json; charset=utf-8"

    @staticmethod
    def error(
        c: _Ctx, status: int, msg: str | None = None, etype: str | None = None, code: str | None = None
    ) -> tuple[int, dict]:
        if status == 404 and not (msg or c.s.error_message):
            msg = f'model "{c.model}" not found, try pulling it first'
        return status, {"error": msg or c.s.error_message or _DEFAULT_MSG.get(status, "error")}


_DEFAULT_MSG = {
    400: "Invalid request.",
    401: "Unauthorized.",
    403: "Permission denied.",
    404: "Not found.",
    408: "Request timed out.",
    413: "Request too large.",
    429: "Rate limit exceeded. Please retry later.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
    529: "Overloaded",
}
_BLANK = Script()  # context for errors raised before a script is picked
_FMT = {"openai": _OpenAI, "anthropic": _Anthropic, "gemini": _Gemini, "ollama": _Ollama}

_AZURE = re.compile(r"/openai/deployments/([^/]+)/chat/completions")
_GEM_GEN = re.compile(r"/(?:v1beta|v1)/models/([^/:]+):(streamGenerateContent|generateContent)")
_GEM_ONE = re.compile(r"/v1beta/models/([^/:]+)")

_CF_HTML = """<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<title>api.example.com | {status}: {reason}</title>
<meta charset="UTF-8" />
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="p-0">
    <h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl text-black-dark leading-tight mr-2">
      <span class="inline-block">{reason}</span>
      <span class="code-label">Error code {status}</span>
    </h1>
    <p>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> for more information.</p>
  </div>
  <div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left">
    <p>Cloudflare Ray ID: <strong class="font-semibold">{ray}</strong></p>
  </div>
</div>
</body>
</html>
"""


# ---------------------------------------------------------------- server


class VendorServer:
    """Fake vendor endpoint on its own asyncio loop in a daemon thread."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, use_uvloop: bool = False, record: bool = True
    ):
        self.host, self.port, self.use_uvloop, self.record = host, port, use_uvloop, record
        self.default_script = Script()
        self.api_key: str | None = None
        self.models: dict[str, list[str]] = {
            "openai": ["gpt-4o-mini", "gpt-4o", "o3-mini"],
            "anthropic": ["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"],
            "gemini": ["gemini-2.0-flash", "gemini-2.5-pro"],
            "ollama": ["llama3.2:latest", "qwen2.5:0.5b"],
        }
        # Ollama's /api/tags digest per model name (else one derived from the name).
        self.digests: dict[str, str] = {}
        # Ollama's /api/show "capabilities" per model name (else none: an older Ollama).
        self.capabilities: dict[str, list[str]] = {}
        # True: the OpenAI protocol validates requests as llama-cpp-python's server does.
        self.llama_cpp_python = False
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified as requests arrive and pick their scripts
        self._queues: dict[str, deque[Script]] = {}
        self._defaults: dict[str, Script] = {}
        self._loads: dict[str, _Load] = {}  # active profiles; replaced whole (copy on write)
        self._load_stats: dict[str, _Load] = {}  # last profile set per model, for stats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unstalled: asyncio.Event | None = None  # set by unstall(), on the loop
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- scripting

    def enqueue(self, model: str, *scripts: Script) -> None:
        """Queue scripts for requests naming `model` ("*" = any model), popped in order."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(scripts)

    def set_default(self, model: str, script: Script | None) -> None:
        with self._lock:
            if script is None:
                self._defaults.pop(model, None)
            else:
                self._defaults[model] = script

    def pending(self, model: str | None = None) -> int:
        """Number of queued, not yet used scripts (for `model`, or all)."""
        with self._lock:
            return len(self._queues.get(model, ())) if model else sum(map(len, self._queues.values()))

    def _pick(self, model: str | None) -> Script:
        with self._lock:
            for key in (model, "*"):
                q = self._queues.get(key)
                if q:
                    return q.popleft()
            return self._defaults.get(model) or self.default_script

    def set_load(self, model: str, profile: LoadProfile | None) -> None:
        """Apply a LoadProfile to requests naming `model` ("*": every model without its own
        profile, as one shared pool); None removes it. Setting a profile starts fresh
        counters and a fresh rng; requests already in flight finish under the old one."""
        with self._lock:
            loads = dict(self._loads)
            if profile is None:
                loads.pop(model, None)
            else:
                loads[model] = self._load_stats[model] = _Load(profile)
            self._loads = loads  # one atomic rebind: the loop thread reads it without the lock

    def stats(self, model: str = "*") -> dict:
        """Counters of the profile last set for `model` (else of the "*" profile; zeros if neither):
        requests (all that reached the profile), served (got a slot / started their script),
        rejected_429, errors_injected, max_in_flight, max_queued, and the current in_flight, queued
        (a request stops counting as in flight just after its last bytes are written, so a client
        may see its response end a moment before)."""
        with self._lock:
            ld = self._load_stats.get(model) or self._load_stats.get("*")
        return ld.stats() if ld else dict(_NO_LOAD_STATS)

    def wait_for(self, ready: Callable[[list[RequestRecord]], bool], timeout: float = 30) -> list[RequestRecord]:
        """Block until `ready(requests)` holds, checked whenever a request is recorded or has picked
        its script (a POST whose `script` is set holds it: a stall has begun or is about to); return
        a copy of the requests. For kill/cancel tests: wait for what the vendor holds, not for
        what the client stored. Raises TimeoutError (with the count) if it never holds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: ready(self.requests), timeout):
                raise TimeoutError(f"vendor not ready within {timeout} s: {len(self.requests)} requests")
            return list(self.requests)

    def held(self, n: int, timeout: float = 30) -> list[RequestRecord]:
        """Wait until `n` POSTs reached the vendor and picked their scripts."""
        return self.wait_for(lambda reqs: sum(r.method == "POST" and r.script is not None for r in reqs) >= n,
                             timeout)

    def clear(self) -> None:
        """Forget recorded requests and queued scripts (load profiles stay)."""
        with self._lock:
            self.requests.clear()
            self._queues.clear()

    def reset(self) -> None:
        """clear() plus per-model defaults, load profiles and their stats, default_script, api_key and llama_cpp_python."""
        self.clear()
        with self._lock:
            self._defaults.clear()
            self._loads, self._load_stats = {}, {}
        self.default_script, self.api_key, self.capabilities = Script(), None, {}
        self.llama_cpp_python = False
        if self._loop is not None and self._unstalled is not None:
            self._loop.call_soon_threadsafe(self._unstalled.clear)

    def unstall(self) -> None:
        """Streamed answers stalled after their headers go on as scripted, later ones do not stall
        (until reset()): a test holds requests until an event of its own, then lets them end."""
        assert self._loop is not None and self._unstalled is not None, "start() first"
        self._loop.call_soon_threadsafe(self._unstalled.set)

    # -- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> VendorServer:
        if self._thread:
            return self
        if self.use_uvloop:
            try:
                import uvloop

                self._loop = uvloop.new_event_loop()
            except ImportError:
                self._loop = asyncio.new_event_loop()
        else:
            self._loop = asyncio.new_event_loop()
        ready, err = threading.Event(), []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._listen())
            except BaseException as e:  # surface bind errors in start()
                err.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name=f"vendor-server-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if err:
            self._thread = None
            raise err[0]
        return self

    async def _listen(self):
        self._timer = _PreciseTimer(asyncio.get_running_loop())
        self._unstalled = asyncio.Event()
        # Large backlog: hundreds of simultaneous connects must not hit SYN retransmits.
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, backlog=4096, limit=1 << 20
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if not self._thread:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            fut.result(5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._thread = None

    async def _shutdown(self):
        self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    def __enter__(self) -> VendorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- HTTP plumbing

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        c = _Conn(reader, writer)
        try:
            while await self._serve_one(c):
                pass
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception:  # a server bug: show it, but keep serving other connections
            traceback.print_exc()
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.transport.close()

    async def _serve_one(self, c: _Conn) -> bool:
        try:
            head = await c.r.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # client closed between requests
        except asyncio.LimitOverrunError:
            await c.send(_head(431, "text/plain", "req_0", {}, 0, True))
            return False
        lines = head.lstrip(b"\r\n").decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await c.send(_head(400, "text/plain", "req_0", {}, 0, True))
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                k, v = k.strip().lower(), v.strip()
                headers[k] = f"{headers[k]}, {v}" if k in headers else v
        if headers.get("expect", "").lower() == "100-continue":
            c.w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(c.r)
        else:
            n = int(headers.get("content-length") or 0)
            body = await c.r.readexactly(n) if n else b""
        t0, read_at = time.perf_counter(), time.time()
        path, _, qs = target.partition("?")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = RequestRecord(
            method,
            unquote(path),
            dict(parse_qsl(qs)),
            headers,
            body,
            parsed,
            read_at,
            "req_" + secrets.token_hex(12),
            conn_id=c.id,
            _t0=t0,
        )
        conn = headers.get("connection", "").lower()
        keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        c.body_bytes = 0
        try:
            return await self._dispatch(c, rec, keep)
        finally:
            c.drip = None
            if rec.ended_at is None:
                rec.ended_at = rec.stamp()

    @staticmethod
    async def _read_chunked(r: asyncio.StreamReader) -> bytes:
        parts = []
        while size := int((await r.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await r.readexactly(size))
            await r.readexactly(2)
        while await r.readuntil(b"\r\n") != b"\r\n":  # trailers
            pass
        return b"".join(parts)

    async def _send_json(
        self, c: _Conn, rec: RequestRecord, status: int, obj, keep: bool, extra: dict | None = None,
        *, ids: bool = True,
    ) -> bool:
        body = _dumps(obj, pretty=rec.protocol in ("openai", "gemini"))  # as those vendors do
        rec.status = status
        rec.headers_sent = dict(extra or {})
        rec.ended_at = rec.stamp()
        rid = rec.request_id if ids else None
        await c.send(_head(status, "application/json", rid, extra or {}, len(body), not keep) + body)
        return keep

    # -- routing

    async def _dispatch(self, c: _Conn, rec: RequestRecord, keep: bool) -> bool:
        m, p, h, j = rec.method, rec.path, rec.headers, rec.json
        body = j if isinstance(j, dict) else {}
        proto = stream = None
        if m == "POST":
            if p == "/v1/chat/completions":
                proto, rec.model, stream = "openai", body.get("model"), body.get("stream") is True
            elif az := _AZURE.fullmatch(p):
                proto, rec.model, rec.azure, stream = "openai", az[1], True, body.get("stream") is True
            elif p == "/v1/messages":
                proto, rec.model, stream = "anthropic", body.get("model"), body.get("stream") is True
            elif g := _GEM_GEN.fullmatch(p):
                proto, rec.model, stream = "gemini", g[1], g[2] == "streamGenerateContent"
            elif p == "/api/chat":
                proto, rec.model, stream = "ollama", body.get("model"), body.get("stream", True) is not False
            elif p.startswith("/__control/"):
                return await self._control(c, rec, keep)
            elif p == "/api/show":  # Ollama's model card
                self._record(rec)
                caps = self.capabilities.get(body.get("model") or body.get("name"))
                card = {"details": {"format": "gguf"}, **({"capabilities": caps} if caps is not None else {})}
                return await self._send_json(c, rec, 200, card, keep)
        elif m == "GET":
            if p == "/v1/models":
                anthropic = "anthropic-version" in h or "x-api-key" in h
                return await self._list_models(c, rec, keep, "anthropic" if anthropic else "openai")
            if p == "/openai/models":  # Azure's model list (?api-version=...)
                rec.azure = True
                return await self._list_models(c, rec, keep, "openai")
            if p == "/v1beta/models" or _GEM_ONE.fullmatch(p):
                return await self._list_models(c, rec, keep, "gemini")
            if p in ("/api/tags", "/api/version"):
                return await self._list_models(c, rec, keep, "ollama")
            if p in ("/__control/requests", "/__control/stats"):
                return await self._control(c, rec, keep)
        if proto is None:
            self._record(rec)
            return await self._send_json(
                c,
                rec,
                404,
                {
                    "error": {
                        "message": f"Invalid URL ({m} {p})",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
                keep,
            )
        rec.protocol, rec.stream = proto, stream
        rec.messages = conversation_of(proto, body)
        fmt = _FMT[proto]
        ctx = _Ctx(rec, _BLANK, "\n")
        self._record(rec)
        if err := self._auth(rec, fmt, ctx):
            return await self._send_json(c, rec, *err, keep)
        if not isinstance(j, dict) or (proto != "gemini" and not isinstance(rec.model, str)):
            msg = "Invalid JSON body." if not isinstance(j, dict) else "model: Field required"
            st, obj = fmt.error(ctx, 400, msg)
            return await self._send_json(c, rec, st, obj, keep)
        if self.llama_cpp_python and proto == "openai" and (refusal := _llama_cpp_python_refusal(j)):
            return await self._send_json(c, rec, 500, refusal, keep)
        if problem := _structured_problem(proto, j):
            st, obj = fmt.error(ctx, 400, problem)
            return await self._send_json(c, rec, st, obj, keep)
        if self._loads and (ld := self._loads.get(rec.model) or self._loads.get("*")):
            return await self._loaded(c, ctx, fmt, body, keep, ld)
        s = self._prepare(ctx, body)
        return await self._generate(c, ctx, fmt, keep and not s.close_after_response)

    def _prepare(self, ctx: _Ctx, body: dict) -> Script:
        rec = ctx.rec
        s = rec.script = ctx.s = self._pick(rec.model)
        with self._arrived:
            self._arrived.notify_all()
        ctx.nl = s.sse_line_ending or ("\r\n" if rec.protocol == "gemini" else "\n")
        ctx.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        ctx.sse = rec.query.get("alt") == "sse"
        choice = body.get("tool_choice") if rec.protocol == "anthropic" else None
        ctx.tool = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "tool" else None
        return s

    async def _loaded(self, c: _Conn, ctx: _Ctx, fmt, body: dict, keep: bool, ld: _Load) -> bool:
        """A request under a LoadProfile: rate cap, error injection, slot, then its script."""
        rec, p = ctx.rec, ld.profile
        ld.requests += 1
        if p.max_concurrent is not None and ld.in_flight >= p.max_concurrent:
            ld.rejected_429 += 1
            st, obj = fmt.error(ctx, 429)
            return await self._send_json(c, rec, st, obj, keep, ld.headers_429)
        if ld.limited:
            admitted, ctx.extra = ld.admit(rec.protocol)
            if not admitted:
                ld.rejected_429 += 1
                ld.rejected_limit += 1
                st, obj = fmt.error(ctx, 429)
                return await self._send_json(c, rec, st, obj, keep, ctx.extra)
        if p.error_rate > 0 and ld.rng.random() < p.error_rate:
            ld.errors_injected += 1
            st, obj = fmt.error(ctx, p.error_status)
            return await self._send_json(c, rec, st, obj, keep, ctx.extra)
        ld.in_flight += 1
        ld.max_in_flight = max(ld.max_in_flight, ld.in_flight)
        held = False
        try:
            if p.slots is None or await ld.acquire():
                t_start = rec._t0  # served on arrival: same timing as without a profile
            else:
                t_start = time.perf_counter()
            held = p.slots is not None
            rec.queued_ms = (t_start - rec._t0) * 1000
            rec.slot_acquired_at = rec.read_at + (t_start - rec._t0)
            ld.served += 1
            s = self._prepare(ctx, body)
            delay = p.service_ms if p.service_ms is not None else s.first_token_delay_ms
            ctx.t_first = t_start + delay / 1000
            return await self._generate(c, ctx, fmt, keep and not s.close_after_response)
        finally:
            ld.in_flight -= 1
            if held:
                ld.release()

    def _record(self, rec: RequestRecord):
        if self.record:
            with self._lock:
                self.requests.append(rec)
                self._arrived.notify_all()

    def _auth(self, rec: RequestRecord, fmt, ctx: _Ctx) -> tuple[int, dict] | None:
        h = rec.headers
        if rec.protocol == "anthropic" and "anthropic-version" not in h and rec.method == "POST":
            return fmt.error(ctx, 400, "anthropic-version: header is required", "invalid_request_error")
        if not self.api_key or rec.protocol == "ollama":
            return None
        bearer = h.get("authorization", "")
        bearer = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        got = {
            "openai": h.get("api-key") or bearer if rec.azure else bearer,
            "anthropic": h.get("x-api-key"),
            "gemini": h.get("x-goog-api-key") or rec.query.get("key"),
        }[rec.protocol]
        return None if got == self.api_key else fmt.auth_error(ctx, got)

    async def _list_models(self, c: _Conn, rec: RequestRecord, keep: bool, proto: str) -> bool:
        rec.protocol = proto
        self._record(rec)
        fmt, ctx = _FMT[proto], _Ctx(rec, _BLANK, "\n")
        if err := self._auth(rec, fmt, ctx):
            return await self._send_json(c, rec, *err, keep)
        ids = self.models.get(proto, [])
        if proto == "openai":
            obj = {
                "object": "list",
                "data": [
                    {"id": i, "object": "model", "created": 1715367049, "owned_by": "system"} for i in ids
                ],
            }
        elif proto == "anthropic":
            data = [
                {
                    "type": "model",
                    "id": i,
                    "display_name": i.replace("-", " ").title(),
                    "created_at": "2025-05-14T00:00:00Z",
                }
                for i in ids
            ]
            obj = {
                "data": data,
                "has_more": False,
                "first_id": ids[0] if ids else None,
                "last_id": ids[-1] if ids else None,
            }
        elif proto == "gemini":
            data = [
                {
                    "name": f"models/{i}",
                    "version": "001",
                    "displayName": i.replace("-", " ").title(),
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 8192,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for i in ids
            ]
            if (one := _GEM_ONE.fullmatch(rec.path)) is None:
                obj = {"models": data}
            elif found := [d for d in data if d["name"] == f"models/{one[1]}"]:
                obj = found[0]
            else:
                rec.model = one[1]
                return await self._send_json(
                    c,
                    rec,
                    *fmt.error(ctx, 404, f"models/{one[1]} is not found for API version v1beta", "NOT_FOUND"),
                    keep,
                )
            return await self._send_json(c, rec, 200, obj, keep)
        elif rec.path == "/api/version":
            obj = {"version": "0.6.5"}
        else:
            obj = {
                "models": [
                    {
                        "name": i,
                        "model": i,
                        "modified_at": "2025-01-01T00:00:00.000000000Z",
                        "size": 2019393189,
                        "digest": self.digests.get(i) or hashlib.sha256(i.encode()).hexdigest(),
                        "details": {
                            "parent_model": "",
                            "format": "gguf",
                            "family": "llama",
                            "families": ["llama"],
                            "parameter_size": "3.2B",
                            "quantization_level": "Q4_K_M",
                        },
                    }
                    for i in ids
                ]
            }
        return await self._send_json(c, rec, 200, obj, keep)

    async def _control(self, c: _Conn, rec: RequestRecord, keep: bool) -> bool:
        """Scripting over HTTP for the separate-process mode (benchmarks)."""
        cmd, j = rec.path.rsplit("/", 1)[1], rec.json or {}
        if cmd == "enqueue":
            self.enqueue(j.get("model", "*"), *[Script.from_dict(d) for d in j.get("scripts", [])])
        elif cmd == "default":
            s = Script.from_dict(j.get("script") or {})
            if j.get("model"):
                self.set_default(j["model"], s)
            else:
                self.default_script = s
        elif cmd == "api_key":
            self.api_key = j.get("api_key")
        elif cmd == "clear":
            self.clear()
        elif cmd == "reset":
            self.reset()
        elif cmd == "load":
            try:
                prof = j.get("profile")
                self.set_load(j.get("model") or "*", None if prof is None else LoadProfile.from_dict(prof))
            except (TypeError, ValueError, AttributeError) as e:
                return await self._send_json(c, rec, 400, {"error": f"bad load profile: {e}"}, keep)
        elif cmd == "stats":
            model = j.get("model") or rec.query.get("model") or "*"
            return await self._send_json(c, rec, 200, self.stats(model), keep)
        elif cmd == "requests":
            with self._lock:
                out = [r.summary() for r in self.requests]
            return await self._send_json(c, rec, 200, out, keep)
        else:
            return await self._send_json(c, rec, 404, {"error": f"unknown control {cmd}"}, keep)
        return await self._send_json(c, rec, 200, {"ok": True}, keep)

    # -- answering

    async def _wait(self, deadline: float):
        if deadline > time.perf_counter():
            await self._timer.wait(deadline)

    async def _generate(self, c: _Conn, ctx: _Ctx, fmt, keep: bool) -> bool:
        s, rec = ctx.s, ctx.rec
        rid = rec.request_id if s.request_id_headers else None
        extra, close = {**s.headers, **ctx.extra}, not keep
        t_first = rec._t0 + s.first_token_delay_ms / 1000 if ctx.t_first is None else ctx.t_first
        rec.status = s.status
        rec.headers_sent = dict(extra)
        if s.html_error_page:
            await self._wait(t_first)
            body = _CF_HTML.format(
                status=s.status, reason=_reason(s.status), ray=secrets.token_hex(8) + "-SJC"
            ).encode()
            rec.ended_at = rec.stamp()
            await c.send(
                _head(
                    s.status,
                    "text/html; charset=UTF-8",
                    rid,
                    {"Server": "cloudflare", "CF-RAY": secrets.token_hex(8) + "-SJC", **extra},
                    len(body),
                    close,
                )
                + body
            )
            return keep
        if s.status >= 400:
            await self._wait(t_first)
            st, obj = fmt.error(ctx, s.status)
            return await self._send_json(c, rec, st, obj, keep, extra, ids=s.request_id_headers)
        if s.tool_calls is not None and s.replay is None:
            from tests.vendor_tool_calls import tool_call_body

            calls = [(name, list(pieces)) for name, pieces in s.tool_calls]  # JSON control sends lists
            s = ctx.s = replace(s, replay=tool_call_body(rec.protocol or "", calls, rec.model or "", rec.stream))
        if s.replay is not None:
            await self._wait(t_first)
            return await self._replay(c, ctx, fmt, keep)
        if not rec.stream:
            return await self._plain(c, ctx, fmt, keep, t_first)

        ctype = fmt.ctype_for(ctx) if rec.protocol == "gemini" else fmt.ctype
        await c.send(_head(s.status, ctype, rid, extra, None, close))  # headers go out immediately
        c.drip, c.body_bytes = s.drip_bytes_per_s, 0
        if s.stall_after_headers:
            await self._stall(c)
        for ev in fmt.head(ctx):
            await c.chunk(ev)
        iv, texts, n = s.interval_ms / 1000, s.text_pieces, 0
        if await self._fault(c, ctx, fmt, 0):
            return keep
        while True:
            if s.oversize_bytes is not None:
                if c.body_bytes >= s.oversize_bytes:
                    break
                text, last = _JUNK, False
            elif n < len(texts):
                text, last = texts[n], n == len(texts) - 1
            else:
                break
            await self._wait(t_first + n * iv)
            data = fmt.piece(ctx, text, last)
            if s.truncate_after_pieces == n:
                return await self._truncate(c, rec, data, s.truncate_abort)
            if text and rec.first_token_written_at is None:
                rec.first_token_written_at = rec.stamp()  # set before write: client can't see it earlier
            await c.chunk(data)
            n = ctx.n = n + 1
            if await self._fault(c, ctx, fmt, n):
                return keep
        if n == 0:
            await self._wait(t_first)
        for ev in fmt.tail(ctx):
            await c.chunk(ev)
        await self._finish(c, rec)
        return keep

    async def _stall(self, c: _Conn) -> None:
        """`c.stall()`, or until unstall(): then the answer goes on."""
        assert self._unstalled is not None
        held, going = asyncio.ensure_future(c.stall()), asyncio.ensure_future(self._unstalled.wait())
        try:
            await asyncio.wait([held, going], return_when=asyncio.FIRST_COMPLETED)
        finally:
            held.cancel()
            going.cancel()
        if held.done() and not held.cancelled():
            held.result()  # the client left: _Closed

    async def _replay(self, c: _Conn, ctx: _Ctx, fmt, keep: bool) -> bool:
        s, rec = ctx.s, ctx.rec
        rid = rec.request_id if s.request_id_headers else None
        extra = {**s.headers, **ctx.extra}
        rec.headers_sent = dict(extra)
        rec.first_token_written_at = rec.stamp()
        if not rec.stream:
            body = "".join(s.replay or ()).encode()
            rec.ended_at = rec.stamp()
            await c.send(_head(s.status, "application/json", rid, extra, len(body), not keep) + body)
            return keep
        ctype = fmt.ctype_for(ctx) if rec.protocol == "gemini" else fmt.ctype
        await c.send(_head(s.status, ctype, rid, extra, None, not keep))
        for n, piece in enumerate(s.replay or (), 1):
            await c.chunk(piece.encode())
            if s.stall_after_pieces == n:  # a stream caught halfway (tool calls still arriving)
                await c.stall()
        await self._finish(c, rec)
        return keep

    async def _finish(self, c: _Conn, rec: RequestRecord):
        rec.ended_at = rec.stamp()
        await c.send(b"0\r\n\r\n")

    async def _truncate(self, c: _Conn, rec: RequestRecord, data: bytes, abort: bool) -> bool:
        """Send the first half of an event's JSON object, then end the body (or, with abort,
        leave it unfinished) and close the connection."""
        start = max(0, data.find(b"{"))
        await c.chunk(data[: start + (len(data.rstrip()) - start) // 2])
        if abort:
            rec.ended_at = rec.stamp()
        else:
            await self._finish(c, rec)
        return False

    async def _fault(self, c: _Conn, ctx: _Ctx, fmt, n: int) -> bool:
        """Inject the faults due after n pieces; True if the response is over."""
        s = ctx.s
        if s.malformed_after_pieces == n:
            await c.chunk(fmt.garbage(ctx))
            if s.malformed_stop:
                await self._finish(c, ctx.rec)
                return True
        if s.midstream_error and s.midstream_error_after_pieces == n:
            await c.chunk(fmt.error_event(ctx))
            await self._finish(c, ctx.rec)
            return True
        if s.stall_after_pieces == n:
            await c.stall()
        if s.reset_after_pieces == n:
            c.reset()
        return False

    async def _plain(self, c: _Conn, ctx: _Ctx, fmt, keep: bool, t_first: float) -> bool:
        s, rec = ctx.s, ctx.rec
        texts = s.text_pieces
        # Non-streaming answers arrive once "generation" is over.
        await self._wait(t_first + max(0, len(texts) - 1) * s.interval_ms / 1000)
        if s.reset_after_pieces is not None:
            c.reset()
        text = "x" * s.oversize_bytes if s.oversize_bytes is not None else "".join(texts)
        ctx.n = len(texts)
        if s.malformed_after_pieces is not None:
            body, ctype = b'{"id": "' + ctx.hex.encode() + b'", {not json', "application/json"
        else:
            body, ctype = fmt.full(ctx, text)
        extra = {**s.headers, **ctx.extra}
        rec.headers_sent = dict(extra)
        rid = rec.request_id if s.request_id_headers else None
        if s.truncate_after_pieces is not None:
            cut = body[: len(body) // 2]
            rec.ended_at = rec.stamp()
            await c.send(_head(s.status, ctype, rid, extra, len(body) if s.truncate_abort else len(cut), True) + cut)
            return False
        head = _head(s.status, ctype, rid, extra, len(body), not keep)
        if s.stall_after_headers or s.stall_after_pieces is not None:
            await c.send(head)
            await c.stall()
        if text:
            rec.first_token_written_at = rec.stamp()
        if not s.drip_bytes_per_s:
            rec.ended_at = rec.stamp()
            await c.send(head + body)
        else:
            await c.send(head)
            c.drip = s.drip_bytes_per_s
            await c.send(body)
            rec.ended_at = rec.stamp()
        return keep


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Scripted fake LLM vendor server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--uvloop", action="store_true", help="use uvloop if importable")
    ap.add_argument("--script", help="default Script as JSON, e.g. '{\"interval_ms\": 5}'")
    ap.add_argument("--api-key")
    ap.add_argument("--no-record", action="store_true", help="don't keep request records (long benchmarks)")
    ap.add_argument(
        "--load", help='LoadProfile for every model as JSON, e.g. \'{"slots": 4, "service_ms": 50}\''
    )
    a = ap.parse_args(argv)
    srv = VendorServer(a.host, a.port, use_uvloop=a.uvloop, record=not a.no_record)
    if a.script:
        srv.default_script = Script.from_dict(json.loads(a.script))
    if a.load:
        srv.set_load("*", LoadProfile.from_dict(json.loads(a.load)))
    srv.api_key = a.api_key
    # Block the signals before the loop thread exists so only sigwait below sees them.
    sigs = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    srv.start()
    print(f"LISTENING {srv.port}", flush=True)
    signal.sigwait(sigs)
    srv.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
