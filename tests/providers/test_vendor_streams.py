"""Streams and bodies shaped as the vendors publish them, replayed over loopback.

Each shape follows a recorded response from the vendor's own SDK tests or docs (named
at each one; the texts and ids here are our own): openai-python's
.inline-snapshot recordings (a refusal stream, a refusal body), anthropic-sdk-python's
tests/lib/streaming/fixtures (message_delta fields, extra fields, tool use), Gemini's
streamGenerateContent with a failure after content, Ollama's /api/chat from servers
that send no done_reason, and llama.cpp builds that ignore stream_options.include_usage.
"""

from __future__ import annotations

import json

import pytest

from desk.cli import response_json
from desk.core.response import ErrorKind, Status, Usage
from desk.engine.export import response_record
from tests.engine.conftest import run_one, script_for
from tests.vendor_server import Script


def sse(*objs: dict | str, event: bool = False, nl: str = "\n", done: bool = False) -> list[str]:
    """Each object as one `data:` event (with its `event:` line when asked), one chunk each;
    `done`: then OpenAI's closing `[DONE]`."""
    out = []
    for obj in objs:
        data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
        name = f"event: {json.loads(data)['type']}{nl}" if event else ""
        out.append(f"{name}data: {data}{nl}{nl}")
    return [*out, "data: [DONE]\n\n"] if done else out


# --- OpenAI: refusals ----------------------------------------------------------------------

REFUSAL = "I'm sorry, I can't share instructions for that."


def openai_chunk(delta: dict | None, finish: str | None = None, **extra) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return {"id": "chatcmpl-desk0refusal01", "object": "chat.completion.chunk", "created": 1723000000,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_0000000001", "choices": choices, **extra}


# As the API streams a refusal: a first delta with an empty refusal and null content,
# the refusal in pieces, an empty delta with finish_reason "stop", then the usage chunk.
REFUSAL_STREAM = sse(
    openai_chunk({"role": "assistant", "content": None, "refusal": ""}),
    *(openai_chunk({"refusal": piece}) for piece in ["I'm", " sorry,", " I can't", " share instructions",
                                                     " for that."]),
    openai_chunk({}, "stop"),
    openai_chunk(None, usage={"prompt_tokens": 17, "completion_tokens": 12, "total_tokens": 29}),
    done=True,
)

REFUSAL_BODY = json.dumps({
    "id": "chatcmpl-desk0refusal02", "object": "chat.completion", "created": 1723000000,
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": REFUSAL,
                                         "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 17, "completion_tokens": 12, "total_tokens": 29},
    "system_fingerprint": "fp_0000000001",
})


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_openai_refusal_is_the_answer_marked_as_a_refusal(stream, providers, vendor):
    script_for(vendor, "openai", Script(replay=REFUSAL_STREAM if stream else [REFUSAL_BODY]))
    _, r = run_one(providers, "openai", stream=stream)
    assert r.status == Status.OK, r.error_message
    assert r.text == REFUSAL and r.refusal is True  # never an empty success
    assert r.finish_reason == "stop"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (17, 12)
    assert r.ttft_ms is not None  # the refusal is what the model answered: its first token counts
    assert r.unknown_fields == {}
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.refusal is True and stored.text == REFUSAL
    assert response_json(stored)["refusal"] is True
    assert response_record(stored)["refusal"] is True


def test_an_ordinary_answer_is_no_refusal(providers, vendor):
    script_for(vendor, "openai", Script())  # its first delta carries "refusal": null
    _, r = run_one(providers, "openai")
    assert r.status == Status.OK and r.text and r.refusal is False and r.unknown_fields == {}


# --- OpenAI-compatible servers: no usage chunk means unknown tokens ---------------------------

# llama.cpp builds that ignore stream_options.include_usage: no usage chunk at all, and
# their own `timings` on the last chunk.
def llama_cpp_chunk(delta: dict, finish: str | None = None, **extra) -> dict:
    return {"choices": [{"finish_reason": finish, "index": 0, "delta": delta}], "created": 1738000000,
            "id": "chatcmpl-llamacpp0000000001", "model": "gpt-3.5-turbo",
            "system_fingerprint": "b4600-0a1b2c3d", "object": "chat.completion.chunk", **extra}


LLAMA_CPP_STREAM = sse(
    llama_cpp_chunk({"role": "assistant", "content": None}),
    llama_cpp_chunk({"content": "Hello"}),
    llama_cpp_chunk({"content": " there."}),
    llama_cpp_chunk({}, "stop", timings={"prompt_n": 12, "prompt_ms": 40.1, "predicted_n": 3, "predicted_ms": 30.2}),
    done=True,
)


def test_a_stream_without_a_usage_chunk_reports_unknown_tokens_not_zero(providers, vendor):
    script_for(vendor, "openai", Script(replay=LLAMA_CPP_STREAM))
    _, r = run_one(providers, "openai")
    assert r.status == Status.OK and r.text == "Hello there."
    assert r.usage == Usage()  # null, never 0
    assert r.cost_usd is None and r.output_tokens_per_s is None
    assert response_json(r)["output_tokens"] is None


# --- every protocol: content desk does not read is counted and kept ---------------------------

# gpt-4o-audio-preview streams the spoken answer as `delta.audio` (id, transcript, data).
AUDIO_STREAM = sse(
    openai_chunk({"role": "assistant", "content": None, "refusal": None}),
    openai_chunk({"audio": {"id": "audio_desk01", "transcript": "Hi"}}),
    openai_chunk({"audio": {"transcript": " there", "data": "UklGRg=="}}),
    openai_chunk({"content": "Hi there"}),
    openai_chunk({}, "stop"),
    done=True,
)


def test_openai_unknown_delta_fields_are_counted_and_kept(providers, vendor):
    script_for(vendor, "openai", Script(replay=AUDIO_STREAM))
    _, r = run_one(providers, "openai")
    assert r.status == Status.OK and r.text == "Hi there"
    assert set(r.unknown_fields) == {"delta.audio"}
    audio = r.unknown_fields["delta.audio"]
    assert audio.count == 2
    assert [json.loads(v) for v in audio.raw] == [
        {"id": "audio_desk01", "transcript": "Hi"}, {"transcript": " there", "data": "UklGRg=="},
    ]
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.unknown_fields == r.unknown_fields
    assert response_json(stored)["unknown_fields"] == {"delta.audio": 2}
    assert response_record(stored)["unknown_fields"]["delta.audio"]["count"] == 2


ANTHROPIC_UNKNOWN_STREAM = sse(
    {"type": "message_start", "message": {"id": "msg_desk0unknown01", "type": "message", "role": "assistant",
                                          "content": [], "model": "claude-sonnet-4-5", "stop_reason": None,
                                          "stop_sequence": None, "usage": {"input_tokens": 11, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    # A field beside the delta (as in the SDK's extra-fields fixture) ...
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me look."},
     "private_field": {"nested": {"values": [3]}}},
    {"type": "content_block_stop", "index": 0},
    # ... and a tool call, read as one (issue 17): its block and its JSON deltas.
    {"type": "content_block_start", "index": 1,
     "content_block": {"type": "tool_use", "id": "toolu_desk01", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 30}},
    {"type": "message_stop"},
    event=True,
)

GEMINI_UNKNOWN_STREAM = sse(
    {"candidates": [{"content": {"parts": [{"text": "Calling it."}], "role": "model"}, "index": 0}],
     "modelVersion": "gemini-2.0-flash", "responseId": "desk0unknown03"},
    {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
                                 "role": "model"}, "finishReason": "STOP", "index": 0}],
     "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14},
     "modelVersion": "gemini-2.0-flash", "responseId": "desk0unknown03"},
    nl="\r\n",
)

OLLAMA_UNKNOWN_STREAM = [
    json.dumps(line) + "\n"
    for line in [
        {"model": "llama3.2:latest", "created_at": "2025-01-01T00:00:00.0Z",
         "message": {"role": "assistant", "content": "",
                     "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
         "done": False},
        {"model": "llama3.2:latest", "created_at": "2025-01-01T00:00:00.1Z",
         "message": {"role": "assistant", "content": "Done."}, "done": False},
        {"model": "llama3.2:latest", "created_at": "2025-01-01T00:00:00.2Z",
         "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": True,
         "prompt_eval_count": 9, "eval_count": 5},
    ]
]

UNKNOWN = {
    "anthropic": (ANTHROPIC_UNKNOWN_STREAM, "Let me look.",
                  {"content_block_delta.private_field": 1}),
    # Tool calls are read since issue 17 (tests/providers/test_tool_calls.py), not unknown.
    "gemini": (GEMINI_UNKNOWN_STREAM, "Calling it.", {}),
    "ollama": (OLLAMA_UNKNOWN_STREAM, "Done.", {}),
}


@pytest.mark.parametrize("kind", sorted(UNKNOWN))
def test_unknown_content_is_counted_and_kept_on_every_protocol(kind, providers, vendor):
    stream, text, counts = UNKNOWN[kind]
    script_for(vendor, kind, Script(replay=stream))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK, r.error_message
    assert r.text == text
    assert {name: f.count for name, f in r.unknown_fields.items()} == counts
    assert all(f.raw and all(json.loads(v) for v in f.raw) for f in r.unknown_fields.values())
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == [("get_weather", {"city": "Paris"})]
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.unknown_fields == r.unknown_fields


# --- Anthropic: thinking tokens, usage before an error ------------------------------------------


def anthropic_start(usage: dict) -> dict:
    return {"type": "message_start",
            "message": {"id": "msg_desk0thinking01", "type": "message", "role": "assistant", "content": [],
                        "model": "claude-sonnet-4-5", "stop_reason": None, "stop_sequence": None, "usage": usage}}


# As in the SDK's message_delta fixture: usage.output_tokens_details.thinking_tokens.
THINKING_STREAM = sse(
    anthropic_start({"input_tokens": 25, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 5,
                     "output_tokens": 1, "service_tier": "standard"}),
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Two and two."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Four."}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"output_tokens": 8, "output_tokens_details": {"thinking_tokens": 3}}},
    {"type": "message_stop"},
    event=True,
)

THINKING_BODY = json.dumps({
    "id": "msg_desk0thinking02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "thinking", "thinking": "Two and two.", "signature": "EqQBCgIYAhIM"},
                {"type": "text", "text": "Four."}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 25, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 5,
              "output_tokens": 8, "output_tokens_details": {"thinking_tokens": 3}},
})


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_anthropic_thinking_tokens_fill_reasoning_tokens(stream, providers, vendor):
    script_for(vendor, "anthropic", Script(replay=THINKING_STREAM if stream else [THINKING_BODY]))
    _, r = run_one(providers, "anthropic", stream=stream)
    assert r.status == Status.OK, r.error_message
    assert (r.text, r.reasoning_text) == ("Four.", "Two and two.")
    assert r.usage == Usage(input_tokens=40, output_tokens=8, cached_input_tokens=5, reasoning_tokens=3)
    assert r.unknown_fields == {}  # a signature vouches for the thinking; it is not content
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.usage.reasoning_tokens == 3


ANTHROPIC_ERROR_STREAM = sse(
    anthropic_start({"input_tokens": 11, "output_tokens": 1}),
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    event=True,
)


def test_anthropic_usage_reported_before_an_error_event_is_kept(providers, vendor):
    # All in one chunk as well: the events before the error in the same read count too.
    for replay in (ANTHROPIC_ERROR_STREAM, ["".join(ANTHROPIC_ERROR_STREAM)]):
        script_for(vendor, "anthropic", Script(replay=replay))
        _, r = run_one(providers, "anthropic")
        assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.OVERLOADED)
        assert "Overloaded" in (r.error_message or "")
        assert r.text == "Hello"
        assert (r.usage.input_tokens, r.usage.output_tokens) == (11, 1)  # as reported, not lost
        assert r.attempts[-1].usage.input_tokens == 11


def test_scripted_midstream_error_keeps_the_input_count(providers, vendor):
    script_for(vendor, "anthropic", Script(midstream_error=True))
    _, r = run_one(providers, "anthropic")
    assert r.status == Status.ERROR and r.text == "Hello"
    assert r.usage.input_tokens == 12


# --- Gemini: an unframed error object after content ---------------------------------------------

GEMINI_ERROR = {"error": {"code": 499, "message": "The operation was cancelled.", "status": "CANCELLED"}}


def gemini_chunk(text: str, finish: str | None, n: int) -> dict:
    cand: dict = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": n, "totalTokenCount": 8 + n},
            "modelVersion": "gemini-2.0-flash", "responseId": "desk0cancel04"}


@pytest.mark.parametrize("finish", ["STOP", None], ids=["after-finish-reason", "no-finish-reason"])
@pytest.mark.parametrize("pretty", [True, False], ids=["pretty", "one-line"])
def test_gemini_bare_error_object_after_content_is_an_error(finish, pretty, providers, vendor):
    error = json.dumps(GEMINI_ERROR, indent=2 if pretty else None) + "\n"
    stream = [*sse(gemini_chunk("The first", finish, 2), gemini_chunk(" part", finish, 3), nl="\r\n"), error]
    script_for(vendor, "gemini", Script(replay=stream))
    _, r = run_one(providers, "gemini")
    assert r.status == Status.ERROR
    assert r.error_message == "The operation was cancelled. [CANCELLED]"
    assert r.text == "The first part"  # what arrived is kept
    assert (r.usage.input_tokens, r.usage.output_tokens) == (8, 3)  # and what was reported
    assert len(r.attempts) == 1


def test_gemini_unframed_text_that_is_no_json_is_a_protocol_error(providers, vendor):
    stream = [*sse(gemini_chunk("Hi", "STOP", 1), nl="\r\n"), "<html>gateway</html>\n"]
    script_for(vendor, "gemini", Script(replay=stream))
    _, r = run_one(providers, "gemini")
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.PROTOCOL)
    assert "gateway" in (r.error_message or "")


# --- Ollama: a missing done_reason is not invented ----------------------------------------------


def ollama_final(text: str, **extra) -> dict:
    return {"model": "llama3.2:latest", "created_at": "2024-06-01T00:00:00.0Z",
            "message": {"role": "assistant", "content": text}, "done": True, "total_duration": 5_000_000,
            "prompt_eval_count": 9, "eval_count": 2, **extra}


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_ollama_without_done_reason_reports_no_finish_reason(stream, providers, vendor):
    if stream:
        first = {"model": "llama3.2:latest", "created_at": "2024-06-01T00:00:00.0Z",
                 "message": {"role": "assistant", "content": "Hi."}, "done": False}
        replay = [json.dumps(first) + "\n", json.dumps(ollama_final("")) + "\n"]
    else:
        replay = [json.dumps(ollama_final("Hi."))]
    script_for(vendor, "ollama", Script(replay=replay))
    _, r = run_one(providers, "ollama", stream=stream)
    assert r.status == Status.OK and r.text == "Hi."
    assert r.finish_reason is None  # not reported: null, never a guessed "stop"
    assert response_json(r)["finish_reason"] is None


def test_ollama_done_reason_is_still_read(providers, vendor):
    script_for(vendor, "ollama", Script(finish_reason="length"))
    _, r = run_one(providers, "ollama")
    assert r.finish_reason == "length"


WHOLE_UNKNOWN = {
    "openai": (json.dumps({
        "id": "chatcmpl-desk0tools05", "object": "chat.completion", "created": 1723000000, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
            "role": "assistant", "content": None, "refusal": None, "annotations": [],
            "tool_calls": [{"id": "call_desk01", "type": "function",
                            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}), {}),
    "gemini": (json.dumps({
        "candidates": [{"content": {"parts": [{"text": "Calling it."},
                                              {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
                                    "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14},
        "modelVersion": "gemini-2.0-flash", "responseId": "desk0tools06"}), {}),
}


@pytest.mark.parametrize("kind", sorted(WHOLE_UNKNOWN))
def test_unknown_content_of_a_whole_body_is_counted_too(kind, providers, vendor):
    body, counts = WHOLE_UNKNOWN[kind]
    script_for(vendor, kind, Script(replay=[body]))
    _, r = run_one(providers, kind, stream=False)
    assert r.status == Status.OK, r.error_message
    assert {name: f.count for name, f in r.unknown_fields.items()} == counts
    assert [c.name for c in r.tool_calls] == ["get_weather"]  # read since issue 17
