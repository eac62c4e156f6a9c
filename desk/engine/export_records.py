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
from collections.abc import Callable, Iterator, Sequence
from json.encoder import encode_basestring  # the C string escaper when available
from typing import Any

from desk.core.judge import is_machine
from desk.core.records import record_fields
from desk.core.response import model_name_of, provider_of
from desk.core.rubric import Rubric
from desk.core.tools import calls_from_json
from desk.engine.export_table import A, iso_time
from desk.store.export_reads import ATTEMPT_COLUMNS

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_encode = _JSON.encode

# (key, column kind) of a response record, in order (desk.engine.export.RESPONSE_RECORD_KEYS
# and the turn link); the kinds say how a column is encoded (see `_encoded`).
_RESPONSE = (
    ("id", "str"), ("trial_id", "str"), ("model", "str"), ("provider", "str"), ("model_name", "str"),
    ("variant", "json"), ("system", "str"), ("settings", "json"), ("status", "str"), ("error_kind", "str"),
    ("error_message", "str"), ("http_status", "num"), ("text", "str"), ("reasoning_text", "str"),
    ("finish_reason", "str"), ("started_at", "num"), ("first_token_at", "num"), ("ended_at", "num"),
    ("ttft_ms", "num"), ("total_ms", "num"), ("wall_ms", "num"), ("connect_ms", "num"),
    ("output_tokens_per_s", "num"), ("input_tokens", "num"), ("output_tokens", "num"),
    ("cached_input_tokens", "num"), ("reasoning_tokens", "num"), ("cost_usd", "num"), ("cost_note", "str"),
    ("price_source", "str"), ("retries", "num"), ("retry_wait_ms", "num"), ("vendor_request_id", "str"),
    ("served_model", "str"), ("system_fingerprint", "str"), ("refusal", "num"), ("unknown_fields", "json"),
    ("tool_calls", "json"), ("notes", "json"), ("attempts", "json"), ("turn", "num"),
    ("parent_response_id", "str"),
)  # fmt: skip
# A rating's fields after its values (desk.engine.export.rating_json).
_RATING_META = (
    ("id", "str"), ("response_id", "str"), ("created_at", "num"), ("rated_at", "str"), ("rater", "str"),
    ("machine", "num"), ("origin", "str"), ("blind", "num"), ("shown_order", "json"), ("supersedes", "str"),
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


def jsonl_lines(batch: Sequence[tuple[Any, ...]], attempts: dict[str, list[tuple[Any, ...]]],
                trials: dict[str, str], rubrics: dict[str, Rubric]) -> str:
    """A batch of stored answers (desk.store.export_reads.ANSWER_COLUMNS) as JSON Lines,
    given their attempts and their trials' objects as JSON text, by id."""
    cols = list(zip(*batch, strict=True))

    def col(name: str) -> tuple[Any, ...]:
        return cols[A[name]]

    models = col("model")
    response = {
        "id": col("response_id"), "trial_id": col("trial_id"), "model": models,
        "provider": [provider_of(m) for m in models], "model_name": [model_name_of(m) for m in models],
        "variant": [_variant(label, system) for label, system in zip(col("variant_label"), col("variant_system"),
                                                                     strict=True)],
        "settings": _cached(col("settings_json"), _SETTINGS, lambda t: _encode(json.loads(t) if t else {})),
        "wall_ms": [None if w is None else round(w, 3) for w in col("wall_ms_unrounded")],  # as wall_ms_between
        "refusal": [bool(v) for v in col("refusal")],
        "unknown_fields": _cached(col("unknown_fields_json"), _UNKNOWN, _unknown_fields),
        "tool_calls": _cached(col("tool_calls_json"), _CALLS, _tool_calls),
        "notes": _cached(col("notes_json"), _NOTES, lambda t: _encode(json.loads(t) if t else [])),
        "attempts": _attempt_lists(col("response_id"), attempts),
    }
    encoded = [[trials[t] for t in col("trial_id")]]
    encoded += [_encoded(kind, response[key] if key in response else col(key)) for key, kind in _RESPONSE]
    encoded.append(_ratings(cols, rubrics))
    return "".join(map(_LINE_TEMPLATE.__mod__, zip(*encoded, strict=True)))


def _ratings(cols: list[tuple[Any, ...]], rubrics: dict[str, Rubric]) -> list[str]:
    """Each rating's object: its values (criteria set, tags, extra criteria), then who, when, how."""
    def col(name: str) -> tuple[Any, ...]:
        return cols[A[name]]

    pieces = [[("" if v is None or v == "" else f'"{key}": {e}, ') for v, e in zip(col(key), _encoded(
        "num" if key == "quality" else "str", col(key)), strict=True)] for key in _CRITERIA]
    pieces.append(_cached(col("tags_json"), _TAGS, lambda t: f'"tags": {_encode(json.loads(t))}, '))
    extra = [("" if t == "{}" else _extra_values(t)) for t in col("extra_json")]
    pieces.append([e or "" for e in extra])
    meta = {
        "id": col("rating_id"), "created_at": col("rating_created_at"),
        "rated_at": [iso_time(t) for t in col("rating_created_at")],
        "machine": list(map(is_machine, col("rater"))), "blind": [bool(v) for v in col("blind")],
        "shown_order": _cached(col("shown_order_json"), _SHOWN, lambda t: _encode(json.loads(t) if t else [])),
        "rubric": [_rubric(r, rubrics) for r in col("rubric_id")],
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
        parts = _encode(list(column))[1:-1].split(", ") if column else []
        if len(parts) == len(column):  # no text holding ", " among them
            return parts
    else:
        nulls = column.count(None) if isinstance(column, list | tuple) else 0
        if nulls == len(column):
            return ["null"] * nulls
        try:
            if not nulls:
                return list(map(encode_basestring, column))
            return ["null" if v is None else encode_basestring(v) for v in column]
        except TypeError:  # a value that is not text
            pass
    return [_encode(v) for v in column]


def _cached(column: Sequence[str], cache: dict[str, str], encode: Callable[[str], str]) -> list[str]:
    """A JSON-text column encoded once per distinct stored text (most repeat)."""
    out = []
    for text in column:
        found = cache.get(text)
        if found is None:
            found = cache[text] = encode(text)
        out.append(found)
    if len(cache) > 10_000:  # a store of all-different values: keep memory flat
        cache.clear()
    return out


# Stored JSON text -> its JSON in the export (shared by every export of the process).
_SETTINGS: dict[str, str] = {}
_UNKNOWN: dict[str, str] = {"{}": "{}"}
_CALLS: dict[str, str] = {"[]": "[]"}
_NOTES: dict[str, str] = {"[]": "[]"}
_TAGS: dict[str, str] = {"[]": ""}
_SHOWN: dict[str, str] = {"[]": "[]"}


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


def _attempt_lists(response_ids: Sequence[str], attempts: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    """Each response's attempts as a JSON list, in order (desk.engine.export.ATTEMPT_RECORD_KEYS)."""
    flat = [a for rid in response_ids for a in attempts.get(rid, ())]
    if not flat:
        return ["[]"] * len(response_ids)
    cols = list(zip(*flat, strict=True))
    kinds = {"status": "str", "error_kind": "str", "error_message": "str", "vendor_request_id": "str"}
    encoded = []
    for name, column in zip(ATTEMPT_COLUMNS[1:], cols[1:], strict=True):
        if name == "ratelimit_json":
            encoded.append([("{}" if t == "{}" or not t else _encode(json.loads(t))) for t in column])
        else:
            encoded.append(_encoded(kinds.get(name, "num"), column))
    texts: Iterator[str] = map(_ATTEMPT_TEMPLATE.__mod__, zip(*encoded, strict=True))
    return ["[" + ", ".join([next(texts) for _ in attempts.get(rid, ())]) + "]" for rid in response_ids]
