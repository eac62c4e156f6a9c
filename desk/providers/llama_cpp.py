"""llama-cpp-python's OpenAI-compatible server, which serves the built-in model
(desk.engine.local_model): OpenAI's wire format in all but structured output. That server
refuses OpenAI's `json_schema` response format (HTTP 500: "Input should be 'text' or
'json_object'") and takes the schema as `{"type": "json_object", "schema": ...}` instead,
which it turns into a grammar that constrains the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desk.providers.openai import OpenAIProvider


class LlamaCppProvider(OpenAIProvider):
    def response_format(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "json_object", "schema": dict(schema)}
