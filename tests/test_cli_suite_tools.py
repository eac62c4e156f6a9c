"""Suites with tool cases: a case carries tools, a tool choice, canned results and an
expected call; a run sends the tools, and `desk suite tool-use` gives each model's rates
(called when it should, valid arguments, schema-valid, expected call matched) with n, a
Wilson interval and the answers that failed."""

from __future__ import annotations

import json

from desk.cli import main
from tests.providers.test_tool_calls import TOOLS
from tests.providers.test_vendor_streams import sse
from tests.vendor_server import Script

WEATHER_TOOLS = json.loads(TOOLS.as_json())["tools"]
CASES = [
    {"id": "clear", "prompt": "Weather in Paris now?", "tools": WEATHER_TOOLS,
     "expected_call": {"name": "get_weather", "arguments": {"city": "Paris"}}, "tool_results": [{"temp_c": 14}]},
    {"id": "ambiguous", "prompt": "What's the weather like?", "tools": WEATHER_TOOLS, "expected_call": "none"},
    {"id": "no-tool", "prompt": "Translate 'hello' to French.", "tools": WEATHER_TOOLS, "tool_choice": "auto",
     "expected_call": "none"},
]


def openai_call(args: str) -> Script:
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-x", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta,
                                                                          "finish_reason": finish}]}
    return Script(replay=sse(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                    "function": {"name": "get_weather", "arguments": args}}]}),
                             chunk({}, "tool_calls"), done=True))


def anthropic_call(args: dict) -> Script:
    return Script(replay=sse(
        {"type": "message_start", "message": {"id": "msg_x", "model": "claude-sonnet-4-20250514",
                                              "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",
                                                              "partial_json": json.dumps(args)}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"}, event=True))


def _run(capsys, *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_tool_cases_run_and_score(srv, db, capsys, tmp_path):
    path = tmp_path / "tools.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    _run(capsys, "provider", "add", "an", "--kind", "anthropic", "--base-url", srv.base_url)
    _run(capsys, "suite", "import", str(path), "--name", "tools")
    # A calls right, then calls where it should ask, then answers; B gets the city's case wrong.
    srv.enqueue("gpt-4o-mini", openai_call('{"city": "Paris"}'), openai_call('{"city": "London"}'),
                Script(text_pieces=["Bonjour."]))
    srv.enqueue("claude-sonnet-4-20250514", anthropic_call({"city": "paris"}),
                Script(text_pieces=["Which city?"]), Script(text_pieces=["Bonjour."]))
    out = _run(capsys, "suite", "run", "tools", "-m", "oa/gpt-4o-mini", "-m", "an/claude-sonnet-4-20250514",
               "--concurrency", "1", "--json")
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    sent = [r.json for r in srv.requests if r.method == "POST"]
    assert all([t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
               for body in sent if "messages" in body and body.get("model") == "gpt-4o-mini")

    scores = {s["model"]: s for s in map(json.loads, _run(capsys, "suite", "tool-use", run_id, "--json").splitlines())}
    a, b = scores["oa/gpt-4o-mini"], scores["an/claude-sonnet-4-20250514"]
    assert [(a[m]["passed"], a[m]["n"]) for m in ("called_right", "valid_arguments", "schema_valid",
                                                    "expected_matched")] == [(2, 3), (2, 2), (2, 2), (1, 1)]
    assert [(b[m]["passed"], b[m]["n"]) for m in ("called_right", "valid_arguments", "schema_valid",
                                                    "expected_matched")] == [(3, 3), (1, 1), (1, 1), (0, 1)]
    assert len(a["called_right"]["failed"]) == 1 and 0 < a["called_right"]["low"] < 2 / 3 < a["called_right"]["high"]
    text = _run(capsys, "suite", "tool-use", run_id)
    assert "expected_matched  0/1 0%" in text and f"failed: response {b['expected_matched']['failed'][0]}" in text

    # The clear case's canned result goes back with --canned (the cell's trial carries it).
    from desk.store.db import open_store

    with open_store(db) as store:
        clear = next(r for r in store.responses.all() if r.model == "oa/gpt-4o-mini" and r.tool_calls
                     and json.loads(r.tool_calls[0].arguments) == {"city": "Paris"})
        assert store.trials.get(clear.trial_id).input.tools.canned == ('{"temp_c": 14}',)
    srv.enqueue("gpt-4o-mini", Script(text_pieces=["14 °C."]))
    answer = json.loads(_run(capsys, "give-results", clear.id, "--canned", "--json"))
    assert answer["text"] == "14 °C."
    assert srv.requests[-1].json["messages"][-1] == {"role": "tool", "tool_call_id": "call_1",
                                                     "content": '{"temp_c": 14}'}

    exported = tmp_path / "out.jsonl"
    _run(capsys, "suite", "export", "tools", "-o", str(exported))
    back = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert back[0]["expected_call"] == CASES[0]["expected_call"] and back[0]["tool_results"] == ['{"temp_c": 14}']
    assert back[1]["expected_call"] == "none" and back[2]["tool_choice"] == "auto"


def test_an_expected_call_of_no_offered_tool_is_refused(srv, db, capsys, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": "x", "tools": WEATHER_TOOLS, "expected_call": "get_stock"}) + "\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["suite", "import", str(path), "--name", "bad"]) == 2
    assert "expected_call names 'get_stock', which is not one of the case's tools" in capsys.readouterr().err
