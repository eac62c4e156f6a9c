"""Replying to answers (issue 16): the model gets the whole conversation, its answer is
stored as the next turn linked to the one it continues, and the conversation can be
rebuilt from the store. Against the loopback vendor, which records what it received."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.response import Status
from desk.core.trial import GenerationSettings, TrialInput, Variant
from desk.engine.errors import EngineError
from tests.engine.conftest import KINDS, MODELS, engine_for, ref, script_for
from tests.providers.test_vendor_streams import sse
from tests.vendor_server import Script

PROMPT = TrialInput("Summarise the report.", "Answer in one line.")


def _chats(vendor) -> list:
    return [rec for rec in vendor.requests if rec.method == "POST"]


def _texts(rec) -> list[tuple[str, str]]:
    return [(m["role"], m["text"]) for m in rec.messages]


def _run(coro_fn):
    return asyncio.run(coro_fn())


def test_a_reply_sends_the_conversation_and_stores_the_next_turn(providers, vendor):
    script_for(vendor, "openai", Script(text_pieces=["Which report?"]), Script(text_pieces=["Sales is up."]),
               Script(text_pieces=["By 4%."]))

    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(PROMPT, [ref("openai")])).responses[0]
            second = await engine.conversations.reply(first.id, "The Q3 sales report.")
            third = await engine.conversations.reply(second.id, "By how much?")
            return first, second, third, engine.conversations.conversation(third.id)

    first, second, third, conversation = _run(go)
    assert (second.status, second.text, third.text) == (Status.OK, "Sales is up.", "By 4%.")
    assert second.trial_id == third.trial_id == first.trial_id
    sent = _chats(vendor)
    assert _texts(sent[2]) == [
        ("system", "Answer in one line."), ("user", "Summarise the report."),
        ("assistant", "Which report?"), ("user", "The Q3 sales report."),
        ("assistant", "Sales is up."), ("user", "By how much?"),
    ]
    # Rebuilt from the store: every answer, the replies between them, and their links.
    assert [a.id for a in conversation.answers] == [first.id, second.id, third.id]
    assert conversation.replies == ("The Q3 sales report.", "By how much?")
    link = providers.turns.get(third.id)
    assert (link.parent_response_id, link.turn, link.reply) == (second.id, 3, "By how much?")
    assert providers.turns.get(first.id) is None
    stored = providers.responses.get(third.id)
    assert stored.text == "By 4%." and stored.usage.output_tokens is not None


def test_reply_to_all_continues_each_models_own_conversation(providers, vendor):
    for kind in KINDS:
        script_for(vendor, kind, Script(text_pieces=[f"{kind} asks: which?"]), Script(text_pieces=[f"{kind} answers."]))

    async def go():
        async with engine_for(providers) as engine:
            outcome = await engine.trials.run(PROMPT, [ref(k) for k in KINDS])
            replies = await engine.conversations.reply_all(outcome.trial_id, "The annual one.")
            return outcome, replies, engine.conversations.latest(outcome.trial_id)

    outcome, replies, latest = _run(go)
    assert [r.text for r in replies] == [f"{k} answers." for k in KINDS]
    assert [r.id for r in latest] == [r.id for r in replies]
    seconds = {rec.protocol: rec for rec in _chats(vendor)[len(KINDS):]}
    for kind in KINDS:
        assert seconds[kind].model.endswith(MODELS[kind].removeprefix("models/"))
        assert _texts(seconds[kind])[2:] == [("assistant", f"{kind} asks: which?"), ("user", "The annual one.")]
    for first, second in zip(outcome.responses, replies, strict=True):
        assert providers.turns.get(second.id).parent_response_id == first.id


def test_a_reply_keeps_the_answers_settings_and_system_prompt_variant(providers, vendor):
    async def go():
        async with engine_for(providers) as engine:
            outcome = await engine.trials.run(PROMPT, [ref("ollama")], GenerationSettings(temperature=0.3, max_tokens=50),
                                              variants=[Variant("terse", "Be terse."), Variant("kind", "Be kind.")])
            kind_answer = outcome.responses[1]
            await engine.conversations.reply(kind_answer.id, "Go on.")

    _run(go)
    last = _chats(vendor)[-1]
    assert last.json["options"] == {"temperature": 0.3, "num_predict": 50}
    assert _texts(last)[0] == ("system", "Be kind.")


def test_the_thinking_signature_goes_back_from_the_store(providers, vendor):
    thinking = sse(
        {"type": "message_start", "message": {"id": "msg_t1", "type": "message", "role": "assistant", "content": [],
                                              "model": "claude-sonnet-4-5", "usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Which report?"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBsig"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Which one?"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
        event=True,
    )
    script_for(vendor, "anthropic", Script(replay=thinking))

    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(PROMPT, [ref("anthropic")], GenerationSettings(reasoning_effort="low"))).responses[0]
        # A new engine: the signature comes from the store, not from memory.
        async with engine_for(providers) as engine:
            await engine.conversations.reply(first.id, "The Q3 one.")

    _run(go)
    assistant = _chats(vendor)[1].json["messages"][1]
    assert assistant == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Which report?", "signature": "EqQBsig"},
        {"type": "text", "text": "Which one?"}]}
    assert _chats(vendor)[1].json["thinking"]["type"] == "enabled"


@pytest.mark.parametrize("reply, why", [("  ", "the reply is empty"), ("x" * 5_000_001, "the reply is 5,000,001")])
def test_a_bad_reply_sends_nothing(reply, why, providers, vendor):
    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(PROMPT, [ref("openai")])).responses[0]
            with pytest.raises(EngineError, match=why):
                await engine.conversations.reply(first.id, reply)

    _run(go)
    assert len(_chats(vendor)) == 1


def test_a_failed_answer_cannot_be_replied_to_and_reply_to_all_skips_it(providers, vendor):
    script_for(vendor, "openai", Script(status=400, error_message="bad"))

    async def go():
        async with engine_for(providers) as engine:
            outcome = await engine.trials.run(PROMPT, [ref("openai"), ref("gemini")])
            failed = outcome.responses[0]
            with pytest.raises(EngineError, match="failed: there is nothing to reply to"):
                await engine.conversations.reply(failed.id, "Go on.")
            return await engine.conversations.reply_all(outcome.trial_id, "Go on.")

    replies = _run(go)
    assert [r.model for r in replies] == [f"gemini/{MODELS['gemini']}"]
    assert [rec.protocol for rec in _chats(vendor)] == ["openai", "gemini", "gemini"]


def test_exports_carry_turn_and_parent_response_id(providers, vendor):
    from desk.engine.export import rated_records, table_rows

    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(PROMPT, [ref("openai")])).responses[0]
            second = await engine.conversations.reply(first.id, "Go on.")
            return first, second

    first, second = _run(go)
    for r in (first, second):
        providers.ratings.save(r.id, "ann", {"outcome": "success", "uncertainty": "asked_clarifying",
                                            "constraints": "followed", "quality": 4})
    _, rows = table_rows(providers)
    assert {(row["response_id"], row["turn"], row["parent_response_id"]) for row in rows} == {
        (first.id, 1, None), (second.id, 2, first.id)}
    records = {rec["response"]["id"]: rec["response"] for rec in rated_records(providers)}
    assert (records[second.id]["turn"], records[second.id]["parent_response_id"]) == (2, first.id)
    assert (records[first.id]["turn"], records[first.id]["parent_response_id"]) == (1, None)


def test_cost_per_successful_task_counts_every_turn_once(providers, vendor):
    from desk.core.pricing import Price

    providers.prices.set("openai", MODELS["openai"], Price(1.0, 2.0))  # $ per million tokens

    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(PROMPT, [ref("openai")])).responses[0]
            second = await engine.conversations.reply(first.id, "Go on.")
            return first, second

    first, second = _run(go)
    for r in (first, second):
        providers.ratings.save(r.id, "ann", {"outcome": "success", "uncertainty": "confident_correct",
                                             "constraints": "na", "quality": 4})

    async def score():
        async with engine_for(providers) as engine:
            return engine.ratings.scorecard()

    (s,) = _run(score)
    both = first.cost_usd + second.cost_usd
    assert first.cost_usd > 0 and second.cost_usd > 0
    # One task: both turns' cost, one success (the rate still counts each rated answer).
    assert s.cost_per_success_usd == pytest.approx(both)
    assert s.successes == 2 and s.total_cost_usd == pytest.approx(both)
