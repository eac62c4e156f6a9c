"""Opening the database, and the `Store` facade the rest of desk talks to.

This package is the only one that touches SQLite. Every write commits at once: the app
can be killed mid-stream, and WAL with synchronous=NORMAL keeps frequent commits cheap.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType

import platformdirs
from sqlite_utils import Database

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import Attempt, ResponseResult
from desk.core.trial import TrialInput
from desk.store import prices, providers, responses, trials
from desk.store.errors import StoreError
from desk.store.migrations import MIGRATIONS_TABLE, migrate
from desk.store.trials import StoredTrial, TrialSummary

MEMORY = ":memory:"


def default_db_path() -> Path:
    """`$DESK_DB` if set, else desk.db in the per-user data folder."""
    env = os.environ.get("DESK_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("desk", appauthor=False)) / "desk.db"


def open_store(path: str | Path | None = None) -> Store:
    """Open (creating if needed) and upgrade the database, then mark crashed streams.

    Raises StoreError with a one-line reason if the file cannot be used.
    """
    target = default_db_path() if path is None else path
    db = connect(target)
    try:
        migrate(db)
    except sqlite3.Error as exc:
        db.close()
        raise StoreError(f"{target}: cannot upgrade the database ({exc})") from None
    store = Store(db, target)
    store.recover_interrupted()
    return store


def connect(path: str | Path) -> Database:
    """Open a connection with desk's pragmas, refusing files that are not desk databases."""
    if str(path) != MEMORY:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {path} ({exc.strerror or exc})") from None
    try:
        # check_same_thread=False: the store is used from the asyncio thread, which need
        # not be the one that opened it. isolation_level=None: SQLite's autocommit, so
        # each write commits at once (see desk.store.sql). timeout = busy_timeout below.
        conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path} ({exc})") from None
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:
        conn.close()
        reason = str(exc)
        if "not a database" in reason or "malformed" in reason:
            raise StoreError(f"{path} is not a desk database ({reason})") from None
        raise StoreError(f"cannot open {path} ({reason})") from None
    # A SQLite file from some other program: refuse rather than add our tables to it.
    if tables and MIGRATIONS_TABLE not in tables:
        conn.close()
        raise StoreError(f"{path} is not a desk database (it holds other tables)")
    try:
        db = Database(conn, execute_plugins=False)
        db.execute("PRAGMA busy_timeout = 5000")
        if str(path) != MEMORY:
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot open {path} ({exc})") from None
    return db


class Store:
    """All of desk's persistent state; every method commits before it returns."""

    def __init__(self, db: Database, path: str | Path) -> None:
        self.db = db
        self.path = path

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # providers and their models

    def add_provider(self, cfg: ProviderConfig) -> str:
        return providers.add_provider(self.db, cfg)

    def update_provider(self, cfg: ProviderConfig) -> None:
        providers.update_provider(self.db, cfg)

    def get_provider(self, name: str) -> ProviderConfig | None:
        return providers.get_provider(self.db, name)

    def list_providers(self) -> list[ProviderConfig]:
        return providers.list_providers(self.db)

    def remove_provider(self, name: str) -> bool:
        return providers.remove_provider(self.db, name)

    def add_model(self, provider_name: str, model: str) -> None:
        providers.add_model(self.db, provider_name, model)

    def list_models(self, provider_name: str | None = None) -> list[tuple[str, str]]:
        return providers.list_models(self.db, provider_name)

    def remove_model(self, provider_name: str, model: str) -> bool:
        return providers.remove_model(self.db, provider_name, model)

    # price overrides

    def set_price(self, provider_name: str, model: str, price: Price) -> None:
        prices.set_price(self.db, provider_name, model, price)

    def get_price(self, provider_name: str, model: str) -> Price | None:
        return prices.get_price(self.db, provider_name, model)

    def list_prices(self) -> list[tuple[str, str, Price]]:
        return prices.list_prices(self.db)

    def delete_price(self, provider_name: str, model: str) -> bool:
        return prices.delete_price(self.db, provider_name, model)

    # trials

    def create_trial(
        self,
        trial: TrialInput,
        *,
        trial_id: str | None = None,
        parent_trial_id: str | None = None,
    ) -> str:
        return trials.create_trial(self.db, trial, trial_id=trial_id, parent_trial_id=parent_trial_id)

    def get_trial(self, trial_id: str) -> StoredTrial | None:
        return trials.get_trial(self.db, trial_id)

    def list_trials(self, search: str | None = None, limit: int = 100, offset: int = 0) -> list[TrialSummary]:
        return trials.list_trials(self.db, search, limit, offset)

    def search_trials(self, text: str, limit: int = 100, offset: int = 0) -> list[TrialSummary]:
        return trials.list_trials(self.db, text, limit, offset)

    def set_trial_note(self, trial_id: str, note: str | None) -> None:
        trials.set_trial_note(self.db, trial_id, note)

    def delete_trial(self, trial_id: str) -> bool:
        return trials.delete_trial(self.db, trial_id)

    # responses and attempts

    def create_response(self, result: ResponseResult) -> None:
        responses.create_response(self.db, result)

    def update_response_text(self, response_id: str, text: str, reasoning_text: str = "") -> None:
        responses.update_response_text(self.db, response_id, text, reasoning_text)

    def finish_response(self, result: ResponseResult) -> None:
        responses.finish_response(self.db, result)

    def save_attempt(self, response_id: str, attempt: Attempt) -> None:
        responses.save_attempt(self.db, response_id, attempt)

    def get_response(self, response_id: str) -> ResponseResult | None:
        return responses.get_response(self.db, response_id)

    def responses_for_trial(self, trial_id: str) -> list[ResponseResult]:
        return responses.responses_for_trial(self.db, trial_id)

    def recover_interrupted(self) -> int:
        return responses.recover_interrupted(self.db)
