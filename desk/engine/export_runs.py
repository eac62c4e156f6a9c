"""A run out of desk: one row per logical request of a load run (`export_run_requests`, the
window's Load tab) or one row per HTTP request of a run of any kind, retries included
(`export_run_attempts`, `desk export --run`): the evidence a vendor asks for, with each
request's timestamps, status, vendor request id and rate-limit headers as sent. CSV cells
get the formula guard of desk.engine.export_files.csv_cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from desk.core.records import attempt_fields, pick
from desk.engine.export_files import (
    ExportError,
    ExportResult,
    atomic,
    excel_bom_for,
    output,
    pyarrow,
    typed_table,
    where,
    write_csv,
    write_jsonl,
)
from desk.engine.ports.exports import ExportSource

# --- load-run requests -------------------------------------------------------------------

RUN_REQUEST_FORMATS = ("csv", "jsonl")
RUN_REQUEST_COLUMNS = (
    "run_id", "seq", "model", "step", "concurrency", "start_offset_ms", "status", "error_kind",
    "answered_by", "fallback_used", "ttft_ms", "total_ms", "attempts", "retries", "rate_limited",
    "retry_wait_ms", "input_tokens", "output_tokens", "cost_usd", "response_ids",
)  # fmt: skip


def run_request_rows(store: ExportSource, run_id: str) -> list[dict[str, Any]]:
    """One dict per logical request of a load run (see desk.core.load.RequestOutcome), in
    start order; `itl_ms` (gaps between chunks) is a list, `response_ids` too."""
    if store.runs.get(run_id) is None:
        raise ExportError(f"no run {run_id} in this store")
    rows = []
    for o in store.runs.requests(run_id):
        rows.append({
            "run_id": run_id, "seq": o.seq, "model": o.model, "step": o.step, "concurrency": o.concurrency,
            "start_offset_ms": o.start_offset_ms, "status": o.status, "error_kind": o.error_kind,
            "answered_by": o.answered_by, "fallback_used": o.fallback_used,
            "ttft_ms": o.request_ttft_ms,  # the file keeps its column name (see RequestOutcome)
            "total_ms": o.total_ms, "attempts": o.attempts, "retries": o.retries,
            "rate_limited": o.rate_limited, "retry_wait_ms": o.retry_wait_ms,
            "input_tokens": o.input_tokens, "output_tokens": o.output_tokens, "cost_usd": o.cost_usd,
            "response_ids": list(o.response_ids), "itl_ms": list(o.itl_ms),
        })
    return rows


def export_run_requests(store: ExportSource, run_id: str, fmt: str, out: str | Path | IO[str], *,
                        excel_bom: bool = True) -> ExportResult:
    """Write a load run's requests: CSV (RUN_REQUEST_COLUMNS, response ids joined with ";",
    the formula guard of `csv_cell`; no per-chunk gaps) or JSONL (every field, `itl_ms` as
    a list). Written whole or not at all, like `export_file`."""
    if fmt not in RUN_REQUEST_FORMATS:
        raise ExportError(f"format {fmt!r} is not one of {', '.join(RUN_REQUEST_FORMATS)}")
    rows = run_request_rows(store, run_id)
    with output(out) as f:
        if fmt == "csv":
            write_csv(f, RUN_REQUEST_COLUMNS,
                      ({**r, "response_ids": ";".join(r["response_ids"])} for r in rows),
                      bom=excel_bom_for(out, excel_bom))
        else:
            write_jsonl(f, rows)
    return ExportResult(fmt, where(out), len(rows))


# --- one row per HTTP request of a run (any kind) ----------------------------------------

RUN_ATTEMPT_FORMATS = ("csv", "jsonl", "parquet")
RUN_ATTEMPT_COLUMNS = (
    "run_id", "run_kind", "seq", "step", "concurrency", "request_started_ms", "response_id", "trial_id",
    "model", "variant", "attempt", "final", "status", "http_status", "error_kind", "error_message",
    "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms", "connect_ms", "wait_before_ms",
    "retry_after_s", "vendor_request_id", "input_tokens", "output_tokens", "cost_usd", "ratelimit",
)  # fmt: skip
# An attempt's own part of RUN_ATTEMPT_COLUMNS (desk.core.records.attempt_fields).
RUN_ATTEMPT_KEYS = RUN_ATTEMPT_COLUMNS[RUN_ATTEMPT_COLUMNS.index("final") + 1:]
_ATTEMPT_TYPES = {
    **dict.fromkeys(("seq", "step", "concurrency", "attempt", "http_status", "input_tokens", "output_tokens"),
                    "int"),
    **dict.fromkeys(("request_started_ms", "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms",
                     "connect_ms", "wait_before_ms", "retry_after_s", "cost_usd"), "float"),
    "final": "bool",
}


def run_attempt_rows(store: ExportSource, run_id: str) -> list[dict[str, Any]]:
    """One dict per HTTP request a run made, retries included, for a run of any kind (the
    responses tagged with the run's id: load runs, suite runs), in request order.

    Each row is one attempt: `attempt` is its number (1 = first try), `final` whether it
    was the response's last, `status` its outcome (ok | error | interrupted) and
    `http_status` the vendor's status code. `started_at`, `first_token_at` and `ended_at`
    are unix seconds to the microsecond (`started_at` is when the request was handed to
    the transport, the instant TTFT counts from, so `ttft_ms == round((first_token_at -
    started_at) * 1000, 3)`); `vendor_request_id` is the vendor's request id (header, else
    the id in the body); `ratelimit` the vendor's rate-limit headers exactly as sent (an
    object). Load runs add the logical request's `seq`, `step`, `concurrency` and
    `request_started_ms` (since the run started); suite runs their `seq` and concurrency.
    """
    info = store.runs.get(run_id)
    if info is None:
        raise ExportError(f"no run {run_id} in this store")
    requests = {o.seq: o for o in store.runs.requests(run_id)} if info.kind == "load" else {}
    spec_concurrency = info.spec.get("concurrency") if isinstance(info.spec.get("concurrency"), int) else None
    rows: list[dict[str, Any]] = []
    for seq, r in store.runs.calls(run_id):
        o = requests.get(seq) if seq is not None else None
        for a in r.attempts:
            rows.append({
                "run_id": run_id, "run_kind": info.kind, "seq": seq,
                "step": o.step if o else None,
                "concurrency": o.concurrency if o else spec_concurrency,
                "request_started_ms": o.start_offset_ms if o else None,
                "response_id": r.id, "trial_id": r.trial_id, "model": r.model,
                "variant": r.variant.label if r.variant else None,
                "attempt": a.number, "final": a is r.attempts[-1],
                **pick(attempt_fields(a), RUN_ATTEMPT_KEYS),
            })
    return rows


def export_run_attempts(store: ExportSource, run_id: str, fmt: str, out: str | Path | IO[str], *,
                        excel_bom: bool = True) -> ExportResult:
    """Write one line per HTTP request of a run (see `run_attempt_rows`): JSONL with
    `ratelimit` as an object; CSV (RUN_ATTEMPT_COLUMNS, the formula guard of `csv_cell`)
    and Parquet (typed columns) with `ratelimit` as JSON text. Written whole or not at all."""
    if fmt not in RUN_ATTEMPT_FORMATS:
        raise ExportError(f"format {fmt!r} is not one of {', '.join(RUN_ATTEMPT_FORMATS)}")
    if fmt == "parquet":
        pa, pq = pyarrow()
        if not isinstance(out, str | Path):
            raise ExportError("Parquet is written to a file, not a stream")
    rows = run_attempt_rows(store, run_id)
    if fmt == "parquet":
        table = typed_table(pa, RUN_ATTEMPT_COLUMNS, _ATTEMPT_TYPES,
                             [{**r, "ratelimit": json.dumps(r["ratelimit"])} for r in rows])
        with atomic(out, binary=True) as f:  # type: ignore[arg-type]
            pq.write_table(table, f)
        return ExportResult(fmt, str(out), len(rows))
    with output(out) as f:
        if fmt == "csv":
            write_csv(f, RUN_ATTEMPT_COLUMNS,
                      ({**r, "ratelimit": json.dumps(r["ratelimit"], ensure_ascii=False)} for r in rows),
                      bom=excel_bom_for(out, excel_bom))
        else:
            write_jsonl(f, rows)
    return ExportResult(fmt, where(out), len(rows))
