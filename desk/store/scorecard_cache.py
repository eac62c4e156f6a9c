"""A scorecard cached in the store, valid for exactly one state of it (issue 21).

`ScorecardTable.version` is a counter that triggers on every scored table bump (migration
m010), so an entry stored under version n describes the store while the counter still reads
n. An entry is written only when the counter read the same before and after computing it:
no write committed in between, so every query saw the state n names.
Entries are keyed by the caller (a hash of what the figures depend on, made in
desk.engine.cached_scorecard); stale ones are dropped when a new one is written. Writing is best effort: a busy or read-only store
still answers, uncached.
"""

from __future__ import annotations

import sqlite3
import time

from desk.store.connection import Database
from desk.store.sql import transaction

_KEPT = 16  # entries of the current version kept (filters a user switches between)
_LOCK_WAIT_MS = 100


class ScorecardTable:
    """Scorecards kept per store version (tables `scorecard_cache`, `store_version`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def version(self) -> int:
        """A counter every change to what a scorecard reads bumps."""
        return int(self.db.conn.execute("SELECT n FROM store_version WHERE id = 1").fetchone()[0])

    def get(self, key: str, version: int) -> str | None:
        """The JSON stored for `key` at `version`, if any."""
        row = self.db.conn.execute("SELECT scores_json FROM scorecard_cache WHERE digest = ? AND version = ?",
                                   (key, version)).fetchone()
        return row[0] if row else None

    def remember(self, key: str, version: int, scores_json: str) -> bool:
        """Store `scores_json` for `key`, computed at `version`, if the store is still there;
        say whether it was stored."""
        # Another process holding the write lock is about to change the store anyway: waiting
        # for it (busy_timeout, seconds) would only delay figures that are ready.
        conn = self.db.conn
        waited = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        try:
            conn.execute(f"PRAGMA busy_timeout = {_LOCK_WAIT_MS}")
            with transaction(self.db):
                if self.version() != version:
                    return False
                conn.execute("DELETE FROM scorecard_cache WHERE version != ?", (version,))
                conn.execute(
                    "INSERT OR REPLACE INTO scorecard_cache (digest, version, scores_json, created_at) "
                    "VALUES (?, ?, ?, ?)", (key, version, scores_json, time.time()))
                conn.execute(
                    "DELETE FROM scorecard_cache WHERE digest NOT IN "
                    "(SELECT digest FROM scorecard_cache ORDER BY created_at DESC LIMIT ?)", (_KEPT,))
        except sqlite3.Error:
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(waited)}")
        return True
