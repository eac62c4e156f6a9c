"""Anthropic Messages API: /v1/messages, SSE events message_start … message_stop."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import httpx

from desk.core.response import ErrorKind, Usage
from desk.core.tools import ToolRound, ToolSet
from desk.core.trial import GenerationSettings, TrialInput, user_text_parts
from desk.providers.base import (
    Finished,
    Opened,
    Provider,
    ProviderError,
    ReasoningDelta,
    ServedTracker,
    StreamDecoder,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UnknownDelta,
    UsageReport,
    arguments_text,
    loads,
    protocol_error,
    unknown_fields,
    usage_from,
)
from desk.providers.framing import SSEDecoder, SSEEvent

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # required by the API; a generous default for trials
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
# Structured output on Anthropic is a tool the model is forced to call: the tool's input,
# which follows `input_schema`, is the answer (sent on as its JSON text).
ANSWER_TOOL = "structured_answer"

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "refusal",  # the model declined; the text before it is kept (docs: "handle streaming refusals")
    "tool_use": "tool_calls",
    "pause_turn": "other",
}

# What desk reads of content: the fields of each delta and block type it knows. A signature
# only vouches for the thinking text; any other type or field is reported as unknown content.
KNOWN_DELTAS = {
    "text_delta": ("type", "text"),
    "thinking_delta": ("type", "thinking"),
    "signature_delta": ("type", "signature"),
    "input_json_delta": ("type", "partial_json"),
}
KNOWN_BLOCKS = {"text": ("type", "text"), "thinking": ("type", "thinking", "signature"),
                "redacted_thinking": ("type", "data"), "tool_use": ("type", "id", "name", "input")}
# desk's tool choices as Anthropic's tool_choice types (a named tool is {"type": "tool"}).
TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}
KNOWN_DELTA_EVENT = ("type", "index", "delta")
# Of a message (whole body) and of a message_delta's delta: what else comes (stop_details,
# the category and explanation of a refusal) is kept as unknown, never dropped.
KNOWN_MESSAGE = ("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage")
KNOWN_MESSAGE_DELTA = ("stop_reason", "stop_sequence")

ERROR_TYPES = {
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "overloaded_error": ErrorKind.OVERLOADED,
    "api_error": ErrorKind.SERVER_ERROR,
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.AUTH,
    "not_found_error": ErrorKind.NOT_FOUND,
    "invalid_request_error": ErrorKind.BAD_REQUEST,
    "request_too_large": ErrorKind.BAD_REQUEST,
}


class AnthropicProvider(Provider):
    kind = "anthropic"
    default_base_url = "https://api.anthropic.com"
    added_paths = ("/v1",)
    catalog_id = "anthropic"

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION, "accept-encoding": "identity"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        headers.update(self.config.headers)
        return headers

    def content(self, trial: TrialInput) -> list[dict[str, Any]]:
        texts = user_text_parts(trial)
        blocks: list[dict[str, Any]] = [{"type": "text", "text": t} for t in texts[:-1]]
        blocks += [
            {
                "type": "image",
                "source": {
                    "type": "base64",
                    "media_type": a.mime,
                    "data": base64.b64encode(a.data).decode("ascii"),
                },
            }
            for a in trial.images
        ]
        blocks.append({"type": "text", "text": texts[-1]})
        return blocks

    def build_request(
        self, model: str, trial: TrialInput, settings: GenerationSettings, *, stream: bool
    ) -> httpx.Request:
        max_tokens = settings.max_tokens or DEFAULT_MAX_TOKENS
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": self.content(trial)}, *_prior_turns(trial),
                         *round_messages(trial.tool_rounds)],
            "stream": stream,
        }
        if trial.system:
            body["system"] = trial.system
        if settings.response_schema is not None:
            body["tools"] = [{
                "name": ANSWER_TOOL,
                "description": "Give your answer by calling this tool; its input is the answer.",
                "input_schema": dict(settings.response_schema),
            }]
            body["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        if settings.reasoning_effort is not None and settings.response_schema is None:
            # (Thinking is refused with a forced tool_choice, so a schema goes without it.)
            budget = THINKING_BUDGETS[settings.reasoning_effort]
            # The budget must stay below max_tokens; the answer needs room too.
            body["max_tokens"] = max(max_tokens, budget + 1024)
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        elif settings.temperature is not None:
            body["temperature"] = min(settings.temperature, 1.0)  # Anthropic's range is 0–1
        body.update(tool_fields(trial.tools))
        return self.client.build_request(
            "POST", f"{self.base_url}/v1/messages", json=body, headers=self._headers()
        )

    def decoder(self) -> StreamDecoder:
        return _MessagesDecoder()

    def parse_complete(self, body: Any, at: float) -> list[StreamEvent]:
        if not isinstance(body, dict):
            raise protocol_error("response is not a JSON object")
        if body.get("type") == "error":
            raise _error(body.get("error"))
        events: list[StreamEvent] = [*ServedTracker().seen(body.get("model"))]
        answered = False
        for n, block in enumerate(body.get("content") or ()):
            if block.get("type") == "thinking" and block.get("thinking"):
                events.append(ReasoningDelta(block["thinking"], at, block.get("signature") or None))
            elif redacted := _redacted(block, at):
                events.append(redacted)
            elif block.get("type") == "text" and block.get("text"):
                events.append(TextDelta(block["text"], at))
            elif _answer_block(block):
                answered = True
                raw = block.get("input")
                events.append(TextDelta(raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False), at))
                continue
            elif block.get("type") == "tool_use":
                events.append(ToolCallDelta(n, block.get("id"), block.get("name"),
                                            arguments_text(block.get("input", {})), at))
            events += _unknown_block(block)
        events += unknown_fields(body, KNOWN_MESSAGE, "message")
        if body.get("usage"):
            events.append(UsageReport(_usage(body["usage"])))
        events.append(Finished(_stop(body.get("stop_reason"), answered), body.get("id"), at))
        return events

    def models_request(self) -> httpx.Request:
        return self.client.build_request(
            "GET", f"{self.base_url}/v1/models", headers=self._headers(), params={"limit": 1000}
        )

    def parse_models(self, body: Any) -> list[str]:
        return [m["id"] for m in (body or {}).get("data", []) if isinstance(m, dict) and "id" in m]


def _prior_turns(trial: TrialInput) -> list[dict[str, Any]]:
    """Earlier answers and replies as alternating assistant and user messages. Thinking goes
    back only with its signature, which the API checks (it ignores thinking of earlier
    turns otherwise, so thinking without one is dropped), and encrypted thinking
    (redacted_thinking) unchanged with its data, as the API requires; an empty text block
    is refused."""
    out: list[dict[str, Any]] = []
    for turn in trial.turns:
        blocks: list[dict[str, Any]] = []
        if turn.reasoning and turn.signature:
            blocks.append({"type": "thinking", "thinking": turn.reasoning, "signature": turn.signature})
        blocks += [{"type": "redacted_thinking", "data": data} for data in turn.redacted]
        blocks.append({"type": "text", "text": turn.answer or "(no answer)"})
        out += [{"role": "assistant", "content": blocks}, {"role": "user", "content": [{"type": "text", "text": turn.reply}]}]
    return out


def round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Each earlier round of a tool loop: the assistant's text and tool_use blocks, then a
    user turn of tool_result blocks answering them by id."""
    out: list[dict[str, Any]] = []
    for r in rounds:
        said: list[dict[str, Any]] = [{"type": "text", "text": r.text}] if r.text else []
        said += [{"type": "tool_use", "id": r.call_id(n), "name": c.name, "input": r.arguments(n)}
                 for n, c in enumerate(r.calls)]
        out.append({"role": "assistant", "content": said})
        out.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": r.call_id(n), "content": result}
                                                for n, result in enumerate(r.results)]})
    return out


def tool_fields(tools: ToolSet | None) -> dict[str, Any]:
    """The request's `tools` (JSON schema as `input_schema`) and `tool_choice`."""
    if tools is None:
        return {}
    forced = tools.forced
    choice = {"type": "tool", "name": forced} if forced else {"type": TOOL_CHOICES[tools.choice]}
    return {"tools": [{"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                      for t in tools.tools], "tool_choice": choice}


def _stop(reason: Any, answered: bool = False) -> str | None:
    if answered and reason == "tool_use":
        return "stop"  # the forced answer tool was the answer, not a call to act on
    return None if reason is None else STOP_REASONS.get(str(reason), "other")


def _answer_block(block: Any) -> bool:
    """A tool_use block of desk's structured-answer tool (see ANSWER_TOOL)."""
    return isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") == ANSWER_TOOL


def _usage(u: dict[str, Any]) -> Usage:
    """Anthropic counts cache reads and writes apart from input_tokens; desk's input is the total.
    Thinking tokens (`output_tokens_details.thinking_tokens`) are part of output_tokens."""
    base = u.get("input_tokens")
    read = u.get("cache_read_input_tokens")
    write = u.get("cache_creation_input_tokens")
    total = None
    if isinstance(base, int):
        total = base + (read if isinstance(read, int) else 0) + (write if isinstance(write, int) else 0)
    return usage_from(
        input_tokens=total, output_tokens=u.get("output_tokens"), cached_input_tokens=read,
        reasoning_tokens=_thinking_tokens(u),
    )


def _thinking_tokens(u: dict[str, Any]) -> Any:
    details = u.get("output_tokens_details")
    return details.get("thinking_tokens") if isinstance(details, dict) else None


def _redacted(block: Any, at: float) -> ReasoningDelta | None:
    """A redacted_thinking block (thinking the vendor encrypted) as its data, to store and
    send back unchanged next turn; None for any other block."""
    if isinstance(block, dict) and block.get("type") == "redacted_thinking" and block.get("data"):
        return ReasoningDelta("", at, None, str(block["data"]))
    return None


def _unknown_block(block: Any) -> list[UnknownDelta]:
    """A content block desk does not read (tool use, redacted thinking...), or the fields it
    does not read of one it does."""
    if not isinstance(block, dict):
        return []
    btype = str(block.get("type"))
    if btype not in KNOWN_BLOCKS:
        return [UnknownDelta(f"content_block.{btype}", json.dumps(block, ensure_ascii=False))]
    return unknown_fields(block, KNOWN_BLOCKS[btype], f"content_block.{btype}")


def _unknown_delta(event: dict[str, Any], delta: Any) -> list[UnknownDelta]:
    out = unknown_fields(event, KNOWN_DELTA_EVENT, "content_block_delta")
    if not isinstance(delta, dict):
        return out
    dtype = str(delta.get("type"))
    if dtype not in KNOWN_DELTAS:
        return [*out, UnknownDelta(f"delta.{dtype}", json.dumps(delta, ensure_ascii=False))]
    return out + unknown_fields(delta, KNOWN_DELTAS[dtype], f"delta.{dtype}")


def _error(err: Any) -> ProviderError:
    if not isinstance(err, dict):
        return ProviderError(ErrorKind.SERVER_ERROR, str(err))
    etype = str(err.get("type", ""))
    kind = ERROR_TYPES.get(etype, ErrorKind.SERVER_ERROR)
    return ProviderError(kind, f"{err.get('message', '')} [{etype}]".strip())


class _MessagesDecoder(StreamDecoder):
    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._stop: str | None = None
        self._id: str | None = None
        self._stopped = False
        self._started = False
        # Tool-use blocks by index: their input as the block began, until a JSON delta comes.
        self._tool_inputs: dict[int, str | None] = {}
        self._answer_blocks: set[Any] = set()  # indexes of structured-answer tool blocks

    def response_id(self) -> str | None:
        return self._id

    def feed(self, chunk: bytes, at: float) -> list[StreamEvent]:
        return self.collect(lambda out: self._events(self._sse.feed(chunk, at), out))

    def _events(self, events: list[SSEEvent], out: list[StreamEvent]) -> None:
        for ev in events:
            self._event(ev.event, ev.data, ev.at, out)

    def _event(self, name: str, data: str, at: float, out: list[StreamEvent]) -> None:
        if name == "ping":
            return
        obj = loads(data, f"{name} event")
        if not isinstance(obj, dict):
            raise protocol_error(f"{name} event is not an object")
        etype = obj.get("type", name)
        if etype == "error":
            raise _error(obj.get("error"))
        if etype == "message_start":
            self._started = True
            message = obj.get("message") or {}
            self._id = message.get("id")
            out += ServedTracker().seen(message.get("model"))
            if message.get("usage"):
                # Reported at once: an error event later must not lose the input count.
                out.append(UsageReport(_usage(message["usage"])))
        elif etype == "content_block_start":
            block = obj.get("content_block")
            if _answer_block(block):
                self._answer_blocks.add(obj.get("index"))
            else:
                if redacted := _redacted(block, at):
                    out.append(redacted)
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    index: int = obj["index"] if isinstance(obj.get("index"), int) else len(self._tool_inputs)
                    self._tool_inputs[index] = arguments_text(block.get("input", {}))
                    out.append(ToolCallDelta(index, block.get("id"), block.get("name"), "", at))
                out += _unknown_block(block)
        elif etype == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "input_json_delta" and obj.get("index") in self._answer_blocks:
                if delta.get("partial_json"):
                    out.append(TextDelta(delta["partial_json"], at))
            elif dtype == "text_delta" and delta.get("text"):
                out.append(TextDelta(delta["text"], at))
            elif dtype == "thinking_delta" and delta.get("thinking"):
                out.append(ReasoningDelta(delta["thinking"], at))
            elif dtype == "signature_delta" and delta.get("signature"):
                out.append(ReasoningDelta("", at, delta["signature"]))
            elif dtype == "input_json_delta" and obj.get("index") in self._tool_inputs:
                self._tool_inputs[obj["index"]] = None
                out.append(ToolCallDelta(obj["index"], None, None, str(delta.get("partial_json") or ""), at))
            out += _unknown_delta(obj, delta)
        elif etype == "content_block_stop" and self._tool_inputs.get(obj.get("index", -1)):
            # A call with no arguments streams none: its input is the block's own ({}).
            index = obj["index"]
            out.append(ToolCallDelta(index, None, None, self._tool_inputs[index] or "", at))
            self._tool_inputs[index] = None
        elif etype == "message_delta":
            delta = obj.get("delta") or {}
            if delta.get("stop_reason"):
                self._stop = _stop(delta["stop_reason"], bool(self._answer_blocks))
            out += unknown_fields(delta, KNOWN_MESSAGE_DELTA, "message")
            if obj.get("usage"):
                # message_delta usage is cumulative; it may omit input counts.
                out.append(UsageReport(_usage_partial(obj["usage"])))
        elif etype == "message_stop":
            self._stopped = True
            out.append(Finished(self._stop, self._id, at))

    def close(self, at: float) -> list[StreamEvent]:
        out = self.collect(lambda out: self._events(self._sse.close(at), out))
        if self._held is not None:
            return out  # the stream's own error, raised once these are delivered
        if not self._stopped:
            raise protocol_error("stream ended before message_stop")
        return out


def _usage_partial(u: dict[str, Any]) -> Usage:
    if "input_tokens" in u:
        return _usage(u)
    return usage_from(output_tokens=u.get("output_tokens"), reasoning_tokens=_thinking_tokens(u))


__all__ = ["AnthropicProvider", "Opened"]
