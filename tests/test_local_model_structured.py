"""Issue 17: the built-in model (desk[local], Gemma 3 270M behind llama-cpp-python's
OpenAI-compatible server) gets a structured-output request, `desk trial --schema`. A 270M
model may or may not produce JSON that fits the schema: the test asks that the answer is
stored with the schema it was asked for and that desk's verdict says which (parsed and
valid, or where it failed), never which one. Streamed, llama.cpp sends no usage (it ignores
`include_usage`): desk reports the tokens as unknown (null), not 0; whole, the server counts
them and desk reports its counts."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.engine import local_model
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.cli_helpers import cli_env, desk

pytestmark = pytest.mark.skipif(local_model.missing() is not None, reason="the desk[local] extra is not installed")

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
PROMPT = "Name the capital of France and its country, as JSON with the keys city and country."


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One llama.cpp server for the module (loading the model is the slow part)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DESK_MODEL_CACHE", str(tmp_path_factory.mktemp("cache")))
    server = local_model.start(0)  # 0: any free port on 127.0.0.1
    try:
        asyncio.run(local_model.wait_ready(server, timeout=300))
        yield server
    finally:
        server.stop()
        mp.undo()
    assert not server.alive()


def _register(db, port: int) -> str:
    """The built-in provider in the store at `db`, pointed at the running server."""
    store = open_store(db)
    try:
        return str(Engine(store).providers.register_local(port))
    finally:
        store.close()


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_structured_request_to_the_built_in_model_is_stored_and_checked(served, tmp_path, db, stream):
    model = _register(db, served.port)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    args = ["trial", "-m", model, "-p", PROMPT, "--schema", str(schema), "--max-tokens", "64", "--json"]
    r = desk(*args, *([] if stream else ["--no-stream"]), db=db, env=cli_env(db), timeout=180)
    # The server took the request (a format it refused would be an error here, not a verdict).
    assert r.returncode == 0, f"{r}\n{served.log_tail()}"
    [record] = r.json_lines()
    assert record["status"] == "ok", record
    verdict = record["structured_output"]  # desk's verdict, whichever it is
    assert set(verdict) == {"parsed", "valid", "parse_error", "errors"}, verdict
    assert verdict["valid"] == (verdict["parsed"] and not verdict["errors"])
    assert verdict["parsed"] or verdict["parse_error"]  # not JSON: it says why

    shown = desk("show", record["trial_id"], "--json", db=db, env=cli_env(db))
    [stored] = shown.json_lines()  # stored, with the schema it was asked for and the same verdict
    assert stored["text"] == record["text"] and stored["settings"]["response_schema"] == SCHEMA
    assert stored["structured_output"] == verdict
    if stream:  # llama.cpp ignores stream_options.include_usage: unknown, never 0
        assert record["input_tokens"] is None and record["output_tokens"] is None
    else:
        assert record["input_tokens"] and record["output_tokens"]
    print(f"built-in model, structured ({'streamed' if stream else 'whole'}, {record['total_ms']:.0f} ms): "
          f"{verdict} — {record['text']!r}")
