"""Issue 17: the built-in model (desk[local], Gemma 3 270M behind llama-cpp-python's
OpenAI-compatible server) gets a structured-output request. A 270M model may or may not
produce JSON that fits the schema: the test asks that the answer is stored with the schema it
was asked for and that desk's check says which (parsed and valid, or where it failed), never
which one. Streamed, llama.cpp sends no usage (it ignores `include_usage`): desk stores the
tokens as unknown (None), not 0; whole, the server counts them and desk stores its counts."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.response import Status
from desk.core.tools import check_structured
from desk.core.trial import GenerationSettings, TrialInput
from desk.engine import local_model
from desk.engine.session import Engine
from desk.store.db import open_store

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


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_structured_request_to_the_built_in_model_is_stored_and_checked(served, tmp_path, stream):
    store = open_store(tmp_path / "structured.db")

    async def ask():
        async with Engine(store, stream=stream) as engine:
            ref = engine.providers.register_local(served.port)
            outcome = await engine.trials.run(TrialInput(PROMPT), [ref],
                                              GenerationSettings(max_tokens=64, response_schema=SCHEMA))
            return engine.trials.responses.get(outcome.responses[0].id)

    try:
        answer = asyncio.run(ask())
    finally:
        store.close()
    assert answer is not None, "the answer was not stored"
    # The server took the request (a format it refused would be an error here, not a verdict).
    assert answer.status == Status.OK, (answer.error_kind, answer.error_message, served.log_tail())
    assert answer.settings["response_schema"] == SCHEMA  # what was asked is on the record
    problems = check_structured(answer.text, answer.settings["response_schema"])
    assert all(isinstance(p, str) and p for p in problems)  # empty: parsed and valid; else where it failed
    if stream:  # llama.cpp ignores stream_options.include_usage: unknown, never 0
        assert answer.usage.input_tokens is None and answer.usage.output_tokens is None
    else:
        assert answer.usage.input_tokens and answer.usage.output_tokens
    print(f"built-in model, structured ({'streamed' if stream else 'whole'}, {answer.total_ms:.0f} ms): "
          + ("parsed and valid" if not problems else "; ".join(problems)) + f" — {answer.text!r}")
