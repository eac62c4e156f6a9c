"""A user's own llama-cpp-python server added as provider kind `openai`: its request
validation refuses OpenAI's json_schema response format with HTTP 500 (the vendor server
answers as llama_cpp/server does when `llama_cpp_python` is set). desk does not retry what
cannot succeed, and says what would work instead of "internal server error"."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Status
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine import local_model
from desk.engine.session import Engine
from tests.engine.conftest import run_one, script_for
from tests.vendor_server import Script

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}
STRUCTURED = GenerationSettings(response_schema=SCHEMA)


def posts(vendor) -> list:
    return [r for r in vendor.requests if r.method == "POST"]


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_refused_json_schema_is_not_retried_and_says_why(providers, vendor, stream):
    vendor.llama_cpp_python = True
    _, r = run_one(providers, "openai", TrialInput("Capital of France?"), STRUCTURED, stream=stream)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.BAD_REQUEST, 500)
    assert len(r.attempts) == 1 and r.retries == 0
    assert len(posts(vendor)) == 1  # the default policy would have sent it three times
    assert posts(vendor)[0].json["response_format"]["type"] == "json_schema"
    message = r.error_message
    assert message.startswith("this server does not support OpenAI's json_schema structured output")
    assert "llama.cpp's llama-server, vLLM, or Ollama" in message and "built-in model" in message
    assert message.endswith("the server said: response_format.type: Input should be 'text' or 'json_object'")


def test_the_same_server_answers_without_a_schema_and_other_500s_are_still_retried(providers, vendor):
    vendor.llama_cpp_python = True
    _, plain = run_one(providers, "openai", TrialInput("Capital of France?"))
    assert plain.status == Status.OK and len(posts(vendor)) == 1
    vendor.clear()
    script_for(vendor, "openai", Script(status=500, error_message="CUDA error: out of memory",
                                        error_type="internal_server_error"), Script())
    _, r = run_one(providers, "openai", TrialInput("Capital of France?"))
    assert r.status == Status.OK and r.retries == 1  # a server error that may pass is still retried
    assert [a.error_kind for a in r.attempts] == [ErrorKind.SERVER_ERROR, None]


def test_the_built_in_provider_on_that_server_gets_its_json(store, vendor):
    """The built-in model's provider asks llama-cpp-python with json_object + schema, which
    its validation takes, beside an `openai` provider on the same server that is refused."""
    vendor.llama_cpp_python = True

    async def ask() -> dict[str, tuple[Status, int]]:
        async with Engine(store) as engine:
            builtin = engine.providers.register_local(vendor.port)
            engine.providers.save_provider(ProviderConfig("own", "openai", vendor.base_url + "/v1"), new=True)
            got = {}
            for ref in (builtin, ModelRef("own", local_model.MODEL_ALIAS)):
                outcome = await engine.trials.run(TrialInput("Capital of France?"), [ref], STRUCTURED)
                got[ref.provider] = (outcome.responses[0].status, len(outcome.responses[0].attempts))
            return got

    got = asyncio.run(ask())
    assert got == {local_model.LOCAL_PROVIDER: (Status.OK, 1), "own": (Status.ERROR, 1)}
