"""Structured output: an answer asked to be JSON fitting a schema, and desk's verdict on it.

The schema a trial asks for travels in each answer's settings (`response_schema`), so
the verdict is derived from what was asked and what came back, the same on every
surface: the pane, `desk trial` and `desk show`, text and --json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from desk.core.tools import schema_error_pairs, schema_problem


class SchemaError(ValueError):
    """A response schema that cannot be used."""


def read_schema(text: str) -> dict[str, Any]:
    """A response schema from JSON text (a JSON schema object); SchemaError says what is wrong."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"the answer schema is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise SchemaError("the answer schema must be a JSON object (a JSON schema)")
    problem = schema_problem(schema)
    if problem:
        raise SchemaError(f"the answer schema is not a valid JSON schema: {problem}")
    return schema


@dataclass(frozen=True)
class SchemaFailure:
    """One place the answer breaks the schema: its JSON path ("answer.items[2].price";
    "answer" is the whole answer) and what is wrong there."""

    path: str
    message: str


@dataclass(frozen=True)
class StructuredVerdict:
    """Whether an answer asked for structured output parsed as JSON and validated.
    `parse_error` says why it did not parse; `failures` where it breaks the schema."""

    parsed: bool
    failures: tuple[SchemaFailure, ...] = ()
    parse_error: str | None = None

    @property
    def valid(self) -> bool:
        return self.parsed and not self.failures

    def line(self) -> str:
        """The verdict in one line, as the pane and `desk trial` say it."""
        if not self.parsed:
            return f"structured output: NOT JSON ({self.parse_error})"
        if self.valid:
            return "structured output: parsed, valid against the schema"
        first = self.failures[0]
        more = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return f"structured output: parsed, INVALID at {first.path}: {first.message}{more}"

    def lines(self) -> list[str]:
        """The headline, then every failure on a line of its own."""
        if len(self.failures) < 2:
            return [self.line()]
        return [self.line(), *(f"  {f.path}: {f.message}" for f in self.failures)]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StructuredVerdict:
        """Read back `as_dict`."""
        return cls(bool(d["parsed"]), tuple(SchemaFailure(e["path"], e["message"]) for e in d["errors"]),
                   d.get("parse_error"))

    def as_dict(self) -> dict[str, Any]:
        """The --json form: {"parsed", "valid", "parse_error", "errors": [{"path", "message"}]}."""
        return {"parsed": self.parsed, "valid": self.valid, "parse_error": self.parse_error,
                "errors": [{"path": f.path, "message": f.message} for f in self.failures]}


def check_answer(text: str, schema: Mapping[str, Any]) -> StructuredVerdict:
    """desk's verdict on `text` asked to be JSON fitting `schema` (never repaired: an answer
    in a code fence did not parse)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        fenced = "; it is wrapped in a code fence" if text.strip().startswith("```") else ""
        return StructuredVerdict(False, parse_error=f"{exc}{fenced}")
    return StructuredVerdict(True, tuple(SchemaFailure(_path(path) if path is not None else "answer", message)
                                         for path, message in schema_error_pairs(value, schema)))


def asked_schema(settings: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The response schema an answer was asked with (its settings), or None: free text."""
    schema = settings.get("response_schema")
    return schema if isinstance(schema, Mapping) else None


def verdict_for(text: str, settings: Mapping[str, Any], ok: bool,
                kept: StructuredVerdict | None = None) -> StructuredVerdict | None:
    """The verdict on an answer (None when it asked for no schema, or failed: a request
    that broke off is not judged on its shape). `kept`: the verdict desk kept when it
    scrubbed a key from the text (ResponseResult.structured_verdict), made on what was sent."""
    schema = asked_schema(settings)
    if schema is None or not ok:
        return None
    return kept if kept is not None else check_answer(text, schema)


def _path(parts: list[Any]) -> str:
    return "answer" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
