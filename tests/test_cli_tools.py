"""`desk trial --tools` and `desk show`: the calls each model made, with desk's verdict,
beside the text, in the table output and the --json record."""

from __future__ import annotations

import json

from desk.cli import main
from tests.providers.test_tool_calls import TIME, TOOLS, WEATHER, anthropic_stream, openai_stream
from tests.vendor_server import Script


def _run(capsys, *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_two_models_tool_calls_side_by_side(srv, db, capsys, tmp_path):
    tools = tmp_path / "tools.json"
    tools.write_text(TOOLS.as_json(), encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    _run(capsys, "provider", "add", "an", "--kind", "anthropic", "--base-url", srv.base_url)
    srv.enqueue("gpt-4o-mini", Script(replay=openai_stream(WEATHER, ['{"tz": 5}'])))
    srv.enqueue("claude-sonnet-4-20250514", Script(replay=anthropic_stream(WEATHER, TIME)))
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-m", "an/claude-sonnet-4-20250514", "-p", "Paris?",
               "--tools", str(tools), "--tool-choice", "required", "--json")
    recs = [json.loads(line) for line in out.splitlines()]
    assert [[c["name"] for c in r["tool_calls"]] for r in recs] == [["get_weather", "get_time"]] * 2
    assert recs[0]["tool_calls"][1]["problems"] == ["arguments.tz: 5 is not of type 'string'"]
    assert srv.requests[-1].json["tool_choice"] == {"type": "any"}

    shown = _run(capsys, "show", recs[0]["trial_id"])
    assert "tools: get_weather, get_time (choice: required)" in shown
    assert "[call 1: get_weather · valid]" in shown
    assert "[call 2: get_time · INVALID: arguments.tz: 5 is not of type 'string']" in shown
    assert '  {\n    "city": "Paris",\n    "unit": "C"\n  }' in shown  # pretty-printed


def test_bad_tools_file_is_refused_before_sending(srv, db, capsys, tmp_path):
    bad = tmp_path / "tools.json"
    bad.write_text('[{"name": "f", "parameters": {"type": "nope"}}]', encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-p", "x", "--tools", str(bad), code=2)
    assert "not a valid JSON schema" in out and not srv.requests
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-p", "x", "--tools", str(bad), "--tool-choice", "g", code=2)
    assert "not a valid JSON schema" in out


def test_give_results_continues_the_answer(srv, db, capsys, tmp_path):
    tools = tmp_path / "tools.json"
    tools.write_text(TOOLS.as_json(), encoding="utf-8")
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"temp_c": 14}, "16:05"]), encoding="utf-8")
    _run(capsys, "provider", "add", "an", "--kind", "anthropic", "--base-url", srv.base_url)
    srv.enqueue("claude-sonnet-4-20250514", Script(replay=anthropic_stream(WEATHER, TIME)),
                Script(text_pieces=["14 °C at 16:05."]))
    out = _run(capsys, "trial", "-m", "an/claude-sonnet-4-20250514", "-p", "Paris?", "--tools", str(tools), "--json")
    first = json.loads(out)
    out = _run(capsys, "give-results", first["response_id"], "--results-file", str(results), "--json")
    answer = json.loads(out)
    assert answer["text"] == "14 °C at 16:05." and answer["trial_id"] != first["trial_id"]
    sent = srv.requests[-1].json["messages"][-1]["content"]
    assert [r["content"] for r in sent] == ['{"temp_c": 14}', "16:05"]
    out = _run(capsys, "give-results", first["response_id"], "-r", "one", code=2)
    assert "2 call(s) need 2 result(s), got 1" in out


def test_calls_and_tools_are_exported(srv, db, capsys, tmp_path):
    from desk.store.db import open_store

    tools = tmp_path / "tools.json"
    tools.write_text(TOOLS.as_json(), encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    srv.enqueue("gpt-4o-mini", Script(replay=openai_stream(['{"city": "Paris"'], TIME)))
    rec = json.loads(_run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-p", "Paris?", "--tools", str(tools), "--json"))
    with open_store(db) as store:
        store.ratings.save(rec["response_id"], "ann", {"outcome": "failure", "uncertainty": "confident_correct",
                                                      "constraints": "na", "quality": 2})
    _run(capsys, "export", "--format", "jsonl", "-o", str(tmp_path / "out.jsonl"))
    (line,) = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    calls = line["response"]["tool_calls"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert calls[0]["arguments"] == '{"city": "Paris"' and "not valid JSON" in calls[0]["problems"][0]
    assert calls[1]["problems"] == []
    offered = json.loads(line["trial"]["tools"])  # JSON text: schemas differ from trial to trial
    assert [t["function"]["name"] for t in offered["tools"]] == ["get_weather", "get_time"]
