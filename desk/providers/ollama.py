"""Ollama's native API: /api/chat streaming NDJSON with prompt_eval_count / eval_count."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import Any

import httpx

from desk.core.response import ErrorKind
from desk.core.tools import ToolRound, ToolSet, openai_tool
from desk.core.trial import GenerationSettings, TrialInput, user_text_parts
from desk.providers.base import (
    Finished,
    Provider,
    ProviderError,
    ReasoningDelta,
    ServedTracker,
    StreamDecoder,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageReport,
    arguments_text,
    loads,
    protocol_error,
    read_body,
    unknown_fields,
    usage_from,
)
from desk.providers.framing import NDJSONDecoder

DIGEST_TIMEOUT_S = 10.0
# Model digests from /api/tags by (provider, base URL, model), looked up once per session:
# a model's digest is its build, and a re-pull under the same name changes it.
_digests: dict[tuple[str, str, str], str | None] = {}
_digest_lookups: dict[tuple[str, str, str], asyncio.Future[str | None]] = {}

DONE_REASONS = {"stop": "stop", "length": "length"}
# The fields of a message desk reads; any other with a value (images...) is reported as
# unknown content.
KNOWN_MESSAGE_FIELDS = ("role", "content", "thinking", "tool_calls")


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
        for turn in trial.turns:  # a thinking model's earlier thinking goes back in `thinking`
            answer = {"role": "assistant", "content": turn.answer}
            messages += [{**answer, "thinking": turn.reasoning} if turn.reasoning else answer,
                         {"role": "user", "content": turn.reply}]
        messages += round_messages(trial.tool_rounds)
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
        body.update(tool_fields(trial.tools))
        if settings.response_schema is not None:
            body["format"] = dict(settings.response_schema)  # Ollama constrains the answer to it
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

    async def served_fingerprint(self, model: str) -> str | None:
        """The model's digest from /api/tags, fetched once per provider and model per
        session (answers of the same model running at once share one lookup). A failed
        lookup says nothing and is tried again next time."""
        key = (self.config.name, self.base_url, model)
        if key in _digests:
            return _digests[key]
        lookup = _digest_lookups.get(key)
        if lookup is None or lookup.get_loop() is not asyncio.get_running_loop():
            lookup = _digest_lookups[key] = asyncio.ensure_future(self._digest(model))
        try:
            digest = await asyncio.shield(lookup)
        except (ProviderError, TimeoutError, httpx.HTTPError, ValueError):
            return None
        finally:
            if lookup.done() and _digest_lookups.get(key) is lookup:
                del _digest_lookups[key]
        _digests[key] = digest
        return digest

    async def takes_images(self, model: str) -> bool | None:
        """From /api/show's "capabilities" ("vision" among them); None from an Ollama too old
        to list them, or when the lookup fails."""
        try:
            async with asyncio.timeout(DIGEST_TIMEOUT_S):
                response = await self.client.send(self.client.build_request(
                    "POST", f"{self.base_url}/api/show", json={"model": model}, headers=self._headers()), stream=True)
                try:
                    if response.status_code >= 300:
                        return None
                    body = json.loads(b"".join(await read_body(response)))
                finally:
                    await response.aclose()
        except (ProviderError, TimeoutError, httpx.HTTPError, ValueError):
            return None
        caps = body.get("capabilities") if isinstance(body, dict) else None
        return "vision" in caps if isinstance(caps, list) else None

    async def _digest(self, model: str) -> str | None:
        async with asyncio.timeout(DIGEST_TIMEOUT_S):
            response = await self.client.send(self.models_request(), stream=True)
            try:
                if response.status_code >= 300:
                    raise ProviderError(ErrorKind.SERVER_ERROR, f"HTTP {response.status_code}")
                body = json.loads(b"".join(await read_body(response)))
            finally:
                await response.aclose()
        return _digest_of(body, model)

    @staticmethod
    def served_models(body: Any) -> tuple[str, ...] | None:
        if not isinstance(body, dict) or not isinstance(body.get("models"), list):
            return None
        names = [m.get("name") or m.get("model") for m in body["models"] if isinstance(m, dict)]
        return tuple(n for n in names if isinstance(n, str) and n)


def round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Each earlier round of a tool loop: the assistant's calls (arguments as an object),
    then one `tool` message per result, named by its tool (Ollama has no call ids)."""
    out: list[dict[str, Any]] = []
    for r in rounds:
        out.append({"role": "assistant", "content": r.text, "tool_calls": [
            {"function": {"name": c.name, "arguments": r.arguments(n)}} for n, c in enumerate(r.calls)]})
        out += [{"role": "tool", "content": res, "tool_name": c.name} for c, res in zip(r.calls, r.results, strict=True)]
    return out


def tool_fields(tools: ToolSet | None) -> dict[str, Any]:
    """The request's `tools` (OpenAI's function format). Ollama has no tool choice: "none"
    sends no tools; "required" or a named tool cannot be enforced, so the tools go as offered."""
    if tools is None or tools.choice == "none":
        return {}
    return {"tools": [openai_tool(t) for t in tools.tools]}


def _digest_of(body: Any, model: str) -> str | None:
    """The digest /api/tags lists for `model` ("llama3" is "llama3:latest"), else None."""
    names = {model, model if ":" in model else f"{model}:latest"}
    listed = body.get("models") if isinstance(body, dict) else None
    for m in listed if isinstance(listed, list) else ():
        if isinstance(m, dict) and names & {m.get("name"), m.get("model")}:
            digest = m.get("digest")
            return digest if isinstance(digest, str) and digest else None
    return None


class _ChatDecoder(StreamDecoder):
    def __init__(self) -> None:
        self._nd = NDJSONDecoder()
        self.done = False
        self._served = ServedTracker()
        self._calls = 0  # Ollama sends each call whole; they are numbered across lines

    def feed(self, chunk: bytes, at: float) -> list[StreamEvent]:
        def step(out: list[StreamEvent]) -> None:
            for line, t in self._nd.feed(chunk, at):
                out += self.line(loads(line, "NDJSON line"), t)

        return self.collect(step)

    def line(self, obj: Any, at: float) -> list[StreamEvent]:
        if not isinstance(obj, dict):
            raise protocol_error("NDJSON line is not an object")
        if obj.get("error"):
            error = str(obj["error"])
            kind = ErrorKind.NOT_FOUND if "not found" in error else ErrorKind.SERVER_ERROR
            raise ProviderError(kind, error)
        out: list[StreamEvent] = [*self._served.seen(obj.get("model"))]
        message = obj.get("message") or {}
        if message.get("thinking"):
            out.append(ReasoningDelta(message["thinking"], at))
        if message.get("content"):
            out.append(TextDelta(message["content"], at))
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                out.append(ToolCallDelta(self._calls, call.get("id"), fn.get("name"),
                                         arguments_text(fn.get("arguments", {})), at))
                self._calls += 1
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
