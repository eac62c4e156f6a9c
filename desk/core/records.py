"""One mapping per record type, derived from the dataclasses' fields.

`response_fields` and `attempt_fields` turn a response or an attempt into plain values:
every stored field of the dataclass under its own name (those that take part in equality;
scratch state such as `chunk_times` is left out), an enum as its value, the token `usage`
spread into its four counts, nested records (attempts, variant, unknown fields) as dicts of
their own fields. `response_from_fields` and `attempt_from_fields` read such a mapping back.

Every view picks from these mappings and names its own keys in its own order: the CLI's
`--json` record (desk.cli.trial), the exports' rows and records (desk.engine.export) and
the store's columns (desk.store.responses, which adds its SQL-specific conversions on top).
A field added to a dataclass is then added in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, UnknownField, Usage
from desk.core.tools import ToolCall
from desk.core.trial import Variant

USAGE_FIELDS = tuple(f.name for f in fields(Usage))  # spread into the record that holds the usage
_SPREAD = "usage"
_ENUMS: dict[str, type[Enum]] = {"status": Status, "error_kind": ErrorKind}

# What a response knows without being stored: read from its properties.
RESPONSE_DERIVED = ("provider", "model_name", "wall_ms")


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return record_fields(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record_fields(record: Any) -> dict[str, Any]:
    """A dataclass instance's compared fields as plain values, in declaration order (its
    `usage`, if any, spread in place into USAGE_FIELDS)."""
    out: dict[str, Any] = {}
    for f in fields(record):
        if not f.compare:
            continue
        value = getattr(record, f.name)
        if f.name == _SPREAD:
            out.update({name: getattr(value, name) for name in USAGE_FIELDS})
        else:
            out[f.name] = _plain(value)
    return out


def attempt_fields(a: Attempt) -> dict[str, Any]:
    """An attempt's fields (see the module doc)."""
    return record_fields(a)


def response_fields(r: ResponseResult) -> dict[str, Any]:
    """A response's fields (see the module doc), its derived RESPONSE_DERIVED after them,
    and `store_error` (what went wrong saving it, if anything)."""
    out = record_fields(r)
    out.update({name: getattr(r, name) for name in RESPONSE_DERIVED})
    out["store_error"] = r.store_error
    return out


def pick(values: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A view of a mapping: these keys, in this order."""
    return {key: values[key] for key in keys}


def _typed(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `cls` from plain values: enums and usage rebuilt."""
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == _SPREAD:
            kwargs[f.name] = Usage(**{name: values[name] for name in USAGE_FIELDS})
        elif f.name in values and f.init:
            value = values[f.name]
            enum = _ENUMS.get(f.name)
            kwargs[f.name] = enum(value) if enum is not None and value is not None else value
    return kwargs


def attempt_from_fields(values: Mapping[str, Any]) -> Attempt:
    return Attempt(**_typed(Attempt, values))


def response_from_fields(values: Mapping[str, Any]) -> ResponseResult:
    """A response from `response_fields`-shaped values (attempts, variant and unknown
    fields as their plain dicts; derived names ignored)."""
    kwargs = _typed(ResponseResult, values)
    kwargs["attempts"] = [attempt_from_fields(a) for a in values.get("attempts", ())]
    variant = values.get("variant")
    kwargs["variant"] = Variant(variant["label"], variant["system"]) if variant else None
    kwargs["unknown_fields"] = {name: UnknownField(f["count"], f["raw"])
                                for name, f in (values.get("unknown_fields") or {}).items()}
    kwargs["tool_calls"] = [ToolCall(**c) for c in values.get("tool_calls") or ()]
    return ResponseResult(**kwargs)
