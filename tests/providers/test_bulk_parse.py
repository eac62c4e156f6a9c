"""A load run parses a streamed body in bulk once it has ended (StreamDecoder.feed_batch, and
the OpenAI decoder's all-at-once framing): the events must be exactly those of the piece by
piece read of the same bytes, each stamped with the arrival of the piece that completed it:
text, usage, finish reason, served model, tool calls, errors, on all four protocols, however
the pieces are cut (a character's bytes split between two, events split or coalesced)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from desk.core.provider import ProviderConfig
from desk.core.trial import GenerationSettings, TrialInput
from desk.providers.base import ProviderError, StreamDecoder, StreamEvent
from desk.providers.framing import sse_data
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from desk.providers.transport import WireTiming
from tests.engine.conftest import KINDS, MODELS, base_url_for, script_for
from tests.vendor_server import Script, VendorServer

PIECES = [f"tok{i} " for i in range(6)]
SCRIPTS = {
    "plain": Script(text_pieces=PIECES),
    "usage_none": Script(text_pieces=PIECES, usage=None),
    "multibyte": Script(text_pieces=["caf", "\u00e9 ", "\U0001f600", " \u4e2d\u6587", " done"]),
    "error_mid_stream": Script(text_pieces=PIECES, midstream_error=True, midstream_error_after_pieces=2,
                               error_message="overloaded mid-answer", error_type="overloaded_error"),
    "malformed": Script(text_pieces=PIECES, malformed_after_pieces=2, malformed_stop=True),
    "malformed_goes_on": Script(text_pieces=PIECES, malformed_after_pieces=2),
    "truncated": Script(text_pieces=PIECES, truncate_after_pieces=3),
    "tool_calls": Script(tool_calls=[("get_weather", ['{"city": ', '"Paris"}']), ("get_time", ['{}'])]),
    "served_model": Script(text_pieces=PIECES, served_model="other-build", fingerprint="fp_other"),
    "length": Script(text_pieces=PIECES, finish_reason="length"),
    "crlf": Script(text_pieces=PIECES, sse_line_ending="\r\n"),
}

Outcome = tuple[list[StreamEvent], tuple[str, str] | None, str | None]


def recorded(vendor: VendorServer, kind: str, script: Script) -> list[bytes]:
    """The body of one streamed answer as the transport's pieces came (chunked framing removed)."""
    script_for(vendor, kind, script)

    async def go() -> list[bytes]:
        async with make_client() as client:
            provider = make_provider(ProviderConfig(kind, kind, base_url_for(kind, vendor)), client, None)
            request = provider.build_request(MODELS[kind], TrialInput("hi"), GenerationSettings(), stream=True)
            response = await client.send(request, stream=True)
            body: list[bytes] = []
            try:
                async for chunk in response.aiter_raw():
                    body.append(chunk)
            except httpx.TransportError:
                pass  # a body cut short: what came
            finally:
                await response.aclose()
            return body

    return asyncio.run(go())


def decoder(kind: str) -> StreamDecoder:
    return make_provider(ProviderConfig(kind, kind, "http://127.0.0.1:9"), httpx.AsyncClient(), None).decoder()


def piece_by_piece(kind: str, pieces: list[tuple[bytes, float]]) -> Outcome:
    d, events = decoder(kind), []
    try:
        for chunk, at in pieces:
            events += d.feed(chunk, at)
            d.raise_held()
        events += d.close(pieces[-1][1] + 1)
        d.raise_held()
    except ProviderError as exc:
        return events, (exc.kind.value, exc.message), d.response_id()
    return events, None, d.response_id()


def in_bulk(kind: str, batches: list[list[tuple[bytes, float]]]) -> Outcome:
    d, events, timing = decoder(kind), [], WireTiming()
    try:
        for batch in batches:
            events += d.feed_batch(batch, timing)
            d.raise_held()
        events += d.close(batches[-1][-1][1] + 1)
        d.raise_held()
    except ProviderError as exc:
        return events, (exc.kind.value, exc.message), timing.body_id
    return events, None, timing.body_id


def cuts(body: list[bytes]) -> list[list[bytes]]:
    """The pieces as recorded; every byte alone (a character's bytes split); all in one; pairs."""
    joined = b"".join(body)
    return [body, [joined[i:i + 1] for i in range(len(joined))], [joined],
            [b"".join(body[i:i + 2]) for i in range(0, len(body), 2)]]


@pytest.mark.parametrize("case", sorted(SCRIPTS))
@pytest.mark.parametrize("kind", KINDS)
def test_a_body_parsed_in_bulk_gives_the_events_of_the_piece_by_piece_read(kind, case, vendor):
    body = recorded(vendor, kind, SCRIPTS[case])
    assert body
    if kind == "openai" and case == "plain":  # the usual stream takes the all-at-once framing
        assert sse_data([(p, 0.0) for p in body]) is not None
    for pieces in cuts(body):
        stamped = [(p, float(n)) for n, p in enumerate(pieces)]
        expected = piece_by_piece(kind, stamped)
        assert in_bulk(kind, [stamped]) == expected, (kind, case, len(pieces))
        half = len(stamped) // 2  # a wake-up halfway (much buffered, or the reader's clock)
        if half:
            assert in_bulk(kind, [stamped[:half], stamped[half:]]) == expected, (kind, case, len(pieces))


def chat_chunk(**fields: object) -> bytes:
    obj = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "x"}}], **fields}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


ODD_OPENAI = {
    "comment_keepalive": [b": keep-alive\n\n", chat_chunk(), b"data: [DONE]\n\n"],
    "two_events_in_one_piece": [chat_chunk() + chat_chunk(), b"data: [DONE]\n\n"],
    "event_split_over_pieces": [chat_chunk()[:20], chat_chunk()[20:], b"data: [DONE]\n\n"],
    "named_event": [b"event: message\n" + chat_chunk(), b"data: [DONE]\n\n"],
    "multi_line_data": [b'data: {"id": "c1",\ndata: "choices": []}\n\n', b"data: [DONE]\n\n"],
    "whitespace_around_json": [b"data:  " + chat_chunk()[6:-2] + b" \n\n", b"data: [DONE]\n\n"],
    "not_an_object": [b"data: [1, 2]\n\n", b"data: [DONE]\n\n"],
    "extra_data": [b"data: " + chat_chunk()[6:-2] + b"{}\n\n", b"data: [DONE]\n\n"],
    "error_object": [chat_chunk(), b'data: {"error": {"message": "boom", "type": "server_error"}}\n\n'],
    "invalid_utf8": [b'data: {"id": "c1", "choices": [{"delta": {"content": "\xff\xfe"}}]}\n\n', b"data: [DONE]\n\n"],
    "bom": [b"data: \xef\xbb\xbf" + chat_chunk()[6:], b"data: [DONE]\n\n"],
    "no_done": [chat_chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])],
    "after_done": [chat_chunk(), b"data: [DONE]\n\n", chat_chunk()],
    "unknown_delta_field": [chat_chunk(choices=[{"index": 0, "delta": {"content": "a", "audio": {"x": 1}}}]),
                            b"data: [DONE]\n\n"],
    "reasoning_and_refusal": [chat_chunk(choices=[{"index": 0, "delta": {"reasoning_content": "r"}}]),
                              chat_chunk(choices=[{"index": 0, "delta": {"refusal": "no"}}]), b"data: [DONE]\n\n"],
    "lone_cr": [b"data: " + chat_chunk()[6:-2] + b"\r\r", b"data: [DONE]\n\n"],
}


@pytest.mark.parametrize("case", sorted(ODD_OPENAI))
def test_an_odd_openai_stream_parsed_in_bulk_gives_the_same_events(case):
    stamped = [(p, float(n)) for n, p in enumerate(ODD_OPENAI[case])]
    assert in_bulk("openai", [stamped]) == piece_by_piece("openai", stamped)
