"""*Give results*: the results the person gives for an answer's tool calls go back to the
same model in its vendor's format, after its calls, and the model continues as a new turn."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.response import Status
from desk.engine.errors import EngineError
from tests.engine.conftest import engine_for, run_one, script_for
from tests.providers.test_tool_calls import STREAMS, TIME, TRIAL, WEATHER
from tests.vendor_server import Script

RESULTS = ['{"temp_c": 14}', "16:05"]


def give(store, response_id: str, results: list[str]):
    async def go():
        async with engine_for(store) as engine:
            return await engine.trials.give_results(response_id, results)

    return asyncio.run(go())


def sent_after_the_prompt(kind: str, body: dict) -> list[dict]:
    if kind == "gemini":
        return body["contents"][1:]
    return body["messages"][1:]


EXPECTED = {
    "openai": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "".join(WEATHER)}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "".join(TIME)}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": RESULTS[0]},
        {"role": "tool", "tool_call_id": "call_b", "content": RESULTS[1]}],
    "anthropic": [
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris", "unit": "C"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {"tz": "Europe/Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_a", "content": RESULTS[0]},
                                     {"type": "tool_result", "tool_use_id": "toolu_b", "content": RESULTS[1]}]}],
    "gemini": [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "C"}}},
                                    {"functionCall": {"name": "get_time", "args": {"tz": "Europe/Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 14}}},
                                   {"functionResponse": {"name": "get_time", "response": {"result": "16:05"}}}]}],
    "ollama": [
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}},
            {"function": {"name": "get_time", "arguments": {"tz": "Europe/Paris"}}}]},
        {"role": "tool", "content": RESULTS[0], "tool_name": "get_weather"},
        {"role": "tool", "content": RESULTS[1], "tool_name": "get_time"}],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_results_go_back_in_each_vendors_format(kind, providers, vendor):
    script_for(vendor, kind, Script(replay=STREAMS[kind](WEATHER, TIME)), Script(text_pieces=["It is 14 °C."]))
    trial_id, first = run_one(providers, kind, TRIAL)
    outcome = give(providers, first.id, RESULTS)
    body = vendor.requests[-1].json
    assert sent_after_the_prompt(kind, body) == EXPECTED[kind]
    assert "tools" in body  # the tools stay offered: the loop may go on
    (answer,) = outcome.responses
    assert answer.status == Status.OK and answer.text == "It is 14 °C." and answer.model == first.model
    stored = providers.trials.get(outcome.trial_id)
    assert stored is not None and stored.parent_trial_id == trial_id
    assert [r.results for r in stored.input.tool_rounds] == [tuple(RESULTS)]


def test_results_must_match_the_calls(providers, vendor):
    script_for(vendor, "openai", Script(replay=STREAMS["openai"](WEATHER, TIME)))
    _, first = run_one(providers, "openai", TRIAL)
    with pytest.raises(EngineError, match="2 call"):
        give(providers, first.id, ["only one"])
    _, plain = run_one(providers, "openai")
    with pytest.raises(EngineError, match="no tool call"):
        give(providers, plain.id, [])
    n = len(vendor.requests)
    assert n == 2  # nothing more was sent


def test_a_second_round_carries_the_first(providers, vendor):
    script_for(vendor, "openai", Script(replay=STREAMS["openai"](WEATHER, TIME)),
               Script(replay=STREAMS["openai"](['{"city": "Lyon"}'], ['{"tz": "UTC"}'])), Script())
    _, first = run_one(providers, "openai", TRIAL)
    second = give(providers, first.id, RESULTS).responses[0]
    assert [c.name for c in second.tool_calls] == ["get_weather", "get_time"]
    give(providers, second.id, ["a", "b"])
    roles = [m["role"] for m in vendor.requests[-1].json["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant", "tool", "tool"]
    assert json.loads(vendor.requests[-1].json["messages"][4]["tool_calls"][0]["function"]["arguments"]) == {
        "city": "Lyon"}
