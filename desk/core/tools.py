"""Tools a trial offers the models, the calls they make, and whether each call is right.

Tool definitions are read in OpenAI's function format (as is), or as plain
{name, description, parameters} objects (Anthropic's `input_schema` is accepted for
`parameters`); each provider converts them to its vendor's format. A call's arguments are
checked against the tool's JSON schema with the `jsonschema` library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TOOL_CHOICES = ("auto", "required", "none")  # or the name of one tool: that tool must be called


class ToolsError(ValueError):
    """Tool definitions (or a tool choice) that cannot be used."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]  # a JSON schema of the arguments object


@dataclass(frozen=True)
class ToolSet:
    """The tools of a trial and how the model may use them."""

    tools: tuple[Tool, ...]
    choice: str = "auto"
    canned: tuple[str, ...] = ()  # results to give the calls, in order, unless the person writes others

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ToolsError("two tools have the same name")
        if self.choice not in TOOL_CHOICES and self.choice not in names:
            raise ToolsError(f"tool choice {self.choice!r} is none of auto, required, none or a tool's name")

    @property
    def forced(self) -> str | None:
        """The one tool the model must call, when the choice names one."""
        return None if self.choice in TOOL_CHOICES else self.choice

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def as_json(self) -> str:
        """The tools in OpenAI's function format, with the choice: what `read_tools` reads back."""
        out: dict[str, Any] = {"tools": [openai_tool(t) for t in self.tools], "tool_choice": self.choice}
        if self.canned:
            out["tool_results"] = list(self.canned)
        return json.dumps(out, ensure_ascii=False)


def openai_tool(tool: Tool) -> dict[str, Any]:
    """A tool in OpenAI's function format (also Ollama's)."""
    return {"type": "function", "function": {
        "name": tool.name, "description": tool.description, "parameters": dict(tool.parameters)}}


def read_tools(text: str, choice: str | None = None) -> ToolSet:
    """A ToolSet from JSON text: a list of tools, or {"tools": [...], "tool_choice": ...,
    "tool_results": [canned results]}; `choice`, when given, overrides the text's. Raises ToolsError saying what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ToolsError(f"the tools are not valid JSON: {exc}") from None
    said: Any = "auto"
    canned: Any = []
    if isinstance(data, dict) and "tools" in data:
        said = data.get("tool_choice") or "auto"
        canned = data.get("tool_results") or []
        data = data["tools"]
    if not isinstance(canned, list):
        raise ToolsError("'tool_results' must be a list, one result per call")
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ToolsError("the tools must be a JSON list of tool definitions")
    return ToolSet(tuple(_tool(item, n) for n, item in enumerate(data, 1)), _choice(choice or said),
                   tuple(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in canned))


def _choice(said: Any) -> str:
    if isinstance(said, dict):  # OpenAI's {"type": "function", "function": {"name": ...}}
        named = (said.get("function") or {}).get("name") or said.get("name")
        if isinstance(named, str):
            return named
    if isinstance(said, str):
        return said
    raise ToolsError(f"tool choice {said!r} is not understood")


def _tool(item: Any, n: int) -> Tool:
    if not isinstance(item, dict):
        raise ToolsError(f"tool {n} is not a JSON object")
    spec = item["function"] if isinstance(item.get("function"), dict) else item
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ToolsError(f"tool {n} has no name")
    params = spec.get("parameters", spec.get("input_schema", {"type": "object", "properties": {}}))
    if not isinstance(params, dict):
        raise ToolsError(f"tool {name!r}: parameters must be a JSON schema object")
    problem = schema_problem(params)
    if problem:
        raise ToolsError(f"tool {name!r}: its parameters are not a valid JSON schema: {problem}")
    return Tool(name, str(spec.get("description") or ""), params)


@dataclass
class ToolCall:
    """One call a model made: the tool's name and its arguments exactly as sent (JSON text).
    `id` is the vendor's call id (None where the vendor gives none: Gemini, Ollama)."""

    name: str
    arguments: str
    id: str | None = None
    problems: list[str] = field(default_factory=list)  # what check_call found; empty: valid

    @property
    def valid(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        """desk's check of the call in words: "valid", or each problem found."""
        return "valid" if self.valid else "; ".join(self.problems)

    def headline(self, number: int) -> str:
        """How every surface titles the call: "call 1: get_weather · valid"."""
        return f"call {number}: {self.name or '?'} · {'valid' if self.valid else 'INVALID: ' + self.verdict()}"

    def pretty_arguments(self) -> str:
        """The arguments pretty-printed when they are JSON, else as sent."""
        try:
            return json.dumps(json.loads(self.arguments), indent=2, ensure_ascii=False)
        except ValueError:
            return self.arguments


class CallAssembler:
    """Builds the calls of one answer from the pieces a stream sends: each piece names its
    call by the vendor's index (OpenAI's `index`, Anthropic's content block), may carry the
    id and name, and a fragment of the arguments, concatenated in arrival order. Calls are
    listed in the order they began."""

    def __init__(self) -> None:
        self._calls: dict[int, ToolCall] = {}

    def feed(self, index: int, call_id: str | None, name: str | None, fragment: str) -> None:
        call = self._calls.setdefault(index, ToolCall(name="", arguments=""))
        call.id = call.id or call_id
        call.name = call.name or (name or "")
        call.arguments += fragment

    def calls(self) -> list[ToolCall]:
        return list(self._calls.values())

    def snapshot(self) -> list[ToolCall]:
        """Copies of the calls as far as they have arrived (a view shows them while they grow)."""
        return [ToolCall(c.name, c.arguments, c.id) for c in self._calls.values()]

    def __bool__(self) -> bool:
        return bool(self._calls)


def check_call(call: ToolCall, tools: ToolSet) -> list[str]:
    """What is wrong with a call, in words (empty: it is right): the tool exists, the
    arguments are JSON, they name no argument the schema does not know, and they validate
    against the tool's schema (required ones present, types, enums...)."""
    tool = tools.tool(call.name)
    if tool is None:
        return [f"no tool named {call.name!r}" if call.name else "the call names no tool"]
    try:
        args = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError as exc:
        return [f"the arguments are not valid JSON ({exc})"]
    problems = []
    props = tool.parameters.get("properties")
    if isinstance(args, dict) and isinstance(props, dict) and tool.parameters.get("additionalProperties") is not False:
        # A schema that does not close its object would accept an invented argument.
        problems += [f"unknown argument {k!r}" for k in args if k not in props]
    return problems + schema_errors(args, tool.parameters)


def check_calls(calls: Sequence[ToolCall], tools: ToolSet) -> None:
    """Fill in each call's problems."""
    for call in calls:
        call.problems = check_call(call, tools)


NO_VALIDATOR = "not checked against the schema: the jsonschema package is not installed"


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Where `value` breaks `schema`, one sentence each, in document order (a dependency
    missing from an install is said as a problem, never taken as "valid")."""
    return [message if path is None else f"{_where(path)}: {message}"
            for path, message in schema_error_pairs(value, schema)]


def schema_error_pairs(value: Any, schema: Mapping[str, Any]) -> list[tuple[list[Any] | None, str]]:
    """Where `value` breaks `schema`: (the path into the value, what is wrong), in document
    order; a missing jsonschema package is one problem with no path."""
    try:
        from jsonschema import validators  # the maintained implementation of JSON Schema
    except ImportError:
        return [(None, NO_VALIDATOR)]
    validator = validators.validator_for(dict(schema))(dict(schema))
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [(list(e.absolute_path), e.message) for e in errors]


def schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why `schema` is not a valid JSON schema, or None (also when jsonschema is missing:
    every check against it then says so)."""
    try:
        from jsonschema import exceptions, validators
    except ImportError:
        return None

    try:
        validators.validator_for(dict(schema)).check_schema(dict(schema))
    except exceptions.SchemaError as exc:
        return str(exc.message)
    return None


def _where(path: list[Any]) -> str:
    return "arguments" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def check_structured(text: str, schema: Mapping[str, Any]) -> list[str]:
    """What is wrong with an answer asked to be JSON fitting `schema` (empty: it parsed and
    validated): where parsing failed, or each place it breaks the schema."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        stripped = text.strip()
        fenced = stripped.startswith("```")
        return [f"the answer is not JSON ({exc})" + ("; it is wrapped in a code fence" if fenced else "")]
    return [e.replace("arguments", "answer", 1) for e in schema_errors(value, schema)]


@dataclass(frozen=True)
class ToolRound:
    """A model's turn that called tools, and the result the person gave for each call (in
    the calls' order): sent after the prompt, so the model continues with them (*Give
    results*). A trial carries its rounds in order: a short tool loop judged by hand."""

    text: str  # what the model wrote beside its calls
    calls: tuple[ToolCall, ...]
    results: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.results) != len(self.calls):
            raise ToolsError(f"{len(self.calls)} call(s) need {len(self.calls)} result(s), got {len(self.results)}")

    def call_id(self, n: int) -> str:
        """The vendor's id of call `n`, or one desk makes up for a vendor that gives none."""
        return self.calls[n].id or f"call_{n + 1}"

    def arguments(self, n: int) -> dict[str, Any]:
        """Call `n`'s arguments as an object (what vendors that take an object are sent;
        {} for arguments that were not a JSON object)."""
        try:
            value = json.loads(self.calls[n].arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def rounds_as_json(rounds: Sequence[ToolRound]) -> str | None:
    if not rounds:
        return None
    return json.dumps([{"text": r.text, "calls": json.loads(calls_as_json(r.calls)), "results": list(r.results)}
                       for r in rounds], ensure_ascii=False)


def rounds_from_json(text: str | None) -> tuple[ToolRound, ...]:
    if not text:
        return ()
    return tuple(ToolRound(r["text"], tuple(calls_from_json(json.dumps(r["calls"]))), tuple(r["results"]))
                 for r in json.loads(text))


def calls_text(calls: Sequence[ToolCall]) -> str:
    """The calls as every surface lists them: each one's headline, then its arguments
    pretty-printed and indented."""
    blocks = []
    for n, call in enumerate(calls, 1):
        args = "\n".join("  " + line for line in call.pretty_arguments().splitlines())
        blocks.append(f"[{call.headline(n)}]\n{args}")
    return "\n".join(blocks)


def calls_as_json(calls: Sequence[ToolCall]) -> str:
    return json.dumps([{"id": c.id, "name": c.name, "arguments": c.arguments, "problems": c.problems}
                       for c in calls], ensure_ascii=False)


def calls_from_json(text: str | None) -> list[ToolCall]:
    if not text or text == "[]":
        return []
    return [ToolCall(c["name"], c["arguments"], c.get("id"), list(c.get("problems") or []))
            for c in json.loads(text)]
