"""A conversation continued on each of the four wire protocols (issue 16): what the loopback
vendor received is the whole conversation in that vendor's own message format, with the
images and files only on the first user turn, and thinking sent back only as the vendor
wants it (Anthropic: thinking blocks with their signature; Gemini: the thoughtSignature on
the answer's part; Ollama: `thinking`; OpenAI-compatible servers: never)."""

from __future__ import annotations

import pytest

from desk.core.attachment import attachment_from_bytes
from desk.core.response import Status
from desk.core.trial import GenerationSettings, PriorTurn, TrialInput
from tests.engine.conftest import KINDS, png_attachment, run_one, script_for
from tests.providers.test_vendor_streams import sse
from tests.vendor_server import Script

CSV = attachment_from_bytes("sales.csv", b"region,total\nnorth,3\n")
FIRST = TrialInput("Which region sold most?", "Be brief.", (png_attachment(), CSV))
TURNS = (
    PriorTurn("Do you mean by units or by revenue?", "By revenue.", "The file has totals.", "sig-1"),
    PriorTurn("North, with 3.", "And the least?"),
)
CONVERSATION = FIRST.__class__(FIRST.prompt, FIRST.system, FIRST.attachments, turns=TURNS)


def _said(role: str, text: str, attachments: int = 0, thinking: str | None = None,
          signature: str | None = None) -> dict:
    return {"role": role, "text": text, "attachments": attachments, "thinking": thinking, "signature": signature}


def _chats(vendor) -> list:
    """The chat requests the vendor received (not Ollama's model-digest lookup)."""
    return [rec for rec in vendor.requests if rec.method == "POST"]


def _first_user(kind: str) -> dict:
    file_block = f'<file name="sales.csv">\n{CSV.text}\n</file>'
    # OpenAI and Ollama get the image apart from the text; all four get the file as text.
    return _said("user", f"{file_block}\n\n{FIRST.prompt}", 1)


# What each vendor gets back of the first answer's thinking ("The file has totals.", sig-1).
EXPECTED_THINKING = {
    "openai": (None, None),
    "anthropic": ("The file has totals.", "sig-1"),
    "gemini": (None, "sig-1"),
    "ollama": ("The file has totals.", None),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_protocol_gets_the_whole_conversation_in_its_own_format(kind, providers, vendor):
    _, result = run_one(providers, kind, CONVERSATION)
    assert result.status == Status.OK, result.error_message
    (rec,) = _chats(vendor)
    thinking, signature = EXPECTED_THINKING[kind]
    assert rec.messages == [
        _said("system", "Be brief."),
        _first_user(kind),
        _said("assistant", "Do you mean by units or by revenue?", thinking=thinking, signature=signature),
        _said("user", "By revenue."),
        _said("assistant", "North, with 3."),
        _said("user", "And the least?"),
    ]


def test_the_raw_messages_follow_each_vendors_rules(providers, vendor):
    """Roles as each vendor names them, and where the system prompt goes."""
    for kind in KINDS:
        run_one(providers, kind, CONVERSATION)
    body = {rec.protocol: rec.json for rec in _chats(vendor)}
    assert [m["role"] for m in body["openai"]["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [m["role"] for m in body["ollama"]["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    # Anthropic: the system prompt apart; strictly alternating user/assistant content blocks.
    assert body["anthropic"]["system"] == "Be brief."
    assert [m["role"] for m in body["anthropic"]["messages"]] == ["user", "assistant"] * 2 + ["user"]
    assert all(isinstance(m["content"], list) for m in body["anthropic"]["messages"])
    assert body["anthropic"]["messages"][1]["content"][0] == {
        "type": "thinking", "thinking": "The file has totals.", "signature": "sig-1"}
    # Gemini: roles user/model, the system prompt as systemInstruction.
    assert [c["role"] for c in body["gemini"]["contents"]] == ["user", "model"] * 2 + ["user"]
    assert body["gemini"]["contents"][1]["parts"] == [
        {"text": "Do you mean by units or by revenue?", "thoughtSignature": "sig-1"}]
    # OpenAI-compatible servers refuse earlier reasoning: none is sent.
    assert "reasoning_content" not in body["openai"]["messages"][2]


def test_a_single_turn_trial_is_sent_as_before(providers, vendor):
    run_one(providers, "anthropic", FIRST)
    (rec,) = _chats(vendor)
    assert [m["role"] for m in rec.json["messages"]] == ["user"]


def test_anthropic_thinking_signature_is_kept_for_the_next_turn(providers, vendor):
    stream = sse(
        {"type": "message_start", "message": {"id": "msg_sig01", "type": "message", "role": "assistant",
                                              "content": [], "model": "claude-sonnet-4-5", "stop_reason": None,
                                              "usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Units or revenue?"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Which measure?"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 12}},
        {"type": "message_stop"},
        event=True,
    )
    script_for(vendor, "anthropic", Script(replay=stream))
    _, result = run_one(providers, "anthropic", FIRST, GenerationSettings(reasoning_effort="low"))
    assert (result.text, result.reasoning_text) == ("Which measure?", "Units or revenue?")
    assert result.reasoning_signature == "EqQBCgIYAhIM"
    assert result.unknown_fields == {}


def test_gemini_thought_signature_is_kept_for_the_next_turn(providers, vendor):
    chunk = {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Which measure?", "thoughtSignature": "CiQBVKhc"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3}, "modelVersion": "gemini-2.5-flash"}
    script_for(vendor, "gemini", Script(replay=sse(chunk, nl="\r\n")))
    _, result = run_one(providers, "gemini", FIRST)
    assert result.text == "Which measure?"
    assert result.reasoning_signature == "CiQBVKhc"
