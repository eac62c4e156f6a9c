"""What comes back: usage, per-attempt records and the outcome of one response."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from desk.core.structured import StructuredVerdict
from desk.core.tools import ToolCall

if TYPE_CHECKING:
    from desk.core.trial import Variant


class Status(StrEnum):
    STREAMING = "streaming"
    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # the process died or the user cancelled mid-stream


class ErrorKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429
    OVERLOADED = "overloaded"  # 529 / vendor "overloaded"
    SERVER_ERROR = "server_error"  # 5xx
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, DNS, TLS
    BAD_REQUEST = "bad_request"  # 400, 413, 422
    AUTH = "auth"  # 401, 403, missing key
    NOT_FOUND = "not_found"  # 404: unknown model or path
    CONTENT_FILTER = "content_filter"  # the vendor blocked the prompt or the answer
    PROTOCOL = "protocol"  # the server broke the wire format (HTML page, bad JSON)
    TOO_LARGE = "too_large"  # a stream line or a whole body beyond desk's size limits
    CANCELLED = "cancelled"


RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def kind_for_status(status: int) -> ErrorKind:
    """Classify an HTTP error status."""
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status == 529:
        return ErrorKind.OVERLOADED
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 408:
        return ErrorKind.TIMEOUT
    if status >= 500:
        return ErrorKind.SERVER_ERROR
    return ErrorKind.BAD_REQUEST


@dataclass(frozen=True)
class Usage:
    """Token counts as the vendor reported them; None means the vendor did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def reported(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None

    def merged(self, other: Usage) -> Usage:
        """Fields from `other` win where it reports them (vendors send usage in pieces)."""
        return Usage(
            other.input_tokens if other.input_tokens is not None else self.input_tokens,
            other.output_tokens if other.output_tokens is not None else self.output_tokens,
            other.cached_input_tokens
            if other.cached_input_tokens is not None
            else self.cached_input_tokens,
            other.reasoning_tokens if other.reasoning_tokens is not None else self.reasoning_tokens,
        )


@dataclass
class Attempt:
    """One HTTP request made for a response (the first try or a retry).

    Wall-clock instants are unix seconds to the microsecond; `started_at` is the instant
    the request was handed to the transport (TTFT counts from it) and
    `ttft_ms == round((first_token_at - started_at) * 1000, 3)` exactly (desk.core.clock).
    `vendor_request_id` is the `x-request-id` / `request-id` response header, else the
    response or message id in the body; `ratelimit` holds the vendor's rate-limit headers
    (`x-ratelimit-*`, `anthropic-ratelimit-*`, `retry-after`...) exactly as sent, on failed
    attempts too. `wait_before_ms` is the backoff or Retry-After wait spent before it.
    """

    number: int
    started_at: float
    first_token_at: float | None = None
    ended_at: float | None = None
    http_status: int | None = None
    status: Status = Status.STREAMING
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    connect_ms: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    retry_after_s: float | None = None
    wait_before_ms: float = 0.0
    vendor_request_id: str | None = None
    ratelimit: dict[str, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None


_TOKEN_CHARS = r"[A-Za-z0-9._\-~+/=]"
# A value that looks like a credential rather than a word: it holds a digit or is long, so
# "bearer bonds" and "key: customer_name" stay readable.
_CREDENTIAL = rf"(?={_TOKEN_CHARS}*[0-9]|{_TOKEN_CHARS}{{20}}){_TOKEN_CHARS}{{8,}}"
_AUTH_HEADER = r"(?<![A-Za-z])(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"

# (pattern, whether group 1 is kept in front of the redaction)
_KEY_PATTERNS: list[tuple[re.Pattern[str], bool]] = [
    # Authorization headers with a scheme: the value whatever it looks like (Basic is base64).
    (re.compile(rf"(?i)({_AUTH_HEADER}(?:bearer|basic|token|apikey|key)(?:[ \t]+|%20))[A-Za-z0-9._\-~+/=:]{{4,}}"), True),
    # ... and without one (a raw key as the header value).
    (re.compile(rf"(?i)({_AUTH_HEADER}){_CREDENTIAL}"), True),
    # Bearer tokens anywhere: "Bearer x", "bearer=x", "Bearer: x", URL-encoded "Bearer%20x".
    (re.compile(rf"(?i)(\bbearer(?:[ \t]+|%20|[\"']?[ \t]*[:=][ \t]*[\"']?)){_CREDENTIAL}"), True),
    # Key headers and parameters by name: api_key=..., "x-api-key": "...", ?key=...
    (re.compile(r"(?i)((?<![A-Za-z])(?:api[-_]?key|x-goog-api-key|x-api-key)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}"), True),
    (re.compile(rf"(?i)((?<![A-Za-z])(?:key|(?:access|refresh|id|auth|session)?[-_]?token|(?:client|api)?[-_]?secret|password|passwd)[\"']?\s*[:=]\s*[\"']?){_CREDENTIAL}"), True),
    # Credentials inside a URL: https://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/:@]+:)[^\s/@]+(?=@)"), True),
    # Keys recognisable by their vendor prefix, wherever they appear.
    (re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{8,}"), False),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), False),
    (re.compile(r"\b(?:gsk|xai|pplx|hf|r8|ghp|gho|ghu|ghs|github_pat)[_-][A-Za-z0-9_\-]{16,}"), False),
    (re.compile(r"\bya29\.[A-Za-z0-9_\-]{20,}"), False),  # Google OAuth access token
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), False),  # AWS access key id
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]+)?"), False),  # JWT
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys from text that may be shown, stored or exported."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    for pattern, keep_prefix in _KEY_PATTERNS:
        if keep_prefix:
            text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
        else:
            text = pattern.sub("[REDACTED]", text)
    return text


MIN_SCRUBBED_KEY_CHARS = 16  # shorter "keys" are placeholders ("ollama", "lm-studio"), not secrets


def scrub_keys(text: str, keys: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with each configured key (provider name -> key) that appears in it verbatim
    replaced by [REDACTED], and the names of the providers whose key was found."""
    found = []
    for name, key in sorted(keys.items()):
        if len(key) >= MIN_SCRUBBED_KEY_CHARS and key in text:
            text = text.replace(key, "[REDACTED]")
            found.append(name)
    return text, found


class KeyScrubber:
    """scrub_keys for text that arrives in pieces (a live view of a stream): what `feed`
    releases never shows a configured key, even one split across pieces, because a tail that
    could begin a key is held back until the next piece shows it is not one (or `close`)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = sorted({k for k in keys if len(k) >= MIN_SCRUBBED_KEY_CHARS}, key=len, reverse=True)
        self._held = ""

    def feed(self, piece: str) -> str:
        if not self._keys:
            return piece
        text = self._held + piece
        for key in self._keys:
            text = text.replace(key, "[REDACTED]")
        keep = self._key_start_at_end(text)
        self._held = text[len(text) - keep:]
        return text[: len(text) - keep]

    def close(self) -> str:
        """What is still held back: the end of the text, which no further piece can complete."""
        held, self._held = self._held, ""
        return held

    def _key_start_at_end(self, text: str) -> int:
        """The length of the longest end of `text` that is the start of a key (not all of it)."""
        longest = 0
        for key in self._keys:
            for n in range(min(len(key) - 1, len(text)), longest, -1):
                if text.endswith(key[:n]):
                    longest = n
                    break
        return longest


def key_echo_note(names: list[str], places: Iterable[str] = ()) -> str:
    """The answer's note when configured keys were scrubbed from it; `places` says where
    when not only in its text or thinking (desk.core.key_echo)."""
    whose = ", ".join(repr(n) for n in names)
    where = [p for p in places if p not in ("its text", "its thinking")]
    if not where:
        return (f"the answer contained the API key of provider {whose} verbatim; desk stored it as "
                "[REDACTED] (if the model could see that key, replace it with the vendor)")
    return (f"the answer contained the API key of provider {whose} verbatim (in {', '.join(places)}); "
            "desk checked it as the vendor sent it, then stored and shows the key as [REDACTED] "
            "(if the model could see that key, replace it with the vendor)")


UNKNOWN_RAW_CHARS = 16_384  # raw JSON kept per answer of content fields desk does not read


@dataclass
class UnknownField:
    """A field of a content delta that desk does not read (a new kind of content, say): how
    many deltas carried it and their values as sent (JSON text), so it is visible rather
    than silently lost. Values are kept until UNKNOWN_RAW_CHARS per answer; counts always."""

    count: int = 0
    raw: list[str] = field(default_factory=list)


def note_unknown(fields: dict[str, UnknownField], name: str, raw: str) -> None:
    """Count one more delta carrying `name` and keep its raw value while room is left."""
    entry = fields.setdefault(name, UnknownField())
    entry.count += 1
    kept = sum(len(v) for f in fields.values() for v in f.raw)
    if kept + len(raw) <= UNKNOWN_RAW_CHARS:
        entry.raw.append(raw)


@dataclass(frozen=True)
class PendingRetry:
    """A retry the engine is waiting to make: when (unix seconds) and out of how many allowed."""

    at: float
    limit: int


@dataclass
class ResponseResult:
    """One model's answer to one trial, with everything measured about it.

    `ttft_ms` runs from the request being handed to the transport to the arrival of the
    first non-empty content delta of the final attempt; `total_ms` to the end of that
    stream; `output_tokens_per_s` counts tokens after the first over the time after the
    first. Token counts are the vendor's (None when it reported none); `cost_usd`
    includes every attempt and is None when no price or usage is known (`cost_note`).
    `refusal` marks an answer the vendor sent as a refusal (OpenAI's `refusal` field:
    its text is that refusal; Anthropic's stop_reason "refusal": its text is whatever came
    before, often nothing, and finish_reason is "refusal"). `unknown_fields` holds the content fields of the final
    attempt's stream that desk does not read, by name (see UnknownField).
    """

    id: str
    trial_id: str
    model: str  # PROVIDER/MODEL
    settings: dict[str, Any]
    status: Status = Status.STREAMING
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    http_status: int | None = None
    text: str = ""
    reasoning_text: str = ""
    finish_reason: str | None = None
    started_at: float | None = None
    first_token_at: float | None = None
    ended_at: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    connect_ms: float | None = None
    output_tokens_per_s: float | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    cost_note: str = ""
    price_source: str | None = None
    retries: int = 0
    retry_wait_ms: float = 0.0
    vendor_request_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    variant: Variant | None = None  # the system-prompt variant this answer was given
    refusal: bool = False
    unknown_fields: dict[str, UnknownField] = field(default_factory=dict)
    # What the user should know about the text as stored (a character the vendor sent
    # broken, replaced by U+FFFD): shown in the answer's details and exports.
    notes: list[str] = field(default_factory=list)
    # What the vendor says it served, from the final attempt: the model name it reports
    # (OpenAI's and Ollama's `model`, Anthropic's `message.model`, Gemini's `modelVersion`)
    # and its build (OpenAI's `system_fingerprint`; for Ollama the model's digest from
    # /api/tags). None when the vendor did not say.
    served_model: str | None = None
    system_fingerprint: str | None = None
    # The vendor's seal over the answer's thinking (Anthropic's signature, Gemini's
    # thoughtSignature), stored to send back with the next turn; not an export field.
    reasoning_signature: str | None = field(default=None, compare=False)
    # Thinking the vendor sent encrypted (Anthropic's redacted_thinking blocks' data, in
    # order), stored to send back unchanged with the next turn; not an export field.
    reasoning_redacted: tuple[str, ...] = field(default=(), compare=False)
    # The tool calls of the final attempt, in the order they began, each with what
    # desk.core.tools.check_call found wrong with it.
    tool_calls: list[ToolCall] = field(default_factory=list)
    # The structured-output verdict made on the text as the vendor sent it, kept only when a
    # configured key was scrubbed from that text (desk.core.key_echo): checking the stored
    # text again could judge [REDACTED] instead. None: the verdict is the stored text's.
    structured_verdict: StructuredVerdict | None = field(default=None, compare=False)
    # Why this answer could not be saved, when a store write failed (in memory only: the
    # surfaces report it, so an unsaved answer is never shown as a success).
    store_error: str | None = field(default=None, compare=False)
    # perf_counter arrival of each content chunk (text or tool-call delta) of the final
    # attempt (in memory only: load runs derive their TTFT and inter-token latency from it)
    chunk_times: list[float] = field(default_factory=list, repr=False, compare=False)
    # The attempts' span (first start, last end) when they were not loaded: what `wall_ms`
    # needs, read without the attempts (exports of 100,000 answers skip them).
    attempt_span: tuple[float, float | None] | None = field(default=None, repr=False, compare=False)
    # Set only while backing off before a retry (in memory only; see retry_status).
    pending_retry: PendingRetry | None = field(default=None, repr=False, compare=False)

    @property
    def provider(self) -> str:
        return provider_of(self.model)

    @property
    def wall_ms(self) -> float | None:
        """What the user waited: from the first request to the end of the last, retries and
        their backoff included (ttft_ms and total_ms are the final attempt's own)."""
        if self.attempts:
            first, last = self.attempts[0].started_at, self.attempts[-1].ended_at
        elif self.attempt_span is not None:
            first, last = self.attempt_span
        else:
            return None
        return wall_ms_between(first, last)

    @property
    def failed(self) -> bool:
        """No answer to judge: an error (rate limited, timed out...), or cancelled before
        any text arrived. Such an answer is rated by its outcome alone."""
        return answer_failed(self.status, self.text)

    @property
    def model_name(self) -> str:
        return model_name_of(self.model)


def provider_of(model: str) -> str:
    """The provider part of PROVIDER/MODEL."""
    return model.partition("/")[0]


def model_name_of(model: str) -> str:
    """The model part of PROVIDER/MODEL."""
    return model.partition("/")[2]


def wall_ms_between(first: float | None, last: float | None) -> float | None:
    """What the user waited, from the first attempt's start to the last one's end (None while
    it runs): `ResponseResult.wall_ms`, also for an answer read as plain values."""
    return None if last is None or first is None else round((last - first) * 1000, 3)


def served_label(model: str | None, fingerprint: str | None) -> str | None:
    """What a vendor said it served as "model (fingerprint)"; None when it said nothing."""
    if model is None and fingerprint is None:
        return None
    return f"{model or '?'} ({fingerprint})" if fingerprint else model


def tokens_per_second(output_tokens: int | None, first_at: float | None, end_at: float | None) -> float | None:
    """Decode speed after the first token; None when it cannot be measured honestly."""
    if output_tokens is None or output_tokens < 2 or first_at is None or end_at is None:
        return None
    span = end_at - first_at
    if span <= 0.0005:  # everything arrived in one read: no rate to speak of
        return None
    return round((output_tokens - 1) / span, 2)


def retry_status(result: ResponseResult, now: float) -> str | None:
    """While `result` backs off before a retry, what to say: "429 · retry 1 of 2 in 1.0 s"
    (the HTTP status, else the error kind, of the attempt that failed); None otherwise."""
    pending = result.pending_retry
    if pending is None or not result.attempts:
        return None
    failed = result.attempts[-1]
    why = str(failed.http_status) if failed.http_status else (failed.error_kind or "error")
    return f"{why} · retry {result.retries} of {pending.limit} in {max(0.0, pending.at - now):.1f} s"


def answer_failed(status: Status, text: str | None) -> bool:
    """No answer to judge: an error (rate limited, timed out...), or cancelled before any
    text arrived. Such an answer is rated by its outcome alone."""
    return status == Status.ERROR or (status == Status.INTERRUPTED and not (text or "").strip())


class ResponseFigures(NamedTuple):
    """What the scorecard needs of a response, with ResponseResult's names: a light row to
    hold 100,000 of (a ResponseResult with its text and attempts weighs a hundred times more)."""

    id: str
    trial_id: str
    model: str
    status: Status
    total_ms: float | None
    cost_usd: float | None
    failed: bool = False  # as ResponseResult.failed: rated by its outcome alone
