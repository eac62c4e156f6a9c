"""Configured API keys a vendor sends back, taken out of everything desk keeps or shows of an
answer, so a key never lands in the store, an export or the screen: the text and thinking,
the tool calls, the raw JSON of fields desk does not read, what the vendor says it served,
and each attempt's error text, request id and rate-limit headers.

Tool calls are checked before they are scrubbed (desk.engine.runner checks them as the
stream closes): the verdict is on what the model produced; the problems found are scrubbed
too, since a schema error quotes the offending value.

Never scrubbed: the vendor's opaque data that must go back unchanged with the next turn
(Anthropic's redacted_thinking data, the thinking signatures). It is encrypted, not text
the model wrote, it is never shown or exported, and changing it would break the
conversation at the vendor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from desk.core.response import (
    MIN_SCRUBBED_KEY_CHARS,
    Attempt,
    KeyScrubber,
    ResponseResult,
    key_echo_note,
    scrub_keys,
)
from desk.core.structured import SchemaFailure, StructuredVerdict, asked_schema, check_answer
from desk.core.tools import ToolCall


class _Finds:
    """Which providers' keys were found, and where (for the answer's note)."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = keys
        self.names: set[str] = set()
        self.places: list[str] = []

    def clean(self, text: str, place: str) -> str:
        cleaned, found = scrub_keys(text, self.keys)
        if found:
            self.names.update(found)
            if place not in self.places:
                self.places.append(place)
        return cleaned

    def maybe(self, text: str | None, place: str) -> str | None:
        return None if text is None else self.clean(text, place)

    def note(self, result: ResponseResult) -> None:
        note = key_echo_note(sorted(self.names), self.places) if self.names else None
        if note and note not in result.notes:  # each retry's attempt may find the same
            result.notes.append(note)


def scrub_attempt(result: ResponseResult, attempt: Attempt, keys: Mapping[str, str]) -> None:
    """Take the keys out of what the vendor said of one attempt (its error text, request id,
    rate-limit headers) before the attempt is stored, with a note on the answer if any was."""
    finds = _Finds(keys)
    _attempt(attempt, finds)
    finds.note(result)


def _attempt(attempt: Attempt, finds: _Finds) -> None:
    attempt.error_message = finds.maybe(attempt.error_message, "an error message")
    attempt.vendor_request_id = finds.maybe(attempt.vendor_request_id, "a request id")
    attempt.ratelimit = {finds.clean(k, "rate-limit headers"): finds.clean(v, "rate-limit headers")
                         for k, v in attempt.ratelimit.items()}


def scrub_answer(result: ResponseResult, text: str, reasoning: str, keys: Mapping[str, str]) -> None:
    """Set the answer's text and thinking from what streamed, and take the configured keys
    out of every vendor-sent field of it, adding the key-echo note naming the providers."""
    finds = _Finds(keys)
    result.text = finds.clean(text, "its text")
    schema = asked_schema(result.settings)
    if schema is not None and result.text != text:  # judged on what was sent, the verdict kept
        result.structured_verdict = _scrubbed_verdict(check_answer(text, schema), finds)
    result.reasoning_text = finds.clean(reasoning, "its thinking")
    for call in result.tool_calls:  # already checked: the verdict stays the one on what was sent
        call.name = finds.clean(call.name, "tool-call names")
        call.arguments = finds.clean(call.arguments, "tool-call arguments")
        call.id = finds.maybe(call.id, "tool-call ids")
        call.problems = [finds.clean(p, "tool-call arguments") for p in call.problems]
    for field in result.unknown_fields.values():
        field.raw = [finds.clean(raw, "fields desk does not read") for raw in field.raw]
    result.served_model = finds.maybe(result.served_model, "the served model")
    result.system_fingerprint = finds.maybe(result.system_fingerprint, "the served model")
    for attempt in result.attempts:  # a cancelled attempt was never scrubbed on its own
        _attempt(attempt, finds)
    # result.reasoning_signature and result.reasoning_redacted: opaque, sent back unchanged (see above)
    finds.note(result)


def _scrubbed_verdict(verdict: StructuredVerdict, finds: _Finds) -> StructuredVerdict:
    """The verdict with the keys out of its words (a schema error quotes the value)."""
    return StructuredVerdict(
        verdict.parsed, tuple(SchemaFailure(f.path, finds.clean(f.message, "its text")) for f in verdict.failures),
        finds.maybe(verdict.parse_error, "its text"))


class CallsScrubber:
    """KeyScrubber for the tool calls of one attempt's stream, delivered as the whole state so
    far each time (CallAssembler.snapshot): what `feed` returns never shows a configured key,
    even one split across argument deltas; an end that could begin a key is held back until
    the next delta (the finished answer's scrubbed calls show the rest)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = sorted({k for k in keys if len(k) >= MIN_SCRUBBED_KEY_CHARS}, key=len, reverse=True)
        self._scrubbers: list[KeyScrubber] = []
        self._fed: list[int] = []
        self._shown: list[str] = []

    def feed(self, calls: Sequence[ToolCall]) -> list[ToolCall]:
        out = []
        for n, call in enumerate(calls):
            if n == len(self._scrubbers):
                self._scrubbers.append(KeyScrubber(self._keys))
                self._fed.append(0)
                self._shown.append("")
            self._shown[n] += self._scrubbers[n].feed(call.arguments[self._fed[n]:])
            self._fed[n] = len(call.arguments)
            out.append(ToolCall(self._whole(call.name), self._shown[n],
                                None if call.id is None else self._whole(call.id)))
        return out

    def _whole(self, text: str) -> str:
        """A name or id: it arrives whole, in one delta."""
        for key in self._keys:
            text = text.replace(key, "[REDACTED]")
        return text
