"""Anthropic's redacted_thinking (issue 16): thinking the vendor sent encrypted is kept,
streamed or not, and goes back unchanged with its data in the next turn, from the store,
in the order it came; the loopback vendor records what it received."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.trial import GenerationSettings, TrialInput
from tests.engine.conftest import engine_for, ref, run_one, script_for
from tests.providers.test_vendor_streams import sse
from tests.vendor_server import Script

DATA = ("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP", "EqQBCgIYAhIMredacted2")
MESSAGE = {"id": "msg_red01", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
           "stop_reason": None, "usage": {"input_tokens": 9, "output_tokens": 1}}


def _stream() -> list[str]:
    return sse(
        {"type": "message_start", "message": MESSAGE},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Units or revenue?"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBsig"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "redacted_thinking", "data": DATA[0]}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "redacted_thinking", "data": DATA[1]}},
        {"type": "content_block_stop", "index": 2},
        {"type": "content_block_start", "index": 3, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "Which measure?"}},
        {"type": "content_block_stop", "index": 3},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 12}},
        {"type": "message_stop"},
        event=True,
    )


def _chats(vendor) -> list:
    return [rec for rec in vendor.requests if rec.method == "POST"]


def test_streamed_redacted_thinking_is_kept_in_order_and_is_no_unknown_content(providers, vendor):
    script_for(vendor, "anthropic", Script(replay=_stream()))
    _, result = run_one(providers, "anthropic", TrialInput("Which region sold most?"),
                        GenerationSettings(reasoning_effort="low"))
    assert (result.text, result.reasoning_text, result.reasoning_signature) == ("Which measure?", "Units or revenue?",
                                                                                "EqQBsig")
    assert result.reasoning_redacted == DATA
    assert result.unknown_fields == {}
    assert providers.responses.get(result.id).reasoning_redacted == DATA  # stored


def test_a_whole_message_keeps_its_redacted_thinking(providers, vendor):
    body = {**MESSAGE, "stop_reason": "end_turn", "content": [
        {"type": "redacted_thinking", "data": DATA[0]}, {"type": "text", "text": "Which measure?"}]}
    script_for(vendor, "anthropic", Script(replay=[json.dumps(body)]))
    _, result = run_one(providers, "anthropic", TrialInput("Which region sold most?"), stream=False)
    assert result.text == "Which measure?" and result.reasoning_redacted == DATA[:1]
    assert result.unknown_fields == {}


def test_the_next_turn_sends_the_redacted_blocks_back_unchanged_from_the_store(providers, vendor):
    script_for(vendor, "anthropic", Script(replay=_stream()))

    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(TrialInput("Which region sold most?"), [ref("anthropic")],
                                             GenerationSettings(reasoning_effort="low"))).responses[0]
        async with engine_for(providers) as engine:  # a new engine: the blocks come from the store
            second = await engine.conversations.reply(first.id, "By revenue.")
        async with engine_for(providers) as engine:
            await engine.conversations.reply(second.id, "And the least?")

    asyncio.run(go())
    chats = _chats(vendor)
    assert chats[1].json["messages"][1] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Units or revenue?", "signature": "EqQBsig"},
        {"type": "redacted_thinking", "data": DATA[0]}, {"type": "redacted_thinking", "data": DATA[1]},
        {"type": "text", "text": "Which measure?"}]}
    said = [m for m in chats[1].messages if m["role"] == "assistant"]
    assert [m.get("redacted") for m in said] == [list(DATA)]
    # A later answer with no encrypted thinking sends none back; the first still does.
    assert [m.get("redacted") for m in chats[2].messages if m["role"] == "assistant"] == [list(DATA), None]


@pytest.mark.parametrize("block", [{"type": "redacted_thinking"}, {"type": "redacted_thinking", "data": ""}])
def test_a_redacted_block_without_data_is_nothing_to_send_back(providers, vendor, block):
    body = {**MESSAGE, "stop_reason": "end_turn", "content": [block, {"type": "text", "text": "Hi."}]}
    script_for(vendor, "anthropic", Script(replay=[json.dumps(body)]))
    _, result = run_one(providers, "anthropic", TrialInput("Hi?"), stream=False)
    assert result.reasoning_redacted == ()
