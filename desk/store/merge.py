"""Merging another desk store into this one, so two experts can pool trials and ratings.

Every row is keyed by a ULID (or a content hash, for blobs) and copied with
`INSERT OR IGNORE`, so merging the same store twice adds nothing, and merging A into B
and B into A leaves both with the same rows. A merge only adds: it never changes or
deletes a row this store already has ("ours win"), and it never writes to the other
store, except that opening it upgrades its schema (see `Store.merge_from`).

The exceptions to "copy the row as it is":

- providers are matched by name; one whose settings differ from ours is kept as ours
  and reported as a conflict (its models and prices then attach to our provider);
- a price override for a model we also priced is kept as ours (reported if different);
- a trial note fills ours only where we have none (a different note is reported);
- a rubric whose (name, version) we hold under another id is mapped onto ours when the
  criteria are identical, else stored as the next version of that name (reported), so
  ratings made under it keep their exact meaning;
- a suite version whose (name, version) we hold under another id is stored as the next
  version of that name (reported); its cases and the runs of it keep their ids;
- settings (the rater name...) belong to each user and are never copied.

No table holds an API key (keys live in the OS keyring or the environment), so none can
travel in a merge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from desk.core.attachment import sha256_hex
from desk.store.errors import StoreError
from desk.store.sql import Row, one, rows, transaction

# In the order they are copied. Never "settings" (per user) nor "_desk_migrations".
MERGED_TABLES = (
    "providers",
    "models",
    "prices",
    "blobs",
    "trials",
    "trial_attachments",
    "responses",
    "attempts",
    "rubrics",
    "ratings",
    "preferences",
    "runs",
    "run_requests",
    "suites",
    "suite_cases",
    "suite_case_attachments",
    "suite_run_trials",
)

_PROVIDER_SETTINGS = ("kind", "base_url", "key_env", "api_version", "headers_json")
_PRICE_VALUES = ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok")
_BATCH = 500


@dataclass(frozen=True)
class MergeReport:
    """What a merge did: rows added per table (every table in MERGED_TABLES is a key,
    0 included), and plain-sentence notes on what was kept as ours or renumbered."""

    added: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.added.values())


def merge_databases(db: Database, source: Database, source_name: str = "the other store",
                    step: Callable[[int, int, str], None] | None = None) -> MergeReport:
    """Copy every row of `source` that `db` lacks, in one transaction (all or nothing).

    Both must be desk stores with the same schema (migrate `source` first). `step(i, n,
    table)` is called before each table; an exception it raises (a cancel) rolls it all back.
    """

    def tick(table: str) -> None:
        if step is not None:
            step(MERGED_TABLES.index(table), len(MERGED_TABLES), table)

    for table in MERGED_TABLES:
        missing = set(_columns(db, table)) - set(_columns(source, table))
        if missing:
            raise StoreError(f"{source_name} has an older layout of {table}; open it with desk first")
    added = dict.fromkeys(MERGED_TABLES, 0)
    conflicts: list[str] = []
    with transaction(db):
        # Foreign keys are checked once, at the end: rows may come in any order.
        db.execute("PRAGMA defer_foreign_keys = ON")
        tick("providers")
        added["providers"] = _merge_providers(db, source, conflicts)
        tick("models")
        added["models"] = _copy(db, source, "models")
        tick("prices")
        added["prices"] = _merge_prices(db, source, conflicts)
        tick("blobs")
        added["blobs"] = _merge_blobs(db, source, source_name)
        tick("trials")
        added["trials"] = _merge_trials(db, source, conflicts)
        for table in ("trial_attachments", "responses", "attempts"):
            tick(table)
            added[table] = _copy(db, source, table)
        tick("rubrics")
        rubric_ids, added["rubrics"] = _merge_rubrics(db, source, conflicts)
        rubric_at = _columns(db, "ratings").index("rubric_id")

        def remap(row: tuple[Any, ...]) -> tuple[Any, ...]:
            mapped = rubric_ids.get(row[rubric_at])
            return row if mapped is None else (*row[:rubric_at], mapped, *row[rubric_at + 1 :])

        tick("ratings")
        added["ratings"] = _copy(db, source, "ratings", remap)
        tick("preferences")
        added["preferences"] = _copy(db, source, "preferences")
        for table in ("runs", "run_requests"):
            tick(table)
            added[table] = _copy(db, source, table)
        tick("suites")
        added["suites"] = _merge_suites(db, source, conflicts)
        for table in ("suite_cases", "suite_case_attachments", "suite_run_trials"):
            tick(table)
            added[table] = _copy(db, source, table)
        broken = db.conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            table, _, parent, _ = broken[0]
            raise StoreError(
                f"{source_name} is inconsistent: a row of {table} refers to a missing row of "
                f"{parent}; nothing was merged"
            )
    return MergeReport(added=added, conflicts=conflicts)


def _columns(db: Database, table: str) -> list[str]:
    return [r[1] for r in db.conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _copy(
    db: Database,
    source: Database,
    table: str,
    transform: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
) -> int:
    """Copy the rows of `table` that `db` lacks (by any unique key); return how many."""
    columns = _columns(db, table)
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    insert = _insert_sql(table, columns)
    added = 0
    while batch := cursor.fetchmany(_BATCH):
        if transform is not None:
            batch = [transform(tuple(r)) for r in batch]
        added += db.conn.executemany(insert, batch).rowcount
    return added


def _merge_providers(db: Database, source: Database, conflicts: list[str]) -> int:
    columns = _columns(db, "providers")
    added = 0
    for theirs in rows(source, f"SELECT {', '.join(columns)} FROM providers ORDER BY name"):
        ours = one(db, "SELECT * FROM providers WHERE name = ?", (theirs["name"],))
        if ours is None:
            added += db.execute(_insert_sql("providers", columns), [theirs[c] for c in columns]).rowcount
        elif any(ours[c] != theirs[c] for c in _PROVIDER_SETTINGS):
            conflicts.append(
                f"provider {theirs['name']}: its settings differ in the other store; kept this store's"
            )
    return added


def _merge_prices(db: Database, source: Database, conflicts: list[str]) -> int:
    columns = _columns(db, "prices")
    added = 0
    for theirs in rows(source, f"SELECT {', '.join(columns)} FROM prices ORDER BY provider_name, model"):
        ours = one(
            db,
            "SELECT * FROM prices WHERE provider_name = ? AND model = ?",
            (theirs["provider_name"], theirs["model"]),
        )
        if ours is None:
            added += db.execute(_insert_sql("prices", columns), [theirs[c] for c in columns]).rowcount
        elif any(ours[c] != theirs[c] for c in _PRICE_VALUES):
            conflicts.append(
                f"price of {theirs['provider_name']}/{theirs['model']}: differs in the other store; "
                "kept this store's"
            )
    return added


def _merge_blobs(db: Database, source: Database, source_name: str) -> int:
    """Copy the attachment bytes we lack, each once; their key must be their hash."""
    columns = _columns(db, "blobs")
    theirs = [r[0] for r in source.conn.execute("SELECT sha256 FROM blobs ORDER BY sha256")]
    added = 0
    for sha in theirs:
        if db.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone():
            continue
        row = one(source, f"SELECT {', '.join(columns)} FROM blobs WHERE sha256 = ?", (sha,))
        assert row is not None
        if sha256_hex(row["data"]) != sha:
            raise StoreError(f"{source_name} holds a damaged attachment ({sha[:12]}...); nothing was merged")
        added += db.execute(_insert_sql("blobs", columns), [row[c] for c in columns]).rowcount
    return added


def _merge_trials(db: Database, source: Database, conflicts: list[str]) -> int:
    columns = _columns(db, "trials")
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM trials ORDER BY rowid")
    insert = _insert_sql("trials", columns)
    at_id, at_note = columns.index("id"), columns.index("note")
    added = 0
    while batch := cursor.fetchmany(_BATCH):
        marks = ", ".join("?" for _ in batch)
        ours = {
            r[0]: r[1]
            for r in db.conn.execute(
                f"SELECT id, note FROM trials WHERE id IN ({marks})", [r[at_id] for r in batch]
            )
        }
        for r in batch:
            trial_id, note = r[at_id], r[at_note]
            if trial_id not in ours or not note or note == ours[trial_id]:
                continue
            if ours[trial_id]:
                conflicts.append(f"trial {trial_id}: its note differs in the other store; kept this store's")
            else:
                db.execute("UPDATE trials SET note = ? WHERE id = ?", (note, trial_id))
        added += db.conn.executemany(insert, batch).rowcount
    return added


def _merge_rubrics(db: Database, source: Database, conflicts: list[str]) -> tuple[dict[str, str], int]:
    """Copy rubric versions; return {their id: our id} for the ones mapped onto ours."""
    columns = _columns(db, "rubrics")
    mapped: dict[str, str] = {}
    added = 0
    for theirs in rows(source, f"SELECT {', '.join(columns)} FROM rubrics ORDER BY name, version, id"):
        if one(db, "SELECT 1 AS x FROM rubrics WHERE id = ?", (theirs["id"],)):
            continue
        clash = one(
            db, "SELECT * FROM rubrics WHERE name = ? AND version = ?", (theirs["name"], theirs["version"])
        )
        if clash is None:
            added += db.execute(_insert_sql("rubrics", columns), [theirs[c] for c in columns]).rowcount
            continue
        criteria = json.loads(theirs["criteria_json"])
        same = [
            r["id"]
            for r in rows(
                db, "SELECT id, criteria_json FROM rubrics WHERE name = ? ORDER BY version", (theirs["name"],)
            )
            if json.loads(r["criteria_json"]) == criteria
        ]
        if json.loads(clash["criteria_json"]) == criteria:
            mapped[theirs["id"]] = clash["id"]
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
    return mapped, added


def _merge_suites(db: Database, source: Database, conflicts: list[str]) -> int:
    """Copy suite versions we lack; one whose (name, version) we hold under another id
    becomes the next version of that name (cases refer to the suite by id, not version)."""
    columns = _columns(db, "suites")
    added = 0
    for theirs in rows(source, f"SELECT {', '.join(columns)} FROM suites ORDER BY name, version, id"):
        if one(db, "SELECT 1 AS x FROM suites WHERE id = ?", (theirs["id"],)):
            continue
        row: Row = dict(theirs)
        if one(db, "SELECT 1 AS x FROM suites WHERE name = ? AND version = ?", (theirs["name"], theirs["version"])):
            newest = db.conn.execute("SELECT max(version) FROM suites WHERE name = ?", (theirs["name"],)).fetchone()[0]
            row["version"] = newest + 1
            conflicts.append(
                f"suite {theirs['name']!r} version {theirs['version']} of the other store differs from this "
                f"store's; stored as version {newest + 1}"
            )
        added += db.execute(_insert_sql("suites", columns), [row[c] for c in columns]).rowcount
    return added
