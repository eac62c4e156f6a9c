"""The store's handle on its SQLite connection, without importing sqlite-utils up front.

Importing sqlite_utils imports pandas and numpy whenever they are installed (its db module
does so at import, to map their types): over a second before the window can show. The
store's own queries need only the connection, so this handle runs them on sqlite3 itself
and builds sqlite-utils' Database around the same connection the first time one of its
conveniences (a table object, insert_all, query...) is asked for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any


class Database:
    """sqlite-utils' Database API for `conn`, its import deferred until first needed."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._full: Any = None
        # What sqlite-utils' Database does on every connection, kept: a REPLACE that deletes a
        # row fires its delete triggers (the full-text index's among them).
        conn.execute("PRAGMA recursive_triggers = on")

    # desk's connections run in SQLite's autocommit mode (isolation_level=None), so there is
    # no implicit transaction for sqlite-utils' execute() to commit or roll back: a plain
    # conn.execute is the same thing.
    def execute(self, sql: str, parameters: Iterable[Any] | Mapping[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)  # type: ignore[arg-type]

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def close(self) -> None:
        self.conn.close()

    def _sqlite_utils(self) -> Any:
        if self._full is None:
            from sqlite_utils import Database as Full

            self._full = Full(self.conn, execute_plugins=False)
        return self._full

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._sqlite_utils(), name)

    def __getitem__(self, table: str) -> Any:
        return self._sqlite_utils()[table]
