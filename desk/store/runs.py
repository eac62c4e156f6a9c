"""Runs (load runs for now) and their per-request outcomes."""

from __future__ import annotations

import builtins
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from desk.core.host import HOST
from desk.core.ids import new_id
from desk.core.load import AttemptMark, RequestOutcome, remaining
from desk.core.response import ResponseResult
from desk.store import responses
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import one, rows, transaction


@dataclass(frozen=True)
class RunInfo:
    id: str
    kind: str
    name: str | None
    created_at: float
    finished_at: float | None
    status: str  # running | done | cancelled | interrupted | failed (a load run whose requests were not stored)
    spec: dict[str, Any]
    summary: dict[str, Any] | None


_REQUEST_COLUMNS = (
    "run_id", "seq", "model", "step", "concurrency", "start_offset_ms", "status", "error_kind",
    "answered_by", "request_ttft_ms", "total_ms", "itl_json", "attempts", "retries", "rate_limited",
    "retry_wait_ms", "input_tokens", "output_tokens", "cost_usd", "response_ids_json",
)  # fmt: skip


class RunTable:
    """The `runs` and `run_requests` tables: runs of any kind (load, suite), the requests of
    a load run, and the model calls any run made (responses tagged with its id)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, kind: str, spec: dict[str, Any], name: str | None = None) -> str:
        run_id = new_id()
        self.db.execute(
            "INSERT INTO runs (id, kind, name, created_at, status, spec_json, writer_pid, writer_host) "
            "VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
            (run_id, kind, name, time.time(), json.dumps(spec), os.getpid(), HOST),
        )
        return run_id

    def finish(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        cursor = self.db.execute(
            "UPDATE runs SET status = ?, summary_json = ?, finished_at = ? WHERE id = ?",
            (status, json.dumps(summary), time.time(), run_id),
        )
        if cursor.rowcount == 0:
            raise StoreError(f"no run {run_id}")

    def get(self, run_id: str) -> RunInfo | None:
        row = one(self.db, "SELECT * FROM runs WHERE id = ?", [run_id])
        return _run_info(row) if row else None

    def list(self, kind: str | None = None, limit: int = 200) -> builtins.list[RunInfo]:
        """Stored runs, newest first (`kind` None: every kind)."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        return [_run_info(r) for r in rows(self.db, f"SELECT * FROM runs {where} "
                                                    "ORDER BY created_at DESC, id DESC LIMIT ?",
                                           [*params, limit])]

    def save_batch(self, run_id: str, outcomes: Sequence[RequestOutcome],
                   calls: Sequence[tuple[int, ResponseResult]]) -> None:
        """Write finished requests and the responses they made, in one transaction."""
        db = self.db
        answers = responses.ResponseTable(db)
        with transaction(db):
            for seq, result in calls:
                answers.finish(result)
                db.execute("UPDATE responses SET run_id = ?, run_seq = ? WHERE id = ?", (run_id, seq, result.id))
            marks = ", ".join("?" for _ in _REQUEST_COLUMNS)
            db.conn.executemany(
                f"INSERT OR REPLACE INTO run_requests ({', '.join(_REQUEST_COLUMNS)}) VALUES ({marks})",
                [_request_values(run_id, o) for o in outcomes],
            )

    def requests(self, run_id: str) -> builtins.list[RequestOutcome]:
        """A load run's requests in start order, each with the marks of its HTTP attempts
        (rebuilt from the attempts table: see `_attach_marks`)."""
        outcomes = [_outcome(r) for r in rows(self.db, "SELECT * FROM run_requests WHERE run_id = ? "
                                                       "ORDER BY start_offset_ms, seq", [run_id])]
        _attach_marks(self.db, run_id, outcomes)
        return outcomes

    def responses(self, run_id: str) -> builtins.list[ResponseResult]:
        return [result for _, result in self.calls(run_id)]

    def calls(self, run_id: str) -> builtins.list[tuple[int | None, ResponseResult]]:
        """(run_seq, response with its attempts) of every model call a run of any kind made
        (responses tagged with `run_id`), in run_seq order, then as stored."""
        linked = rows(self.db, "SELECT id, run_seq FROM responses WHERE run_id = ? "
                               "ORDER BY run_seq, created_at, rowid", [run_id])
        found = responses.responses_by_ids(self.db, [r["id"] for r in linked])
        return [(r["run_seq"], found[r["id"]]) for r in linked if r["id"] in found]

    def recover(self) -> int:
        """Runs left 'running' by a process on this machine that has died are 'interrupted'
        (what they finished is kept); runs of other machines are left alone."""
        stale = [
            r["id"] for r in rows(self.db, "SELECT id, writer_pid FROM runs "
                                           "WHERE status = 'running' AND writer_host = ?", [HOST])
            if r["writer_pid"] is None or not responses.pid_alive(r["writer_pid"])
        ]
        for run_id in stale:
            self.db.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run_id,))
        return len(stale)


def _attach_marks(db: Database, run_id: str, outcomes: Sequence[RequestOutcome]) -> None:
    """Each request's attempts as AttemptMarks on the run's clock: their stored wall times
    less the run's start instant (the summary's `started_at`). A run stored without it is
    anchored on each request's first attempt, sent `start_offset_ms` into the run (to
    within the time between the request's start and its first send)."""
    by_seq = {o.seq: o for o in outcomes}
    run = rows(db, "SELECT summary_json FROM runs WHERE id = ?", [run_id])
    run_wall = json.loads(run[0]["summary_json"] or "{}").get("started_at") if run else None
    found = rows(
        db,
        "SELECT r.run_seq, r.model, a.started_at, a.ended_at, a.http_status, a.ratelimit_json "
        "FROM responses r JOIN attempts a ON a.response_id = r.id WHERE r.run_id = ? "
        "ORDER BY r.run_seq, a.started_at",
        [run_id],
    )
    anchors: dict[int, float] = {}
    for r in found:
        o = by_seq.get(r["run_seq"])
        if o is None:
            continue
        if run_wall is not None:  # the run's own start: every attempt on the run's clock exactly
            base = -run_wall
        else:  # a run stored before its start was kept: anchored on the request's first send
            first = anchors.setdefault(o.seq, r["started_at"])
            base = o.start_offset_ms / 1000 - first
        left_requests, left_tokens = remaining(json.loads(r["ratelimit_json"] or "{}"))
        o.marks.append(AttemptMark(
            r["model"], round(base + r["started_at"], 6),
            None if r["ended_at"] is None else round(base + r["ended_at"], 6),
            r["http_status"], left_requests, left_tokens,
        ))


def _request_values(run_id: str, o: RequestOutcome) -> list[Any]:
    values = {
        "run_id": run_id, "seq": o.seq, "model": o.model, "step": o.step, "concurrency": o.concurrency,
        "start_offset_ms": o.start_offset_ms, "status": o.status, "error_kind": o.error_kind,
        "answered_by": o.answered_by, "request_ttft_ms": o.request_ttft_ms, "total_ms": o.total_ms,
        "itl_json": json.dumps([round(x, 3) for x in o.itl_ms]), "attempts": o.attempts,
        "retries": o.retries, "rate_limited": o.rate_limited, "retry_wait_ms": o.retry_wait_ms,
        "input_tokens": o.input_tokens, "output_tokens": o.output_tokens, "cost_usd": o.cost_usd,
        "response_ids_json": json.dumps(o.response_ids),
    }
    return [values[c] for c in _REQUEST_COLUMNS]


def _outcome(r: dict[str, Any]) -> RequestOutcome:
    return RequestOutcome(
        model=r["model"], step=r["step"], concurrency=r["concurrency"], seq=r["seq"],
        start_offset_ms=r["start_offset_ms"], status=r["status"], error_kind=r["error_kind"],
        answered_by=r["answered_by"], request_ttft_ms=r["request_ttft_ms"], total_ms=r["total_ms"],
        itl_ms=json.loads(r["itl_json"] or "[]"), attempts=r["attempts"], retries=r["retries"],
        rate_limited=r["rate_limited"], retry_wait_ms=r["retry_wait_ms"], input_tokens=r["input_tokens"],
        output_tokens=r["output_tokens"], cost_usd=r["cost_usd"],
        response_ids=json.loads(r["response_ids_json"]),
    )


def _run_info(r: dict[str, Any]) -> RunInfo:
    return RunInfo(
        id=r["id"], kind=r["kind"], name=r["name"], created_at=r["created_at"], finished_at=r["finished_at"],
        status=r["status"], spec=json.loads(r["spec_json"]),
        summary=json.loads(r["summary_json"]) if r["summary_json"] else None,
    )
