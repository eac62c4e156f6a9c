"""Hostile streams: a huge line or body is refused quickly with its own error kind, framing
is linear in the bytes received, and another model's stream keeps its timing meanwhile."""

from __future__ import annotations

import time

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Status
from desk.core.trial import ModelRef
from desk.providers.base import ProviderError
from desk.providers.framing import MAX_BODY_BYTES, MAX_LINE_BYTES, NDJSONDecoder, SSEDecoder
from tests.engine.conftest import KINDS, MODELS, config_for, ref, run_many, run_one, script_for
from tests.raw_server import RawServer, head, send_filled
from tests.timing import SLACK_MS, SLACK_S
from tests.vendor_server import Script

MB = 2**20
STREAM_TYPE = {"ollama": "application/x-ndjson"}
# The start of one event whose JSON string never ends, in each protocol's framing.
LINE_START = {
    "openai": b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"',
    "anthropic": b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"',
    "gemini": b'data: {"candidates":[{"content":{"parts":[{"text":"',
    "ollama": b'{"model":"m","message":{"role":"assistant","content":"',
}


def huge_line(kind: str, size: int):
    def answer(_head: bytes, sock) -> None:
        ctype = STREAM_TYPE.get(kind, "text/event-stream")
        send_filled(sock, head("200 OK", ctype) + LINE_START[kind], size)
    return answer


def raw_provider(store, kind: str, server: RawServer) -> None:
    base = server.base_url + ("/v1" if kind == "openai" else "")
    store.providers.add(ProviderConfig(name=f"raw-{kind}", kind=kind, base_url=base))


# --- framing is linear ---------------------------------------------------------------------


@pytest.mark.parametrize("decoder", [SSEDecoder, NDJSONDecoder])
def test_a_20_mb_line_in_4_kb_chunks_frames_in_linear_time(decoder):
    """Before: each chunk copied and searched the whole pending line (quadratic; about
    5000 copies of up to 20 MB here). Now each byte is searched once."""
    line = b'data: {"x":"' + b"a" * (20 * MB) + b'"}\n\n'
    d = decoder(max_line=64 * MB)
    events = []
    t0 = time.perf_counter()
    for i in range(0, len(line), 4096):
        events += d.feed(line[i:i + 4096], 0.0)
        assert time.perf_counter() - t0 < 2 + SLACK_S, f"only {i / MB:.1f} MB framed so far"
    assert len(events) == 1


@pytest.mark.parametrize("decoder", [SSEDecoder, NDJSONDecoder])
def test_a_line_past_the_limit_is_refused_before_it_ends(decoder):
    d = decoder()
    fed = 0
    with pytest.raises(ProviderError) as info:
        for _ in range(2 * MAX_LINE_BYTES // 65536):
            d.feed(b"data: " + b"a" * 65530 if fed == 0 else b"a" * 65536, 0.0)
            fed += 65536
    assert info.value.kind == ErrorKind.TOO_LARGE
    assert fed <= MAX_LINE_BYTES + 65536
    assert "8 MB" in info.value.message


def test_many_data_lines_of_one_sse_event_count_together():
    d = SSEDecoder(max_line=1000)
    with pytest.raises(ProviderError) as info:
        for _ in range(100):
            d.feed(b"data: " + b"b" * 50 + b"\n", 0.0)  # never the blank line that ends the event
    assert info.value.kind == ErrorKind.TOO_LARGE


# --- over HTTP, all four protocols ----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_stream_line_fails_fast_as_too_large(kind, store):
    with RawServer(huge_line(kind, 50 * MB)) as server:
        raw_provider(store, kind, server)
        t0 = time.perf_counter()
        _, r = run_one(store, kind, name=f"raw-{kind}", model=MODELS[kind])
        elapsed = time.perf_counter() - t0
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.TOO_LARGE, 200), r.error_message
    assert "larger than desk's limit of 8 MB" in (r.error_message or "")
    assert len(r.attempts) == 1  # a too-large answer is not paid for again
    assert elapsed < 1.5 + SLACK_S, elapsed
    assert store.responses.get(r.id).error_kind == ErrorKind.TOO_LARGE


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_whole_body_fails_fast_as_too_large(kind, declared, store):
    size = 200 * MB

    def answer(_head: bytes, sock) -> None:
        extra = (f"Content-Length: {size}",) if declared else ()
        send_filled(sock, head("200 OK", "application/json", *extra) + b'{"pad":"', size)

    with RawServer(answer) as server:
        raw_provider(store, kind, server)
        t0 = time.perf_counter()
        _, r = run_one(store, kind, name=f"raw-{kind}", model=MODELS[kind], stream=False)
        elapsed = time.perf_counter() - t0
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.TOO_LARGE), r.error_message
    assert f"limit of {MAX_BODY_BYTES // MB} MB" in (r.error_message or "")
    assert elapsed < 2 + SLACK_S, elapsed


def test_a_huge_line_does_not_hold_up_another_models_stream(store, vendor):
    """Before: framing the 50 MB line held the event loop for seconds, so the neighbour's
    first token was stamped (and its stream read) that much late."""
    store.providers.add(config_for("openai", vendor))
    script_for(vendor, "openai", Script(first_token_delay_ms=300, interval_ms=20, text_pieces=["a"] * 20))
    with RawServer(huge_line("openai", 50 * MB)) as server:
        raw_provider(store, "openai", server)
        _, (bad, good) = run_many(store, [ModelRef("raw-openai", MODELS["openai"]), ref("openai")])
    assert bad.error_kind == ErrorKind.TOO_LARGE
    assert good.status == Status.OK and good.text == "a" * 20
    assert 300 <= good.ttft_ms < 300 + SLACK_MS, good.ttft_ms
    assert good.total_ms < 300 + 19 * 20 + SLACK_MS, good.total_ms
