"""Responses (one model's answer to a trial) and the HTTP attempts made for each.

A response is written when it starts streaming and again as text arrives, so a crash
leaves the partial answer on disk; `recover_interrupted` marks such orphans on the
next open.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from desk.core.host import HOST
from desk.core.ids import new_id
from desk.core.records import (
    attempt_fields,
    attempt_from_fields,
    record_fields,
    response_fields,
    response_from_fields,
    with_derived,
)
from desk.core.response import (
    Attempt,
    ResponseFigures,
    ResponseResult,
    Status,
    answer_failed,
)
from desk.core.structured import StructuredVerdict
from desk.core.tools import calls_as_json, calls_from_json
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import Row, fetch_all, one, rows, transaction

if TYPE_CHECKING:  # ratings reads responses through this module
    from desk.core.rating import RatingFilter


# A writer pid that is alive but silent this long is taken to be a reused pid (after a
# reboot, say) rather than a stream still running: no answer streams for six hours.
STALE_AFTER_S = 6 * 3600

INTERRUPTED_MESSAGE = "desk stopped before this answer was complete"

# Ids per `IN (...)` query: well under SQLite's limit on bound parameters (999 before 3.32).
_CHUNK = 500

_RESPONSE_COLUMNS = (
    "id", "trial_id", "model", "provider_name", "model_name", "settings_json", "status",
    "error_kind", "error_message", "http_status", "text", "reasoning_text", "finish_reason",
    "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms", "connect_ms",
    "output_tokens_per_s", "input_tokens", "output_tokens", "cached_input_tokens",
    "reasoning_tokens", "cost_usd", "cost_note", "price_source", "retries", "retry_wait_ms",
    "vendor_request_id", "writer_pid", "writer_host", "created_at", "updated_at",
    "variant_label", "variant_system", "refusal", "unknown_fields_json", "notes_json",
    "served_model", "system_fingerprint", "tool_calls_json", "reasoning_signature",
    "reasoning_redacted_json", "structured_verdict_json",
)  # fmt: skip

_ATTEMPT_COLUMNS = (
    "id", "response_id", "number", "started_at", "first_token_at", "ended_at", "http_status",
    "status", "error_kind", "error_message", "connect_ms", "ttft_ms", "total_ms",
    "retry_after_s", "wait_before_ms", "vendor_request_id", "ratelimit_json", "input_tokens",
    "output_tokens", "cached_input_tokens", "reasoning_tokens", "cost_usd",
)  # fmt: skip


class ResponseTable:
    """The `responses` table and their `attempts`: written as answers stream, read back whole
    (or, for figures, as the few columns a scorecard needs)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, result: ResponseResult) -> None:
        """Insert a response (normally still streaming) with any attempts it already has."""
        now = time.time()
        values = _response_values(result, created_at=now, updated_at=now)
        try:
            with transaction(self.db):
                self.db.execute(_insert_sql("responses", _RESPONSE_COLUMNS), values)
                for attempt in result.attempts:
                    self.save_attempt(result.id, attempt)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise StoreError(f"response {result.id} already exists") from None
            if "FOREIGN KEY" in str(exc):
                raise StoreError(f"no trial {result.trial_id} for response {result.id}") from None
            raise StoreError(f"response {result.id} was refused: {exc}") from None

    def update_text(self, response_id: str, text: str, reasoning_text: str = "") -> None:
        """Save the text streamed so far: one UPDATE, committed at once.

        Called repeatedly while streaming; it rewrites the whole text each time, so callers
        should throttle it (a few times a second), not call it per token.
        """
        changed = self.db.execute(
            "UPDATE responses SET text = ?, reasoning_text = ?, updated_at = ? WHERE id = ?",
            (text, reasoning_text, time.time(), response_id),
        ).rowcount
        if not changed:
            raise StoreError(f"no response {response_id}")

    def finish(self, result: ResponseResult) -> None:
        """Write every field of a response and its attempts (inserting it if it is new)."""
        now = time.time()
        values = _response_values(result, created_at=now, updated_at=now)
        keep = {"id", "created_at"}
        updates = ", ".join(f"{c} = excluded.{c}" for c in _RESPONSE_COLUMNS if c not in keep)
        try:
            with transaction(self.db):
                self.db.execute(
                    _insert_sql("responses", _RESPONSE_COLUMNS) + f" ON CONFLICT (id) DO UPDATE SET {updates}",
                    values,
                )
                for attempt in result.attempts:
                    self.save_attempt(result.id, attempt)
        except sqlite3.IntegrityError as exc:
            if "FOREIGN KEY" in str(exc):
                raise StoreError(f"no trial {result.trial_id} for response {result.id}") from None
            raise StoreError(f"response {result.id} was refused: {exc}") from None

    def save_attempt(self, response_id: str, attempt: Attempt) -> None:
        """Insert or update attempt number `attempt.number` of a response."""
        values = _attempt_values(response_id, attempt)
        keep = {"id", "response_id", "number"}
        updates = ", ".join(f"{c} = excluded.{c}" for c in _ATTEMPT_COLUMNS if c not in keep)
        try:
            self.db.execute(
                _insert_sql("attempts", _ATTEMPT_COLUMNS)
                + f" ON CONFLICT (response_id, number) DO UPDATE SET {updates}",
                values,
            )
        except sqlite3.IntegrityError:
            raise StoreError(f"no response {response_id} for attempt {attempt.number}") from None

    def get(self, response_id: str) -> ResponseResult | None:
        row = one(self.db, "SELECT * FROM responses WHERE id = ?", (response_id,))
        if row is None:
            return None
        return _result(row, _attempts_for(self.db, [response_id]).get(response_id, []))

    def values_by_ids(self, response_ids: Sequence[str], *, attempts: bool = False) -> dict[str, dict[str, Any]]:
        """These responses as plain values, by id (see `response_values_by_ids`)."""
        return response_values_by_ids(self.db, response_ids, attempts=attempts)

    def for_trial(self, trial_id: str) -> list[ResponseResult]:
        found = rows(self.db, "SELECT * FROM responses WHERE trial_id = ? ORDER BY created_at, rowid", (trial_id,))
        attempts = _attempts_for(self.db, [r["id"] for r in found])
        return [_result(r, attempts.get(r["id"], [])) for r in found]

    def all(self, filters: RatingFilter | None = None, *, load_runs: bool = True) -> list[ResponseResult]:
        """Every response with its attempts, oldest first, whatever its status.

        `load_runs` False leaves out the answers of load runs (synthetic traffic, measured in
        its own figures).

        Only `trial_ids` (empty = all trials), `since` and `until` of `filters` apply, and
        the time range is on when the response was stored (`since <= created_at < until`,
        unix seconds); tags and rater are ignored (a response has neither). Failed and
        interrupted answers are included, and each carries its attempts, so their cost can
        be counted too.
        """
        clause, params = _scope(filters, load_runs)
        found = rows(self.db, f"SELECT * FROM responses {clause} ORDER BY created_at, rowid", params)
        attempts = _attempts_for(self.db, [r["id"] for r in found])
        return [_result(r, attempts.get(r["id"], [])) for r in found]

    def figures(self, filters: RatingFilter | None = None, *, load_runs: bool = True,
                ids: Sequence[str] | None = None) -> list[ResponseFigures]:
        """The responses `all` selects (or, given `ids`, those of them that exist),
        oldest first, as their id, trial, model, status, total time and cost: no text, no
        attempts. A scorecard of 100,000 answers needs no more than this."""
        interrupted = Status.INTERRUPTED.value
        if ids is None:
            clause, params = _scope(filters, load_runs)
            # Every column read is in idx_responses_figures (m018): the table's rows, text and
            # all (a quarter of a GB at 100,000 answers), are not read.
            # The index holds them by (created_at, id): ordering by rowid as well sorts them all
            # again (a third of the read), which only answers stored at one instant need.
            ties = self.db.conn.execute(
                f"SELECT 1 FROM responses {clause} GROUP BY created_at HAVING count(*) > 1 LIMIT 1", params).fetchone()
            found = fetch_all(self.db.conn.execute(
                f"SELECT {_FIGURE_COLUMNS} FROM responses {clause} ORDER BY created_at{', rowid' if ties else ''}",
                params))
            # Only an interrupted answer's text says whether it failed (nothing came): those few are read.
            texts = dict(self.db.conn.execute(
                f"SELECT id, text FROM responses {clause} {'AND' if clause else 'WHERE'} status = ?",
                [*params, interrupted]))
        else:
            # The ids as one JSON array: one statement however many (chunks of bound
            # parameters took twice as long at 10,000 ids), ordered by SQLite.
            wanted = json.dumps(list(ids))
            found = fetch_all(self.db.conn.execute(
                f"SELECT {_FIGURE_COLUMNS} FROM responses WHERE id IN (SELECT value FROM json_each(?)) "
                "ORDER BY created_at, rowid", [wanted]))
            texts = dict(self.db.conn.execute(
                "SELECT id, text FROM responses WHERE status = ? AND id IN (SELECT value FROM json_each(?))",
                [interrupted, wanted]))
        status = dict(enumerate(Status))  # the status comes as its index in Status (see _FIGURE_COLUMNS)
        failed = {k: answer_failed(s, None) for k, s in status.items()}  # the text decides an interrupted one only
        stopped = list(Status).index(Status.INTERRUPTED)
        return [ResponseFigures(rid, trial, model, status[st], total, cost,
                                failed[st] if st != stopped else answer_failed(status[st], texts.get(rid)))
                for rid, trial, model, st, total, cost in found]

    def recover_interrupted(self) -> int:
        """Mark as interrupted the responses whose writer died mid-stream; return how many.

        Only writers on this host can be checked. One on another host (a store on a shared
        drive) may still be running, so it is left alone. The text streamed so far is kept.
        """
        now = time.time()
        orphans = [
            r["id"]
            for r in rows(
                self.db,
                "SELECT id, writer_pid, writer_host, updated_at FROM responses WHERE status = ?",
                (Status.STREAMING.value,),
            )
            if r["writer_host"] == HOST and _writer_gone(r["writer_pid"], r["updated_at"], now)
        ]
        if not orphans:
            return 0
        with transaction(self.db):
            for response_id in orphans:
                self.db.execute(
                    "UPDATE responses SET status = ?, error_message = coalesce(error_message, ?), "
                    "updated_at = ? WHERE id = ? AND status = ?",
                    (
                        Status.INTERRUPTED.value,
                        INTERRUPTED_MESSAGE,
                        now,
                        response_id,
                        Status.STREAMING.value,
                    ),
                )
                self.db.execute(
                    "UPDATE attempts SET status = ? WHERE response_id = ? AND status = ?",
                    (Status.INTERRUPTED.value, response_id, Status.STREAMING.value),
                )
        return len(orphans)


def responses_by_ids(db: Database, response_ids: Sequence[str], *, attempts: bool = True) -> dict[str, ResponseResult]:
    """The responses (with their attempts, unless `attempts` is False) among `response_ids`
    that exist, by id, in the order they were stored."""
    found = _response_rows(db, response_ids)
    if attempts:
        tried = _attempts_for(db, [r["id"] for r in found])
        return {r["id"]: _result(r, tried.get(r["id"], [])) for r in found}
    spans = _attempt_spans(db, [r["id"] for r in found])
    out = {}
    for r in found:
        out[r["id"]] = result = _result(r, [])
        result.attempt_span = spans.get(r["id"])
    return out


def response_values_by_ids(db: Database, response_ids: Sequence[str], *,
                           attempts: bool = True) -> dict[str, dict[str, Any]]:
    """`responses_by_ids` as plain values (desk.core.records.response_fields' shape, the
    attempts as dicts of their fields, or an empty list when `attempts` is False): no
    dataclass is built, which is most of an export's time at 100,000 answers."""
    found = _response_rows(db, response_ids)
    ids = [r["id"] for r in found]
    tried = _attempt_value_rows(db, ids) if attempts else {}
    spans = _attempt_spans(db, ids) if not attempts else {}
    out = {}
    settings: dict[str, dict[str, Any]] = {}  # most answers share a few: parsed once, read only
    for r in found:
        text = r["settings_json"]
        if text not in settings:
            settings[text] = _json_object(text)
        values = _values(r, settings[text])
        if values["unknown_fields"]:  # as records.response_fields orders them
            values["unknown_fields"] = {name: {"count": f["count"], "raw": f["raw"]}
                                        for name, f in values["unknown_fields"].items()}
        if attempts:
            values["attempts"] = listed = tried.get(r["id"], [])
            span = (listed[0]["started_at"], listed[-1]["ended_at"]) if listed else None
        else:
            values["attempts"] = []
            span = spans.get(r["id"])
        out[r["id"]] = with_derived(values, span)
    return out


def _response_rows(db: Database, response_ids: Sequence[str]) -> list[Row]:
    found: list[Row] = []
    ids = list(dict.fromkeys(response_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        found += rows(db, f"SELECT *, rowid AS rowid_ FROM responses WHERE id IN ({marks})", chunk)
    found.sort(key=lambda r: (r["created_at"], r["rowid_"]))
    return found


def _attempt_spans(db: Database, response_ids: list[str]) -> dict[str, tuple[float, float | None]]:
    """Each response's first attempt's start and last attempt's end (None while it runs):
    the wall time the user waited, without reading the attempts themselves."""
    spans: dict[str, tuple[float, float | None]] = {}
    for start in range(0, len(response_ids), _CHUNK):
        chunk = response_ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for rid, started, ended in db.conn.execute(
            f"SELECT response_id, started_at, ended_at FROM attempts WHERE response_id IN ({marks}) "
            "ORDER BY response_id, number", chunk):
            first = spans[rid][0] if rid in spans else started
            spans[rid] = (first, ended)
    return spans


# What the scorecard reads of a response; the text and the attempts are most of a store.
# The text only where it decides whether the answer failed (an interrupted one): 100,000
# answers' texts are what the scorecard must not read.
# The status as its index in Status, a small int Python need not make (a text it does not
# know as itself: a KeyError, as an unknown status always was).
_STATUS_INDEX = " ".join(f"WHEN '{s.value}' THEN {k}" for k, s in enumerate(Status))
_FIGURE_COLUMNS = f"id, trial_id, model, CASE status {_STATUS_INDEX} ELSE status END, total_ms, cost_usd"


def _scope(filters: RatingFilter | None, load_runs: bool) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of `ResponseTable.all`'s filters: only their
    trial ids and time range apply, on when the response was stored."""
    where: list[str] = []
    params: list[Any] = []
    if filters is not None and filters.trial_ids:
        where.append(f"trial_id IN ({', '.join('?' for _ in filters.trial_ids)})")
        params += list(filters.trial_ids)
    if filters is not None and filters.since is not None:
        where.append("created_at >= ?")
        params.append(filters.since)
    if filters is not None and filters.until is not None:
        where.append("created_at < ?")
        params.append(filters.until)
    if not load_runs:
        # Load-run traffic, and a judge model's own requests (issue 14), are not answers to score.
        where.append("(run_id IS NULL OR run_id NOT IN (SELECT id FROM runs WHERE kind IN ('load', 'judge')))")
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def _writer_gone(pid: int | None, updated_at: float, now: float) -> bool:
    if pid is None:
        return True
    # This very process may still be streaming it (another Store object, say).
    alive = pid == os.getpid() or pid_alive(pid)
    return not alive or now - updated_at > STALE_AFTER_S


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    _kernel32.OpenProcess.restype = wintypes.HANDLE
    _kernel32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    _kernel32.CloseHandle.argtypes = [wintypes.HANDLE]

    def pid_alive(pid: int) -> bool:
        """Whether a process with this id exists on this machine."""
        # os.kill(pid, 0) on Windows would *terminate* the process, so ask the kernel.
        if pid <= 0:
            return False
        handle = _kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: exists, not ours
        try:
            code = wintypes.DWORD()
            ok = _kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return bool(ok) and code.value == 259  # STILL_ACTIVE
        finally:
            _kernel32.CloseHandle(handle)

else:

    def pid_alive(pid: int) -> bool:
        """Whether a process with this id exists on this machine."""
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # it exists, owned by another user
            return True
        except OSError:
            return False
        return True


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _response_values(result: ResponseResult, *, created_at: float, updated_at: float) -> list[Any]:
    """The row of a response: desk.core.records.response_fields under the columns' names,
    JSON where a column holds an object, and who wrote it when."""
    row = response_fields(result)
    variant = row["variant"]
    row.update({
        "provider_name": row["provider"],
        "settings_json": json.dumps(row["settings"]),
        "writer_pid": os.getpid(),
        "writer_host": HOST,
        "created_at": created_at,
        "updated_at": updated_at,
        "variant_label": variant["label"] if variant else None,
        "variant_system": variant["system"] if variant else None,
        "refusal": int(row["refusal"]),
        "unknown_fields_json": json.dumps(row["unknown_fields"], ensure_ascii=False),
        "notes_json": json.dumps(row["notes"]),
        "tool_calls_json": calls_as_json(result.tool_calls),
        "reasoning_signature": result.reasoning_signature,  # kept, never exported
        "reasoning_redacted_json": json.dumps(list(result.reasoning_redacted)) if result.reasoning_redacted else None,
        "structured_verdict_json": (json.dumps(result.structured_verdict.as_dict(), ensure_ascii=False)
                                    if result.structured_verdict else None),
    })
    return [row[c] for c in _RESPONSE_COLUMNS]


def _attempt_values(response_id: str, a: Attempt) -> list[Any]:
    row = attempt_fields(a)
    row.update(id=new_id(), response_id=response_id, ratelimit_json=json.dumps(row["ratelimit"]))
    return [row[c] for c in _ATTEMPT_COLUMNS]


def _attempts_for(db: Database, response_ids: list[str]) -> dict[str, list[Attempt]]:
    return {rid: [attempt_from_fields(a) for a in found]
            for rid, found in _attempt_value_rows(db, response_ids).items()}


def _attempt_value_rows(db: Database, response_ids: list[str]) -> dict[str, list[Row]]:
    """Each response's attempts in order, as their rows with `ratelimit` parsed (the fields
    of desk.core.records.attempt_fields, and the row's own columns beside them)."""
    result: dict[str, list[Row]] = {}
    for start in range(0, len(response_ids), _CHUNK):
        chunk = response_ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for r in rows(db, f"SELECT * FROM attempts WHERE response_id IN ({marks}) ORDER BY response_id, number",
                      chunk):
            r["ratelimit"] = _json_object(r["ratelimit_json"])
            result.setdefault(r["response_id"], []).append(r)
    return result


def _json_object(text: str | None) -> dict[str, Any]:
    """A stored JSON object; most are empty, which needs no parser."""
    return {} if not text or text == "{}" else json.loads(text)


def _values(row: Row, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response's fields as plain values, added to its row (a fresh dict, kept: copying
    100,000 of them is an export's time): desk.core.records.response_fields' shape, without
    the attempts and the derived fields. `settings` when already parsed."""
    notes = row["notes_json"]
    row.update(
        settings=_json_object(row["settings_json"]) if settings is None else settings,
        variant={"label": row["variant_label"], "system": row["variant_system"]} if row["variant_label"] else None,
        refusal=bool(row["refusal"]),
        unknown_fields=_json_object(row["unknown_fields_json"]),
        notes=json.loads(notes) if notes and notes != "[]" else [],
        tool_calls=[record_fields(call) for call in calls_from_json(row.get("tool_calls_json"))],
    )
    return row


def _result(row: Row, attempts: list[Attempt]) -> ResponseResult:
    """A response from its row (desk.core.records.response_from_fields) and its attempts."""
    result = response_from_fields(_values(row))
    result.attempts = attempts
    result.reasoning_signature = row["reasoning_signature"]
    result.reasoning_redacted = tuple(json.loads(row["reasoning_redacted_json"] or "[]"))
    if kept := row.get("structured_verdict_json"):
        result.structured_verdict = StructuredVerdict.from_dict(json.loads(kept))
    return result
