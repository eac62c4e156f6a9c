"""Labelled comparisons out of desk: CSV, JSON Lines, preference pairs and (optionally) Parquet.

The CLI's `desk export` and the window's File → Export both call `export_file`. Everything
is read through `Store` methods (no SQL here) and nothing is written to the store.

What each format holds, stated once:

- **csv** (and **parquet**): one row per *rated answer*: each current rating of a response,
  so an answer two raters rated gives two rows. Columns are `CSV_COLUMNS`, then one column
  per extra criterion of the stored rubrics (prefixed `rating_` if its key clashes with a
  column above), then `rater, rating_origin, machine, blind, rubric_name, rubric_version,
  rating_id`. `rating_origin` is empty for a rating made in this store, else the id of the
  store a merge brought it from, so a merged "ann" is never mistaken for your own ann.
  `machine` is true for a rating no person made (a judge model's verdict, rater
  `judge:PROVIDER/MODEL`, or desk's own checks), so a report never counts one as human.
  `turn` is 1 for a trial's own answer, else the turn of the conversation it continues
  (`parent_response_id` the answer before it). `tool_calls` is the calls the answer made,
  in order, as JSON text: the list jsonl gives (`name`, `arguments` as sent, `id`,
  `problems` desk's check found: empty when valid); `[]` for none. `system` is
  the system prompt that answer was given (its variant's, when it ran as a variant).
  Attachment names are joined with "; " and tags with ";". Plain UTF-8, a header row,
  quoting as the csv module's default dialect does. A text cell starting with `=`, `+`, `-`, `@`, a tab or a
  carriage return gets a leading `'` so a spreadsheet shows it instead of running it as
  a formula; numbers are written as they are. Parquet holds the same rows and columns,
  typed, with the text untouched (it is never evaluated).
- **jsonl**: one object per rated answer, nested as `{"trial": ..., "response": ...,
  "rating": ...}`; attachments by name, kind, mime, sha256 and size (never their bytes);
  the response with every measured field, its settings and its attempts; the rating's
  values spread into `rating` next to its rater, `origin` (null, or the id of the store a
  merge brought it from), `machine` (as in csv), blind flag, shown order and rubric. The
  response ends with its `turn` and `parent_response_id` (as in csv).
- **pairs**: one line per current preference whose winner is a or b: `{prompt, system,
  chosen, rejected, chosen_model, rejected_model, rater, origin, machine, reason, trial_id,
  preference_id}` (`origin` and `machine` as in jsonl) for preference tuning (DPO and the
  like). Ties and "both bad" say nothing about which answer is better and are skipped; so are pairs
  whose two answers were given different system prompts (variants), which are not one
  prompt. The counts skipped are reported. `prompt` is the typed prompt; attached files are not inlined.

Text is never altered beyond the CSV formula guard: no escaping, trimming or
normalising, so an answer comes back exactly as the model wrote it. No API key is
written: the store holds none, and nothing here reads the keyring or provider settings.

A run's requests go out from desk.engine.export_runs; the writing itself (CSV cells,
files replaced whole) is desk.engine.export_files.

Filters (`RatingFilter`, the scorecard's): trials, rater, tags (a rating must carry every
tag) and `since <= rated at < until` select the current ratings. For pairs, rater and
time apply to the preference itself, trials to its answers, and tags require both answers
to carry a current rating (by that rater, if one is given) with every tag.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from desk.core.judge import is_machine
from desk.core.rating import Preference, Rating, RatingFilter
from desk.core.records import pick, preference_fields, rating_fields, response_fields
from desk.core.response import ResponseResult
from desk.core.rubric import Rubric
from desk.core.tools import rounds_as_json
from desk.engine.export_files import (
    ExportError,
    ExportResult,
    atomic,
    excel_bom_for,
    output,
    pyarrow,
    where,
    write_jsonl,
)
from desk.engine.export_records import jsonl_lines
from desk.engine.export_table import BOOL_COLUMNS, csv_lines, iso_time, table_columns
from desk.engine.ports.exports import ExportSource
from desk.store.export_reads import RECORD_COLUMNS, RECORD_QUOTED, TABLE_COLUMNS
from desk.store.trials import StoredTrial

FORMATS = ("csv", "jsonl", "pairs", "parquet")

# Criteria every rubric has (desk.core.rubric.DEFAULT_RUBRIC); others become extra columns.
STANDARD_CRITERIA = ("outcome", "uncertainty", "constraints", "quality", "note", "tags")

CSV_COLUMNS = (
    "trial_id", "response_id", "turn", "parent_response_id", "rated_at", "prompt", "system", "attachments", "model", "variant",
    "answer", "status", "error_kind", "refusal", "unknown_fields", "tool_calls", "ttft_ms", "total_ms", "wall_ms",
    "input_tokens", "output_tokens",
    "output_tokens_per_s", "cost_usd", "retries", "served_model", "system_fingerprint", *STANDARD_CRITERIA,
)  # fmt: skip
RATING_META_COLUMNS = ("rater", "rating_origin", "machine", "blind", "rubric_name", "rubric_version", "rating_id")

_FLOAT_COLUMNS = frozenset({"ttft_ms", "total_ms", "wall_ms", "output_tokens_per_s", "cost_usd"})
_INT_COLUMNS = frozenset({"turn", "input_tokens", "output_tokens", "retries", "quality", "rubric_version"})
_BOOL_COLUMNS = BOOL_COLUMNS

# --- public entry point ------------------------------------------------------------------


def export_file(store: ExportSource, fmt: str, out: str | Path | IO[str],
                filters: RatingFilter | None = None,
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
    filters = filters or RatingFilter()
    skipped: dict[str, int] = {}
    if fmt in ("csv", "parquet"):
        if fmt == "parquet":
            pa, pq = pyarrow()  # before any work: a missing extra is a one-line answer
            if not isinstance(out, str | Path):
                raise ExportError("Parquet is written to a file, not a stream")
        # Rows are read, built and written a batch at a time: memory stays flat in n.
        n, stray = store.exports.count(filters)
        rubrics = _rubrics(store)
        columns, extra_names = _table_columns(list(rubrics.values()), stray)
        size = PARQUET_ROW_GROUP if fmt == "parquet" else TABLE_BATCH
        read = store.exports.answers(filters, size, TABLE_COLUMNS)
        batches = _counted_batches((table_columns(batch, list(extra_names), rubrics) for batch in read), n, progress)
        if fmt == "parquet":
            schema = _arrow_schema(pa, columns, extra_names, list(rubrics.values()))
            with atomic(out, binary=True) as f, pq.ParquetWriter(f, schema) as writer:  # type: ignore[arg-type]
                for batch in batches:
                    writer.write_table(_arrow_batch(pa, schema, batch))
            return ExportResult(fmt, str(out), n)
        with output(out) as f:
            if excel_bom_for(out, excel_bom):
                f.write("\ufeff")
            csv.writer(f).writerow(columns)
            for batch in batches:
                f.write(csv_lines(batch, columns))
    elif fmt == "jsonl":
        # The total is for progress alone (a record lists its own values): without it, the
        # lines are counted as written instead of by a query.
        total = store.exports.count(filters, value_keys=False)[0] if progress is not None else 0
        n = 0
        with output(out) as f:
            for text, lines in _counted_batches(_jsonl_batches(store, filters), total, progress):
                f.write(text)
                n += lines
    else:
        pairs, skipped = preference_pairs(store, filters)
        n = len(pairs)
        with output(out) as f:
            write_jsonl(f, counted(pairs, n))
    return ExportResult(fmt, where(out), n, skipped)


PARQUET_ROW_GROUP = 5000  # rows per row group: a few MB of answers held at once
TABLE_BATCH = 1000  # CSV rows built at once
B = TypeVar("B", list[list[Any]], tuple[str, int])


def _counted_batches(batches: Iterable[B], total: int,
                     progress: Callable[[int, int | None, str | None], None] | None) -> Iterator[B]:
    """Batches as they come, reporting the rows written before each (a cancel raised by
    `progress` stops the export) and all of them at the end. A batch is a list of columns,
    or (text, rows)."""
    done = 0
    for batch in batches:
        if progress is not None:
            progress(done, total, "writing")
        yield batch
        done += batch[1] if isinstance(batch, tuple) else len(batch[0])
    if progress is not None:
        progress(done, total, "written")


def _rubrics(store: ExportSource) -> dict[str, Rubric]:
    """Every stored rubric version, by id."""
    return {r.id: r for r in store.rubrics.list() if r.id}


# --- flat rows (CSV, Parquet) ------------------------------------------------------------


def table_rows(store: ExportSource, filters: RatingFilter | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(column names, one dict per rated answer) with Python values: str, int, float,
    bool or None. Not yet guarded against spreadsheet formulas (see `csv_cell`)."""
    filters = filters or RatingFilter()
    rubrics = _rubrics(store)
    columns, extra_names = _table_columns(list(rubrics.values()), store.exports.count(filters)[1])
    found: list[dict[str, Any]] = []
    for batch in store.exports.answers(filters, columns=TABLE_COLUMNS):
        found += (dict(zip(columns, row, strict=True))
                  for row in zip(*table_columns(batch, list(extra_names), rubrics), strict=True))
    return columns, found


def _table_columns(rubrics: Sequence[Rubric], stray: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """(columns, extra criterion key -> its column name) for ratings holding `stray` keys."""
    extra = _extra_keys(rubrics, stray)
    extra_names = {key: (f"rating_{key}" if key in CSV_COLUMNS or key in RATING_META_COLUMNS else key)
                   for key in extra}
    return [*CSV_COLUMNS, *extra_names.values(), *RATING_META_COLUMNS], extra_names


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


def _arrow_batch(pa: Any, schema: Any, columns: Sequence[list[Any]]) -> Any:
    """A row group from a batch's columns, in the schema's order; a text column holding
    another value (an extra criterion's number) gets its text."""
    arrays = []
    for f, column in zip(schema, columns, strict=True):
        if f.type == pa.string() and not set(map(type, column)) <= _TEXT_TYPES:
            column = [None if v is None else str(v) for v in column]
        arrays.append(pa.array(column, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


_TEXT_TYPES = frozenset({str, type(None)})


# --- nested records (JSONL) --------------------------------------------------------------


def rated_records(store: ExportSource, filters: RatingFilter | None = None) -> list[dict[str, Any]]:
    """One `{"trial", "response", "rating"}` object per rated answer (see the module doc).
    Lines end at "\n" only: str.splitlines would also cut at U+2028 or \x1c, which JSON
    leaves raw inside an answer's text."""
    return [json.loads(line) for text, _ in _jsonl_batches(store, filters or RatingFilter())
            for line in text.split("\n") if line]


def _jsonl_batches(store: ExportSource, filters: RatingFilter) -> Iterator[tuple[str, int]]:
    """(JSON Lines text, its number of lines) a batch of rated answers at a time."""
    look = _Lookup(store)
    rubrics = _rubrics(store)
    trial_at, response_at = RECORD_COLUMNS.index("trial_id"), RECORD_COLUMNS.index("response_id")
    only_at = RECORD_COLUMNS.index("attempt_number")  # None: no attempt or several, read apart
    for batch in store.exports.answers(filters, JSONL_BATCH, RECORD_COLUMNS, RECORD_QUOTED):
        trial_ids = {row[trial_at] for row in batch}
        look.hold_trials(trial_ids)
        trials = {t: _JSON.encode(trial_json(look.trial(t), t)) for t in trial_ids}
        several = [row[response_at] for row in batch if row[only_at] is None]
        attempts = store.exports.attempts(several) if several else {}
        yield jsonl_lines(batch, attempts, trials, rubrics), len(batch)


JSONL_BATCH = 500  # answers (with their attempts) encoded at once
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


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
        # The tools offered (OpenAI's function format, with the choice) and the earlier tool
        # rounds, as JSON text (null: none): JSON schemas differ from trial to trial, which
        # the column types of a dataset loader (pandas, datasets) cannot take as objects.
        "tools": trial.input.tools.as_json() if trial.input.tools else None,
        "tool_rounds": rounds_as_json(trial.input.tool_rounds),
    }


# The jsonl record of a response: these fields of desk.core.records.response_fields, in
# this order (`system` the one it was given, `attempts` each as ATTEMPT_RECORD_KEYS).
RESPONSE_RECORD_KEYS = (
    "id", "trial_id", "model", "provider", "model_name", "variant", "system", "settings", "status",
    "error_kind", "error_message", "http_status", "text", "reasoning_text", "finish_reason",
    "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms", "wall_ms", "connect_ms",
    "output_tokens_per_s", "input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens",
    "cost_usd", "cost_note", "price_source", "retries", "retry_wait_ms", "vendor_request_id",
    "served_model", "system_fingerprint", "refusal", "unknown_fields", "tool_calls", "notes", "attempts",
)  # fmt: skip
ATTEMPT_RECORD_KEYS = (
    "number", "status", "error_kind", "error_message", "http_status", "started_at", "first_token_at",
    "ended_at", "connect_ms", "ttft_ms", "total_ms", "retry_after_s", "wait_before_ms",
    "vendor_request_id", "ratelimit", "input_tokens", "output_tokens", "cached_input_tokens",
    "reasoning_tokens", "cost_usd",
)  # fmt: skip


def response_record(r: ResponseResult, trial: StoredTrial | None = None) -> dict[str, Any]:
    """Everything measured about one answer, with its settings and attempts."""
    return _record(response_fields(r), trial)


def _record(values: dict[str, Any], trial: StoredTrial | None) -> dict[str, Any]:
    """`response_record` of a response's plain values (records.response_fields' shape, a
    fresh dict: completed in place)."""
    values["system"] = effective_system(trial, values) if trial is not None else None
    values["cost_note"] = values["cost_note"] or None
    values["attempts"] = [pick(a, ATTEMPT_RECORD_KEYS) for a in values["attempts"]]
    return pick(values, RESPONSE_RECORD_KEYS)


def rating_json(rating: Rating, rubric: Rubric | None) -> dict[str, Any]:
    """A rating as JSON: its values (criterion key -> value) spread next to who, when, how
    (`origin` None: made here; else the store a merge brought it from)."""
    fields = rating_fields(rating)
    meta = {
        **pick(fields, ("id", "response_id", "created_at")),
        "rated_at": iso_time(rating.created_at),
        **pick(fields, ("rater", "origin")),
        "machine": is_machine(rating.rater),  # a judge model or desk's own checks: never a person
        **pick(fields, ("blind", "shown_order", "supersedes")),
        "rubric": {"id": rating.rubric_id, "name": rubric.name if rubric else None,
                   "version": rubric.version if rubric else None},
    }
    return {**fields["values"], **meta}


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


# --- preference pairs --------------------------------------------------------------------

SKIP_NO_WINNER = "tie or both bad"
SKIP_SYSTEMS_DIFFER = "answers given different system prompts"


def preference_pairs(store: ExportSource, filters: RatingFilter | None = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(one chosen/rejected record per decisive current preference, {reason: n skipped})."""
    f = filters or RatingFilter()
    look = _Lookup(store)
    tagged: set[str] | None = None
    if f.tags:
        tag_scope = RatingFilter(tags=f.tags, rater=f.rater, trial_ids=f.trial_ids)
        tagged = {rating.response_id for _, rating in store.ratings.rated_responses(tag_scope)}
    prefs = [pref for pref in store.ratings.current_preferences(f.rater)
             if (f.since is None or pref.created_at >= f.since) and (f.until is None or pref.created_at < f.until)
             and (tagged is None or {pref.response_a, pref.response_b} <= tagged)]
    pairs: list[dict[str, Any]] = []
    skipped = {SKIP_NO_WINNER: 0, SKIP_SYSTEMS_DIFFER: 0}
    for start in range(0, len(prefs), PAIR_BATCH):  # their answers read a batch at a time
        batch = prefs[start:start + PAIR_BATCH]
        found = store.responses.values_by_ids([i for p in batch for i in (p.response_a, p.response_b)])
        look.hold_trials({values["trial_id"] for values in found.values()})
        for pref in batch:
            a, b = found.get(pref.response_a), found.get(pref.response_b)
            if a is None or b is None:  # pragma: no cover - foreign keys keep both
                continue
            if f.trial_ids and a["trial_id"] not in f.trial_ids:
                continue
            if pref.winner not in ("a", "b"):
                skipped[SKIP_NO_WINNER] += 1
                continue
            trial = look.trial(a["trial_id"])
            if effective_system(trial, a) != effective_system(trial, b):
                skipped[SKIP_SYSTEMS_DIFFER] += 1
                continue
            chosen, rejected = (a, b) if pref.winner == "a" else (b, a)
            pairs.append(pair_json(pref, trial, chosen, rejected))
    return pairs, {reason: n for reason, n in skipped.items() if n}


PAIR_BATCH = 250  # preferences whose answers are read at once


def pair_json(pref: Preference, trial: StoredTrial | None, chosen: dict[str, Any],
              rejected: dict[str, Any]) -> dict[str, Any]:
    """A pair's record from its two answers' plain values (records.response_fields' shape)."""
    judged = preference_fields(pref)
    return {
        "prompt": trial.input.prompt if trial else None,
        "system": effective_system(trial, chosen),
        "chosen": chosen["text"],
        "rejected": rejected["text"],
        "chosen_model": chosen["model"],
        "rejected_model": rejected["model"],
        **pick(judged, ("rater", "origin")),
        "machine": is_machine(pref.rater),  # a judge model's preference, not a person's
        "reason": judged["reason"],
        "trial_id": chosen["trial_id"],
        "preference_id": judged["id"],
    }


# --- helpers -----------------------------------------------------------------------------


def effective_system(trial: StoredTrial | None, response: dict[str, Any]) -> str | None:
    """The system prompt this answer (its plain values) was given: its variant's, else the trial's."""
    variant = response["variant"]
    if variant is not None:
        system: str | None = variant["system"]
        return system
    return trial.input.system if trial else None


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
    """Trials read a batch's at a time, and only those: a stream's memory stays flat."""

    def __init__(self, store: ExportSource) -> None:
        self.store = store
        self._trials: dict[str, StoredTrial | None] = {}

    def trial(self, trial_id: str) -> StoredTrial | None:
        if trial_id not in self._trials:
            self._trials[trial_id] = self.store.trials.get(trial_id)
        return self._trials[trial_id]

    def hold_trials(self, trial_ids: set[str]) -> None:
        """Keep these trials (read at once), and only these."""
        self._trials = {**{t: None for t in trial_ids}, **self.store.trials.get_many(list(trial_ids))}


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "ExportError",
    "ExportResult",
    "export_file",
    "preference_pairs",
    "rated_records",
    "rating_json",
    "rubric_json",
    "table_rows",
]
