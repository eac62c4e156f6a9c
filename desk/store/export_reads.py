"""What an export of rated answers reads: each current rating with its answer, trial, turn
and rubric, as plain tuples from one ordered query, a batch at a time.

One query with joins instead of a rating read, then its responses, trials and turns by
id: at 100,000 answers the per-row lookups and the objects built for them were most of
an export. The order is the one `RatingTable.rated_responses` gives (by when the response
was stored, then rater); only the keys are sorted, the answers' text is read after.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from itertools import groupby
from json.encoder import encode_basestring  # the C string escaper when available
from operator import itemgetter
from typing import Any

from desk.core.rating import RatingFilter
from desk.store.connection import Database
from desk.store.ratings import _matching_sql, _one_current_each

# The positions of a row of `ExportReads.answers`, in order.
ANSWER_COLUMNS = (
    "rating_id", "rater", "rubric_id", "rating_created_at", "outcome", "uncertainty", "constraints",
    "quality", "note", "tags_json", "extra_json", "blind", "shown_order_json", "supersedes", "origin",
    "response_id", "trial_id", "model", "variant_label", "variant_system", "system", "prompt",
    "attachments", "settings_json", "status", "error_kind", "error_message", "http_status", "text",
    "reasoning_text", "finish_reason", "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms",
    "wall_ms_unrounded", "connect_ms", "output_tokens_per_s", "input_tokens", "output_tokens",
    "cached_input_tokens", "reasoning_tokens", "cost_usd", "cost_note", "price_source", "retries",
    "retry_wait_ms", "vendor_request_id", "served_model", "system_fingerprint", "refusal",
    "unknown_fields_json", "tool_calls_json", "notes_json", "turn", "parent_response_id",
)  # fmt: skip

# The part of them a flat row (CSV, Parquet) writes: fewer values to read and build.
TABLE_COLUMNS = (
    "rating_id", "rater", "rubric_id", "rating_created_at", "outcome", "uncertainty", "constraints",
    "quality", "note", "tags_json", "extra_json", "blind", "origin", "response_id", "trial_id", "model",
    "variant_label", "system", "prompt", "attachments", "status", "error_kind", "text", "ttft_ms",
    "total_ms", "wall_ms_unrounded", "output_tokens_per_s", "input_tokens", "output_tokens", "cost_usd",
    "retries", "served_model", "system_fingerprint", "refusal", "unknown_fields_json", "tool_calls_json",
    "turn", "parent_response_id",
)  # fmt: skip

# An attempt as the JSON Lines export lists it (desk.engine.export.ATTEMPT_RECORD_KEYS),
# after the response it belongs to.
ATTEMPT_COLUMNS = (
    "response_id", "number", "status", "error_kind", "error_message", "http_status", "started_at",
    "first_token_at", "ended_at", "connect_ms", "ttft_ms", "total_ms", "retry_after_s", "wait_before_ms",
    "vendor_request_id", "ratelimit_json", "input_tokens", "output_tokens", "cached_input_tokens",
    "reasoning_tokens", "cost_usd",
)  # fmt: skip

# A response's only attempt (ATTEMPT_COLUMNS but its response id), read with the answer when
# it has exactly one, the most common; all NULL when it has none or several (see `attempts`).
ONLY_ATTEMPT_COLUMNS = tuple(f"attempt_{name}" for name in ATTEMPT_COLUMNS[1:])

# The part of them a JSON Lines record writes: the trial's own object carries its prompt and
# attachments, and the attempts give what the user waited.
RECORD_COLUMNS = (*(c for c in ANSWER_COLUMNS if c not in ("prompt", "attachments", "wall_ms_unrounded")),
                  *ONLY_ATTEMPT_COLUMNS)
# Those of them a record writes as the stored text (or null): `answers(..., quoted=...)` reads
# them as their JSON text, escaped by SQLite in the query instead of a pass in Python.
RECORD_QUOTED = frozenset({
    "system", "status", "error_kind", "error_message", "text", "reasoning_text", "finish_reason", "cost_note",
    "price_source", "vendor_request_id", "served_model", "system_fingerprint", "parent_response_id",
})  # fmt: skip

# How each is read (c: the current rating, p: its response, t: its trial, tu: its turn link).
# `system` is the one the answer was given (its variant's, else the trial's); `attachments`
# the trial's file names in order, joined with "; "; `wall_ms_unrounded` the first
# attempt's start to the last one's end, in ms (desk.core.response.wall_ms_between rounds it).
_SELECT = {
    "rating_id": "c.id", "rating_created_at": "c.created_at",
    **{name: f"c.{name}" for name in ANSWER_COLUMNS[1:15] if name != "rating_created_at"},
    "response_id": "p.id",
    "system": "CASE WHEN p.variant_label IS NOT NULL AND p.variant_label != '' THEN p.variant_system ELSE t.system END",
    "prompt": "t.prompt",
    "attachments": "coalesce((SELECT group_concat(name, '; ') FROM (SELECT name FROM trial_attachments a "
                   "WHERE a.trial_id = p.trial_id ORDER BY a.position)), '')",
    "wall_ms_unrounded": "((SELECT ended_at FROM attempts a WHERE a.response_id = p.id ORDER BY a.number DESC LIMIT 1)"
                         " - (SELECT started_at FROM attempts a WHERE a.response_id = p.id ORDER BY a.number LIMIT 1))"
                         " * 1000",
    "cost_note": "NULLIF(p.cost_note, '')",
    "turn": "coalesce(tu.turn, 1)",
    "parent_response_id": "tu.parent_response_id",
    **{f"attempt_{name}": f"a.{name}" for name in ATTEMPT_COLUMNS[1:]},
}
# The only attempt of a response that has exactly one (a: the attempts' own table).
_ONLY_ATTEMPT = (" LEFT JOIN attempts a ON a.response_id = p.id AND NOT EXISTS "
                 "(SELECT 1 FROM attempts b WHERE b.response_id = p.id AND b.number != a.number)")

_CHUNK = 500  # ids per IN (...) query


class ExportReads:
    """The reads of an export of rated answers (desk.engine.export)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # `_one_current_each` (a scan of every rating) as of the store's state it was found
        # in: an export's count and read ask it once.
        self._one_each: tuple[tuple[int, int], bool] | None = None

    def count(self, filters: RatingFilter | None = None, *, value_keys: bool = True) -> tuple[int, list[str]]:
        """How many rated answers `answers` yields, and the value keys their ratings hold
        beyond the columns and tags (extra criteria, first seen first; none read when
        `value_keys` is False)."""
        f = filters or RatingFilter()
        sql, params = self._current(f)
        if f.tags:  # the exact tag test needs the parsed tags
            found = [(tags, extra) for tags, extra in self.db.conn.execute(
                f"SELECT tags_json, extra_json FROM ({sql}) ORDER BY response_id, rater", params) if _tagged(tags, f.tags)]
            n = len(found)
            extras = [extra for _, extra in found if extra != "{}"]
        else:
            n = self.db.conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
            extras = [] if not value_keys else [extra for (extra,) in self.db.conn.execute(
                f"SELECT extra_json FROM ({sql}) WHERE extra_json != '{{}}' ORDER BY response_id, rater", params)]
        keys: dict[str, None] = {}  # in the order of the partitions that choose the current ratings
        for text in extras:
            for key in json.loads(text):
                keys.setdefault(key)
        return n, list(keys)

    def answers(self, filters: RatingFilter | None = None, size: int = 1000,
                columns: Sequence[str] = ANSWER_COLUMNS,
                quoted: Collection[str] = ()) -> Iterator[list[tuple[Any, ...]]]:
        """The current ratings `filters` selects with their answers, as tuples of `columns`
        (some of ANSWER_COLUMNS, tags_json among them), a batch of up to `size` at a time,
        read as consumed (memory flat in the store's size). The text columns named in
        `quoted` come as their JSON text (null for NULL), as Python's
        `json.dumps(ensure_ascii=False)` writes it."""
        f = filters or RatingFilter()
        in_sql = bool(quoted) and _json_quote_is_pythons(self.db)
        selected = ", ".join(_quoted(_SELECT.get(name, f"p.{name}"), in_sql and name in quoted) for name in columns)
        sql, params = self._current(f)
        # Only the keys are sorted; the answers are joined after, in that order (the sorted
        # subquery is the outer loop of the CROSS JOIN).
        keys = (f"SELECT c.*, p.rowid AS p_rowid FROM ({sql}) c JOIN responses p ON p.id = c.response_id "
                "ORDER BY p.created_at, p.rowid, c.rater, c.created_at LIMIT -1")
        cursor = self.db.conn.execute(
            f"SELECT {selected} FROM ({keys}) c CROSS JOIN responses p ON p.rowid = c.p_rowid "
            "LEFT JOIN trials t ON t.id = p.trial_id LEFT JOIN turns tu ON tu.response_id = p.id"
            + (_ONLY_ATTEMPT if set(ONLY_ATTEMPT_COLUMNS).intersection(columns) else ""), params)
        tags_at = list(columns).index("tags_json")
        in_python = [i for i, name in enumerate(columns) if name in quoted] if quoted and not in_sql else []
        while chunk := cursor.fetchmany(size):
            if f.tags:
                chunk = [row for row in chunk if _tagged(row[tags_at], f.tags)]
            if in_python:
                chunk = [_quoted_row(row, in_python) for row in chunk]
            if chunk:
                yield chunk

    def attempts(self, response_ids: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
        """The attempts of these responses in order, as ATTEMPT_COLUMNS tuples, by response id."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        ids = list(dict.fromkeys(response_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found = self.db.conn.execute(
                f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM attempts WHERE response_id IN "
                f"({', '.join('?' for _ in chunk)}) ORDER BY response_id, number", chunk).fetchall()
            ids_found = list(map(itemgetter(0), found))
            if len(set(ids_found)) == len(found):  # one attempt each, the most common: no grouping
                out.update(zip(ids_found, map(list, zip(found)), strict=True))
            else:
                out.update((rid, list(group)) for rid, group in groupby(found, itemgetter(0)))
        return out

    def _current(self, f: RatingFilter) -> tuple[str, list[Any]]:
        """(SQL, parameters) of the current ratings `f` selects but for the exact tag test."""
        sql, params = _matching_sql(f, unsuperseded=self._one_current_each())
        # Time narrows the *current* ratings, so it applies after choosing them.
        if f.since is not None or f.until is not None:
            sql = (f"SELECT * FROM ({sql}) WHERE (? IS NULL OR created_at >= ?) "
                   "AND (? IS NULL OR created_at < ?)")
            params = [*params, f.since, f.since, f.until, f.until]
        return sql, params

    def _one_current_each(self) -> bool:
        """`_one_current_each`, asked again only when the store changed since (a write on
        this connection counts in total_changes, one on another in data_version)."""
        state = (self.db.conn.execute("PRAGMA data_version").fetchone()[0], self.db.conn.total_changes)
        if self._one_each is None or self._one_each[0] != state:
            self._one_each = (state, _one_current_each(self.db))
        return self._one_each[1]


def _quoted(expression: str, quote: bool) -> str:
    return f"json_quote({expression})" if quote else expression


# Every character class the two escapers could treat apart: ASCII with NUL, the other
# controls and DEL, Latin-1, the line and paragraph separators JavaScript rejects, a BOM,
# the last BMP character, astral ones.
_PROBE = "".join(map(chr, range(0x100))) + "\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff"


def _json_quote_is_pythons(db: Database) -> bool:
    """Whether this SQLite's json_quote writes text as Python's escaper does (ensure_ascii
    off): SQLite versions differ, so the query's escaping is checked, not assumed."""
    found = db.conn.execute("SELECT json_quote(?), json_quote(NULL)", (_PROBE,)).fetchone()
    return tuple(found) == (encode_basestring(_PROBE), "null")


def _quoted_row(row: tuple[Any, ...], at: Sequence[int]) -> tuple[Any, ...]:
    """A row whose text columns at `at` are turned into JSON text in Python."""
    values = list(row)
    for i in at:
        values[i] = "null" if values[i] is None else encode_basestring(values[i])
    return tuple(values)


def _tagged(tags_json: str, wanted: Sequence[str]) -> bool:
    """Whether a rating's tags hold every wanted tag."""
    return not wanted or set(wanted) <= set(json.loads(tags_json) if tags_json and tags_json != "[]" else ())
