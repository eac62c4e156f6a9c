"""The one interface every wire protocol implements: an async generator of stream events.

A provider knows its vendor's request shape and response format. Sending, status
checks, arrival timestamps and error classification are shared here, so the four
protocol modules stay small and the engine sees the same events from all of them.
"""

from __future__ import annotations

import asyncio
import copy
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import perf_counter, time
from typing import Any, ClassVar

import httpx

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Usage, kind_for_status, redact
from desk.core.trial import GenerationSettings, TrialInput
from desk.providers import advice
from desk.providers.body import body_batches
from desk.providers.errors import ProviderError as ProviderError  # where callers import it from
from desk.providers.replies import error_json, html_title, read_body, read_capped, snippet
from desk.providers.transport import TIMING_KEY, WireTiming

# --- stream events -------------------------------------------------------------------


@dataclass(slots=True)
class Opened:
    """Response headers arrived with a success status."""

    http_status: int
    vendor_request_id: str | None
    ratelimit: dict[str, str]


@dataclass(slots=True)
class TextDelta:
    text: str
    at: float  # perf_counter instant the bytes carrying it arrived
    refusal: bool = False  # the vendor sent it as a refusal (OpenAI's `refusal`), not content


@dataclass(slots=True)
class ReasoningDelta:
    """Visible "thinking" text some vendors stream before the answer (not counted as TTFT)."""

    text: str
    at: float
    signature: str | None = None  # the vendor's seal over the thinking, to send back next turn
    redacted: str | None = None  # an encrypted thinking block's data (Anthropic), sent back unchanged


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a tool call: `index` tells the answer's calls apart (OpenAI's `index`,
    Anthropic's content block); the id and name come with the first piece, `arguments` is a
    fragment of the JSON text, concatenated in arrival order (a whole call is one piece)."""

    index: int
    id: str | None
    name: str | None
    arguments: str
    at: float


def arguments_text(value: Any) -> str:
    """A call's arguments as JSON text: vendors that send an object (Gemini, Ollama,
    a whole Anthropic message) get it serialised; text is kept exactly as sent."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(slots=True)
class UsageReport:
    usage: Usage


@dataclass(slots=True)
class Finished:
    finish_reason: str | None  # normalised: stop | length | content_filter | refusal | tool_calls | other
    vendor_request_id: str | None = None
    at: float = 0.0


@dataclass(slots=True)
class UnknownDelta:
    """A field of a content delta the protocol does not read, named `where.key` (or
    `where.type`), with its value as sent (JSON text): counted and kept, never dropped."""

    name: str
    raw: str


@dataclass(slots=True)
class Served:
    """What the vendor says it served: the model name it reports and its build
    fingerprint (OpenAI's `system_fingerprint`); either may be None (not said)."""

    model: str | None
    fingerprint: str | None = None


StreamEvent = (Opened | TextDelta | ReasoningDelta | UsageReport | Finished | UnknownDelta | Served
               | ToolCallDelta)


# --- helpers shared by the protocol modules --------------------------------------------

_RATELIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "ratelimit-")


def ratelimit_headers(headers: httpx.Headers) -> dict[str, str]:
    """The vendor's rate-limit headers, kept exactly as sent."""
    return {
        k: v
        for k, v in headers.items()
        if k.startswith(_RATELIMIT_PREFIXES) or k in ("retry-after", "retry-after-ms")
    }


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait per Retry-After (seconds or HTTP date) or retry-after-ms."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time())
        except (TypeError, ValueError):
            return None


def request_id(headers: httpx.Headers) -> str | None:
    """The vendor's request id header (OpenAI `x-request-id`, Anthropic `request-id`).
    Without one, each protocol reports the response or message id of the body instead
    (OpenAI `id`, Anthropic `message.id`, Gemini `responseId`; Ollama has none)."""
    return headers.get("x-request-id") or headers.get("request-id")


def body_request_id(body: Any) -> str | None:
    """The request id an error body names (Anthropic's `request_id`), if any."""
    if isinstance(body, dict) and isinstance(body.get("request_id"), str) and body["request_id"]:
        return str(body["request_id"])
    return None


def usage_from(**counts: Any) -> Usage:
    """Build a Usage keeping only integer counts (a missing or odd value stays None)."""
    clean = {k: (v if isinstance(v, int) and not isinstance(v, bool) else None) for k, v in counts.items()}
    return Usage(**clean)


_SKIPS: dict[tuple[str, ...], frozenset[str]] = {}


def unknown_fields(obj: Any, known: Iterable[str], where: str) -> list[UnknownDelta]:
    """An UnknownDelta for each key of `obj` outside `known` that carries a value (null,
    "", [] and {} carry none: vendors send those for fields left unused)."""
    if not isinstance(obj, dict):
        return []
    skip = _SKIPS.get(known) if isinstance(known, tuple) else None  # the protocols' constant tuples
    if skip is None:
        skip = known if isinstance(known, frozenset) else frozenset(known)
        if isinstance(known, tuple) and len(_SKIPS) < 64:
            _SKIPS[known] = skip
    if obj.keys() <= skip:  # the usual case, once per streamed chunk: every field is read
        return []
    return [
        UnknownDelta(f"{where}.{key}", json.dumps(value, ensure_ascii=False))
        for key, value in obj.items()
        if key not in skip and value not in (None, "", [], {})
    ]


class ServedTracker:
    """Turns the served model and fingerprint a stream repeats in every chunk into one
    Served event per change (none while the vendor says nothing new)."""

    def __init__(self) -> None:
        self._last: tuple[str | None, str | None] = (None, None)
        self._said: tuple[Any, Any] | None = None  # the values of the previous call, as sent

    def seen(self, model: Any, fingerprint: Any = None) -> list[Served]:
        if self._said is not None and self._said[0] == model and self._said[1] == fingerprint \
                and type(model) is type(self._said[0]) and type(fingerprint) is type(self._said[1]):
            return []  # the same as the chunk before: nothing new (the usual case)
        self._said = (model, fingerprint)
        said = (
            model if isinstance(model, str) and model else self._last[0],
            fingerprint if isinstance(fingerprint, str) and fingerprint else self._last[1],
        )
        if said == self._last:
            return []
        self._last = said
        return [Served(*said)]


def protocol_error(message: str) -> ProviderError:
    return ProviderError(ErrorKind.PROTOCOL, message)


def loads(data: str, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        snippet = data[:120] + ("…" if len(data) > 120 else "")
        raise protocol_error(f"malformed {what}: {snippet!r}") from None


# --- the interface ----------------------------------------------------------------------


class Provider(ABC):
    """One wire protocol bound to a configured endpoint and a shared httpx client."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str]
    # Paths the client adds to the base URL itself: a base URL already ending in one would
    # send requests to .../v1/v1/messages (the SDKs' conventions differ; users copy either).
    added_paths: ClassVar[tuple[str, ...]] = ()
    # The vendor's id in the genai-prices catalogue; None: found there by base URL instead
    # (an OpenAI-compatible host), so a local "gpt-4o" is not priced as OpenAI's.
    catalog_id: ClassVar[str | None] = None
    list_priced: ClassVar[bool] = True  # False for servers of local models: no list price
    stream_content_types: ClassVar[tuple[str, ...]] = ("text/event-stream",)

    def __init__(self, config: ProviderConfig, client: httpx.AsyncClient, api_key: str | None):
        self.config = config
        self.client = client
        self.api_key = api_key
        self.base_url = config.base_url.rstrip("/")

    # Each protocol module fills these in.
    @abstractmethod
    def build_request(
        self, model: str, trial: TrialInput, settings: GenerationSettings, *, stream: bool
    ) -> httpx.Request:
        """The vendor's request for this trial."""

    @abstractmethod
    def decoder(self) -> StreamDecoder:
        """A fresh incremental decoder of this vendor's stream."""

    @abstractmethod
    def parse_complete(self, body: Any, at: float) -> Iterable[StreamEvent]:
        """Events from a non-streamed JSON response; a generator may raise after yielding
        what came before a failure, which is then kept like a broken stream's."""

    @abstractmethod
    def models_request(self) -> httpx.Request:
        """The vendor's list-models request."""

    @abstractmethod
    def parse_models(self, body: Any) -> list[str]:
        """Model IDs from the list-models response."""

    @staticmethod
    def served_models(body: Any) -> tuple[str, ...] | None:
        """The model IDs of a list-models answer in its order; None when the body is not
        one (how discovery tells this protocol's server from another program on the port).
        Only the protocols of local servers (Ollama, OpenAI-compatible) can be discovered."""
        return None

    def error_message(self, body: Any) -> str | None:
        """The vendor's own message from an error body (all four use `error`)."""
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict):
                msg = err.get("message")
                etype = err.get("type") or err.get("status")
                if msg:
                    return f"{msg}" if not etype else f"{msg} [{etype}]"
            if isinstance(err, str):
                return err
            if isinstance(body.get("message"), str):
                return str(body["message"])
        return None

    async def served_fingerprint(self, model: str) -> str | None:
        """The build of `model` as the server lists it, for a protocol whose answers do not
        carry one (Ollama's digest); looked up after an answer, never while it is timed."""
        return None

    async def takes_images(self, model: str) -> bool | None:
        """Whether the server says `model` takes images (Ollama's /api/show capabilities);
        None where the vendor has no such word or the lookup fails."""
        return None

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key,) if self.api_key else ()

    # Shared machinery.
    async def stream(
        self,
        model: str,
        trial: TrialInput,
        settings: GenerationSettings,
        *,
        timing: WireTiming | None = None,
        stream: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        """Send the trial and yield events; raise ProviderError on any failure."""
        async for events in self.stream_batches(model, trial, settings, timing=timing, stream=stream):
            for event in events:
                yield event

    async def stream_batches(
        self,
        model: str,
        trial: TrialInput,
        settings: GenerationSettings,
        *,
        timing: WireTiming | None = None,
        stream: bool = True,
        reuse: bool = False,
    ) -> AsyncIterator[list[StreamEvent]]:
        """`stream`'s events, a list per read of the body: what one wake-up of the loop brought
        (each event still carries the arrival of its own bytes), so a consumer of many streams
        passes through the layers once per read rather than once per event. `reuse`: a
        request built before for the same trial and settings is copied (see `_request`)."""
        request = self._request(model, trial, settings, stream, reuse)
        timing = timing if timing is not None else WireTiming()
        request.extensions[TIMING_KEY] = timing
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise ProviderError(ErrorKind.TIMEOUT, self.redact_secrets(str(exc) or "connect timeout")) from None
        except httpx.TransportError as exc:
            raise ProviderError(ErrorKind.CONNECTION, self.redact_secrets(_transport_message(exc))) from None
        if timing.started is None:  # a proxied request went through httpx's own transport
            timing.started = perf_counter()
        try:
            async for events in self._read(response, timing, stream):
                yield events
        except httpx.TimeoutException:
            raise ProviderError(ErrorKind.TIMEOUT, "read timed out", response.status_code) from None
        except httpx.TransportError as exc:
            raise ProviderError(
                ErrorKind.CONNECTION, self.redact_secrets(_transport_message(exc)), response.status_code,
                vendor_request_id=request_id(response.headers),
                ratelimit=ratelimit_headers(response.headers),
            ) from None
        finally:
            await response.aclose()

    _built: dict[tuple[str, int, int, bool], tuple[TrialInput, GenerationSettings, httpx.Request]] | None = None

    def _request(self, model: str, trial: TrialInput, settings: GenerationSettings, stream: bool,
                 reuse: bool) -> httpx.Request:
        """The request to send. With `reuse` (a load run sends the same request thousands of
        times) it is built once per model, trial and settings and then copied: building one
        parses its URL twice and costs ~50 us, spent on the loop while the burst is sent.
        Not while the client holds cookies, which a build would add."""
        if not reuse or self.client.cookies:
            return self.build_request(model, trial, settings, stream=stream)
        built = self._built if self._built is not None else {}
        self._built = built
        key = (model, id(trial), id(settings), stream)
        held = built.get(key)
        if held is None or held[0] is not trial or held[1] is not settings:
            if len(built) >= 256:
                built.clear()
            held = built[key] = (trial, settings, self.build_request(model, trial, settings, stream=stream))
        template = held[2]
        request = copy.copy(template)
        request.extensions = dict(template.extensions)  # the timing goes in a copy's own
        request.headers = template.headers.copy()
        # copy.copy goes through Request.__setstate__, which leaves an UnattachedStream that
        # raises StreamClosed when read: the lean transport sends `content`, but httpx's own
        # (an Engine's own client, a proxy) reads `stream`. The built bytes, re-readable.
        request.stream = httpx.ByteStream(template.content)
        return request

    async def _read(
        self, response: httpx.Response, timing: WireTiming, stream: bool
    ) -> AsyncIterator[list[StreamEvent]]:
        headers = response.headers
        rid = request_id(headers)
        limits = ratelimit_headers(headers)
        status = response.status_code
        if status >= 300:
            body = await read_capped(response)
            parsed = error_json(body)
            raise ProviderError(
                self.classify_error(status, parsed),
                self.redact_secrets(self._describe_error(body, headers, status, response.request.url)),
                status,
                parse_retry_after(headers),
                rid or body_request_id(parsed),
                limits,
            )
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        # A load run's stream is read in bulk (a chunked body on the lean transport): every
        # piece stamped on arrival, parsed once the body has ended; the run's read deadline
        # is kept by the body from here on (desk.providers.body.WireTiming).
        bulk = timing.bulk and stream and ctype in self.stream_content_types \
            and timing.body is not None and timing.body.chunked
        timing.in_bulk = bulk
        yield [Opened(status, rid, limits)]
        if ctype == "text/html":
            body = await read_capped(response)
            raise protocol_error(
                f"expected a {'stream' if stream else 'JSON body'}, got an HTML page: "
                f"{html_title(body)!r}"
            )
        if stream and ctype not in self.stream_content_types and ctype != "application/json":
            body = await read_capped(response)
            raise protocol_error(f"expected {self.stream_content_types[0]}, got {ctype or 'no content type'}: {snippet(body)!r}")
        if not stream or ctype == "application/json":
            # Non-streamed, or a server that answered a stream request with one JSON object.
            chunks = await read_body(response)
            at = timing.arrival or perf_counter()
            done: list[StreamEvent] = []
            try:  # what the body held before an error in it (Gemini's array) is delivered first
                done.extend(self.parse_complete(loads(b"".join(chunks).decode("utf-8", "replace"), "JSON body"), at))
            finally:
                if done:
                    yield done
            return
        decoder = self.decoder()
        async for batch in body_batches(response, timing):
            events: list[StreamEvent] = []
            if bulk:  # in bulk, even none: the reader judges its deadline after each
                yield decoder.feed_batch(batch, timing)
                decoder.raise_held()  # what came before an error was delivered first
                continue
            try:
                for chunk, at in batch:
                    try:
                        events += decoder.feed(chunk, at)
                    finally:  # the id is kept even when the stream breaks (or stalls) after naming it
                        if timing.body_id is None:
                            timing.body_id = decoder.response_id()
                    decoder.raise_held()
            except ProviderError:
                if events:  # what came before the error is delivered first
                    yield events
                raise
            if events:
                yield events
        yield list(decoder.close(timing.arrival or perf_counter()))
        decoder.raise_held()

    def classify_error(self, status: int, body: Any) -> ErrorKind:
        """The kind of an HTTP error status; a protocol may refine it from the parsed body."""
        return kind_for_status(status)

    def _describe_error(
        self, body: bytes, headers: httpx.Headers, status: int = 0, url: httpx.URL | None = None
    ) -> str:
        location = headers.get("location")
        if 300 <= status < 400 and location and url is not None:
            return advice.redirect(status, location, url, self.base_url)
        said = self._vendor_said(body, headers)
        if status in (401, 403) and not self.api_key:
            return f"{advice.missing_key(self.config)}; the server said: {said}"
        return said

    def _vendor_said(self, body: bytes, headers: httpx.Headers) -> str:
        text = body.decode("utf-8", errors="replace")
        ctype = headers.get("content-type", "")
        parsed = error_json(body)
        message = self.error_message(parsed) if parsed is not None else None
        if message:
            return message
        if "html" in ctype or text.lstrip().lower().startswith(("<!doctype", "<html")):
            return f"HTML error page: {html_title(body)!r}"
        return snippet(body) or "no error message in the response"

    def redact_secrets(self, text: str) -> str:
        """`text` with this provider's secrets (its API key) masked: fit for an error message."""
        return redact(text, self.secrets())

    async def list_models(self, timeout: float = 30.0) -> list[str]:
        """Ask the server which models it serves (a stalled server times out; a body past
        MAX_BODY_BYTES is refused as TOO_LARGE, like an answer's)."""
        try:
            async with asyncio.timeout(timeout):
                response = await self.client.send(self.models_request(), stream=True)
                try:
                    if response.status_code >= 300:
                        body = await read_capped(response)
                        raise ProviderError(
                            self.classify_error(response.status_code, error_json(body)),
                            self.redact_secrets(self._describe_error(
                                body, response.headers, response.status_code, response.request.url
                            )),
                            response.status_code,
                        )
                    body = b"".join(await read_body(response))
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderError(ErrorKind.TIMEOUT, f"no model list within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise ProviderError(ErrorKind.CONNECTION, self.redact_secrets(_transport_message(exc))) from None
        return sorted(self.parse_models(loads(body.decode("utf-8", "replace"), "model list")))


class StreamDecoder(ABC):
    """Turns a vendor's byte stream into events; raises ProviderError on a broken stream."""

    _held: ProviderError | None = None

    @abstractmethod
    def feed(self, chunk: bytes, at: float) -> Iterable[StreamEvent]: ...

    @abstractmethod
    def close(self, at: float) -> Iterable[StreamEvent]: ...

    def collect(self, step: Callable[[list[StreamEvent]], None]) -> list[StreamEvent]:
        """The events `step` appends. An error it raises after some events is held back
        until they are delivered (`raise_held`), so what came before it in the same read
        (usage, text) is not lost."""
        self.raise_held()
        out: list[StreamEvent] = []
        try:
            step(out)
        except ProviderError as exc:
            if not out:
                raise
            self._held = exc
        return out

    def raise_held(self) -> None:
        if self._held is not None:
            raise self._held

    def feed_batch(self, batch: list[tuple[bytes, float]], timing: WireTiming) -> list[StreamEvent]:
        """The events of many pieces at once (a body read in bulk), as `feed` gives them piece
        by piece; `timing` learns the response id and the arrival of the latest piece that
        yielded events. An error after some events is held back as `collect` does."""
        events: list[StreamEvent] = []
        try:
            for chunk, at in batch:
                had = len(events)
                try:
                    events += self.feed(chunk, at)
                finally:  # the id is kept even when the stream breaks (or stalls) after naming it
                    if timing.body_id is None:
                        timing.body_id = self.response_id()
                if len(events) > had:
                    timing.events_at = at
                self.raise_held()
        except ProviderError as exc:
            if not events:
                raise
            self._held = exc
        return events

    def response_id(self) -> str | None:
        """The response or message id the stream has named so far (None: not yet, or never)."""
        return None


def _transport_message(exc: httpx.TransportError) -> str:
    text = str(exc)
    if not text:
        text = type(exc).__name__
    return text
