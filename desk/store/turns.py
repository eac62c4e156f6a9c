"""The `turns` table: which response continues which, and the user's reply that made it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from desk.core.conversation import TurnLink
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import Row, one, rows

_CHUNK = 500  # ids per IN (...) query, well under SQLite's limit on parameters

_CHAIN = """
WITH RECURSIVE chain (response_id, parent_response_id, turn, reply) AS (
    SELECT response_id, parent_response_id, turn, reply FROM turns WHERE response_id = ?
    UNION ALL
    SELECT t.response_id, t.parent_response_id, t.turn, t.reply
    FROM turns t JOIN chain c ON t.response_id = c.parent_response_id
)
SELECT * FROM chain ORDER BY turn
"""


class TurnTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, link: TurnLink) -> None:
        """Link a response (already stored) to the one it continues. StoreError when refused."""
        try:
            self.db.execute(
                "INSERT INTO turns (response_id, parent_response_id, turn, reply, created_at) VALUES (?, ?, ?, ?, ?)",
                (link.response_id, link.parent_response_id, link.turn, link.reply, time.time()),
            )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"turn {link.turn} of response {link.parent_response_id} was refused: {exc}") from None

    def get(self, response_id: str) -> TurnLink | None:
        row = one(self.db, "SELECT * FROM turns WHERE response_id = ?", (response_id,))
        return None if row is None else _link(row)

    def chain(self, response_id: str) -> list[TurnLink]:
        """The links from turn 2 up to `response_id`'s own, oldest first (empty for turn 1)."""
        return [_link(r) for r in rows(self.db, _CHAIN, (response_id,))]

    def for_responses(self, response_ids: Sequence[str]) -> dict[str, TurnLink]:
        """The links of those of these responses that continue a conversation, by id."""
        out: dict[str, TurnLink] = {}
        if not response_ids or self.db.conn.execute("SELECT 1 FROM turns LIMIT 1").fetchone() is None:
            return out  # no conversation in the store: a scorecard of 100k answers asks nothing more
        ids = list(dict.fromkeys(response_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found = rows(self.db, f"SELECT * FROM turns WHERE response_id IN ({', '.join('?' for _ in chunk)})", chunk)
            out.update((r["response_id"], _link(r)) for r in found)
        return out

    def for_trial(self, trial_id: str) -> list[TurnLink]:
        """Every link among a trial's responses, in the order they were made."""
        return [_link(r) for r in rows(
            self.db,
            "SELECT t.* FROM turns t JOIN responses r ON r.id = t.response_id WHERE r.trial_id = ? "
            "ORDER BY t.created_at, t.rowid", (trial_id,))]


def _link(row: Row) -> TurnLink:
    return TurnLink(row["response_id"], row["parent_response_id"], row["turn"], row["reply"])
