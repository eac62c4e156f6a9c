"""desk.core.tools: reading tool files in the formats people have, assembling streamed
calls, and checking calls and structured answers against JSON schemas."""

from __future__ import annotations

import json

import pytest

from desk.core.tools import (
    CallAssembler,
    ToolCall,
    ToolsError,
    calls_as_json,
    calls_from_json,
    check_call,
    check_structured,
    read_tools,
)

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_openai_format_plain_and_anthropic_format_read_alike():
    openai = read_tools(json.dumps([{"type": "function", "function": {"name": "w", "description": "d",
                                                                      "parameters": SCHEMA}}]))
    plain = read_tools(json.dumps({"name": "w", "description": "d", "parameters": SCHEMA}))
    anthropic = read_tools(json.dumps([{"name": "w", "description": "d", "input_schema": SCHEMA}]))
    assert openai == plain == anthropic
    assert read_tools(openai.as_json()) == openai  # what a trial stores reads back the same


def test_tool_choice_from_the_file_or_overridden():
    text = json.dumps({"tools": [{"name": "w", "parameters": SCHEMA}],
                       "tool_choice": {"type": "function", "function": {"name": "w"}}})
    assert read_tools(text).forced == "w"
    assert read_tools(text, "none").choice == "none"
    with pytest.raises(ToolsError, match="tool choice 'x'"):
        read_tools(text, "x")


@pytest.mark.parametrize(("text", "said"), [
    ("not json", "not valid JSON"), ("[]", "a JSON list"), ('[{"description": "x"}]', "has no name"),
    ('[{"name": "a"}, {"name": "a"}]', "same name"),
    ('[{"name": "a", "parameters": {"type": 5}}]', "not a valid JSON schema"),
])
def test_unusable_tools_are_refused_saying_why(text, said):
    with pytest.raises(ToolsError, match=said):
        read_tools(text)


def test_streamed_pieces_assemble_in_the_order_calls_began():
    calls = CallAssembler()
    calls.feed(3, "b", "second", '{"x"')
    calls.feed(1, "a", "first", "")
    calls.feed(3, None, None, ": 1}")
    calls.feed(1, None, None, "{}")
    assert [(c.id, c.name, c.arguments) for c in calls.calls()] == [("b", "second", '{"x": 1}'), ("a", "first", "{}")]


def test_a_call_is_checked_by_the_schema_library():
    tools = read_tools(json.dumps([{"name": "w", "parameters": SCHEMA}]))
    assert check_call(ToolCall("w", '{"city": "Oslo"}'), tools) == []
    assert check_call(ToolCall("w", ""), tools) == ["arguments: 'city' is a required property"]
    assert check_call(ToolCall("w", '{"city": "Oslo", "when": 1}'), tools) == ["unknown argument 'when'"]
    assert check_call(ToolCall("w", "[1]"), tools) == ["arguments: [1] is not of type 'object'"]
    assert check_call(ToolCall("v", "{}"), tools) == ["no tool named 'v'"]
    closed = read_tools(json.dumps([{"name": "w", "parameters": {**SCHEMA, "additionalProperties": False}}]))
    problems = check_call(ToolCall("w", '{"city": "Oslo", "when": 1}'), closed)
    assert len(problems) == 1 and "'when' was unexpected" in problems[0]  # said once, by the schema


def test_structured_answers_are_checked():
    assert check_structured('{"city": "Oslo"}', SCHEMA) == []
    assert check_structured('{"city": 1}', SCHEMA) == ["answer.city: 1 is not of type 'string'"]
    fenced = check_structured('```json\n{"city": "Oslo"}\n```', SCHEMA)
    assert len(fenced) == 1 and fenced[0].startswith("the answer is not JSON") and "code fence" in fenced[0]


def test_calls_round_trip_through_their_stored_json():
    calls = [ToolCall("w", '{"city": "Oslo"', "c1", ["the arguments are not valid JSON (...)"])]
    assert calls_from_json(calls_as_json(calls)) == calls
    assert calls_from_json("[]") == []
