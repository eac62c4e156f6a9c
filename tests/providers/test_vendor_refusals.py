"""Anthropic refusals and Gemini's JSON-array stream failing after content, replayed over
loopback as the vendors document them.

Anthropic ("Handle streaming refusals", platform.claude.com/docs): when its streaming
classifiers intervene, the message ends with HTTP 200 and `stop_reason: "refusal"` (on
`message_delta` in a stream, with `stop_details`), keeping the text already sent; usage is
still reported and billed; no refusal message is added. Gemini: without `?alt=sse` (or
from a proxy that answers a stream request with `application/json`) the stream is one
JSON array of chunks, which can end with an error object after content.
"""

from __future__ import annotations

import json

import pytest

from desk.cli import response_json
from desk.core.response import ErrorKind, Status
from tests.engine.conftest import TEXT, run_one, script_for
from tests.providers.test_vendor_streams import GEMINI_ERROR, gemini_chunk, sse
from tests.vendor_server import Script

STOP_DETAILS = {"type": "refusal", "category": "cyber",
                "explanation": "This request was declined because it could enable cyber harm."}


def anthropic_refusal_stream(text: str) -> list[str]:
    blocks = [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
          for piece in ([text[:3], text[3:]] if text else [])),
        {"type": "content_block_stop", "index": 0},
    ] if text else []
    return sse(
        {"type": "message_start", "message": {"id": "msg_desk0refusal07", "type": "message", "role": "assistant",
                                              "content": [], "model": "claude-sonnet-4-5", "stop_reason": None,
                                              "stop_sequence": None, "usage": {"input_tokens": 21, "output_tokens": 1}}},
        *blocks,
        {"type": "message_delta", "delta": {"stop_reason": "refusal", "stop_sequence": None,
                                            "stop_details": STOP_DETAILS},
         "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
        event=True,
    )


def anthropic_refusal_body(text: str) -> str:
    return json.dumps({
        "id": "msg_desk0refusal08", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": "refusal", "stop_sequence": None, "stop_details": STOP_DETAILS,
        "usage": {"input_tokens": 21, "output_tokens": 7},
    })


@pytest.mark.parametrize("text", ["Hello..", ""], ids=["after-text", "no-text"])
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_anthropic_refusal_is_the_answer_marked_as_a_refusal(text, stream, providers, vendor):
    replay = anthropic_refusal_stream(text) if stream else [anthropic_refusal_body(text)]
    script_for(vendor, "anthropic", Script(replay=replay))
    _, r = run_one(providers, "anthropic", stream=stream)
    assert r.status == Status.OK, r.error_message  # the model's answer, not an opaque error
    assert r.error_kind is None and r.error_message is None
    assert r.refusal is True and r.finish_reason == "refusal"
    assert r.text == text  # whatever came before the refusal is kept
    assert (r.usage.input_tokens, r.usage.output_tokens) == (21, 7)  # billed up to the refusal
    assert len(r.attempts) == 1  # not retried: the same request is refused again
    (details,) = r.unknown_fields["message.stop_details"].raw  # why, as the vendor said it: kept
    assert json.loads(details) == STOP_DETAILS
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.refusal is True and stored.text == text
    assert response_json(stored)["refusal"] is True


def test_anthropic_generated_refusal_keeps_the_text(providers, vendor):
    # The loopback server renders its content_filter finish as Anthropic's stop_reason "refusal".
    script_for(vendor, "anthropic", Script(finish_reason="content_filter"))
    _, r = run_one(providers, "anthropic")
    assert (r.status, r.refusal, r.finish_reason, r.text) == (Status.OK, True, "refusal", TEXT)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_anthropic_ordinary_answer_is_no_refusal(stream, providers, vendor):
    script_for(vendor, "anthropic", Script())
    _, r = run_one(providers, "anthropic", stream=stream)
    assert (r.status, r.refusal, r.finish_reason) == (Status.OK, False, "stop")
    assert r.unknown_fields == {}  # every field of an ordinary message is read


# --- Gemini: the JSON-array form ending with an error ---------------------------------------------


def gemini_array(*items: dict) -> list[str]:
    """As Gemini streams the array: "[" + pretty-printed items joined by ",\\r\\n" + "]", an item a chunk."""
    pieces = [("[" if i == 0 else "\n,\r\n") + json.dumps(item, indent=2) for i, item in enumerate(items)]
    return [*pieces, "\n]"]


JSON = {"Content-Type": "application/json; charset=UTF-8"}


@pytest.mark.parametrize("finish", ["STOP", None], ids=["after-finish-reason", "no-finish-reason"])
def test_gemini_json_array_ending_with_an_error_keeps_the_text(finish, providers, vendor):
    body = gemini_array(gemini_chunk("The first", finish, 2), gemini_chunk(" part", finish, 3), GEMINI_ERROR)
    script_for(vendor, "gemini", Script(replay=body, headers=JSON))
    _, r = run_one(providers, "gemini")
    assert r.status == Status.ERROR
    assert r.error_kind == ErrorKind.SERVER_ERROR  # CANCELLED: the vendor's side gave up
    assert r.error_message == "The operation was cancelled. [CANCELLED]"
    assert r.text == "The first part"  # what arrived is kept
    assert (r.usage.input_tokens, r.usage.output_tokens) == (8, 3)  # and what was reported
    assert r.ttft_ms is not None
    assert len(r.attempts) == 1


def test_gemini_json_array_without_an_error_is_an_answer(providers, vendor):
    body = gemini_array(gemini_chunk("The first", None, 2), gemini_chunk(" part", "STOP", 3))
    script_for(vendor, "gemini", Script(replay=body, headers=JSON))
    _, r = run_one(providers, "gemini")
    assert (r.status, r.text, r.finish_reason) == (Status.OK, "The first part", "stop")
    assert (r.usage.input_tokens, r.usage.output_tokens) == (8, 3)


def test_gemini_json_array_that_is_only_an_error_is_retried_like_one(providers, vendor):
    script_for(vendor, "gemini", Script(replay=gemini_array(GEMINI_ERROR), headers=JSON), Script())
    _, r = run_one(providers, "gemini")
    assert (r.status, r.text) == (Status.OK, TEXT)
    assert r.retries == 1 and r.attempts[0].error_message == "The operation was cancelled. [CANCELLED]"
