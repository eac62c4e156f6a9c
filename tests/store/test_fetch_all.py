"""Big reads are fetched FETCH_CHUNK rows at a time (desk.store.sql.fetch_all), so a thread
waiting for the GIL (the window's GUI thread) gets it between chunks: every row, in order,
as fetchall gives them, for results shorter, as long and longer than a chunk."""

from __future__ import annotations

import sqlite3

from desk.store.sql import FETCH_CHUNK, fetch_all


def test_fetch_all_is_fetchall_a_chunk_at_a_time():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER, s TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"row {i}") for i in range(2 * FETCH_CHUNK + 7)])
    for limit in (0, 1, FETCH_CHUNK - 1, FETCH_CHUNK, FETCH_CHUNK + 1, 2 * FETCH_CHUNK + 7):
        sql = f"SELECT n, s FROM t ORDER BY n DESC LIMIT {limit}"
        assert fetch_all(conn.execute(sql)) == conn.execute(sql).fetchall()
    chunks = []

    class Counting:
        def __init__(self, cursor):
            self.cursor = cursor

        def fetchmany(self, size):
            chunks.append(size)
            return self.cursor.fetchmany(size)
    assert len(fetch_all(Counting(conn.execute("SELECT n FROM t")))) == 2 * FETCH_CHUNK + 7
    assert chunks == [FETCH_CHUNK] * 4  # three with rows, the last empty
