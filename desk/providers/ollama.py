"""Ollama's native API: /api/chat streaming NDJSON with prompt_eval_count / eval_count."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from desk.core.response import ErrorKind
from desk.core.trial import GenerationSettings, TrialInput, user_text_parts
from desk.providers.base import (
    Finished,
    Provider,
    ProviderError,
    ReasoningDelta,
    StreamDecoder,
    StreamEvent,
    TextDelta,
    UsageReport,
    loads,
    protocol_error,
    unknown_fields,
    usage_from,
)
from desk.providers.framing import NDJSONDecoder

DONE_REASONS = {"stop": "stop", "length": "length"}
# The fields of a message desk reads; any other with a value (tool_calls, images...) is
# reported as unknown content.
KNOWN_MESSAGE_FIELDS = ("role", "content", "thinking")


class OllamaProvider(Provider):
    kind = "ollama"
    default_base_url = "http://localhost:11434"
    added_paths = ("/api", "/v1")
    list_priced = False
    stream_content_types = ("application/x-ndjson", "application/jsonl")

    def _headers(self) -> dict[str, str]:
        headers = {"accept-encoding": "identity"}
        if self.api_key:  # Ollama itself has no auth; a reverse proxy in front may
            headers["authorization"] = f"Bearer {self.api_key}"
        headers.update(self.config.headers)
        return headers

    def build_request(
        self, model: str, trial: TrialInput, settings: GenerationSettings, *, stream: bool
    ) -> httpx.Request:
        messages: list[dict[str, Any]] = []
        if trial.system:
            messages.append({"role": "system", "content": trial.system})
        user: dict[str, Any] = {"role": "user", "content": "\n\n".join(user_text_parts(trial))}
        if trial.images:
            user["images"] = [base64.b64encode(a.data).decode("ascii") for a in trial.images]
        messages.append(user)
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
        options: dict[str, Any] = {}
        if settings.temperature is not None:
            options["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            options["num_predict"] = settings.max_tokens
        if options:
            body["options"] = options
        if settings.reasoning_effort is not None:
            body["think"] = True
        return self.client.build_request(
            "POST", f"{self.base_url}/api/chat", json=body, headers=self._headers()
        )

    def decoder(self) -> StreamDecoder:
        return _ChatDecoder()

    def parse_complete(self, body: Any, at: float) -> list[StreamEvent]:
        decoder = _ChatDecoder()
        out = decoder.line(body, at)
        if not decoder.done:
            raise protocol_error("response is not a finished chat message")
        return out

    def models_request(self) -> httpx.Request:
        return self.client.build_request("GET", f"{self.base_url}/api/tags", headers=self._headers())

    def parse_models(self, body: Any) -> list[str]:
        return [m["name"] for m in (body or {}).get("models", []) if isinstance(m, dict) and "name" in m]

    @staticmethod
    def served_models(body: Any) -> tuple[str, ...] | None:
        if not isinstance(body, dict) or not isinstance(body.get("models"), list):
            return None
        names = [m.get("name") or m.get("model") for m in body["models"] if isinstance(m, dict)]
        return tuple(n for n in names if isinstance(n, str) and n)


class _ChatDecoder(StreamDecoder):
    def __init__(self) -> None:
        self._nd = NDJSONDecoder()
        self.done = False

    def feed(self, chunk: bytes, at: float) -> list[StreamEvent]:
        def step(out: list[StreamEvent]) -> None:
            for line, t in self._nd.feed(chunk, at):
                out += self.line(loads(line, "NDJSON line"), t)

        return self.collect(step)

    def line(self, obj: Any, at: float) -> list[StreamEvent]:
        if not isinstance(obj, dict):
            raise protocol_error("NDJSON line is not an object")
        if obj.get("error"):
            message = str(obj["error"])
            kind = ErrorKind.NOT_FOUND if "not found" in message else ErrorKind.SERVER_ERROR
            raise ProviderError(kind, message)
        out: list[StreamEvent] = []
        message = obj.get("message") or {}
        if message.get("thinking"):
            out.append(ReasoningDelta(message["thinking"], at))
        if message.get("content"):
            out.append(TextDelta(message["content"], at))
        out += unknown_fields(message, KNOWN_MESSAGE_FIELDS, "message")
        if obj.get("done"):
            self.done = True
            usage = usage_from(
                input_tokens=obj.get("prompt_eval_count"), output_tokens=obj.get("eval_count")
            )
            if usage.reported:
                out.append(UsageReport(usage))
            reason = obj.get("done_reason")  # absent from older servers: unknown, not "stop"
            out.append(Finished(DONE_REASONS.get(reason, "other") if reason else None, None, at))
        return out

    def close(self, at: float) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for line, t in self._nd.close(at):
            out += self.line(loads(line, "NDJSON line"), t)
        if not self.done:
            raise protocol_error("stream ended before done: true")
        return out
