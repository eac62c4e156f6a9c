"""Configured providers and the models the user added to each.

No API key is ever written here: keys live in the OS keyring or in the environment
variable a provider names (`key_env`).
"""

from __future__ import annotations

import json
import sqlite3
import time

from desk.core.ids import new_id
from desk.core.provider import CREDENTIALS_IN_URL, ProviderConfig, has_credentials
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import Row, one, rows, transaction


class ProviderTable:
    """The providers table and the models added to each provider."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, cfg: ProviderConfig) -> str:
        """Insert a provider and return its id; StoreError if the name is taken."""
        _no_credentials(cfg)
        provider_id = new_id()
        now = time.time()
        try:
            self.db.execute(
                "INSERT INTO providers (id, name, kind, base_url, key_env, api_version, "
                "headers_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (provider_id, *_fields(cfg), now, now),
            )
        except sqlite3.IntegrityError:
            raise StoreError(f"provider {cfg.name} already exists") from None
        return provider_id

    def update(self, cfg: ProviderConfig) -> None:
        """Replace the settings of the provider named `cfg.name`; StoreError if there is none."""
        _no_credentials(cfg)
        try:
            changed = self.db.execute(
                "UPDATE providers SET kind = ?, base_url = ?, key_env = ?, api_version = ?, "
                "headers_json = ?, updated_at = ? WHERE name = ?",
                (*_fields(cfg)[1:], time.time(), cfg.name),
            ).rowcount
        except sqlite3.Error as exc:  # a read-only file, a full disk
            raise StoreError(f"provider {cfg.name} not updated ({exc})") from None
        if not changed:
            raise StoreError(f"no provider named {cfg.name}")

    def get(self, name: str) -> ProviderConfig | None:
        row = one(self.db, "SELECT * FROM providers WHERE name = ?", (name,))
        return _config(row) if row else None

    def all(self) -> list[ProviderConfig]:
        """Every provider, by name."""
        return [_config(r) for r in rows(self.db, "SELECT * FROM providers ORDER BY name")]

    def remove(self, name: str) -> bool:
        """Delete a provider with its models and price overrides; stored answers are kept."""
        return self.db.execute("DELETE FROM providers WHERE name = ?", (name,)).rowcount > 0

    def add_model(self, provider_name: str, model: str) -> None:
        """Remember a model for a provider; adding it again does nothing."""
        try:
            self.db.execute(
                "INSERT INTO models (id, provider_name, model, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (provider_name, model) DO NOTHING",
                (new_id(), provider_name, model, time.time()),
            )
        except sqlite3.IntegrityError:  # the foreign key: no such provider
            raise StoreError(f"no provider named {provider_name}") from None

    def models(self, provider_name: str | None = None) -> list[tuple[str, str]]:
        """(provider name, model) pairs, sorted."""
        if provider_name is None:
            found = rows(self.db, "SELECT provider_name, model FROM models ORDER BY provider_name, model")
        else:
            found = rows(
                self.db,
                "SELECT provider_name, model FROM models WHERE provider_name = ? ORDER BY model",
                (provider_name,),
            )
        return [(r["provider_name"], r["model"]) for r in found]

    def takes_images(self, provider_name: str, model: str) -> bool | None:
        """Whether the user said this model takes images (None: they did not say)."""
        row = one(self.db, "SELECT takes_images FROM models WHERE provider_name = ? AND model = ?",
                  (provider_name, model))
        return None if row is None or row["takes_images"] is None else bool(row["takes_images"])

    def set_takes_images(self, provider_name: str, model: str, takes: bool | None) -> None:
        """Say whether this model takes images (None: as its family is known); the model is remembered."""
        with transaction(self.db):
            self.add_model(provider_name, model)
            self.db.execute("UPDATE models SET takes_images = ? WHERE provider_name = ? AND model = ?",
                            (None if takes is None else int(takes), provider_name, model))

    def remove_model(self, provider_name: str, model: str) -> bool:
        return (
            self.db.execute(
                "DELETE FROM models WHERE provider_name = ? AND model = ?", (provider_name, model)
            ).rowcount
            > 0
        )


def _no_credentials(cfg: ProviderConfig) -> None:
    # The last line of defence: a password in a base URL would sit here in clear text.
    if has_credentials(cfg.base_url):
        raise StoreError(CREDENTIALS_IN_URL)


def _fields(cfg: ProviderConfig) -> tuple[str, str, str, str | None, str | None, str]:
    # Headers as a list of pairs: keeps their order (and repeats) exactly.
    headers = json.dumps([list(pair) for pair in cfg.headers])
    return (cfg.name, cfg.kind, cfg.base_url, cfg.key_env, cfg.api_version, headers)


def _config(row: Row) -> ProviderConfig:
    headers = tuple((str(k), str(v)) for k, v in json.loads(row["headers_json"] or "[]"))
    return ProviderConfig(
        name=row["name"],
        kind=row["kind"],
        base_url=row["base_url"],
        key_env=row["key_env"],
        api_version=row["api_version"],
        headers=headers,
    )
