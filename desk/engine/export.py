"""Labelled comparisons out of desk: CSV, JSON Lines, preference pairs and (optionally) Parquet.

The CLI's `desk export` and the window's File → Export both call `export_file`. Everything
is read through `Store` methods (no SQL here) and nothing is written to the store.

What each format holds, stated once:

- **csv** (and **parquet**): one row per *rated answer*: each current rating of a response,
  so an answer two raters rated gives two rows. Columns are `CSV_COLUMNS`, then one column
  per extra criterion of the stored rubrics (prefixed `rating_` if its key clashes with a
  column above), then `rater, rating_origin, blind, rubric_name, rubric_version, rating_id`.
  `rating_origin` is empty for a rating made in this store, else the id of the store a
  merge brought it from, so a merged "ann" is never mistaken for your own ann. `system` is
  the system prompt that answer was given (its variant's, when it ran as a variant).
  Attachment names are joined with "; " and tags with ";". Plain UTF-8, a header row,
  quoting by the csv module. A text cell starting with `=`, `+`, `-`, `@`, a tab or a
  carriage return gets a leading `'` so a spreadsheet shows it instead of running it as
  a formula; numbers are written as they are. Parquet holds the same rows and columns,
  typed, with the text untouched (it is never evaluated).
- **jsonl**: one object per rated answer, nested as `{"trial": ..., "response": ...,
  "rating": ...}`; attachments by name, kind, mime, sha256 and size (never their bytes);
  the response with every measured field, its settings and its attempts; the rating's
  values spread into `rating` next to its rater, `origin` (null, or the id of the store a
  merge brought it from), blind flag, shown order and rubric.
- **pairs**: one line per current preference whose winner is a or b: `{prompt, system,
  chosen, rejected, chosen_model, rejected_model, rater, origin, reason, trial_id,
  preference_id}` (`origin` as in jsonl) for preference tuning (DPO and the like). Ties
  and "both bad" say nothing about which answer is better and are skipped; so are pairs
  whose two answers were given different system prompts (variants), which are not one
  prompt. The counts skipped are reported. `prompt` is the typed prompt; attached files are not inlined.

Text is never altered beyond the CSV formula guard: no escaping, trimming or
normalising, so an answer comes back exactly as the model wrote it. No API key is
written: the store holds none, and nothing here reads the keyring or provider settings.

A load run's requests (`export_run_requests`) go out as CSV or JSONL too: one row per
logical request of the run, with the same formula guard for CSV. The evidence a vendor
asks for goes out per HTTP request (`export_run_attempts`, `desk export --run`): one row
per attempt of any run (load or suite), retries as rows of their own, each with its
timestamps, status, vendor request id and rate-limit headers as sent.

Filters (`ExportFilter`, the scorecard's): trials, rater, tags (a rating must carry every
tag) and `since <= rated at < until` select the current ratings. For pairs, rater and
time apply to the preference itself, trials to its answers, and tags require both answers
to carry a current rating (by that rater, if one is given) with every tag.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from desk.core.rating import Preference, Rating
from desk.core.response import Attempt, ResponseResult
from desk.core.rubric import Rubric
from desk.store.db import Store
from desk.store.ratings import RatingFilter as ExportFilter
from desk.store.trials import StoredTrial

FORMATS = ("csv", "jsonl", "pairs", "parquet")
PARQUET_MISSING = "Parquet needs the optional extra: pip install 'desk[parquet]'"

# Criteria every rubric has (desk.core.rubric.DEFAULT_RUBRIC); others become extra columns.
STANDARD_CRITERIA = ("outcome", "uncertainty", "constraints", "quality", "note", "tags")

CSV_COLUMNS = (
    "trial_id", "response_id", "rated_at", "prompt", "system", "attachments", "model", "variant",
    "answer", "status", "error_kind", "refusal", "unknown_fields", "ttft_ms", "total_ms", "wall_ms",
    "input_tokens", "output_tokens",
    "output_tokens_per_s", "cost_usd", "retries", "served_model", "system_fingerprint", *STANDARD_CRITERIA,
)  # fmt: skip
RATING_META_COLUMNS = ("rater", "rating_origin", "blind", "rubric_name", "rubric_version", "rating_id")

_FLOAT_COLUMNS = frozenset({"ttft_ms", "total_ms", "wall_ms", "output_tokens_per_s", "cost_usd"})
_INT_COLUMNS = frozenset({"input_tokens", "output_tokens", "retries", "quality", "rubric_version"})
_BOOL_COLUMNS = frozenset({"blind", "refusal"})

# What a spreadsheet may run as a formula when a cell starts with it (OWASP's list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    """An export that cannot be made (unknown format, missing optional extra, unwritable file)."""


@dataclass(frozen=True)
class ExportResult:
    format: str
    path: str
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (pairs only)


# --- public entry point ------------------------------------------------------------------


def export_file(store: Store, fmt: str, out: str | Path | IO[str],
                filters: ExportFilter | None = None,
                progress: Callable[[int, int | None, str | None], None] | None = None,
                *, excel_bom: bool = True) -> ExportResult:
    """Write the rated answers (or preference pairs) selected by `filters` to `out`.

    A CSV file starts with a UTF-8 byte order mark unless `excel_bom` is False (see
    `excel_bom_for`), so Excel opens it as UTF-8 when it is double-clicked.

    `out` is a path, written whole or not at all (a temporary file renamed into place),
    or an open text stream (not for parquet). Raises ExportError with a plain sentence.
    `progress(rows_written, rows_total, what)` is called as it goes; an exception it raises
    (a cancel) stops the export, and a path is then left as it was.
    """
    def counted(items: Iterable[Any], total: int) -> Iterator[Any]:
        done = 0
        for item in items:
            if progress is not None and done % 200 == 0:
                progress(done, total, "writing")
            yield item
            done += 1
        if progress is not None:
            progress(done, total, "written")

    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    filters = filters or ExportFilter()
    skipped: dict[str, int] = {}
    if fmt in ("csv", "parquet"):
        if fmt == "parquet":
            pa, pq = _pyarrow()  # before any work: a missing extra is a one-line answer
            if not isinstance(out, str | Path):
                raise ExportError("Parquet is written to a file, not a stream")
        # Rows are built and written a batch at a time: memory stays flat in n.
        n, stray = store.matching_rating_keys(filters)
        look = _Lookup(store)
        columns, extra_names = _table_columns(look, stray)
        rows = counted(_table_row_stream(store, look, extra_names, filters), n)
        if fmt == "parquet":
            schema = _arrow_schema(pa, columns, extra_names, look.all_rubrics())
            with _atomic(out, binary=True) as f, pq.ParquetWriter(f, schema) as writer:  # type: ignore[arg-type]
                for batch in _batched(rows, PARQUET_ROW_GROUP):
                    writer.write_table(_arrow_batch(pa, schema, batch))
            return ExportResult(fmt, str(out), n)
        with _output(out) as f:
            write_csv(f, columns, rows, bom=excel_bom_for(out, excel_bom))
    elif fmt == "jsonl":
        n, _ = store.matching_rating_keys(filters)
        with _output(out) as f:
            write_jsonl(f, counted(_rated_record_stream(store, filters), n))
    else:
        pairs, skipped = preference_pairs(store, filters)
        n = len(pairs)
        with _output(out) as f:
            write_jsonl(f, counted(pairs, n))
    where = str(out) if isinstance(out, str | Path) else str(getattr(out, "name", "a stream"))
    return ExportResult(fmt, where, n, skipped)


PARQUET_ROW_GROUP = 5000  # rows per row group: a few MB of answers held at once


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rated_pairs(store: Store, filters: ExportFilter, look: _Lookup | None = None, *,
                 attempts: bool = True) -> Iterator[tuple[ResponseResult, Rating]]:
    """The rated answers a batch at a time; `look` then holds just that batch's trials."""
    for batch in store.rated_response_batches(filters, attempts=attempts):
        if look is not None:
            look.hold_trials({response.trial_id for response, _ in batch})
        yield from batch


# --- flat rows (CSV, Parquet) ------------------------------------------------------------


def table_rows(store: Store, filters: ExportFilter | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(column names, one dict per rated answer) with Python values: str, int, float,
    bool or None. Not yet guarded against spreadsheet formulas (see `csv_cell`)."""
    filters = filters or ExportFilter()
    look = _Lookup(store)
    columns, extra_names = _table_columns(look, store.matching_rating_keys(filters)[1])
    return columns, list(_table_row_stream(store, look, extra_names, filters))


def _table_columns(look: _Lookup, stray: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """(columns, extra criterion key -> its column name) for ratings holding `stray` keys."""
    extra = _extra_keys(look.all_rubrics(), stray)
    extra_names = {key: (f"rating_{key}" if key in CSV_COLUMNS or key in RATING_META_COLUMNS else key)
                   for key in extra}
    return [*CSV_COLUMNS, *extra_names.values(), *RATING_META_COLUMNS], extra_names


def _table_row_stream(store: Store, look: _Lookup, extra_names: dict[str, str],
                      filters: ExportFilter) -> Iterator[dict[str, Any]]:
    for response, rating in _rated_pairs(store, filters, look, attempts=False):  # a row holds none
        trial = look.trial(response.trial_id)
        rubric = look.rubric(rating.rubric_id)
        values = rating.values
        row: dict[str, Any] = {
            "trial_id": response.trial_id,
            "response_id": response.id,
            "rated_at": iso_time(rating.created_at),
            "prompt": trial.input.prompt if trial else None,
            "system": effective_system(trial, response),
            "attachments": "; ".join(a.name for a in trial.input.attachments) if trial else "",
            "model": response.model,
            "variant": response.variant.label if response.variant else None,
            "answer": response.text,
            "status": response.status.value,
            "error_kind": response.error_kind.value if response.error_kind else None,
            "refusal": response.refusal,
            "unknown_fields": unknown_counts(response),
            "ttft_ms": response.ttft_ms,  # the final attempt's own
            "total_ms": response.total_ms,
            "wall_ms": response.wall_ms,  # what the user waited, retries included
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "output_tokens_per_s": response.output_tokens_per_s,
            "cost_usd": response.cost_usd,
            "retries": response.retries,
            "served_model": response.served_model,  # what the vendor says it served
            "system_fingerprint": response.system_fingerprint,
            "outcome": values.get("outcome"),
            "uncertainty": values.get("uncertainty"),
            "constraints": values.get("constraints"),
            "quality": values.get("quality"),
            "note": values.get("note"),
            "tags": ";".join(rating.tags),
        }
        for key, name in extra_names.items():
            row[name] = _flat(values.get(key))
        row.update({
            "rater": rating.rater,
            "rating_origin": rating.origin,  # None: made here; else the store a merge brought it from
            "blind": rating.blind,
            "rubric_name": rubric.name if rubric else None,
            "rubric_version": rubric.version if rubric else None,
            "rating_id": rating.id,
        })
        yield row


def csv_cell(value: Any) -> Any:
    """A value as written to CSV: None empty, bools true/false, numbers as they are, text
    that a spreadsheet would run as a formula prefixed with an apostrophe."""
    if type(value) is str:  # the most common: checked first (a hundred thousand rows of them)
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def excel_bom_for(out: str | Path | IO[str], wanted: bool = True) -> bool:
    """Whether a CSV starts with a UTF-8 byte order mark: files do by default (Excel reads a
    double-clicked CSV without one in the legacy code page, so "é" and "—" come out garbled);
    a stream (stdout into a pipe) never does, so `head` and `cut` see plain text."""
    return wanted and isinstance(out, str | Path)


def write_csv(f: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]], *, bom: bool = False) -> None:
    if bom:
        f.write("\ufeff")
    writer = csv.writer(f)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])


def _arrow_schema(pa: Any, columns: Sequence[str], extra_names: dict[str, str], rubrics: Sequence[Rubric]) -> Any:
    """Parquet column types, fixed before the first row: numbers and flags typed, an extra
    scale criterion as int64, any other criterion as text."""
    scales = {c.key for rubric in rubrics for c in rubric.criteria if c.kind == "scale"}
    whole = _INT_COLUMNS | {name for key, name in extra_names.items() if key in scales}

    def kind(column: str) -> Any:
        if column in _FLOAT_COLUMNS:
            return pa.float64()
        if column in _BOOL_COLUMNS:
            return pa.bool_()
        return pa.int64() if column in whole else pa.string()

    return pa.schema([(column, kind(column)) for column in columns])


def _arrow_batch(pa: Any, schema: Any, rows: Sequence[dict[str, Any]]) -> Any:
    arrays = []
    for f in schema:
        values = [r.get(f.name) for r in rows]
        if f.type == pa.string():
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError(PARQUET_MISSING) from None
    return pa, pq


# --- nested records (JSONL) --------------------------------------------------------------


def rated_records(store: Store, filters: ExportFilter | None = None) -> list[dict[str, Any]]:
    """One `{"trial", "response", "rating"}` object per rated answer (see the module doc)."""
    return list(_rated_record_stream(store, filters or ExportFilter()))


def _rated_record_stream(store: Store, filters: ExportFilter) -> Iterator[dict[str, Any]]:
    look = _Lookup(store)
    for response, rating in _rated_pairs(store, filters, look):
        trial = look.trial(response.trial_id)
        yield {
            "trial": trial_json(trial, response.trial_id),
            "response": response_record(response, trial),
            "rating": rating_json(rating, look.rubric(rating.rubric_id)),
        }


def trial_json(trial: StoredTrial | None, trial_id: str) -> dict[str, Any]:
    if trial is None:  # pragma: no cover - responses always belong to a stored trial
        return {"id": trial_id}
    return {
        "id": trial.id,
        "created_at": trial.created_at,
        "parent_trial_id": trial.parent_trial_id,
        "prompt": trial.input.prompt,
        "system": trial.input.system,
        "attachments": [
            {"name": a.name, "kind": a.kind, "mime": a.mime, "sha256": a.sha256, "size": a.size}
            for a in trial.input.attachments
        ],
    }


def response_record(r: ResponseResult, trial: StoredTrial | None = None) -> dict[str, Any]:
    """Everything measured about one answer, with its settings and attempts."""
    return {
        "id": r.id,
        "trial_id": r.trial_id,
        "model": r.model,
        "provider": r.provider,
        "model_name": r.model_name,
        "variant": {"label": r.variant.label, "system": r.variant.system} if r.variant else None,
        "system": effective_system(trial, r) if trial is not None else None,
        "settings": r.settings,
        "status": r.status.value,
        "error_kind": r.error_kind.value if r.error_kind else None,
        "error_message": r.error_message,
        "http_status": r.http_status,
        "text": r.text,
        "reasoning_text": r.reasoning_text,
        "finish_reason": r.finish_reason,
        "started_at": r.started_at,
        "first_token_at": r.first_token_at,
        "ended_at": r.ended_at,
        "ttft_ms": r.ttft_ms,
        "total_ms": r.total_ms,
        "wall_ms": r.wall_ms,
        "connect_ms": r.connect_ms,
        "output_tokens_per_s": r.output_tokens_per_s,
        "input_tokens": r.usage.input_tokens,
        "output_tokens": r.usage.output_tokens,
        "cached_input_tokens": r.usage.cached_input_tokens,
        "reasoning_tokens": r.usage.reasoning_tokens,
        "cost_usd": r.cost_usd,
        "cost_note": r.cost_note or None,
        "price_source": r.price_source,
        "retries": r.retries,
        "retry_wait_ms": r.retry_wait_ms,
        "vendor_request_id": r.vendor_request_id,
        "served_model": r.served_model,
        "system_fingerprint": r.system_fingerprint,
        "refusal": r.refusal,
        "unknown_fields": {name: {"count": f.count, "raw": f.raw} for name, f in r.unknown_fields.items()},
        "notes": r.notes,
        "attempts": [attempt_json(a) for a in r.attempts],
    }


def unknown_counts(r: ResponseResult) -> str:
    """The content fields desk did not read, as "name×count; ..." (empty: none)."""
    return "; ".join(f"{name}×{f.count}" for name, f in sorted(r.unknown_fields.items()))


def attempt_json(a: Attempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "status": a.status.value,
        "error_kind": a.error_kind.value if a.error_kind else None,
        "error_message": a.error_message,
        "http_status": a.http_status,
        "started_at": a.started_at,
        "first_token_at": a.first_token_at,
        "ended_at": a.ended_at,
        "connect_ms": a.connect_ms,
        "ttft_ms": a.ttft_ms,
        "total_ms": a.total_ms,
        "retry_after_s": a.retry_after_s,
        "wait_before_ms": a.wait_before_ms,
        "vendor_request_id": a.vendor_request_id,
        "ratelimit": dict(a.ratelimit),
        "input_tokens": a.usage.input_tokens,
        "output_tokens": a.usage.output_tokens,
        "cached_input_tokens": a.usage.cached_input_tokens,
        "reasoning_tokens": a.usage.reasoning_tokens,
        "cost_usd": a.cost_usd,
    }


def rating_json(rating: Rating, rubric: Rubric | None) -> dict[str, Any]:
    """A rating as JSON: its values (criterion key -> value) spread next to who, when, how."""
    meta = {
        "id": rating.id,
        "response_id": rating.response_id,
        "created_at": rating.created_at,
        "rated_at": iso_time(rating.created_at),
        "rater": rating.rater,
        "origin": rating.origin,  # None: made here; else the store a merge brought it from
        "blind": rating.blind,
        "shown_order": list(rating.shown_order),
        "supersedes": rating.supersedes,
        "rubric": {"id": rating.rubric_id, "name": rubric.name if rubric else None,
                   "version": rubric.version if rubric else None},
    }
    values = {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in rating.values.items()}
    return {**values, **meta}


def rubric_json(rubric: Rubric) -> dict[str, Any]:
    return {
        "id": rubric.id,
        "name": rubric.name,
        "version": rubric.version,
        "criteria": [
            {
                "key": c.key,
                "label": c.label,
                "kind": c.kind,
                "required": c.required,
                **({"options": [{"key": o.key, "label": o.label, "hint": o.hint} for o in c.options]}
                   if c.kind == "choice" else {}),
                **({"low": c.low, "high": c.high} if c.kind == "scale" else {}),
            }
            for c in rubric.criteria
        ],
    }


def write_jsonl(f: IO[str], records: Iterable[dict[str, Any]]) -> None:
    for record in records:
        f.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")


# --- preference pairs --------------------------------------------------------------------

SKIP_NO_WINNER = "tie or both bad"
SKIP_SYSTEMS_DIFFER = "answers given different system prompts"


def preference_pairs(store: Store, filters: ExportFilter | None = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(one chosen/rejected record per decisive current preference, {reason: n skipped})."""
    f = filters or ExportFilter()
    look = _Lookup(store)
    tagged: set[str] | None = None
    if f.tags:
        tag_scope = ExportFilter(tags=f.tags, rater=f.rater, trial_ids=f.trial_ids)
        tagged = {rating.response_id for _, rating in store.rated_responses(tag_scope)}
    pairs: list[dict[str, Any]] = []
    skipped = {SKIP_NO_WINNER: 0, SKIP_SYSTEMS_DIFFER: 0}
    for pref in store.current_preferences(f.rater):
        if (f.since is not None and pref.created_at < f.since) or (f.until is not None and pref.created_at >= f.until):
            continue
        if tagged is not None and not {pref.response_a, pref.response_b} <= tagged:
            continue
        a, b = look.response(pref.response_a), look.response(pref.response_b)
        if a is None or b is None:  # pragma: no cover - foreign keys keep both
            continue
        if f.trial_ids and a.trial_id not in f.trial_ids:
            continue
        if pref.winner not in ("a", "b"):
            skipped[SKIP_NO_WINNER] += 1
            continue
        trial = look.trial(a.trial_id)
        if effective_system(trial, a) != effective_system(trial, b):
            skipped[SKIP_SYSTEMS_DIFFER] += 1
            continue
        chosen, rejected = (a, b) if pref.winner == "a" else (b, a)
        pairs.append(pair_json(pref, trial, chosen, rejected))
    return pairs, {reason: n for reason, n in skipped.items() if n}


def pair_json(pref: Preference, trial: StoredTrial | None, chosen: ResponseResult,
              rejected: ResponseResult) -> dict[str, Any]:
    return {
        "prompt": trial.input.prompt if trial else None,
        "system": effective_system(trial, chosen),
        "chosen": chosen.text,
        "rejected": rejected.text,
        "chosen_model": chosen.model,
        "rejected_model": rejected.model,
        "rater": pref.rater,
        "origin": pref.origin,
        "reason": pref.reason,
        "trial_id": chosen.trial_id,
        "preference_id": pref.id,
    }


# --- load-run requests -------------------------------------------------------------------

RUN_REQUEST_FORMATS = ("csv", "jsonl")
RUN_REQUEST_COLUMNS = (
    "run_id", "seq", "model", "step", "concurrency", "start_offset_ms", "status", "error_kind",
    "answered_by", "fallback_used", "ttft_ms", "total_ms", "attempts", "retries", "rate_limited",
    "retry_wait_ms", "input_tokens", "output_tokens", "cost_usd", "response_ids",
)  # fmt: skip


def run_request_rows(store: Store, run_id: str) -> list[dict[str, Any]]:
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


def export_run_requests(store: Store, run_id: str, fmt: str, out: str | Path | IO[str], *,
                        excel_bom: bool = True) -> ExportResult:
    """Write a load run's requests: CSV (RUN_REQUEST_COLUMNS, response ids joined with ";",
    the formula guard of `csv_cell`; no per-chunk gaps) or JSONL (every field, `itl_ms` as
    a list). Written whole or not at all, like `export_file`."""
    if fmt not in RUN_REQUEST_FORMATS:
        raise ExportError(f"format {fmt!r} is not one of {', '.join(RUN_REQUEST_FORMATS)}")
    rows = run_request_rows(store, run_id)
    with _output(out) as f:
        if fmt == "csv":
            write_csv(f, RUN_REQUEST_COLUMNS,
                      ({**r, "response_ids": ";".join(r["response_ids"])} for r in rows),
                      bom=excel_bom_for(out, excel_bom))
        else:
            write_jsonl(f, rows)
    where = str(out) if isinstance(out, str | Path) else str(getattr(out, "name", "a stream"))
    return ExportResult(fmt, where, len(rows))


# --- one row per HTTP request of a run (any kind) ----------------------------------------

RUN_ATTEMPT_FORMATS = ("csv", "jsonl", "parquet")
RUN_ATTEMPT_COLUMNS = (
    "run_id", "run_kind", "seq", "step", "concurrency", "request_started_ms", "response_id", "trial_id",
    "model", "variant", "attempt", "final", "status", "http_status", "error_kind", "error_message",
    "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms", "connect_ms", "wait_before_ms",
    "retry_after_s", "vendor_request_id", "input_tokens", "output_tokens", "cost_usd", "ratelimit",
)  # fmt: skip
_ATTEMPT_TYPES = {
    **dict.fromkeys(("seq", "step", "concurrency", "attempt", "http_status", "input_tokens", "output_tokens"),
                    "int"),
    **dict.fromkeys(("request_started_ms", "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms",
                     "connect_ms", "wait_before_ms", "retry_after_s", "cost_usd"), "float"),
    "final": "bool",
}


def run_attempt_rows(store: Store, run_id: str) -> list[dict[str, Any]]:
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
                "attempt": a.number, "final": a is r.attempts[-1], "status": a.status.value,
                "http_status": a.http_status, "error_kind": a.error_kind.value if a.error_kind else None,
                "error_message": a.error_message, "started_at": a.started_at, "first_token_at": a.first_token_at,
                "ended_at": a.ended_at, "ttft_ms": a.ttft_ms, "total_ms": a.total_ms, "connect_ms": a.connect_ms,
                "wait_before_ms": a.wait_before_ms, "retry_after_s": a.retry_after_s,
                "vendor_request_id": a.vendor_request_id, "input_tokens": a.usage.input_tokens,
                "output_tokens": a.usage.output_tokens, "cost_usd": a.cost_usd, "ratelimit": dict(a.ratelimit),
            })
    return rows


def export_run_attempts(store: Store, run_id: str, fmt: str, out: str | Path | IO[str], *,
                        excel_bom: bool = True) -> ExportResult:
    """Write one line per HTTP request of a run (see `run_attempt_rows`): JSONL with
    `ratelimit` as an object; CSV (RUN_ATTEMPT_COLUMNS, the formula guard of `csv_cell`)
    and Parquet (typed columns) with `ratelimit` as JSON text. Written whole or not at all."""
    if fmt not in RUN_ATTEMPT_FORMATS:
        raise ExportError(f"format {fmt!r} is not one of {', '.join(RUN_ATTEMPT_FORMATS)}")
    if fmt == "parquet":
        pa, pq = _pyarrow()
        if not isinstance(out, str | Path):
            raise ExportError("Parquet is written to a file, not a stream")
    rows = run_attempt_rows(store, run_id)
    if fmt == "parquet":
        table = _typed_table(pa, RUN_ATTEMPT_COLUMNS, _ATTEMPT_TYPES,
                             [{**r, "ratelimit": json.dumps(r["ratelimit"])} for r in rows])
        with _atomic(out, binary=True) as f:  # type: ignore[arg-type]
            pq.write_table(table, f)
        return ExportResult(fmt, str(out), len(rows))
    with _output(out) as f:
        if fmt == "csv":
            write_csv(f, RUN_ATTEMPT_COLUMNS,
                      ({**r, "ratelimit": json.dumps(r["ratelimit"], ensure_ascii=False)} for r in rows),
                      bom=excel_bom_for(out, excel_bom))
        else:
            write_jsonl(f, rows)
    where = str(out) if isinstance(out, str | Path) else str(getattr(out, "name", "a stream"))
    return ExportResult(fmt, where, len(rows))


def _typed_table(pa: Any, columns: Sequence[str], types: dict[str, str], rows: Sequence[dict[str, Any]]) -> Any:
    arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return pa.table({c: pa.array([r.get(c) for r in rows], type=arrow.get(types.get(c, ""), pa.string()))
                     for c in columns})


# --- helpers -----------------------------------------------------------------------------


def effective_system(trial: StoredTrial | None, response: ResponseResult) -> str | None:
    """The system prompt this answer was given: its variant's, else the trial's."""
    if response.variant is not None:
        return response.variant.system
    return trial.input.system if trial else None


def iso_time(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC, to the millisecond (2025-01-31T09:15:02.123+00:00)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):  # pragma: no cover - no rubric kind stores one
        return json.dumps(value, ensure_ascii=False)
    return value


def _extra_keys(rubrics: Sequence[Rubric], stray: Sequence[str]) -> list[str]:
    """Extra criteria of every stored rubric (a stable header), then any stray value keys."""
    keys: dict[str, None] = {}
    for rubric in rubrics:
        for c in rubric.criteria:
            if c.key not in STANDARD_CRITERIA:
                keys.setdefault(c.key)
    for key in stray:
        if key not in STANDARD_CRITERIA:
            keys.setdefault(key)
    return list(keys)


class _Lookup:
    """Trials, rubrics and responses read once each."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._trials: dict[str, StoredTrial | None] = {}
        self._rubrics: dict[str, Rubric | None] = {}
        self._responses: dict[str, ResponseResult | None] = {}

    def trial(self, trial_id: str) -> StoredTrial | None:
        if trial_id not in self._trials:
            self._trials[trial_id] = self.store.get_trial(trial_id)
        return self._trials[trial_id]

    def hold_trials(self, trial_ids: set[str]) -> None:
        """Keep these trials (read at once), and only these: a stream's memory stays flat."""
        self._trials = {**{t: None for t in trial_ids}, **self.store.get_trials(list(trial_ids))}

    def rubric(self, rubric_id: str) -> Rubric | None:
        if rubric_id not in self._rubrics:
            self._rubrics[rubric_id] = self.store.get_rubric(rubric_id)
        return self._rubrics[rubric_id]

    def all_rubrics(self) -> list[Rubric]:
        rubrics = self.store.list_rubrics()
        for r in rubrics:
            if r.id:
                self._rubrics[r.id] = r
        return rubrics

    def response(self, response_id: str) -> ResponseResult | None:
        if response_id not in self._responses:
            self._responses[response_id] = self.store.get_response(response_id)
        return self._responses[response_id]


@contextmanager
def _output(out: str | Path | IO[str]) -> Iterator[IO[str]]:
    if isinstance(out, str | Path):
        with _atomic(out, binary=False) as f:
            yield f
    else:
        yield out
        out.flush()


@contextmanager
def _atomic(path: str | Path, *, binary: bool) -> Iterator[Any]:
    """A file written next to `path` and renamed onto it once complete."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
    except OSError as exc:
        raise ExportError(f"cannot write {path} ({exc.strerror or exc})") from None
    try:
        if binary:
            f: Any = os.fdopen(fd, "wb")
        else:
            # newline="": the csv module writes its own \r\n; JSON Lines use \n as written.
            f = open(fd, "w", encoding="utf-8", newline="")
        with f:
            yield f
        usual_mode(tmp, target)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise ExportError(f"cannot write {path} ({exc.strerror or exc})") from None
    except BaseException:
        _unlink(tmp)
        raise


def usual_mode(tmp: str, target: Path) -> None:
    """mkstemp makes the file private (0600); give it the mode a plain open() would have:
    the replaced file's, else 0666 less the umask."""
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask() would, racing other threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "PARQUET_MISSING",
    "RUN_ATTEMPT_COLUMNS",
    "RUN_ATTEMPT_FORMATS",
    "RUN_REQUEST_COLUMNS",
    "RUN_REQUEST_FORMATS",
    "ExportError",
    "ExportFilter",
    "ExportResult",
    "csv_cell",
    "excel_bom_for",
    "export_file",
    "export_run_attempts",
    "export_run_requests",
    "preference_pairs",
    "rated_records",
    "rating_json",
    "rubric_json",
    "run_attempt_rows",
    "table_rows",
]
