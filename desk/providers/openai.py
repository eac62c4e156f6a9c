"""OpenAI-compatible Chat Completions: OpenAI, vLLM, llama.cpp, LM Studio, OpenRouter, Groq,
Together, Azure OpenAI (api-key header + api-version query)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from desk.core.response import ErrorKind
from desk.core.tools import ToolRound, ToolSet, openai_tool
from desk.core.trial import GenerationSettings, TrialInput, user_text_parts
from desk.providers import advice
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
from desk.providers.framing import SSEDecoder, sse_data
from desk.providers.transport import WireTiming

# Fields of a delta (or a whole message) desk reads; `role` names the speaker. Any other
# field with a value is reported as unknown content (audio, annotations...). Tool calls
# are read apart (a list, not text).
KNOWN_DELTA_FIELDS = ("role", "content", "refusal", "reasoning", "reasoning_content")

_PLAIN_DELTA = frozenset({"role", "content"})

SCHEMA_NAME = "answer"  # the name OpenAI's json_schema response format requires

FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def vendor_error_kind(code: Any) -> ErrorKind:
    """Classify an error object's type or code string (used for errors inside a stream)."""
    text = str(code or "").lower()
    if "rate" in text or "quota" in text or "exhausted" in text:
        return ErrorKind.RATE_LIMITED
    if "overload" in text or "unavailable" in text:
        return ErrorKind.OVERLOADED
    if "auth" in text or "permission" in text or "key" in text:
        return ErrorKind.AUTH
    if ("content" in text and "filter" in text) or "safety" in text:
        return ErrorKind.CONTENT_FILTER
    if "invalid" in text or "bad_request" in text:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.SERVER_ERROR


# llama-cpp-python's server (FastAPI) answers a request its own schema refuses with HTTP 500,
# the validation errors as the message: "[{'type': 'literal_error', 'loc': ('body',
# 'response_format', 'type'), 'msg': "Input should be 'text' or 'json_object'", ...}]".
_REFUSED_AT = re.compile(r"'loc': \('body', ([^)]*)\)")
_REFUSAL = re.compile(r"""'msg': (?:"([^"]*)"|'([^']*)')""")


def refused_request(body: Any) -> tuple[str, str] | None:
    """(the request's field, why) when an error body says the server's validation refused the
    request itself: a server error no repeat can fix. None otherwise."""
    err = body.get("error") if isinstance(body, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    if not isinstance(message, str) or (where := _REFUSED_AT.search(message)) is None:
        return None
    why = _REFUSAL.search(message, where.end())
    field = ".".join(part.strip(" '\"") for part in where.group(1).split(",") if part.strip())
    return field, (why.group(1) or why.group(2)) if why else "refused"


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class OpenAIProvider(Provider):
    kind = "openai"
    default_base_url = "https://api.openai.com/v1"

    @property
    def _azure(self) -> bool:
        host = httpx.URL(self.base_url).host
        return bool(self.config.api_version) or host.endswith(".azure.com")

    def _headers(self) -> dict[str, str]:
        headers = {"accept-encoding": "identity"}
        if self.api_key:
            if self._azure:
                headers["api-key"] = self.api_key
            else:
                headers["authorization"] = f"Bearer {self.api_key}"
        headers.update(self.config.headers)
        return headers

    def _params(self) -> dict[str, str]:
        return {"api-version": self.config.api_version} if self.config.api_version else {}

    def messages(self, trial: TrialInput) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if trial.system:
            messages.append({"role": "system", "content": trial.system})
        texts = user_text_parts(trial)
        if not trial.images:
            # Plain string content: the form every compatible server accepts.
            messages.append({"role": "user", "content": "\n\n".join(texts)})
        else:
            parts: list[dict[str, Any]] = [{"type": "text", "text": t} for t in texts[:-1]]
            parts += [
                {"type": "image_url", "image_url": {"url": data_url(a.mime, a.data)}}
                for a in trial.images
            ]
            parts.append({"type": "text", "text": texts[-1]})
            messages.append({"role": "user", "content": parts})
        for turn in trial.turns:  # reasoning is never sent back: compatible servers refuse it
            messages += [{"role": "assistant", "content": turn.answer}, {"role": "user", "content": turn.reply}]
        return messages + round_messages(trial.tool_rounds)

    def build_request(
        self, model: str, trial: TrialInput, settings: GenerationSettings, *, stream: bool
    ) -> httpx.Request:
        body: dict[str, Any] = {"model": model, "messages": self.messages(trial), "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            # OpenAI's own API wants the newer name (reasoning models refuse max_tokens);
            # most compatible servers only know max_tokens.
            field = "max_completion_tokens" if self._official else "max_tokens"
            body[field] = settings.max_tokens
        if settings.reasoning_effort is not None:
            body["reasoning_effort"] = settings.reasoning_effort
        body.update(tool_fields(trial.tools))
        if settings.response_schema is not None:
            body["response_format"] = self.response_format(settings.response_schema)
        return self.client.build_request(
            "POST", f"{self.base_url}/chat/completions", json=body,
            headers=self._headers(), params=self._params(),
        )

    def response_format(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """How this server is asked for JSON that fits `schema`."""
        return {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "schema": dict(schema), "strict": True}}

    def classify_error(self, status: int, body: Any) -> ErrorKind:
        if status >= 500 and refused_request(body) is not None:
            return ErrorKind.BAD_REQUEST  # the request itself was refused: asking again cannot help
        return super().classify_error(status, body)

    def error_message(self, body: Any) -> str | None:
        refused = refused_request(body)
        if refused is None:
            return super().error_message(body)
        where, why = refused
        if where.startswith("response_format"):
            return advice.no_json_schema(f"{where}: {why}")
        return f"the server refused the request: {where}: {why}"

    @property
    def _official(self) -> bool:
        return httpx.URL(self.base_url).host in ("api.openai.com",) or self._azure

    def decoder(self) -> StreamDecoder:
        return _ChatDecoder()

    def parse_complete(self, body: Any, at: float) -> list[StreamEvent]:
        if not isinstance(body, dict):
            raise protocol_error("response is not a JSON object")
        if "error" in body:
            raise _stream_error(body["error"])
        events: list[StreamEvent] = [*ServedTracker().seen(body.get("model"), body.get("system_fingerprint"))]
        choices = body.get("choices") or []
        if not choices:
            raise protocol_error("response has no choices")
        message = choices[0].get("message") or {}
        events += _content_events(message, at, "message")
        if body.get("usage"):
            events.append(UsageReport(_usage(body["usage"])))
        events.append(Finished(_finish(choices[0].get("finish_reason")), body.get("id"), at))
        return events

    def models_request(self) -> httpx.Request:
        url = f"{self.base_url}/models"
        root, sep, _ = self.base_url.partition("/openai/deployments/")
        if self._azure and sep:
            url = f"{root}/openai/models"  # Azure lists models per resource, not per deployment
        return self.client.build_request("GET", url, headers=self._headers(), params=self._params())

    def parse_models(self, body: Any) -> list[str]:
        return [m["id"] for m in (body or {}).get("data", []) if isinstance(m, dict) and "id" in m]

    @staticmethod
    def served_models(body: Any) -> tuple[str, ...] | None:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return None
        ids = [m.get("id") for m in body["data"] if isinstance(m, dict)]
        return tuple(i for i in ids if isinstance(i, str) and i)


def round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Each earlier round of a tool loop: the assistant's calls, then one `tool` message per
    result, answering its call by id."""
    out: list[dict[str, Any]] = []
    for r in rounds:
        out.append({"role": "assistant", "content": r.text or None, "tool_calls": [
            {"id": r.call_id(n), "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for n, c in enumerate(r.calls)]})
        out += [{"role": "tool", "tool_call_id": r.call_id(n), "content": result}
                for n, result in enumerate(r.results)]
    return out


def tool_fields(tools: ToolSet | None) -> dict[str, Any]:
    """The request's `tools` and `tool_choice` (none when the trial offers no tools)."""
    if tools is None:
        return {}
    forced = tools.forced
    choice: Any = {"type": "function", "function": {"name": forced}} if forced else tools.choice
    return {"tools": [openai_tool(t) for t in tools.tools], "tool_choice": choice}


def _tool_call_events(delta: dict[str, Any], at: float) -> list[StreamEvent]:
    """The pieces of tool calls in a delta (`index` says which call; a whole message's
    calls have none and are told apart by position)."""
    calls = delta.get("tool_calls")
    out: list[StreamEvent] = []
    for n, call in enumerate(calls if isinstance(calls, list) else ()):
        if not isinstance(call, dict):
            continue
        fn: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else {}
        index = call["index"] if isinstance(call.get("index"), int) else n
        out.append(ToolCallDelta(index, call.get("id"), fn.get("name"), arguments_text(fn.get("arguments") or ""), at))
    return out


def _finish(reason: Any) -> str | None:
    if reason is None:
        return None
    return FINISH_REASONS.get(str(reason), "other")


def _usage(u: dict[str, Any]) -> Any:
    prompt_details = u.get("prompt_tokens_details") or {}
    completion_details = u.get("completion_tokens_details") or {}
    return usage_from(
        input_tokens=u.get("prompt_tokens"),
        output_tokens=u.get("completion_tokens"),
        cached_input_tokens=prompt_details.get("cached_tokens"),
        reasoning_tokens=completion_details.get("reasoning_tokens"),
    )


def _content_events(delta: dict[str, Any], at: float, where: str) -> list[StreamEvent]:
    """Reasoning, text and refusal text of a delta (or whole message), then its unknown fields.

    A refusal is the answer the model chose to give, so it is text too, marked as a refusal.
    """
    if delta.keys() <= _PLAIN_DELTA:  # the usual chunk: text (or nothing) and perhaps the role
        content = delta.get("content")
        if content is None:
            return []
        if type(content) is str:
            return [TextDelta(content, at)] if content else []
    out: list[StreamEvent] = []
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        out.append(ReasoningDelta(reasoning, at))
    content = delta.get("content")
    if isinstance(content, str) and content:
        out.append(TextDelta(content, at))
    refusal = delta.get("refusal")
    if isinstance(refusal, str) and refusal:
        out.append(TextDelta(refusal, at, refusal=True))
    # A known field in a shape desk does not read (content as a list of parts) is unknown too.
    odd = [k for k in KNOWN_DELTA_FIELDS if k != "role" and not isinstance(delta.get(k), str | None)]
    known = [k for k in KNOWN_DELTA_FIELDS if k not in odd]
    if isinstance(delta.get("tool_calls"), list):
        out += _tool_call_events(delta, at)
        known.append("tool_calls")
    return out + unknown_fields(delta, known, where)


def _stream_error(err: Any) -> ProviderError:
    if isinstance(err, dict):
        message = str(err.get("message") or err)
        return ProviderError(vendor_error_kind(err.get("type") or err.get("code")), message)
    return ProviderError(ErrorKind.SERVER_ERROR, str(err))


# json.loads' own scanner, called without the checks around it (an attribute typeshed omits)
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]


class _ChatDecoder(StreamDecoder):
    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._finish: str | None = None
        self._id: str | None = None
        self._done = False
        self._served = ServedTracker()

    def feed(self, chunk: bytes, at: float) -> list[StreamEvent]:
        def step(out: list[StreamEvent]) -> None:
            for ev in self._sse.feed(chunk, at):
                self._event(ev.data, ev.at, out)

        return self.collect(step)

    def response_id(self) -> str | None:
        return self._id

    def feed_batch(self, batch: list[tuple[bytes, float]], timing: WireTiming) -> list[StreamEvent]:
        """A body read in bulk: the usual stream's events framed all at once (sse_data), each
        then read as `feed` reads it; any other stream piece by piece."""
        if self._held is not None or self._sse.pending or (datas := sse_data(batch)) is None:
            return super().feed_batch(batch, timing)
        out: list[StreamEvent] = []
        event, read, scan = self._event, self._read, _SCAN
        try:
            for data, at in datas:
                had = len(out)
                # An object read straight by the JSON scanner (what json.loads does, less its
                # checks around); a value it refuses or that leaves text over, the usual way.
                if data[:1] == "{":
                    try:
                        obj, end = scan(data, 0)
                    except (StopIteration, ValueError):
                        end = -1
                    if end == len(data):
                        read(obj, at, out)
                    else:
                        event(data, at, out)
                else:
                    event(data, at, out)
                if len(out) > had:
                    timing.events_at = at
        except ProviderError as exc:
            if not out:
                raise
            self._held = exc  # what came before it is delivered first
        finally:  # the id is kept even when the stream breaks after naming it
            if timing.body_id is None:
                timing.body_id = self._id
        return out

    def _event(self, data: str, at: float, out: list[StreamEvent]) -> None:
        if data.strip() == "[DONE]":
            self._done = True
            out.append(Finished(self._finish, self._id, at))
            return
        obj = loads(data, "stream event")
        if not isinstance(obj, dict):
            raise protocol_error(f"stream event is not an object: {data[:80]!r}")
        self._read(obj, at, out)

    def _read(self, obj: dict[str, Any], at: float, out: list[StreamEvent]) -> None:
        if obj.get("error"):
            raise _stream_error(obj["error"])
        self._id = self._id or obj.get("id")
        out += self._served.seen(obj.get("model"), obj.get("system_fingerprint"))
        for choice in obj.get("choices") or ():
            delta = choice.get("delta") or {}
            if type(delta) is dict and type(content := delta.get("content")) is str and delta.keys() <= _PLAIN_DELTA:
                if content:  # the usual chunk, as _content_events reads it
                    out.append(TextDelta(content, at))
            else:
                out += _content_events(delta, at, "delta")
            if choice.get("finish_reason"):
                self._finish = _finish(choice["finish_reason"])
        if obj.get("usage"):
            out.append(UsageReport(_usage(obj["usage"])))

    def close(self, at: float) -> list[StreamEvent]:
        def step(out: list[StreamEvent]) -> None:
            if not self._done:
                for ev in self._sse.close(at):
                    self._event(ev.data, ev.at, out)

        out = self.collect(step)
        if self._held is not None:
            return out  # the stream's own error, raised once these are delivered
        if not self._done:
            if self._finish is None:
                raise protocol_error("stream ended before the answer was complete (no [DONE])")
            out.append(Finished(self._finish, self._id, at))  # some servers omit [DONE]
        return out
