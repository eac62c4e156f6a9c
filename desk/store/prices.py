"""The user's price overrides per provider/model (the catalog lives outside the store)."""

from __future__ import annotations

import sqlite3
import time

from desk.core.ids import new_id
from desk.core.pricing import Price
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import Row, one, rows


class PriceTable:
    """The user's own prices, one per (provider, model); they win over the catalog."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, provider_name: str, model: str, price: Price) -> None:
        """Insert or replace the override for one model (the row keeps its id)."""
        try:
            self.db.execute(
                "INSERT INTO prices (id, provider_name, model, input_per_mtok, "
                "cached_input_per_mtok, output_per_mtok, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (provider_name, model) DO UPDATE SET "
                "input_per_mtok = excluded.input_per_mtok, "
                "cached_input_per_mtok = excluded.cached_input_per_mtok, "
                "output_per_mtok = excluded.output_per_mtok, updated_at = excluded.updated_at",
                (
                    new_id(),
                    provider_name,
                    model,
                    price.input_per_mtok,
                    price.cached_input_per_mtok,
                    price.output_per_mtok,
                    time.time(),
                ),
            )
        except sqlite3.IntegrityError:  # the foreign key: no such provider
            raise StoreError(f"no provider named {provider_name}") from None

    def get(self, provider_name: str, model: str) -> Price | None:
        row = one(self.db, "SELECT * FROM prices WHERE provider_name = ? AND model = ?", (provider_name, model))
        return _price(row) if row else None

    def all(self) -> list[tuple[str, str, Price]]:
        found = rows(self.db, "SELECT * FROM prices ORDER BY provider_name, model")
        return [(r["provider_name"], r["model"], _price(r)) for r in found]

    def delete(self, provider_name: str, model: str) -> bool:
        return (
            self.db.execute(
                "DELETE FROM prices WHERE provider_name = ? AND model = ?", (provider_name, model)
            ).rowcount
            > 0
        )


def _price(row: Row) -> Price:
    return Price(
        input_per_mtok=row["input_per_mtok"],
        output_per_mtok=row["output_per_mtok"],
        cached_input_per_mtok=row["cached_input_per_mtok"],
    )
