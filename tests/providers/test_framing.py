"""Stream parsers: any split of valid input gives the same events; garbage is a protocol error."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Usage
from desk.providers.base import ProviderError, TextDelta, UsageReport
from desk.providers.framing import SSEDecoder
from desk.providers.registry import make_provider

OPENAI_STREAM = (
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    b': keep-alive comment\n\n'
) + (
    'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo \u00e9\u6f22"}}]}\n\n'.encode()
) + (
    b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\n'
    b"data: [DONE]\n\n"
)

ANTHROPIC_STREAM = (
    b'event: message_start\r\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":7,"output_tokens":1}}}\r\n\r\n'
    b'event: content_block_start\r\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\r\n\r\n'
    b'event: ping\r\ndata: {"type": "ping"}\r\n\r\n'
    b'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\r\n\r\n'
    b'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}\r\n\r\n'
    b'event: content_block_stop\r\ndata: {"type":"content_block_stop","index":0}\r\n\r\n'
    b'event: message_delta\r\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\r\n\r\n'
    b'event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n'
)

GEMINI_STREAM = (
    b'data: {"candidates":[{"content":{"parts":[{"text":"A"}],"role":"model"}}],"responseId":"r1"}\r\n\r\n'
    b'data: {"candidates":[{"content":{"parts":[{"text":"B"}],"role":"model"},"finishReason":"STOP"}],'
    b'"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6}}\r\n\r\n'
)

OLLAMA_STREAM = (
    b'{"model":"m","message":{"role":"assistant","content":"x"},"done":false}\n'
    b'{"model":"m","message":{"role":"assistant","content":"y"},"done":false}\n'
    b'{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":2}\n'
)

STREAMS = {
    "openai": (OPENAI_STREAM, "Hello \u00e9\u6f22", (5, 3)),
    "anthropic": (ANTHROPIC_STREAM, "Hi there", (7, 2)),
    "gemini": (GEMINI_STREAM, "AB", (4, 2)),
    "ollama": (OLLAMA_STREAM, "xy", (3, 2)),
}


_CLIENT = httpx.AsyncClient()  # never used to send: decoders only
_PROVIDERS = {k: make_provider(ProviderConfig("p", k, "http://127.0.0.1:1"), _CLIENT, None) for k in STREAMS}


def provider(kind: str):
    return _PROVIDERS[kind]


def decode(kind: str, pieces: list[bytes]):
    dec = provider(kind).decoder()
    events = []
    for piece in pieces:
        events += dec.feed(piece, 0.0)
    events += dec.close(0.0)
    return events


def summary(events):
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    reports = [e.usage for e in events if isinstance(e, UsageReport)]
    usage = Usage()
    for report in reports:  # usage comes in pieces, as reported; the engine merges them
        usage = usage.merged(report)
    return text, (usage.input_tokens, usage.output_tokens) if reports else None


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(STREAMS)), cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_any_split_gives_the_same_events(kind, cuts):
    data, text, tokens = STREAMS[kind]
    assert summary(decode(kind, split(data, cuts))) == (text, tokens)


def test_byte_at_a_time_including_utf8_boundaries():
    for kind, (data, text, tokens) in STREAMS.items():
        pieces = [data[i : i + 1] for i in range(len(data))]
        assert summary(decode(kind, pieces)) == (text, tokens), kind


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(STREAMS)), junk=st.binary(max_size=400), cuts=st.lists(st.integers(0, 500), max_size=8))
def test_garbage_raises_only_protocol_errors(kind, junk, cuts):
    try:
        decode(kind, split(junk, cuts))
    except ProviderError as exc:  # the only acceptable failure, and only as a protocol error
        assert exc.kind == ErrorKind.PROTOCOL, exc


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(STREAMS)), data=st.data())
def test_truncated_valid_stream_is_a_protocol_error_or_complete(kind, data):
    stream, text, _ = STREAMS[kind]
    cut = data.draw(st.integers(0, len(stream) - 1))
    try:
        events = decode(kind, [stream[:cut]])
    except ProviderError as exc:
        assert exc.kind.value in ("protocol",)
    else:
        # Only a cut in trailing bytes after the final event may still decode fully.
        assert summary(events)[0] == text


def test_sse_multiline_data_and_cr_line_ends():
    dec = SSEDecoder()
    events = dec.feed(b"event: a\rdata: one\rdata: two\r\r", 1.0) + dec.close(2.0)
    assert [(e.event, e.data) for e in events] == [("a", "one\ntwo")]


def test_json_payload_values_survive():
    payload = {"k": "line1\nline2 \u2028 ok"}
    dec = SSEDecoder()
    events = dec.feed(b"data: " + json.dumps(payload).encode() + b"\n\n", 0.0)
    assert json.loads(events[0].data) == payload
