"""The JSON Lines export of rated answers, written from text templates a column at a time.

Each line is `{"trial": ..., "response": ..., "rating": ...}` (see desk.engine.export for
what each holds). Building a dict per answer and encoding it took most of a large
export's time: here the keys are written once into a template, each column of a batch is
encoded in one pass (numbers in one call of the C encoder, text through its string
escaper) and each line is the template filled in. The bytes are those
`json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode` gives the same record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring  # the C string escaper when available
from typing import Any

from desk.core.judge import is_machine
from desk.core.records import record_fields
from desk.core.response import model_name_of, provider_of, wall_ms_between
from desk.core.rubric import Rubric
from desk.core.tools import calls_from_json
from desk.engine.export_table import iso_times
from desk.store.export_reads import ATTEMPT_COLUMNS, ONLY_ATTEMPT_COLUMNS, RECORD_COLUMNS, RECORD_QUOTED

A = {name: i for i, name in enumerate(RECORD_COLUMNS)}  # a stored tuple's positions

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_encode = _JSON.encode

# (key, column kind) of a response record, in order (desk.engine.export.RESPONSE_RECORD_KEYS
# and the turn link); the kinds say how a column is encoded (see `_encoded`). The text
# columns read as JSON text already (RECORD_QUOTED) are "json".
_RESPONSE_READ = (
    ("id", "str"), ("trial_id", "str"), ("model", "str"), ("provider", "json"), ("model_name", "json"),
    ("variant", "json"), ("system", "str"), ("settings", "json"), ("status", "str"), ("error_kind", "str"),
    ("error_message", "str"), ("http_status", "num"), ("text", "str"), ("reasoning_text", "str"),
    ("finish_reason", "str"), ("started_at", "num"), ("first_token_at", "num"), ("ended_at", "num"),
    ("ttft_ms", "num"), ("total_ms", "num"), ("wall_ms", "num"), ("connect_ms", "num"),
    ("output_tokens_per_s", "num"), ("input_tokens", "num"), ("output_tokens", "num"),
    ("cached_input_tokens", "num"), ("reasoning_tokens", "num"), ("cost_usd", "num"), ("cost_note", "str"),
    ("price_source", "str"), ("retries", "num"), ("retry_wait_ms", "num"), ("vendor_request_id", "str"),
    ("served_model", "str"), ("system_fingerprint", "str"), ("refusal", "json"), ("unknown_fields", "json"),
    ("tool_calls", "json"), ("notes", "json"), ("attempts", "json"), ("turn", "num"),
    ("parent_response_id", "str"),
)  # fmt: skip
_RESPONSE = tuple((key, "json" if key in RECORD_QUOTED else kind) for key, kind in _RESPONSE_READ)
# A rating's fields after its values (desk.engine.export.rating_json).
_RATING_META = (
    ("id", "str"), ("response_id", "str"), ("created_at", "num"), ("rated_at", "str"), ("rater", "str"),
    ("origin", "str"), ("machine", "json"), ("blind", "json"), ("shown_order", "json"), ("supersedes", "str"),
    ("rubric", "json"),
)  # fmt: skip
_CRITERIA = ("outcome", "uncertainty", "constraints", "quality", "note")  # stored in columns of their own
# Value keys that would land elsewhere in a rating's object: such a rating is encoded whole.
_RESERVED = frozenset({*_CRITERIA, "tags", *(key for key, _ in _RATING_META)})

_RATING_TEMPLATE = "{" + "%s" * (len(_CRITERIA) + 2) + ", ".join(f'"{k}": %s' for k, _ in _RATING_META) + "}"
_LINE_TEMPLATE = ('{"trial": %s, "response": {' + ", ".join(f'"{k}": %s' for k, _ in _RESPONSE)
                  + '}, "rating": %s}\n')
_ATTEMPT_KEYS = tuple(("ratelimit" if c == "ratelimit_json" else c) for c in ATTEMPT_COLUMNS[1:])
_ATTEMPT_TEMPLATE = "{" + ", ".join(f'"{k}": %s' for k in _ATTEMPT_KEYS) + "}"
_ATTEMPT_LIST_TEMPLATE = f"[{_ATTEMPT_TEMPLATE}]"  # a response's one attempt


def jsonl_lines(batch: Sequence[tuple[Any, ...]], attempts: dict[str, list[tuple[Any, ...]]],
                trials: dict[str, str], rubrics: dict[str, Rubric]) -> str:
    """A batch of stored answers (desk.store.export_reads.RECORD_COLUMNS tuples) as JSON Lines,
    given the attempts of those without exactly one (read with the answer) and their
    trials' objects as JSON text, by id."""
    cols = list(zip(*batch, strict=True))

    def col(name: str) -> tuple[Any, ...]:
        return cols[A[name]]

    models = col("model")
    # The response's number columns an only attempt most often repeats, encoded once for both.
    shared = {name: (col(name), _encoded("num", col(name))) for name in _SHARED}
    attempt_lists, walls = _attempt_lists([col(name) for name in ONLY_ATTEMPT_COLUMNS], col("response_id"), attempts,
                                          shared)
    response = {
        "id": col("response_id"), "trial_id": col("trial_id"), "model": models,
        "provider": _cached(models, _PROVIDER), "model_name": _cached(models, _MODEL_NAME),
        "variant": [_variant(label, system) for label, system in zip(col("variant_label"), col("variant_system"),
                                                                     strict=True)],
        "settings": _cached(col("settings_json"), _SETTINGS),
        "wall_ms": walls,
        "refusal": _cached(col("refusal"), _FLAG),
        "unknown_fields": _cached(col("unknown_fields_json"), _UNKNOWN),
        "tool_calls": _cached(col("tool_calls_json"), _CALLS),
        "notes": _cached(col("notes_json"), _NOTES),
        "attempts": attempt_lists,
    }
    encoded = [[trials[t] for t in col("trial_id")]]
    encoded += [shared[key][1] if key in shared else _encoded(kind, response[key] if key in response else col(key))
                for key, kind in _RESPONSE]
    encoded.append(_ratings(cols, rubrics))
    return "".join(map(_LINE_TEMPLATE.__mod__, zip(*encoded, strict=True)))


def _ratings(cols: list[tuple[Any, ...]], rubrics: dict[str, Rubric]) -> list[str]:
    """Each rating's object: its values (criteria set, tags, extra criteria), then who, when, how."""
    def col(name: str) -> tuple[Any, ...]:
        return cols[A[name]]

    pieces = [_cached(col(key), _CRITERION[key]) for key in _CRITERIA]
    pieces.append(_cached(col("tags_json"), _TAGS))
    extra = _cached(col("extra_json"), _EXTRA)  # None: a key clashes
    pieces.append([e or "" for e in extra] if None in extra else extra)
    meta = {
        "id": col("rating_id"), "created_at": col("rating_created_at"),
        "rated_at": iso_times(col("rating_created_at")),
        "machine": _cached(col("rater"), _MACHINE), "blind": _cached(col("blind"), _FLAG),
        "shown_order": _cached(col("shown_order_json"), _SHOWN),
        "rubric": _cached(col("rubric_id"), _Memo(lambda r: _rubric(r, rubrics))),
    }
    pieces += [_encoded(kind, meta[key] if key in meta else col(key)) for key, kind in _RATING_META]
    texts = list(map(_RATING_TEMPLATE.__mod__, zip(*pieces, strict=True)))
    for i, e in enumerate(extra):
        if e is None:  # a value key that clashes with another field: the whole object, as the dict gives it
            texts[i] = _whole_rating(texts, i, cols)
    return texts


def _extra_values(extra_json: str) -> str | None:
    """The extra criteria's values as '"key": value, ' pieces (None: a key clashes)."""
    values = json.loads(extra_json)
    if _RESERVED.intersection(values):
        return None
    return "".join(f"{encode_basestring(k)}: {_encode(v)}, " for k, v in values.items())


def _whole_rating(texts: list[str], i: int, cols: list[tuple[Any, ...]]) -> str:
    """A clashing rating's object rebuilt as `{**values, **meta}` would order it."""
    meta = json.loads(texts[i])  # the values part left out: `_extra_values` gave None
    values = json.loads(cols[A["extra_json"]][i])
    ordered = {k: meta.pop(k) for k in list(meta) if k in _CRITERIA or k == "tags"}
    ordered.update(values)
    ordered.update(meta)
    return _encode(ordered)


def _encoded(kind: str, column: Sequence[Any]) -> list[str]:
    """A column's values as JSON text: "json" is JSON already; "num" (numbers, flags, None)
    in one call of the encoder, split; "str" (text or None) through the string escaper."""
    if kind == "json":
        return list(column)
    if kind == "num":
        parts = _encode(column)[1:-1].split(", ") if column else []
        if len(parts) == len(column):  # no text holding ", " among them
            return parts
    else:
        nulls = column.count(None) if isinstance(column, list | tuple) else 0
        if nulls == len(column):
            return ["null"] * nulls
        try:
            if not nulls:
                return list(map(encode_basestring, column))
            # None through the escaper as a marker, then the marker's text back to null: all in C
            marked = list(map(encode_basestring, map(_NULL_MARK.get, column, column)))  # type: ignore[arg-type]
            return list(map(_NULL_TEXT.get, marked, marked))
        except TypeError:  # a value that is not text
            pass
    return [_encode(v) for v in column]


class _Memo(dict[Any, Any]):
    """A value -> its JSON text, each computed once: most columns hold few distinct values,
    which `map(memo.__getitem__, column)` then turns into text without a Python step each.
    A memo serves one stored column, whose SQLite affinity keeps 1 and 1.0 (equal keys) apart."""

    def __init__(self, encode: Callable[[Any], Any]) -> None:
        super().__init__()
        self.encode = encode

    def __missing__(self, value: Any) -> Any:
        if len(self) > 10_000:  # a column of all-different values: memory stays flat
            self.clear()
        text = self[value] = self.encode(value)
        return text


_NULL_MARK = {None: "\x00desk:null\x00"}  # no answer holds NULs around this
_NULL_TEXT = {encode_basestring(_NULL_MARK[None]): "null"}


def _cached(column: Sequence[Any], memo: _Memo) -> list[Any]:
    return list(map(memo.__getitem__, column))


def _loaded(empty: Any) -> Callable[[str], str]:
    return lambda text: _encode(json.loads(text) if text else empty)


# Stored value -> its JSON in the export (shared by every export of the process).
_SETTINGS = _Memo(_loaded({}))
_UNKNOWN = _Memo(lambda text: _unknown_fields(text))
_CALLS = _Memo(lambda text: _tool_calls(text))
_NOTES = _Memo(_loaded([]))
_TAGS = _Memo(lambda text: f'"tags": {_encode(json.loads(text))}, ' if text and text != "[]" else "")
_SHOWN = _Memo(_loaded([]))
_RATELIMIT = _Memo(_loaded({}))
_PROVIDER = _Memo(lambda model: encode_basestring(provider_of(model)))
_MODEL_NAME = _Memo(lambda model: encode_basestring(model_name_of(model)))
_MACHINE = _Memo(lambda rater: "true" if is_machine(rater) else "false")
_FLAG = _Memo(lambda stored: "true" if stored else "false")
_EXTRA = _Memo(lambda text: "" if text == "{}" else _extra_values(text))


def _criterion_piece(key: str) -> Callable[[Any], str]:
    """A criterion's value as its '"key": value, ' piece of a rating ("" when it has none)."""
    return lambda value: "" if value is None or value == "" else f'"{key}": {_encode(value)}, '


_CRITERION = {key: _Memo(_criterion_piece(key)) for key in _CRITERIA}


def _unknown_fields(text: str) -> str:
    found = json.loads(text) if text else {}
    return _encode({name: {"count": f["count"], "raw": f["raw"]} for name, f in found.items()})


def _tool_calls(text: str) -> str:
    return _encode([record_fields(call) for call in calls_from_json(text)])


def _variant(label: str | None, system: str | None) -> str:
    return _encode({"label": label, "system": system}) if label else "null"


def _rubric(rubric_id: str, rubrics: dict[str, Rubric]) -> str:
    rubric = rubrics.get(rubric_id)
    return _encode({"id": rubric_id, "name": rubric.name if rubric else None,
                    "version": rubric.version if rubric else None})


# Positions in an attempt's values (ATTEMPT_COLUMNS but the response id).
_STARTED, _ENDED = ATTEMPT_COLUMNS.index("started_at") - 1, ATTEMPT_COLUMNS.index("ended_at") - 1
_ATTEMPT_KINDS = {"status": "str", "error_kind": "str", "error_message": "str", "vendor_request_id": "str"}


def _attempt_lists(only: list[tuple[Any, ...]], response_ids: Sequence[str],
                   attempts: dict[str, list[tuple[Any, ...]]],
                   shared: dict[str, tuple[tuple[Any, ...], list[str]]]) -> tuple[list[str], list[float | None]]:
    """Each response's attempts as a JSON list, in order (desk.engine.export.ATTEMPT_RECORD_KEYS),
    and what the user waited for it: its first attempt's start to its last one's end. `only`:
    the columns of each response's only attempt (number None: it has none or several, which
    `attempts` holds as ATTEMPT_COLUMNS tuples); `shared`: response columns with their JSON
    text, reused for an attempts' column holding the same values."""
    if None not in only[0]:  # one attempt each, the most common
        walls = list(map(wall_ms_between, only[_STARTED], only[_ENDED]))
        return list(map(_ATTEMPT_LIST_TEMPLATE.__mod__, zip(*_attempt_columns(only, shared), strict=True))), walls
    lists = [[a[1:] for a in attempts.get(rid, ())] if number is None else [values]
             for rid, number, values in zip(response_ids, only[0], zip(*only, strict=True), strict=True)]
    walls = [wall_ms_between(found[0][_STARTED], found[-1][_ENDED]) if found else None for found in lists]
    flat = [a for found in lists for a in found]
    if not flat:
        return ["[]"] * len(response_ids), walls
    texts = list(map(_ATTEMPT_TEMPLATE.__mod__, zip(*_attempt_columns(list(zip(*flat, strict=True)), {}),
                                                    strict=True)))
    out, at = [], 0
    for found in lists:
        out.append("[" + ", ".join(texts[at:at + len(found)]) + "]")
        at += len(found)
    return out, walls


def _attempt_columns(cols: list[tuple[Any, ...]], shared: dict[str, tuple[tuple[Any, ...], list[str]]]) -> list[list[str]]:
    """Attempts' columns (ATTEMPT_COLUMNS but the response id) as JSON text, a column that
    is one of `shared`'s exactly (`_same_text`) by its text there."""
    return [_cached(column, _RATELIMIT) if name == "ratelimit_json"
            else shared[name][1] if name in shared and _same_text(shared[name][0], column)
            else _encoded(_ATTEMPT_KINDS.get(name, "num"), column)
            for name, column in zip(ATTEMPT_COLUMNS[1:], cols, strict=True)]


def _same_text(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two number columns encode to the same JSON: equal values of the same types
    (1 == 1.0), and no float zero, whose sign equality does not see."""
    return a == b and list(map(type, a)) == list(map(type, b)) and (float not in set(map(type, a)) or 0.0 not in a)


# Number columns of a response that its only attempt holds as well (most often the same).
_SHARED = tuple(name for name in ATTEMPT_COLUMNS[1:] if (name, "num") in _RESPONSE)
