"""One mapping per record type, derived from the dataclasses' fields.

`response_fields` and `attempt_fields` turn a response or an attempt into plain values:
every stored field of the dataclass under its own name (those that take part in equality;
scratch state such as `chunk_times` is left out), an enum as its value, the token `usage`
spread into its four counts, nested records (attempts, variant, unknown fields) as dicts of
their own fields. `response_from_fields` and `attempt_from_fields` read such a mapping back.
`rating_fields` and `preference_fields` do the same for a rating (its criterion `values` a
dict, tags as lists) and a preference, `shown_order` as a list; `rating_from_fields` and
`preference_from_fields` read them back.

Every view picks from these mappings and names its own keys in its own order: the CLI's
`--json` record (desk.cli.trial), the exports' rows and records (desk.engine.export) and
the store's columns (desk.store.responses and desk.store.ratings, which add their
SQL-specific conversions on top).
A field added to a dataclass is then added in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from desk.core.rating import Preference, Rating
from desk.core.response import (
    Attempt,
    ErrorKind,
    ResponseResult,
    Status,
    UnknownField,
    Usage,
    model_name_of,
    provider_of,
    wall_ms_between,
)
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
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


# Per dataclass, looked up once: these run for every row of an export or a scorecard read.
_COMPARED: dict[type, tuple[str, ...]] = {}
_INITIALISED: dict[type, tuple[tuple[str, type[Enum] | None], ...]] = {}


def _compared(cls: type) -> tuple[str, ...]:
    if (names := _COMPARED.get(cls)) is None:
        names = _COMPARED[cls] = tuple(f.name for f in fields(cls) if f.compare)
    return names


def _initialised(cls: type) -> tuple[tuple[str, type[Enum] | None], ...]:
    """The fields `cls` takes, each with the enum its plain value is read back as."""
    if (found := _INITIALISED.get(cls)) is None:
        found = _INITIALISED[cls] = tuple((f.name, _ENUMS.get(f.name)) for f in fields(cls)
                                          if f.init or f.name == _SPREAD)
    return found


def record_fields(record: object) -> dict[str, Any]:
    """A dataclass instance's compared fields as plain values, in declaration order (its
    `usage`, if any, spread in place into USAGE_FIELDS)."""
    out: dict[str, Any] = {}
    for name in _compared(type(record)):
        value = getattr(record, name)
        if name == _SPREAD:
            out.update({name: getattr(value, name) for name in USAGE_FIELDS})
        else:
            out[name] = _plain(value)
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


def with_derived(values: dict[str, Any], span: tuple[float, float | None] | None) -> dict[str, Any]:
    """`response_fields` of a response read as plain values (its `attempts` as dicts, no
    ResponseResult built: exports of 100,000 answers), given its attempts' (first start,
    last end): RESPONSE_DERIVED and `store_error` added, by the properties' own rules."""
    model = values["model"]
    values["provider"] = provider_of(model)
    values["model_name"] = model_name_of(model)
    values["wall_ms"] = wall_ms_between(*span) if span is not None else None
    values["store_error"] = None
    return values


def pick(values: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A view of a mapping: these keys, in this order."""
    return {key: values[key] for key in keys}


def _typed(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `cls` from plain values: enums and usage rebuilt."""
    kwargs: dict[str, Any] = {}
    for name, enum in _initialised(cls):
        if name == _SPREAD:
            kwargs[name] = Usage(**{count: values[count] for count in USAGE_FIELDS})
        elif name in values:
            value = values[name]
            kwargs[name] = enum(value) if enum is not None and value is not None else value
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


def rating_fields(r: Rating) -> dict[str, Any]:
    """A rating's fields (see the module doc)."""
    return record_fields(r)


def preference_fields(p: Preference) -> dict[str, Any]:
    """A preference's fields (see the module doc)."""
    return record_fields(p)


def rating_from_fields(values: Mapping[str, Any]) -> Rating:
    kwargs = _typed(Rating, values)
    kwargs["shown_order"] = tuple(values.get("shown_order") or ())
    return Rating(**kwargs)


def preference_from_fields(values: Mapping[str, Any]) -> Preference:
    kwargs = _typed(Preference, values)
    kwargs["shown_order"] = tuple(values.get("shown_order") or ())
    return Preference(**kwargs)
