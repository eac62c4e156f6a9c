"""The flat rows of an export (CSV and Parquet), built a column at a time.

A batch of the store's answer tuples (desk.store.export_reads.TABLE_COLUMNS) is turned
into the export's columns (desk.engine.export.CSV_COLUMNS and the rest): each column is a
list made in one pass, so the per-row Python work is a few operations, not a dataclass, a
dict and a function call per cell. CSV cells are then made a column at a time (most
columns need no quotes nor formula guard, which a scan in C tells) and joined into lines;
Parquet takes one Arrow array per column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from math import modf
from typing import Any

from desk.core.judge import is_machine
from desk.core.records import record_fields
from desk.core.rubric import Rubric
from desk.core.tools import calls_from_json
from desk.engine.export_files import csv_cell
from desk.store.export_reads import TABLE_COLUMNS

T = {name: i for i, name in enumerate(TABLE_COLUMNS)}  # a stored tuple's positions

# A flat row's flags (true/false in CSV).
BOOL_COLUMNS = frozenset({"refusal", "machine", "blind"})


def table_columns(batch: Sequence[tuple[Any, ...]], extra: Sequence[str],
                  rubrics: dict[str, Rubric]) -> list[list[Any]]:
    """The export's columns for a batch of stored answers (TABLE_COLUMNS tuples), in the order of
    desk.engine.export's table columns, with Python values (str, int, float, bool, None)."""
    cols = list(zip(*batch, strict=True))

    def col(name: str) -> list[Any]:
        return list(cols[T[name]])

    def criterion(name: str) -> list[Any]:  # an empty text is no value
        return [None if v == "" else v for v in cols[T[name]]]

    rubric_of = [rubrics.get(r) for r in cols[T["rubric_id"]]]
    machine = {r: is_machine(r) for r in set(cols[T["rater"]])}
    return [
        col("trial_id"), col("response_id"), col("turn"), col("parent_response_id"),
        iso_times(cols[T["rating_created_at"]]),  # rated_at
        col("prompt"), col("system"), col("attachments"), col("model"),
        [label or None for label in cols[T["variant_label"]]],  # variant
        col("text"),  # answer
        col("status"), col("error_kind"),
        [bool(v) for v in cols[T["refusal"]]],
        _mapped(unknown_counts, cols[T["unknown_fields_json"]], "{}", ""),
        _mapped(tool_calls_text, cols[T["tool_calls_json"]], "[]", "[]"),
        # ttft_ms and total_ms are the final attempt's own; wall_ms what the user waited
        col("ttft_ms"), col("total_ms"),
        [None if w is None else round(w, 3) for w in cols[T["wall_ms_unrounded"]]],  # as wall_ms_between
        col("input_tokens"), col("output_tokens"), col("output_tokens_per_s"), col("cost_usd"),
        col("retries"), col("served_model"), col("system_fingerprint"),
        criterion("outcome"), criterion("uncertainty"), criterion("constraints"), criterion("quality"),
        criterion("note"),
        _mapped(tags_text, cols[T["tags_json"]], "[]", ""),
        *_extra_columns(cols[T["extra_json"]], extra),
        col("rater"),
        col("origin"),  # rating_origin: None, made here; else the store a merge brought it from
        [machine[r] for r in cols[T["rater"]]],  # a judge model or desk's own checks: not a person
        [bool(v) for v in cols[T["blind"]]],
        [r.name if r else None for r in rubric_of], [r.version if r else None for r in rubric_of],
        col("rating_id"),
    ]


def _mapped(convert: Callable[[str], Any], values: Iterable[str], common: str, common_value: Any) -> list[Any]:
    """`convert` of each value, the most common one known without converting."""
    return [common_value if v == common else convert(v) for v in values]


def _extra_columns(extra_json: Sequence[str], extra: Sequence[str]) -> list[list[Any]]:
    """One column per extra criterion (lists joined with ";")."""
    if not extra:
        return []
    parsed = [None if text == "{}" else json.loads(text) for text in extra_json]
    return [[None if values is None else _flat(values.get(key)) for values in parsed] for key in extra]


def iso_times(column: Iterable[float | None]) -> list[str | None]:
    """`iso_time` of each: a whole second's text is made once (ratings come a few a second),
    the milliseconds as `datetime.fromtimestamp` rounds them (half to even, to the µs)."""
    out: list[str | None] = []
    append = out.append
    for ts in column:
        if ts is None:
            append(None)
            continue
        fraction, whole = modf(ts)
        us = round(fraction * 1e6)
        if us >= 1_000_000:
            whole, us = whole + 1, us - 1_000_000
        elif us < 0:
            whole, us = whole - 1, us + 1_000_000
        second = _SECONDS.get(whole)
        if second is None:
            if len(_SECONDS) > 10_000:  # memory stays flat
                _SECONDS.clear()
            second = _SECONDS[whole] = datetime.fromtimestamp(whole, UTC).isoformat()[:-6]  # less "+00:00"
        append(f"{second}.{us // 1000:03d}+00:00")
    return out


_SECONDS: dict[float, str] = {}  # a whole second -> its ISO 8601 text, to the second


def iso_time(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC, to the millisecond (2025-01-31T09:15:02.123+00:00)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def unknown_counts(unknown_fields_json: str) -> str:
    """The content fields desk did not read, as "name×count; ..." (empty: none)."""
    found = json.loads(unknown_fields_json) if unknown_fields_json else {}
    return "; ".join(f"{name}×{f['count']}" for name, f in sorted(found.items())) if found else ""


def tool_calls_text(tool_calls_json: str) -> str:
    """The calls an answer made, in order, as the JSON Lines export lists them (name,
    arguments as sent, the vendor's id, the problems desk's check found: none, valid)."""
    return json.dumps([record_fields(c) for c in calls_from_json(tool_calls_json)], ensure_ascii=False)


_TAGS: dict[str, str] = {}  # a store holds few tag sets: each joined once


def tags_text(tags_json: str) -> str:
    text = _TAGS.get(tags_json)
    if text is None:
        if len(_TAGS) > 10_000:  # all different: memory stays flat
            _TAGS.clear()
        text = _TAGS[tags_json] = ";".join(json.loads(tags_json)) if tags_json else ""
    return text


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):  # pragma: no cover - no rubric kind stores one
        return json.dumps(value, ensure_ascii=False)
    return value


# --- CSV ---------------------------------------------------------------------------------

# A cell a spreadsheet may run as a formula (export_files.FORMULA_PREFIXES), after a NUL.
_FORMULA_AFTER_SEP = re.compile("\x00[=+\\-@\t\r]")
_BOOL_TEXT: dict[Any, str] = {True: "true", False: "false", None: ""}


def csv_lines(columns: list[list[Any]], names: Sequence[str]) -> str:
    """A batch's CSV lines (each ending in \\r\\n), byte for byte what the csv module's default
    writer makes of `csv_cell` of each value, built a column at a time: the csv module's
    per-character copy of every answer was most of a large export's time."""
    cells = [_csv_texts(name, column) for name, column in zip(names, columns, strict=True)]
    return "\r\n".join(map(",".join, zip(*cells, strict=True))) + "\r\n"


def _csv_texts(name: str, column: list[Any]) -> list[str]:
    """One column's cells as CSV text: flags true/false, numbers as str() gives them, text
    that would run as a formula prefixed with an apostrophe, quoted where needed."""
    if name in BOOL_COLUMNS:
        return [_BOOL_TEXT[v] for v in column]
    types = set(map(type, column))  # most columns need no care, which scans in C tell
    if types == _NONE:
        return [""] * len(column)
    if types <= _NUMBER_TYPES:
        return ["" if v is None else str(v) for v in column] if type(None) in types else list(map(str, column))
    if types <= _TEXT_TYPES:
        texts = ["" if v is None else v for v in column] if type(None) in types else column
        joined = "\x00" + "\x00".join(texts)
        if not _FORMULA_AFTER_SEP.search(joined):
            if not ('"' in joined or "," in joined or "\n" in joined or "\r" in joined):
                return texts
            return [_quoted(v) for v in texts]
    return [_quoted(str(csv_cell(v))) for v in column]


def _quoted(text: str) -> str:
    """A field as the csv module's default dialect writes it: quoted when it holds a comma,
    a quote (doubled) or a line break, else as is."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


_NONE = {type(None)}
_NUMBER_TYPES = frozenset({int, float, type(None)})
_TEXT_TYPES = frozenset({str, type(None)})
