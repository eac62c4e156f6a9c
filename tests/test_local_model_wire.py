"""What desk sends the built-in model's server, without the model: llama-cpp-python's server
refuses OpenAI's `json_schema` response format (HTTP 500, "Input should be 'text' or
'json_object'"; tests/test_local_model_structured.py meets the real one), so the built-in
provider asks for structured output as `{"type": "json_object", "schema": ...}`; any other
OpenAI-compatible provider still sends `json_schema`."""

from __future__ import annotations

import asyncio

from desk.core.provider import ProviderConfig
from desk.core.response import Status
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine import local_model
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.vendor_server import VendorServer

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}


def test_the_built_in_provider_asks_for_json_the_way_llama_cpp_takes_it(tmp_path):
    store = open_store(tmp_path / "wire.db")

    async def ask(vendor: VendorServer) -> None:
        async with Engine(store) as engine:
            builtin = engine.providers.register_local(vendor.port)
            engine.providers.save_provider(ProviderConfig("other", "openai", vendor.base_url + "/v1"), new=True)
            other = ModelRef("other", local_model.MODEL_ALIAS)
            for ref in (builtin, other):
                outcome = await engine.trials.run(TrialInput("Capital of France?"), [ref],
                                                  GenerationSettings(response_schema=SCHEMA))
                assert outcome.responses[0].status == Status.OK, outcome.responses[0].error_message

    with VendorServer() as vendor:
        try:
            asyncio.run(ask(vendor))
        finally:
            store.close()
        builtin_body, other_body = [r.json for r in vendor.requests if r.method == "POST" and r.protocol]
    assert builtin_body["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert builtin_body["max_tokens"] == local_model.DEFAULT_MAX_TOKENS  # still the built-in model's cap
    assert other_body["response_format"]["type"] == "json_schema"
    assert other_body["response_format"]["json_schema"]["schema"] == SCHEMA
