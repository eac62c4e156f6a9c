"""Small per-user app settings (such as `rater_name`), as text.

They belong to this store's user: a merge never copies them. No secret may be kept
here; names and values that look like API keys or passwords are refused.
"""

from __future__ import annotations

import re

from desk.core.response import redact
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import one

RATER_NAME = "rater_name"

_SECRET_NAME = re.compile(r"(?i)(api[-_]?key|secret|password|passwd|token|credential)")


class SettingTable:
    """This store's per-user settings, by name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        row = one(self.db, "SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else row["value"]

    def set(self, key: str, value: str | None) -> None:
        """Set a setting (None removes it); StoreError for anything that looks like a secret."""
        if not key or not key.strip():
            raise StoreError("a setting needs a name")
        if _SECRET_NAME.search(key):
            raise StoreError(f"setting {key!r} looks like a secret; secrets belong in the OS keyring")
        if value is None:
            self.db.execute("DELETE FROM settings WHERE key = ?", (key,))
            return
        if not isinstance(value, str):
            raise StoreError(f"setting {key!r} must be text")
        if redact(value) != value:
            raise StoreError(f"the value of setting {key!r} looks like an API key; it was not saved")
        self.db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
