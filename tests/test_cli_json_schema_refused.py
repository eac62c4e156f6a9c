"""`desk trial --schema` against a user's own llama-cpp-python server added as kind `openai`:
the server refuses json_schema (HTTP 500); the command says so once, with what would work,
instead of an internal server error retried twice."""

from __future__ import annotations

import json

from desk.cli import main

SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}


def test_the_command_says_the_server_does_not_support_json_schema(srv, db, capsys, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    srv.llama_cpp_python = True
    assert main(["provider", "add", "mine", "--kind", "openai", "--base-url", f"{srv.base_url}/v1"]) == 0
    capsys.readouterr()
    code = main(["trial", "-m", "mine/gemma", "-p", "Capital of France?", "--schema", str(schema)])
    out = capsys.readouterr()
    shown = out.out + out.err
    assert code != 0
    assert "this server does not support OpenAI's json_schema structured output" in shown
    assert "use desk's built-in model" in shown
    assert len([r for r in srv.requests if r.method == "POST"]) == 1
