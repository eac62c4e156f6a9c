"""`desk trial --schema` and `desk show`: each answer asked for structured output says
whether it parsed and validated, and where it failed, in the table and the --json record."""

from __future__ import annotations

import json

from desk.cli import main
from tests.vendor_server import Script

SCHEMA = {"type": "object", "required": ["city", "temp_c"], "additionalProperties": False,
          "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}}}


def _run(capsys, *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_each_answer_says_whether_it_fits_the_schema(srv, db, capsys, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    _run(capsys, "provider", "add", "an", "--kind", "anthropic", "--base-url", srv.base_url)
    srv.enqueue("gpt-4o-mini", Script(text_pieces=['{"city": "Oslo", ', '"temp_c": "cold"}']))
    srv.enqueue("claude-sonnet-4-20250514", Script(text_pieces=['{"city": "Oslo", "temp_c": 4}']))
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-m", "an/claude-sonnet-4-20250514", "-p", "Oslo?",
               "--schema", str(schema), "--json")
    recs = {r["model"]: r for r in map(json.loads, out.splitlines())}
    assert recs["oa/gpt-4o-mini"]["structured_output"] == {
        "parsed": True, "valid": False, "parse_error": None,
        "errors": [{"path": "answer.temp_c", "message": "'cold' is not of type 'number'"}]}
    assert recs["an/claude-sonnet-4-20250514"]["structured_output"]["valid"] is True
    sent = {r.protocol: r.json for r in srv.requests if r.method == "POST"}
    assert sent["openai"]["response_format"]["json_schema"]["schema"] == SCHEMA  # asked on the wire
    assert sent["anthropic"]["tool_choice"]["type"] == "tool"

    trial_id = recs["oa/gpt-4o-mini"]["trial_id"]
    shown = _run(capsys, "show", trial_id)
    assert "[structured output: parsed, INVALID at answer.temp_c: 'cold' is not of type 'number']" in shown
    assert "[structured output: parsed, valid against the schema]" in shown
    again = {r["model"]: r for r in map(json.loads, _run(capsys, "show", trial_id, "--json").splitlines())}
    assert again["oa/gpt-4o-mini"]["structured_output"] == recs["oa/gpt-4o-mini"]["structured_output"]


def test_an_answer_that_is_not_json_says_so(srv, db, capsys, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    srv.enqueue("gpt-4o-mini", Script(text_pieces=["It is 4 °C in Oslo."]))
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-p", "Oslo?", "--schema", str(schema))
    assert "[structured output: NOT JSON (Expecting value: line 1 column 1 (char 0))]" in out
    plain = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-p", "Oslo?", "--json")
    assert json.loads(plain)["structured_output"] is None  # none asked: no verdict


def test_a_bad_schema_is_refused_before_sending(srv, db, capsys, tmp_path):
    bad = tmp_path / "schema.json"
    bad.write_text('{"type": "banana"}', encoding="utf-8")
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-p", "x", "--schema", str(bad), code=2)
    assert "not a valid JSON schema" in out and not srv.requests
