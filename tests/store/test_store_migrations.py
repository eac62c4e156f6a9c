from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from desk.store import Store, open_store
from desk.store.db import connect
from desk.store.migrations import MIGRATIONS, applied_migrations, migrate

EXPECTED_COLUMNS: dict[str, dict[str, type]] = {
    "providers": {
        "id": str,
        "name": str,
        "kind": str,
        "base_url": str,
        "key_env": str,
        "api_version": str,
        "headers_json": str,
        "created_at": float,
        "updated_at": float,
    },
    "models": {"id": str, "provider_name": str, "model": str, "created_at": float, "takes_images": int},  # m016
    "prices": {
        "id": str,
        "provider_name": str,
        "model": str,
        "input_per_mtok": float,
        "cached_input_per_mtok": float,
        "output_per_mtok": float,
        "updated_at": float,
    },
    "blobs": {"sha256": str, "data": bytes, "size": int, "mime": str, "created_at": float},
    "trials": {
        "id": str,
        "created_at": float,
        "prompt": str,
        "system": str,
        "parent_trial_id": str,
        "note": str,
        "tools_json": str,
        "tool_rounds_json": str,
    },
    "trial_attachments": {
        "trial_id": str,
        "position": int,
        "sha256": str,
        "name": str,
        "kind": str,
        "mime": str,
        "encoding": str,
        "size": int,
        "width": int,
        "height": int,
    },
    "responses": {
        "id": str,
        "trial_id": str,
        "model": str,
        "provider_name": str,
        "model_name": str,
        "settings_json": str,
        "status": str,
        "error_kind": str,
        "error_message": str,
        "http_status": int,
        "text": str,
        "reasoning_text": str,
        "finish_reason": str,
        "started_at": float,
        "first_token_at": float,
        "ended_at": float,
        "ttft_ms": float,
        "total_ms": float,
        "connect_ms": float,
        "output_tokens_per_s": float,
        "input_tokens": int,
        "output_tokens": int,
        "cached_input_tokens": int,
        "reasoning_tokens": int,
        "cost_usd": float,
        "cost_note": str,
        "price_source": str,
        "retries": int,
        "retry_wait_ms": float,
        "vendor_request_id": str,
        "writer_pid": int,
        "writer_host": str,
        "created_at": float,
        "updated_at": float,
        "variant_label": str,
        "variant_system": str,
        "run_id": str,
        "run_seq": int,
        "refusal": int,
        "unknown_fields_json": str,
        "notes_json": str,
        "served_model": str,
        "system_fingerprint": str,
        "tool_calls_json": str,
        "reasoning_signature": str,  # m014
        "reasoning_redacted_json": str,  # m015
        "structured_verdict_json": str,  # m017
    },
    "attempts": {
        "id": str,
        "response_id": str,
        "number": int,
        "started_at": float,
        "first_token_at": float,
        "ended_at": float,
        "http_status": int,
        "status": str,
        "error_kind": str,
        "error_message": str,
        "connect_ms": float,
        "ttft_ms": float,
        "total_ms": float,
        "retry_after_s": float,
        "wait_before_ms": float,
        "vendor_request_id": str,
        "ratelimit_json": str,
        "input_tokens": int,
        "output_tokens": int,
        "cached_input_tokens": int,
        "reasoning_tokens": int,
        "cost_usd": float,
    },
    "rubrics": {"id": str, "name": str, "version": int, "criteria_json": str, "created_at": float},
    "ratings": {
        "id": str,
        "response_id": str,
        "rater": str,
        "rubric_id": str,
        "created_at": float,
        "outcome": str,
        "uncertainty": str,
        "constraints": str,
        "quality": int,
        "note": str,
        "tags_json": str,
        "extra_json": str,
        "blind": int,
        "shown_order_json": str,
        "supersedes": str,
        "origin": str,  # m007
    },
    "preferences": {
        "id": str,
        "response_a": str,
        "response_b": str,
        "winner": str,
        "reason": str,
        "rater": str,
        "created_at": float,
        "blind": int,
        "shown_order_json": str,
        "supersedes": str,
        "origin": str,  # m007
    },
    "turns": {"response_id": str, "parent_response_id": str, "turn": int, "reply": str, "created_at": float},  # m014
    "settings": {"key": str, "value": str},
    "_desk_migrations": {"name": str, "applied_at": float},
}


def test_initial_schema(db_path: Path) -> None:
    with open_store(db_path) as store:
        db = store.db
        for table, columns in EXPECTED_COLUMNS.items():
            assert db.table(table).columns_dict == columns, table
        assert applied_migrations(db) == [m.__name__ for m in MIGRATIONS]
        indexes = {i.name: i.columns for i in db.table("responses").indexes}
        assert indexes["idx_responses_trial_id"] == ["trial_id"]
        assert indexes["idx_responses_model_created_at"] == ["model", "created_at"]
        unique = [i.columns for i in db.table("attempts").indexes if i.unique]
        assert ["response_id", "number"] in unique
        assert db.table("trial_attachments").pks == ["trial_id", "position"]
        rating_indexes = {i.name: i.columns for i in db.table("ratings").indexes}
        assert rating_indexes["idx_ratings_response_id_rater"] == ["response_id", "rater"]
        pref_indexes = {i.name: i.columns for i in db.table("preferences").indexes}
        assert pref_indexes["idx_preferences_pair"] == ["response_a", "response_b"]
        unique = [i.columns for i in db.table("rubrics").indexes if i.unique]
        assert ["name", "version"] in unique
        assert db.table("settings").pks == ["key"]


def test_no_api_key_column_anywhere(store: Store) -> None:
    for table in store.db.tables:
        for column in table.columns_dict:
            lowered = column.lower()
            assert "secret" not in lowered and "password" not in lowered, (table.name, column)
            # key_env names an environment variable; settings.key is a setting's name.
            allowed = {("providers", "key_env"), ("settings", "key")}
            assert "key" not in lowered or (table.name, column) in allowed, (table.name, column)


def test_no_autoincrement(store: Store) -> None:
    assert "AUTOINCREMENT" not in store.db.schema.upper()


def test_migrations_are_recorded_and_idempotent(db_path: Path) -> None:
    open_store(db_path).close()
    with open_store(db_path) as store:
        assert migrate(store.db) == []
        rows = list(store.db.query("SELECT name, applied_at FROM _desk_migrations"))
        assert [r["name"] for r in rows] == [m.__name__ for m in MIGRATIONS]
        assert all(isinstance(r["applied_at"], float) for r in rows)


def test_database_with_no_migrations_upgrades(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE _desk_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    conn.commit()
    conn.close()
    with open_store(db_path) as store:
        assert applied_migrations(store.db) == [m.__name__ for m in MIGRATIONS]
        assert "responses" in store.db.table_names()


def test_a_later_migration_runs_once_in_order(db_path: Path) -> None:
    open_store(db_path).close()
    calls: list[str] = []

    def m099_add_rating(db: Database) -> None:
        calls.append("m099")
        db.execute("ALTER TABLE responses ADD COLUMN rating INTEGER")

    db = connect(db_path)
    try:
        assert migrate(db, [*MIGRATIONS, m099_add_rating]) == ["m099_add_rating"]
        assert migrate(db, [*MIGRATIONS, m099_add_rating]) == []
        assert calls == ["m099"]
        assert db.table("responses").columns_dict["rating"] is int
        assert applied_migrations(db) == [*(m.__name__ for m in MIGRATIONS), "m099_add_rating"]
    finally:
        db.close()


def test_a_failing_migration_leaves_nothing_behind(db_path: Path) -> None:
    open_store(db_path).close()

    def m002_broken(db: Database) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    db = connect(db_path)
    try:
        try:
            migrate(db, [*MIGRATIONS, m002_broken])
        except RuntimeError:
            pass
        assert "half_done" not in db.table_names()
        assert applied_migrations(db) == [m.__name__ for m in MIGRATIONS]
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        db.close()


def test_m002_adds_variant_columns_to_an_m001_store(db_path: Path) -> None:
    """A store made before prompt variants upgrades in place and keeps its rows."""
    db = connect(db_path)
    migrate(db, MIGRATIONS[:1])
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t1', 1.0, 'old prompt')")
    db.close()
    with open_store(db_path) as store:
        assert "variant_label" in store.db.table("responses").columns_dict
        assert store.trials.get("t1").input.prompt == "old prompt"


def test_m003_adds_rating_tables_to_an_m002_store(db_path: Path) -> None:
    """A store from before ratings upgrades in place; its answers can then be rated."""
    db = connect(db_path)
    migrate(db, MIGRATIONS[:2])
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t1', 1.0, 'old prompt')")
    db.execute(
        "INSERT INTO responses (id, trial_id, model, provider_name, model_name, status, created_at, "
        "updated_at) VALUES ('r1', 't1', 'p/m', 'p', 'm', 'ok', 1.0, 1.0)"
    )
    db.close()
    with open_store(db_path) as store:
        assert {"rubrics", "ratings", "preferences", "settings"} <= set(store.db.table_names())
        values = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}
        assert store.ratings.save("r1", "ana", values).values == values
