"""Tool calls on all four protocols, over loopback: the tools go out in each vendor's format,
the calls come back assembled as each vendor streams them (arguments split across many
deltas, two calls in parallel), are checked against the tools' schemas and are stored."""

from __future__ import annotations

import json

import pytest

from desk.core.response import Status
from desk.core.tools import read_tools
from desk.core.trial import TrialInput
from tests.engine.conftest import run_one, script_for
from tests.providers.test_vendor_streams import sse
from tests.vendor_server import Script

TOOLS = read_tools(json.dumps([
    {"type": "function", "function": {
        "name": "get_weather", "description": "Weather now in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                        "unit": {"enum": ["C", "F"]}},
                       "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "get_time", "description": "Local time in a time zone",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"],
                       "additionalProperties": False}}},
]))
TRIAL = TrialInput("Weather and time in Paris?", tools=TOOLS)

WEATHER = ['{"ci', 'ty": "Pa', 'ris", "un', 'it": "C"}']  # one call's arguments, as many deltas
TIME = ['{"tz"', ': "Europe/', 'Paris"}']
EXPECTED = [("get_weather", {"city": "Paris", "unit": "C"}), ("get_time", {"tz": "Europe/Paris"})]


def openai_stream(first: list[str], second: list[str]) -> list[str]:
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-desk0tools01", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def call(index: int, cid: str, name: str, pieces: list[str]) -> list[dict]:
        head = {"tool_calls": [{"index": index, "id": cid, "type": "function",
                                "function": {"name": name, "arguments": ""}}]}
        return [chunk(head), *(chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
                               for p in pieces)]

    return sse(chunk({"role": "assistant", "content": None}), *call(0, "call_a", "get_weather", first),
               *call(1, "call_b", "get_time", second), chunk({}, "tool_calls"),
               {"id": "chatcmpl-desk0tools01", "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 9}},
               done=True)


def anthropic_stream(first: list[str], second: list[str]) -> list[str]:
    def call(index: int, cid: str, name: str, pieces: list[str]) -> list[dict]:
        return [{"type": "content_block_start", "index": index,
                 "content_block": {"type": "tool_use", "id": cid, "name": name, "input": {}}},
                *({"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": p}} for p in pieces),
                {"type": "content_block_stop", "index": index}]

    return sse(
        {"type": "message_start", "message": {"id": "msg_desk0tools01", "type": "message", "role": "assistant",
                                              "content": [], "model": "claude-sonnet-4-20250514",
                                              "usage": {"input_tokens": 20, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me check."}},
        {"type": "content_block_stop", "index": 0},
        *call(1, "toolu_a", "get_weather", first), *call(2, "toolu_b", "get_time", second),
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}},
        {"type": "message_stop"}, event=True)


def gemini_stream(first: list[str], second: list[str]) -> list[str]:
    parts = [{"functionCall": {"name": "get_weather", "args": json.loads("".join(first))}},
             {"functionCall": {"name": "get_time", "args": json.loads("".join(second))}}]
    return sse({"candidates": [{"content": {"parts": parts[:1], "role": "model"}, "index": 0}]},
               {"candidates": [{"content": {"parts": parts[1:], "role": "model"}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 9}}, nl="\r\n")


def ollama_stream(first: list[str], second: list[str]) -> list[str]:
    calls = [{"function": {"name": "get_weather", "arguments": json.loads("".join(first))}},
             {"function": {"name": "get_time", "arguments": json.loads("".join(second))}}]
    lines = [{"model": "llama3.2:latest", "message": {"role": "assistant", "content": "", "tool_calls": calls},
              "done": False},
             {"model": "llama3.2:latest", "message": {"role": "assistant", "content": ""}, "done": True,
              "done_reason": "stop", "prompt_eval_count": 20, "eval_count": 9}]
    return [json.dumps(line) + "\n" for line in lines]


STREAMS = {"openai": openai_stream, "anthropic": anthropic_stream, "gemini": gemini_stream,
           "ollama": ollama_stream}


@pytest.mark.parametrize("kind", sorted(STREAMS))
def test_parallel_calls_are_assembled_checked_and_stored(kind, providers, vendor):
    script_for(vendor, kind, Script(replay=STREAMS[kind](WEATHER, TIME)))
    trial_id, r = run_one(providers, kind, TRIAL)
    assert r.status == Status.OK, r.error_message
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == EXPECTED
    assert all(c.valid for c in r.tool_calls), [c.problems for c in r.tool_calls]
    assert r.unknown_fields == {}  # read, no longer "unknown content"
    assert r.ttft_ms is not None  # the first tool-call byte counts as the first token
    if kind in ("openai", "anthropic"):
        assert [c.id for c in r.tool_calls] == (["call_a", "call_b"] if kind == "openai" else ["toolu_a", "toolu_b"])
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.tool_calls == r.tool_calls
    kept = providers.trials.get(trial_id)
    assert kept is not None and kept.input.tools == TOOLS  # the trial keeps what it offered


def test_wrong_calls_are_flagged(providers, vendor):
    # Unparsable arguments, an invented argument, a missing required one, a tool that does not exist.
    stream = openai_stream(['{"city": "Paris"'], ['{"zone": "CET"}'])
    script_for(vendor, "openai", Script(replay=stream))
    _, r = run_one(providers, "openai", TRIAL)
    weather, time_call = r.tool_calls
    assert weather.problems and "not valid JSON" in weather.problems[0]
    assert any("unknown argument" in p or "zone" in p for p in time_call.problems)
    assert any("'tz' is a required property" in p for p in time_call.problems)
    script_for(vendor, "openai", Script(replay=openai_stream(['{"city": 3, "mood": "x"}'], ['{"tz": "UTC"}'])))
    _, r = run_one(providers, "openai", TRIAL)
    weather, time_call = r.tool_calls
    assert "unknown argument 'mood'" in weather.problems
    assert any("arguments.city" in p and "not of type 'string'" in p for p in weather.problems)
    assert time_call.valid
    elsewhere = TrialInput("x", tools=read_tools(json.dumps([{"name": "get_time", "parameters": {}}])))
    script_for(vendor, "openai", Script(replay=openai_stream(['{}'], ['{"tz": "UTC"}'])))
    _, r = run_one(providers, "openai", elsewhere)
    assert r.tool_calls[0].problems == ["no tool named 'get_weather'"]


def test_an_anthropic_call_without_arguments_has_an_empty_object(providers, vendor):
    script_for(vendor, "anthropic", Script(replay=anthropic_stream([], TIME)))
    _, r = run_one(providers, "anthropic", TRIAL)
    assert r.tool_calls[0].arguments == "{}"
    assert r.tool_calls[0].problems == ["arguments: 'city' is a required property"]


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini", "ollama"])
@pytest.mark.parametrize("choice", ["auto", "required", "none", "get_time"])
def test_tools_and_choice_go_out_in_each_vendors_format(kind, choice, providers, vendor):
    trial = TrialInput("Time in Paris?", tools=read_tools(TOOLS.as_json(), choice))
    run_one(providers, kind, trial)
    body = vendor.requests[-1].json
    weather_schema = dict(TOOLS.tools[0].parameters)
    if kind == "openai":
        assert body["tools"][0] == {"type": "function", "function": {
            "name": "get_weather", "description": "Weather now in a city", "parameters": weather_schema}}
        assert body["tool_choice"] == (choice if choice != "get_time"
                                       else {"type": "function", "function": {"name": "get_time"}})
    elif kind == "anthropic":
        assert body["tools"][0] == {"name": "get_weather", "description": "Weather now in a city",
                                    "input_schema": weather_schema}
        assert body["tool_choice"] == {"auto": {"type": "auto"}, "required": {"type": "any"},
                                       "none": {"type": "none"},
                                       "get_time": {"type": "tool", "name": "get_time"}}[choice]
    elif kind == "gemini":
        declared = body["tools"][0]["functionDeclarations"]
        assert declared[0] == {"name": "get_weather", "description": "Weather now in a city",
                               "parametersJsonSchema": weather_schema}
        config = body["toolConfig"]["functionCallingConfig"]
        assert config == {"auto": {"mode": "AUTO"}, "required": {"mode": "ANY"}, "none": {"mode": "NONE"},
                          "get_time": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}[choice]
    else:  # Ollama has no tool choice: "none" withholds the tools
        if choice == "none":
            assert "tools" not in body
        else:
            assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_calls_in_a_whole_body_are_read(kind, providers, vendor):
    if kind == "openai":
        body = {"id": "chatcmpl-x", "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_a", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                    {"id": "call_b", "type": "function",
                     "function": {"name": "get_time", "arguments": "{\"tz\": \"UTC\"}"}}]}}]}
    else:
        body = {"id": "msg_x", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
                "stop_reason": "tool_use", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {"tz": "UTC"}}]}
    script_for(vendor, kind, Script(replay=[json.dumps(body)]))
    _, r = run_one(providers, kind, TRIAL, stream=False)
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == [
        ("get_weather", {"city": "Paris"}), ("get_time", {"tz": "UTC"})]
    assert r.finish_reason == "tool_calls" and all(c.valid for c in r.tool_calls)


# --- the loopback vendor's own tool-call streams (Script.tool_calls) ---------------------------

CALLS = [("get_weather", WEATHER), ("get_time", TIME)]


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", sorted(STREAMS))
def test_the_vendor_servers_tool_calls_on_every_protocol(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(tool_calls=CALLS))
    _, r = run_one(providers, kind, TRIAL, stream=stream)
    assert r.status == Status.OK, r.error_message
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == EXPECTED
    assert all(c.valid for c in r.tool_calls)


@pytest.mark.parametrize("kind", sorted(STREAMS))
def test_malformed_arguments_are_flagged_on_every_protocol(kind, providers, vendor):
    script_for(vendor, kind, Script(tool_calls=[("get_weather", ['{"city": ', '"Paris"']), ("get_time", TIME)]))
    _, r = run_one(providers, kind, TRIAL)
    assert r.status == Status.OK, r.error_message
    weather, time_call = r.tool_calls
    assert weather.problems and "not valid JSON" in weather.problems[0], weather
    assert time_call.valid
    stored = providers.responses.get(r.id)
    assert stored is not None and stored.tool_calls[0].problems == weather.problems
