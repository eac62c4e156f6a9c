"""Small helpers the aggregate modules share: write transactions and rows as dicts.

The connection runs in SQLite's own autocommit mode (isolation_level=None), so a single
write statement is committed the moment it runs: the app may be killed at any time and
nothing should wait for a later commit. Statements that belong together use
`transaction`. This does not depend on how a given sqlite-utils version commits.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from desk.store.connection import Database

Row = dict[str, Any]

_savepoints = itertools.count()


@contextmanager
def transaction(db: Database) -> Iterator[None]:
    """Group writes so they commit together, or not at all.

    BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads
    first and writes later can fail with SQLITE_BUSY when another process (a second
    window, the CLI) wrote in between, which busy_timeout cannot retry.
    Nested use becomes a savepoint inside the outer transaction.
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"desk_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (a deferred foreign key, say) leaves the transaction open.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def rows(db: Database, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    cursor = db.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in fetch_all(cursor)]


FETCH_CHUNK = 2_000  # rows: a few milliseconds of a worker's read


def fetch_all(cursor: sqlite3.Cursor) -> list[Any]:
    """cursor.fetchall(), FETCH_CHUNK rows at a time. One fetchall is one call into C that
    lets go of the GIL only for SQLite's steps, too briefly for another thread to take it:
    a worker reading a big run's 100,000 rows held the window's GUI thread up 0.1 s at a
    time. Between two chunks, a thread that waits for the GIL gets it."""
    found: list[Any] = []
    while chunk := cursor.fetchmany(FETCH_CHUNK):
        found += chunk
    return found


def one(db: Database, sql: str, params: Sequence[Any] = ()) -> Row | None:
    found = rows(db, sql, params)
    return found[0] if found else None


def run_all(db: Database, statements: Sequence[str]) -> None:
    """Execute each statement in order (a migration's DDL)."""
    for statement in statements:
        db.execute(statement)
