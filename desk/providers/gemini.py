"""Google Gemini: models/{model}:streamGenerateContent?alt=sse with usageMetadata."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from desk.core.response import ErrorKind, Usage
from desk.core.tools import ToolRound, ToolSet
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
    unknown_fields,
    usage_from,
)
from desk.providers.framing import SSEDecoder
from desk.providers.openai import vendor_error_kind

API_PREFIX = "/v1beta"
THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
# The fields of a part desk reads (a signature only vouches for thoughts); any other field
# with a value (inlineData, executableCode...) is reported as unknown content.
KNOWN_PART_FIELDS = ("text", "thought", "thoughtSignature", "functionCall")
_TEXT_PART = frozenset({"text"})
# desk's tool choices as Gemini's function-calling modes (a named tool: ANY, allowed only it).
TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


class GeminiProvider(Provider):
    kind = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com"
    added_paths = (API_PREFIX, "/v1")
    catalog_id = "google"

    def _headers(self) -> dict[str, str]:
        headers = {"accept-encoding": "identity"}
        if self.api_key:
            headers["x-goog-api-key"] = self.api_key
        headers.update(self.config.headers)
        return headers

    def _model_path(self, model: str) -> str:
        return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"

    def build_request(
        self, model: str, trial: TrialInput, settings: GenerationSettings, *, stream: bool
    ) -> httpx.Request:
        texts = user_text_parts(trial)
        parts: list[dict[str, Any]] = [{"text": t} for t in texts[:-1]]
        parts += [
            {"inline_data": {"mime_type": a.mime, "data": base64.b64encode(a.data).decode("ascii")}}
            for a in trial.images
        ]
        parts.append({"text": texts[-1]})
        contents: list[dict[str, Any]] = [{"role": "user", "parts": parts}]
        for turn in trial.turns:
            # Gemini wants an answer's thoughtSignature back on its part; thought text never.
            said: dict[str, Any] = {"text": turn.answer}
            if turn.signature:
                said["thoughtSignature"] = turn.signature
            contents += [{"role": "model", "parts": [said]}, {"role": "user", "parts": [{"text": turn.reply}]}]
        body: dict[str, Any] = {"contents": [*contents, *round_contents(trial.tool_rounds)]}
        if trial.system:
            body["systemInstruction"] = {"parts": [{"text": trial.system}]}
        config: dict[str, Any] = {}
        if settings.temperature is not None:
            config["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            config["maxOutputTokens"] = settings.max_tokens
        if settings.reasoning_effort is not None:
            config["thinkingConfig"] = {
                "thinkingBudget": THINKING_BUDGETS[settings.reasoning_effort],
                "includeThoughts": True,
            }
        if settings.response_schema is not None:
            config["responseMimeType"] = "application/json"
            config["responseSchema"] = gemini_schema(settings.response_schema)
        if config:
            body["generationConfig"] = config
        body.update(tool_fields(trial.tools))
        method = "streamGenerateContent" if stream else "generateContent"
        return self.client.build_request(
            "POST",
            f"{self.base_url}{API_PREFIX}/{self._model_path(model)}:{method}",
            params={"alt": "sse"} if stream else None,
            json=body,
            headers=self._headers(),
        )

    def classify_error(self, status: int, body: Any) -> ErrorKind:
        # A wrong key is HTTP 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not a bad request.
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            details = err.get("details")
            if not isinstance(details, list):
                details = []
            reasons = {d.get("reason") for d in details if isinstance(d, dict)}
            if "API_KEY_INVALID" in reasons or err.get("status") in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
                return ErrorKind.AUTH
        return super().classify_error(status, body)

    def decoder(self) -> StreamDecoder:
        return _GeminiDecoder()

    def parse_complete(self, body: Any, at: float) -> Iterator[StreamEvent]:
        # The non-SSE stream form is a JSON array of chunks; one that ends with an error item
        # yields the text and usage before it, then raises the error (as a stream would).
        state = _State()
        for item in body if isinstance(body, list) else [body]:
            yield from state.chunk(item, at)
        yield from state.finish_events(at)

    def models_request(self) -> httpx.Request:
        return self.client.build_request(
            "GET", f"{self.base_url}{API_PREFIX}/models", headers=self._headers(),
            params={"pageSize": 1000},
        )

    def parse_models(self, body: Any) -> list[str]:
        names = []
        for m in (body or {}).get("models", []):
            methods = m.get("supportedGenerationMethods")
            if methods is None or "generateContent" in methods:
                names.append(str(m.get("name", "")).removeprefix("models/"))
        return [n for n in names if n]


def round_contents(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Each earlier round of a tool loop: the model's functionCall parts, then a user turn of
    functionResponse parts by name (a result that is a JSON object is sent as that object,
    other text as {"result": text}: Gemini takes an object)."""
    out: list[dict[str, Any]] = []
    for r in rounds:
        said: list[dict[str, Any]] = [{"text": r.text}] if r.text else []
        said += [{"functionCall": {"name": c.name, "args": r.arguments(n)}} for n, c in enumerate(r.calls)]
        out.append({"role": "model", "parts": said})
        out.append({"role": "user", "parts": [{"functionResponse": {"name": c.name, "response": _result_object(res)}}
                                              for c, res in zip(r.calls, r.results, strict=True)]})
    return out


def _result_object(result: str) -> dict[str, Any]:
    try:
        value = json.loads(result)
    except ValueError:
        return {"result": result}
    return value if isinstance(value, dict) else {"result": value}


def tool_fields(tools: ToolSet | None) -> dict[str, Any]:
    """The request's `tools` (one functionDeclarations list; the JSON schema as
    `parametersJsonSchema`, which takes JSON Schema as is) and `toolConfig`."""
    if tools is None:
        return {}
    declarations = [{"name": t.name, "description": t.description, "parametersJsonSchema": dict(t.parameters)}
                    for t in tools.tools]
    forced = tools.forced
    config: dict[str, Any] = {"mode": "ANY" if forced else TOOL_MODES[tools.choice]}
    if forced:
        config["allowedFunctionNames"] = [forced]
    return {"tools": [{"functionDeclarations": declarations}], "toolConfig": {"functionCallingConfig": config}}


# JSON-schema keywords Gemini's responseSchema (an OpenAPI schema subset) refuses; the
# answer is validated against the full schema afterwards, so dropping them loses nothing.
GEMINI_UNSUPPORTED = ("additionalProperties", "$schema", "$id", "title")


def gemini_schema(schema: Any) -> Any:
    """`schema` without the keywords Gemini refuses, at every level (properties keep their
    names); an integer enum (Gemini's enums are strings only) as its minimum and maximum."""
    if isinstance(schema, list):
        return [gemini_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    numbers = schema.get("enum")
    if schema.get("type") == "integer" and isinstance(numbers, list) and numbers \
            and all(isinstance(n, int) for n in numbers):
        schema = {**{k: v for k, v in schema.items() if k != "enum"}, "minimum": min(numbers), "maximum": max(numbers)}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in GEMINI_UNSUPPORTED:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: gemini_schema(sub) for name, sub in value.items()}
        else:
            out[key] = gemini_schema(value)
    return out


def _error(err: Any) -> ProviderError:
    if not isinstance(err, dict):
        return ProviderError(ErrorKind.SERVER_ERROR, str(err))
    status = err.get("status")
    message = str(err.get("message") or err)
    return ProviderError(vendor_error_kind(status), f"{message} [{status}]" if status else message)


def _usage(meta: dict[str, Any]) -> Usage:
    """Gemini bills thoughts as output; desk's output_tokens includes reasoning tokens."""
    candidates = meta.get("candidatesTokenCount")
    thoughts = meta.get("thoughtsTokenCount")
    output = None
    if isinstance(candidates, int) or isinstance(thoughts, int):
        output = (candidates if isinstance(candidates, int) else 0) + (
            thoughts if isinstance(thoughts, int) else 0
        )
    return usage_from(
        input_tokens=meta.get("promptTokenCount"),
        output_tokens=output,
        cached_input_tokens=meta.get("cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


class _State:
    """What a Gemini stream has said so far; shared by streamed and whole responses."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.id: str | None = None
        self.served = ServedTracker()
        self.calls = 0  # each functionCall part is a whole call
        self._meta: Any = None  # the last usageMetadata read, and what it said
        self._usage = Usage()

    def chunk(self, obj: Any, at: float) -> list[StreamEvent]:
        if not isinstance(obj, dict):
            raise protocol_error("stream event is not an object")
        if obj.get("error"):
            raise _error(obj["error"])
        self.id = self.id or obj.get("responseId")
        out: list[StreamEvent] = [*self.served.seen(obj.get("modelVersion"))]
        feedback = obj.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            raise ProviderError(
                ErrorKind.CONTENT_FILTER, f"prompt blocked: {feedback['blockReason']}"
            )
        for cand in (obj.get("candidates") or [])[:1]:
            for part in (cand.get("content") or {}).get("parts") or ():
                if part.keys() <= _TEXT_PART:  # the usual part: text alone
                    if text := part.get("text"):
                        out.append(TextDelta(text, at))
                    continue
                text = part.get("text")
                if text:
                    out.append(ReasoningDelta(text, at) if part.get("thought") else TextDelta(text, at))
                if part.get("thoughtSignature"):
                    out.append(ReasoningDelta("", at, part["thoughtSignature"]))
                call = part.get("functionCall")
                if isinstance(call, dict):
                    out.append(ToolCallDelta(self.calls, call.get("id"), call.get("name"),
                                             arguments_text(call.get("args", {})), at))
                    self.calls += 1
                out += unknown_fields(part, KNOWN_PART_FIELDS, "part")
            if cand.get("finishReason"):
                self.reason = FINISH_REASONS.get(cand["finishReason"], "other")
        if meta := obj.get("usageMetadata"):
            # Cumulative, so the last one wins; reported at once so an error later keeps it.
            # Sent in every chunk, mostly unchanged: read again only when it changed.
            if meta != self._meta:
                self._meta, self._usage = meta, _usage(meta)
            out.append(UsageReport(self._usage))
        return out

    def finish_events(self, at: float) -> list[StreamEvent]:
        return [Finished(self.reason, self.id, at)]



class _GeminiDecoder(StreamDecoder):
    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._state = _State()

    def response_id(self) -> str | None:
        return self._state.id

    def feed(self, chunk: bytes, at: float) -> list[StreamEvent]:
        def step(out: list[StreamEvent]) -> None:
            for ev in self._sse.feed(chunk, at):
                out += self._state.chunk(loads(ev.data, "stream event"), ev.at)
            out += self._unframed(at, final=False)

        return self.collect(step)

    def close(self, at: float) -> list[StreamEvent]:
        def step(out: list[StreamEvent]) -> None:
            for ev in self._sse.close(at):
                out += self._state.chunk(loads(ev.data, "stream event"), ev.at)
            out += self._unframed(at, final=True)

        out = self.collect(step)
        if self._held is not None:
            return out  # the stream's own error, raised once these are delivered
        if self._state.reason is None:
            raise protocol_error("stream ended before a finishReason")
        return out + self._state.finish_events(at)

    def _unframed(self, at: float, *, final: bool) -> list[StreamEvent]:
        """A JSON object sent without `data:` framing (how Gemini ends a stream that failed
        midway, even after a finishReason): read like any chunk, so its error is raised."""
        stray = self._sse.stray
        if not stray:
            return []
        text = "\n".join(stray)
        try:
            obj = json.loads(text)
        except ValueError:
            if not final:
                return []  # a pretty-printed object may still be arriving
            raise protocol_error(f"unframed text in the stream: {text[:120]!r}") from None
        stray.clear()
        return self._state.chunk(obj, at)
