"""What a suite case expects of a model's tool use, and whether an answer did it.

A case with tools may say which call a good answer makes (`expected_call`): a tool's
name and, optionally, argument values the call must carry or a JSON schema its
arguments must satisfy; or "none", when a good answer calls no tool (it asks, or says
no tool serves). Every answer of such a case gets one verdict per measure (None: the
measure does not apply), and a model's rate per measure has a Wilson interval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desk.core.statistics import wilson_interval
from desk.core.tools import ToolCall, ToolsError, schema_errors, schema_problem

# The measures, in the order they are shown, with what each one counts.
MEASURES = {
    "called_right": "called a tool when the case wants one, and none when it does not",
    "valid_arguments": "every call names an offered tool with a JSON object of arguments",
    "schema_valid": "every call's arguments validate against its tool's schema",
    "expected_matched": "the expected call was made (tool, argument values, schema)",
}


@dataclass(frozen=True)
class ExpectedCall:
    """The call a good answer makes; `name` None: a good answer calls no tool."""

    name: str | None
    arguments: Mapping[str, Any] | None = None  # values the call must carry (others may come too)
    schema: Mapping[str, Any] | None = None  # a JSON schema the arguments must satisfy

    def as_json(self) -> Any:
        if self.name is None:
            return "none"
        out: dict[str, Any] = {"name": self.name}
        if self.arguments is not None:
            out["arguments"] = dict(self.arguments)
        if self.schema is not None:
            out["schema"] = dict(self.schema)
        return out


def read_expected_call(value: Any) -> ExpectedCall | None:
    """An expected call from a suite file's `expected_call`: "none", a tool's name, or
    {"name", "arguments"?, "schema"?}; None when absent. ToolsError saying what is wrong."""
    if value in (None, ""):
        return None
    if value == "none":
        return ExpectedCall(None)
    if isinstance(value, str):
        return ExpectedCall(value)
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        raise ToolsError("'expected_call' must be \"none\", a tool's name or {\"name\", \"arguments\", \"schema\"}")
    args, schema = value.get("arguments"), value.get("schema")
    if args is not None and not isinstance(args, dict):
        raise ToolsError("'expected_call.arguments' must be an object of argument values")
    if schema is not None and (not isinstance(schema, dict) or schema_problem(schema)):
        raise ToolsError("'expected_call.schema' must be a valid JSON schema")
    return ExpectedCall(value["name"], args, schema)


def tool_verdicts(expected: ExpectedCall | None, calls: Sequence[ToolCall]) -> dict[str, bool | None]:
    """One answer's verdict per measure (None: not applicable): whether it called when it
    should, whether its calls' arguments are valid and schema-valid, whether it made the
    expected call. `calls` carry desk.core.tools.check_call's problems."""
    out: dict[str, bool | None] = dict.fromkeys(MEASURES)
    if expected is not None:
        out["called_right"] = bool(calls) == (expected.name is not None)
    if calls:
        out["valid_arguments"] = all(_object_for_a_tool(c) for c in calls)
        out["schema_valid"] = all(c.valid for c in calls)
    if expected is not None and expected.name is not None:
        out["expected_matched"] = any(_matches(expected, c) for c in calls)
    return out


def _object_for_a_tool(call: ToolCall) -> bool:
    """An offered tool and a JSON object of arguments (whatever the schema says of them)."""
    if any(p.startswith(("no tool named", "the call names no tool")) for p in call.problems):
        return False
    try:
        return isinstance(json.loads(call.arguments or "{}"), dict)
    except ValueError:
        return False


def _matches(expected: ExpectedCall, call: ToolCall) -> bool:
    if call.name != expected.name:
        return False
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        return False
    if not isinstance(args, dict):
        return False
    if expected.arguments is not None and any(args.get(k) != v for k, v in expected.arguments.items()):
        return False
    return expected.schema is None or not schema_errors(args, expected.schema)


@dataclass(frozen=True)
class Rate:
    """How many of `n` answers passed a measure, with the 95% Wilson interval; `failed`
    names the answers that did not (their response ids), so each can be opened."""

    passed: int
    n: int
    low: float | None
    high: float | None
    failed: tuple[str, ...]

    @property
    def value(self) -> float | None:
        return self.passed / self.n if self.n else None


def rates(verdicts: Sequence[tuple[str, Mapping[str, bool | None]]]) -> dict[str, Rate]:
    """Per measure, the rate over (response id, verdicts) pairs where it applies."""
    out = {}
    for measure in MEASURES:
        judged = [(rid, v[measure]) for rid, v in verdicts if v.get(measure) is not None]
        passed = sum(1 for _, ok in judged if ok)
        interval = wilson_interval(passed, len(judged))
        low, high = interval if interval is not None else (None, None)
        out[measure] = Rate(passed, len(judged), low, high, tuple(rid for rid, ok in judged if not ok))
    return out
