"""Tool calls in each vendor's wire format, for tests/vendor_server.py's `Script.tool_calls`:
streamed as the vendor streams them (OpenAI argument deltas by index, Anthropic tool_use
blocks with input_json_delta, Gemini functionCall parts, Ollama message.tool_calls) or as
one whole body. A call is (name, argument pieces): the pieces are sent as separate deltas
where the vendor streams arguments in pieces, and joined where it sends them whole (pieces
that do not join to JSON are sent as text there: a malformed call)."""

from __future__ import annotations

import json
from typing import Any

Call = tuple[str, list[str]]


def _args(pieces: list[str]) -> Any:
    text = "".join(pieces)
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text  # malformed: sent as the text it is


def _sse(objs: list[dict], event: bool = False, nl: str = "\n") -> list[str]:
    out = []
    for obj in objs:
        name = f"event: {obj['type']}{nl}" if event else ""
        out.append(f"{name}data: {json.dumps(obj, separators=(',', ':'))}{nl}{nl}")
    return out


def openai(calls: list[Call], model: str, stream: bool) -> list[str]:
    if not stream:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": "".join(pieces)}}
            for n, (name, pieces) in enumerate(calls)]}
        return [json.dumps({"id": "chatcmpl-tools", "object": "chat.completion", "model": model,
                            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]})]

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-tools", "object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    objs = [chunk({"role": "assistant", "content": None})]
    for n, (name, pieces) in enumerate(calls):
        objs.append(chunk({"tool_calls": [{"index": n, "id": f"call_{n}", "type": "function",
                                           "function": {"name": name, "arguments": ""}}]}))
        objs += [chunk({"tool_calls": [{"index": n, "function": {"arguments": p}}]}) for p in pieces]
    objs.append(chunk({}, "tool_calls"))
    return [*_sse(objs), "data: [DONE]\n\n"]


def anthropic(calls: list[Call], model: str, stream: bool) -> list[str]:
    if not stream:
        content = [{"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": _args(pieces)}
                   for n, (name, pieces) in enumerate(calls)]
        return [json.dumps({"id": "msg_tools", "type": "message", "role": "assistant", "model": model,
                            "content": content, "stop_reason": "tool_use",
                            "usage": {"input_tokens": 5, "output_tokens": 9}})]
    objs: list[dict] = [{"type": "message_start", "message": {
        "id": "msg_tools", "type": "message", "role": "assistant", "content": [], "model": model,
        "usage": {"input_tokens": 5, "output_tokens": 1}}}]
    for n, (name, pieces) in enumerate(calls):
        objs.append({"type": "content_block_start", "index": n,
                     "content_block": {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": {}}})
        objs += [{"type": "content_block_delta", "index": n, "delta": {"type": "input_json_delta", "partial_json": p}}
                 for p in pieces]
        objs.append({"type": "content_block_stop", "index": n})
    objs += [{"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
             {"type": "message_stop"}]
    return _sse(objs, event=True)


def gemini(calls: list[Call], model: str, stream: bool) -> list[str]:
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": name, "args": _args(pieces)}}]}, "index": 0}], "modelVersion": model}
        for name, pieces in calls]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = {"promptTokenCount": 5, "candidatesTokenCount": 9}
    if not stream:
        parts = [c["candidates"][0]["content"]["parts"][0] for c in chunks]
        whole = {**chunks[-1], "candidates": [{**chunks[-1]["candidates"][0], "content": {"role": "model", "parts": parts}}]}
        return [json.dumps(whole)]
    return _sse(chunks, nl="\r\n")


def ollama(calls: list[Call], model: str, stream: bool) -> list[str]:
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": name, "arguments": _args(pieces)}} for name, pieces in calls]}
    final = {"model": model, "done": True, "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 9}
    if not stream:
        return [json.dumps({**final, "message": message})]
    return [json.dumps({"model": model, "message": message, "done": False}) + "\n",
            json.dumps({**final, "message": {"role": "assistant", "content": ""}}) + "\n"]


BUILDERS = {"openai": openai, "anthropic": anthropic, "gemini": gemini, "ollama": ollama}


def tool_call_body(protocol: str, calls: list[Call], model: str, stream: bool) -> list[str]:
    return BUILDERS[protocol](calls, model, stream)
