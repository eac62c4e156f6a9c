"""Merging another desk store into this one, so two experts can pool trials and ratings.

A store from a colleague is data, never configuration, and never trusted:

- Providers, their models and price overrides are configuration: a merge never adds them
  (a provider brings a base URL and the name of the variable holding a key, which would
  send your key to a server of the sender's choosing). The report lists what it left out,
  for you to add by hand if you trust it. Merged answers keep their model names as labels:
  they can be read, rated, exported and scored, but the picker only offers your providers.
- Ratings and preferences keep the store they came from (`origin`, see desk.store.ratings):
  a merged "ann" never supersedes this store's ann; where both rated an answer, the
  report says so.
- The file is checked before anything is copied (`check_source_schema`, `_validate`):
  only the tables, indexes and triggers desk's migrations make (no view, no other
  trigger, no unknown migration); at most MAX_MERGE_ROWS rows, no value above
  MAX_VALUE_BYTES and no record above MAX_RECORD_BYTES; attachments whose bytes match
  their hash; no row pointing at a missing one. Any of these refuses the whole merge,
  saying why, before a row is written.
- Rows are copied in short write transactions (at most _BATCH_ROWS rows or _BATCH_BYTES
  bytes each) with a pause after each, so other desk processes writing the same store
  wait a moment rather than fail. A merge stopped part way (cancel, crash) keeps what it
  copied; merging again completes it.

Every row is keyed by a ULID (or a content hash, for blobs) and copied with
`INSERT OR IGNORE`, so merging the same store twice adds nothing. A merge only adds: it
never changes or deletes a row this store already has ("ours win"), except that a trial
note fills ours where we have none. The exceptions to "copy the row as it is":

- a rubric whose (name, version) we hold under another id is mapped onto ours when the
  criteria are identical, else stored as the next version of that name (reported), so
  ratings made under it keep their exact meaning;
- a suite version whose (name, version) we hold under another id is stored as the next
  version of that name (reported); its cases and the runs of it keep their ids;
- a judge prompt version, a verdict and a calibration draw follow desk.store.merge_judges;
- settings (the rater name...) and the store's own id belong to each store: never copied.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from desk.core.attachment import sha256_hex
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.merge_batches import (
    _BATCH_ROWS,
    _batches,
    _columns,
    _copy,
    _ids_we_have,
    _insert_sql,
    _typed_columns,
    _write,
)
from desk.store.merge_judges import merge_judge_tables
from desk.store.migrations import MIGRATIONS, MIGRATIONS_TABLE, migrate
from desk.store.sql import Row, rows

# Data, in the order they are copied (parents before children). Never the configuration
# below, "settings" (per user), "store_identity" (this store's own), "_desk_migrations", nor
# "store_version", "answers_version", "run_counts" and "scorecard_cache" (this store's; the rows
# a merge adds bump our versions).
MERGED_TABLES = (
    "blobs",
    "trials",
    "trial_attachments",
    "responses",
    "attempts",
    "turns",
    "rubrics",
    "ratings",
    "preferences",
    "runs",
    "run_requests",
    "suites",
    "suite_cases",
    "suite_case_attachments",
    "suite_run_trials",
    "judge_prompts",  # desk.store.merge_judges
    "judge_verdicts",
    "calibration_draws",
)
CONFIGURATION_TABLES = ("providers", "models", "prices")

# Limits on what a merge reads (README, "Data and security"). A value is one cell (an
# answer, a prompt, an attachment's bytes); SQLite itself refuses to read a larger one.
MAX_VALUE_BYTES = 32 * 1024 * 1024
MAX_RECORD_BYTES = 32 * 1024 * 1024
MAX_MERGE_ROWS = 2_000_000
_LISTED = 20  # lines of left-out configuration shown before "and N more"


@dataclass(frozen=True)
class MergeReport:
    """What a merge did: rows added per table (every table in MERGED_TABLES is a key,
    0 included), plain-sentence notes on what was kept as ours or renumbered
    (`conflicts`), and the configuration the other store holds that was not added
    (`not_added`: providers, models, prices, for the user to add by hand)."""

    added: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    not_added: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.added.values())


# --- the shape of the file ------------------------------------------------------------------


def check_source_schema(conn: sqlite3.Connection, applied: Sequence[str], source_name: str) -> None:
    """StoreError unless the file's schema is exactly what desk's `applied` migrations make.

    Read from sqlite_master only, before any row is: a view (even one named like a
    table), a trigger, an index or a table desk never makes refuses the merge.
    """
    known = {m.__name__ for m in MIGRATIONS}
    newer = [name for name in applied if name not in known]
    if newer:
        raise StoreError(f"{source_name} was written by a newer desk ({newer[-1]}); update desk to merge it")
    expected = _expected_schema(tuple(sorted(applied)))
    if expected is None:
        raise StoreError(f"{source_name} has an unknown schema version ({', '.join(applied)}); not merged")
    found = {
        (kind, name): _normal(sql)
        for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")
    }
    for (kind, name), sql in sorted(found.items()):
        if kind == "table" and name.startswith("sqlite_stat"):
            continue  # ANALYZE's statistics: only steer the query planner
        if (kind, name) not in expected:
            what = {"view": "a view", "trigger": "a trigger", "index": "an index"}.get(kind, f"a {kind}")
            raise StoreError(f"{source_name} holds {what} named {name!r}, which desk never makes; not merged")
        if expected[kind, name] != sql:
            raise StoreError(f"{source_name}: its {kind} {name!r} differs from desk's layout; not merged")
    missing = [name for kind, name in expected if (kind, name) not in found and not name.startswith("trials_fts")]
    if missing:
        raise StoreError(f"{source_name} lacks desk's {missing[0]!r}; not merged")


@functools.lru_cache(maxsize=8)
def _expected_schema(applied: tuple[str, ...]) -> dict[tuple[str, str], str | None] | None:
    """sqlite_master of a fresh store with exactly these migrations, or None if they
    cannot be applied alone (a mix no desk ever made)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(Database(conn), [m for m in MIGRATIONS if m.__name__ in applied])
        return {
            (kind, name): _normal(sql)
            for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")
        }
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _normal(sql: str | None) -> str | None:
    return " ".join(sql.split()) if sql else sql


def applied_in(conn: sqlite3.Connection) -> list[str]:
    """The migration names a file records (at most a sane number of them)."""
    return [r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid LIMIT 1000")]


# --- merging --------------------------------------------------------------------------------


def merge_databases(db: Database, source: Database, source_name: str = "the other store",
                    step: Callable[[int, int, str], None] | None = None) -> MergeReport:
    """Copy every row of `source` that `db` lacks, except configuration (see the module).

    `source` must have passed `check_source_schema` and be migrated to our schema; it is
    then checked row by row before anything is written. `step(i, n, table)` is called
    before each table; an exception it raises (a cancel) stops the merge there, keeping
    the batches already copied.
    """

    def tick(table: str) -> None:
        if step is not None:
            step(MERGED_TABLES.index(table), len(MERGED_TABLES), table)

    for table in (*MERGED_TABLES, *CONFIGURATION_TABLES):
        missing = set(_columns(db, table)) - set(_columns(source, table))
        if missing:
            raise StoreError(f"{source_name} has an older layout of {table}; open it with desk first")
    source.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    _validate(db, source, source_name)
    origin = _store_id(source)
    not_added = _left_out_configuration(db, source)
    added = dict.fromkeys(MERGED_TABLES, 0)
    conflicts: list[str] = []
    try:
        tick("blobs")
        added["blobs"] = _merge_blobs(db, source, source_name)
        tick("trials")
        added["trials"] = _merge_trials(db, source, conflicts)
        for table in ("trial_attachments", "responses", "attempts", "turns"):
            tick(table)
            added[table] = _copy(db, source, table)
        tick("rubrics")
        rubric_ids, added["rubrics"] = _merge_rubrics(db, source, conflicts)
        tick("ratings")
        added["ratings"] = _merge_judgements(db, source, "ratings", origin, source_name, conflicts, rubric_ids)
        tick("preferences")
        added["preferences"] = _merge_judgements(db, source, "preferences", origin, source_name, conflicts)
        for table in ("runs", "run_requests"):
            tick(table)
            added[table] = _copy(db, source, table)
        tick("suites")
        added["suites"] = _merge_suites(db, source, conflicts)
        for table in ("suite_cases", "suite_case_attachments", "suite_run_trials"):
            tick(table)
            added[table] = _copy(db, source, table)
        merge_judge_tables(db, source, origin, added, conflicts, rubric_ids, tick)
    except sqlite3.IntegrityError as exc:
        # Only if the file changed after it was checked (someone still writing to it).
        raise StoreError(f"{source_name} changed while it was merged ({exc}); merge it again") from None
    return MergeReport(added=added, conflicts=conflicts, not_added=not_added)


def _validate(db: Database, source: Database, source_name: str) -> None:
    """Refuse the merge, before a row is written, if the file breaks any limit or rule."""
    tables = (*MERGED_TABLES, *CONFIGURATION_TABLES)
    total = sum(source.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)
    if total > MAX_MERGE_ROWS:
        raise StoreError(
            f"{source_name} holds {total:,} rows, more than the {MAX_MERGE_ROWS:,} desk merges at once; not merged"
        )
    for table in tables:
        sizes = " + ".join(
            f"coalesce(length({c}), 0)" if kind.upper() == "BLOB" else f"coalesce(length(CAST({c} AS BLOB)), 0)"
            for c, kind in _typed_columns(source, table)
        )
        try:
            big = source.conn.execute(f"SELECT 1 FROM {table} WHERE {sizes} > ? LIMIT 1", (MAX_RECORD_BYTES,))
            too_big = big.fetchone() is not None
        except sqlite3.DataError:  # one value above MAX_VALUE_BYTES: SQLite would not even read it
            too_big = True
        if too_big:
            raise StoreError(
                f"{source_name} holds a record in {table} larger than {MAX_RECORD_BYTES // 2**20} MiB "
                "(desk's limit per record); not merged"
            )
    broken = source.conn.execute("PRAGMA foreign_key_check").fetchone()
    if broken:
        raise StoreError(
            f"{source_name} is inconsistent: a row of {broken[0]} refers to a missing row of {broken[2]}; "
            "nothing was merged"
        )
    for sha, data in source.conn.execute("SELECT sha256, data FROM blobs ORDER BY sha256"):
        if sha256_hex(data) != sha:
            raise StoreError(f"{source_name} holds a damaged attachment ({str(sha)[:12]}...); nothing was merged")


def _store_id(source: Database) -> str:
    """The id merged rows record as their origin: never empty, so never "made here"."""
    found = source.conn.execute("SELECT id FROM store_identity LIMIT 1").fetchone()
    text = str(found[0]) if found and found[0] is not None else ""
    if re.fullmatch(r"[0-9A-Za-z_-]{1,64}", text):
        return text
    return "unnamed-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]


def _left_out_configuration(db: Database, source: Database) -> list[str]:
    """One line per provider of the other store that is not ours as it is, then one for
    its models and one for its prices that this store lacks. Header values and keys are
    never shown (a header may hold the sender's secret); a base URL loses any user:password."""
    lines: list[str] = []
    ours = {r["name"]: r for r in rows(db, "SELECT * FROM providers")}
    theirs = rows(source, "SELECT name, kind, base_url, key_env, api_version, headers_json FROM providers ORDER BY name")
    for p in theirs:
        mine = ours.get(p["name"])
        if mine is None:
            headers = len(_json_list(p["headers_json"]))
            detail = ", ".join(
                [str(p["kind"]), _shown_url(str(p["base_url"]))]
                + ([f"key from ${p['key_env']}"] if p["key_env"] else [])
                + ([f"{headers} header(s)"] if headers else [])
            )
            lines.append(f"provider {p['name']} ({detail}): not added; add it by hand if you trust it")
        elif any(mine[c] != p[c] for c in ("kind", "base_url", "key_env", "api_version", "headers_json")):
            lines.append(f"provider {p['name']}: set up differently in the other store; this store's kept")
    if len(lines) > _LISTED:
        lines[_LISTED:] = [f"... and {len(lines) - _LISTED} more provider(s)"]
    our_models = {(r[0], r[1]) for r in db.conn.execute("SELECT provider_name, model FROM models")}
    models = [f"{p}/{m}" for p, m in source.conn.execute("SELECT provider_name, model FROM models ORDER BY 1, 2")
              if (p, m) not in our_models]
    if models:
        lines.append(f"{len(models)} model(s) not added to the picker: {_some(models)}")
    our_prices = {(r[0], r[1]): r[2:] for r in db.conn.execute(
        "SELECT provider_name, model, input_per_mtok, cached_input_per_mtok, output_per_mtok FROM prices")}
    prices = [f"{r[0]}/{r[1]}" for r in source.conn.execute(
        "SELECT provider_name, model, input_per_mtok, cached_input_per_mtok, output_per_mtok FROM prices ORDER BY 1, 2")
        if our_prices.get((r[0], r[1])) != tuple(r[2:])]
    if prices:
        lines.append(f"{len(prices)} price override(s) not added: {_some(prices)}")
    return lines


def _shown_url(url: str) -> str:
    try:
        parts = urlsplit(url[:500])
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "an unreadable base URL"


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _json_list(text: Any) -> list[Any]:
    try:
        value = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    return value if isinstance(value, list) else []


def _merge_blobs(db: Database, source: Database, source_name: str) -> int:
    """Copy the attachment bytes we lack, each once; their key must be their hash."""
    columns = _columns(db, "blobs")
    at_sha, at_data = columns.index("sha256"), columns.index("data")
    insert = _insert_sql("blobs", columns)
    # Hashes first, then the bytes one by one: never more than a batch of them in memory.
    shas = [r[0] for r in source.conn.execute("SELECT sha256 FROM blobs ORDER BY sha256")]
    wanted = [sha for sha in shas if not db.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone()]
    fetched = (
        source.conn.execute(f"SELECT {', '.join(columns)} FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
        for sha in wanted
    )
    cursor = (row for row in fetched if row is not None)

    def checked(batch: list[tuple[Any, ...]]) -> int:
        for row in batch:
            if sha256_hex(row[at_data]) != row[at_sha]:
                raise StoreError(f"{source_name} changed while it was merged (a damaged attachment); merge it again")
        return db.conn.executemany(insert, batch).rowcount

    return sum(_write(db, checked, batch) for batch in _batches(cursor))


def _merge_trials(db: Database, source: Database, conflicts: list[str]) -> int:
    columns = _columns(db, "trials")
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM trials ORDER BY rowid")
    insert = _insert_sql("trials", columns)
    at_id, at_note, at_parent = columns.index("id"), columns.index("note"), columns.index("parent_trial_id")
    later: list[tuple[str, str]] = []  # (trial, parent) for parents not copied yet

    def one_batch(batch: list[tuple[Any, ...]]) -> int:
        ours = _ids_we_have(db, "trials", "id", [r[at_id] for r in batch])
        parents = [r[at_parent] for r in batch if r[at_parent] is not None]
        present = set(_ids_we_have(db, "trials", "id", parents)) | {r[at_id] for r in batch} if parents else set()
        new: list[tuple[Any, ...]] = []
        for r in batch:
            trial_id, note, parent = r[at_id], r[at_note], r[at_parent]
            if trial_id in ours:
                mine = ours[trial_id]["note"]
                if note and note != mine:
                    if mine:
                        conflicts.append(f"trial {trial_id}: its note differs in the other store; kept this store's")
                    else:
                        db.execute("UPDATE trials SET note = ? WHERE id = ?", (note, trial_id))
                continue
            if parent is not None and parent not in present:
                later.append((trial_id, parent))
                r = (*r[:at_parent], None, *r[at_parent + 1 :])
            new.append(r)
        return db.conn.executemany(insert, new).rowcount if new else 0

    added = sum(_write(db, one_batch, batch) for batch in _batches(cursor))
    for i in range(0, len(later), _BATCH_ROWS):
        chunk = later[i : i + _BATCH_ROWS]
        _write(db, lambda c: db.conn.executemany(
            "UPDATE trials SET parent_trial_id = ? WHERE id = ? AND parent_trial_id IS NULL "
            "AND EXISTS (SELECT 1 FROM trials WHERE id = ?)",
            [(parent, trial_id, parent) for trial_id, parent in c]).rowcount, chunk)
    return added


def _merge_judgements(db: Database, source: Database, table: str, origin: str, source_name: str,
                      conflicts: list[str], rubric_ids: dict[str, str] | None = None) -> int:
    """Copy ratings or preferences, each marked with the store it was first made in (a
    row made in the other store gets its id; one it had merged keeps its origin)."""
    columns = _columns(db, table)
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    insert = _insert_sql(table, columns)
    at_id, at_origin, at_rater = columns.index("id"), columns.index("origin"), columns.index("rater")
    at_rubric = columns.index("rubric_id") if rubric_ids is not None else -1
    clashes: dict[str, int] = {}

    def one_batch(batch: list[tuple[Any, ...]]) -> int:
        ours = _ids_we_have(db, table, "id", [r[at_id] for r in batch])
        new = []
        for r in batch:
            if r[at_id] in ours:
                continue
            row = list(r)
            row[at_origin] = r[at_origin] or origin
            if rubric_ids is not None:
                row[at_rubric] = rubric_ids.get(row[at_rubric], row[at_rubric])
            new.append(tuple(row))
            if _rated_here(db, table, row, columns):
                clashes[row[at_rater]] = clashes.get(row[at_rater], 0) + 1
        return db.conn.executemany(insert, new).rowcount if new else 0

    added = sum(_write(db, one_batch, batch) for batch in _batches(cursor))
    what = "rating(s)" if table == "ratings" else "preference(s)"
    for rater, n in sorted(clashes.items()):
        conflicts.append(
            f"{n} {what} by {rater!r} from {source_name} judge what {rater!r} of this store also judged: "
            f"added as the other store's; this store's {rater!r} stays current"
        )
    return added


def _rated_here(db: Database, table: str, row: list[Any], columns: list[str]) -> bool:
    """Whether a rater of this store, by the same name, judged what `row` judges."""
    rater = row[columns.index("rater")]
    if table == "ratings":
        sql = "SELECT 1 FROM ratings WHERE response_id = ? AND rater = ? AND origin IS NULL LIMIT 1"
        params: tuple[Any, ...] = (row[columns.index("response_id")], rater)
    else:
        a, b = row[columns.index("response_a")], row[columns.index("response_b")]
        sql = ("SELECT 1 FROM preferences WHERE rater = ? AND origin IS NULL AND "
               "((response_a = ? AND response_b = ?) OR (response_a = ? AND response_b = ?)) LIMIT 1")
        params = (rater, a, b, b, a)
    return db.conn.execute(sql, params).fetchone() is not None


def _merge_rubrics(db: Database, source: Database, conflicts: list[str]) -> tuple[dict[str, str], int]:
    """Copy rubric versions; return {their id: our id} for the ones mapped onto ours."""
    columns = _columns(db, "rubrics")
    mapped: dict[str, str] = {}
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM rubrics ORDER BY name, version, id")

    def one_batch(batch: list[tuple[Any, ...]]) -> int:
        added = 0
        for values in batch:
            theirs: Row = dict(zip(columns, values, strict=True))
            if db.conn.execute("SELECT 1 FROM rubrics WHERE id = ?", (theirs["id"],)).fetchone():
                continue
            clash = rows(db, "SELECT * FROM rubrics WHERE name = ? AND version = ?",
                         (theirs["name"], theirs["version"]))
            if not clash:
                added += db.execute(_insert_sql("rubrics", columns), [theirs[c] for c in columns]).rowcount
                continue
            criteria = json.loads(theirs["criteria_json"])
            same = [
                r["id"]
                for r in rows(db, "SELECT id, criteria_json FROM rubrics WHERE name = ? ORDER BY version",
                              (theirs["name"],))
                if json.loads(r["criteria_json"]) == criteria
            ]
            if json.loads(clash[0]["criteria_json"]) == criteria:
                mapped[theirs["id"]] = clash[0]["id"]
            elif same:
                mapped[theirs["id"]] = same[0]
            else:
                newest = db.conn.execute(
                    "SELECT max(version) FROM rubrics WHERE name = ?", (theirs["name"],)
                ).fetchone()[0]
                row: Row = {**theirs, "version": newest + 1}
                added += db.execute(_insert_sql("rubrics", columns), [row[c] for c in columns]).rowcount
                conflicts.append(
                    f"rubric {theirs['name']!r} version {theirs['version']} of the other store differs from "
                    f"this store's; stored as version {newest + 1}"
                )
        return added

    added = sum(_write(db, one_batch, batch) for batch in _batches(cursor))
    return mapped, added


def _merge_suites(db: Database, source: Database, conflicts: list[str]) -> int:
    """Copy suite versions we lack; one whose (name, version) we hold under another id
    becomes the next version of that name (cases refer to the suite by id, not version)."""
    columns = _columns(db, "suites")
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM suites ORDER BY name, version, id")

    def one_batch(batch: list[tuple[Any, ...]]) -> int:
        added = 0
        for values in batch:
            row: Row = dict(zip(columns, values, strict=True))
            if db.conn.execute("SELECT 1 FROM suites WHERE id = ?", (row["id"],)).fetchone():
                continue
            if db.conn.execute("SELECT 1 FROM suites WHERE name = ? AND version = ?",
                               (row["name"], row["version"])).fetchone():
                newest = db.conn.execute("SELECT max(version) FROM suites WHERE name = ?",
                                         (row["name"],)).fetchone()[0]
                conflicts.append(
                    f"suite {row['name']!r} version {row['version']} of the other store differs from this "
                    f"store's; stored as version {newest + 1}"
                )
                row["version"] = newest + 1
            added += db.execute(_insert_sql("suites", columns), [row[c] for c in columns]).rowcount
        return added

    return sum(_write(db, one_batch, batch) for batch in _batches(cursor))
