"""Copying a merge's rows in short write transactions (desk.store.merge): at most
_BATCH_ROWS rows or about _BATCH_BYTES bytes each, with a pause after each so another desk
process writing the same store waits a moment rather than fails."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from desk.store.connection import Database
from desk.store.sql import Row, rows, transaction

_BATCH_ROWS = 500
_BATCH_BYTES = 8 * 1024 * 1024
_MAX_PAUSE_S = 0.05


def _columns(db: Database, table: str) -> list[str]:
    return [r[1] for r in db.conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _typed_columns(db: Database, table: str) -> list[tuple[str, str]]:
    return [(r[1], r[2] or "") for r in db.conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _batches(cursor: Iterable[Sequence[Any]]) -> Iterator[list[tuple[Any, ...]]]:
    """The cursor's rows in lists of at most _BATCH_ROWS rows and about _BATCH_BYTES bytes."""
    batch: list[tuple[Any, ...]] = []
    size = 0
    for row in cursor:
        batch.append(tuple(row))
        size += sum(len(v) for v in row if isinstance(v, str | bytes))
        if len(batch) >= _BATCH_ROWS or size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


_Batch = TypeVar("_Batch")


def _write(db: Database, work: Callable[[_Batch], int], batch: _Batch) -> int:
    """Run `work(batch)` in one short write transaction, then pause as long as it held the lock
    (at most _MAX_PAUSE_S): another desk process waiting for the lock gets its turn."""
    started = time.monotonic()
    with transaction(db):
        # Checked at this commit: a batch may name rows of an earlier batch.
        db.execute("PRAGMA defer_foreign_keys = ON")
        added = work(batch)
    time.sleep(min(time.monotonic() - started, _MAX_PAUSE_S))
    return added


def _copy(db: Database, source: Database, table: str) -> int:
    """Copy the rows of `table` that `db` lacks (by any unique key); return how many."""
    columns = _columns(db, table)
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    insert = _insert_sql(table, columns)
    return sum(_write(db, lambda b: db.conn.executemany(insert, b).rowcount, batch) for batch in _batches(cursor))


def _ids_we_have(db: Database, table: str, key: str, ids: Sequence[Any]) -> dict[Any, Row]:
    marks = ", ".join("?" for _ in ids)
    return {r[key]: r for r in rows(db, f"SELECT * FROM {table} WHERE {key} IN ({marks})", list(ids))}
