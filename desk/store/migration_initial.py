"""The first migration, kept apart because it is long and, released, frozen: stores in the
field were built by it, so it is never edited (desk.store.migrations registers it first)."""

from __future__ import annotations

import sqlite3

from desk.store.connection import Database
from desk.store.sql import run_all


def m001_initial(db: Database) -> None:
    # ULID text keys everywhere (no autoincrement) so two users' stores merge cleanly.
    # Times are unix seconds (REAL). Token counts are nullable: NULL = "not reported".
    run_all(
        db,
        [
            """CREATE TABLE providers (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                base_url TEXT NOT NULL,
                key_env TEXT,
                api_version TEXT,
                headers_json TEXT NOT NULL DEFAULT '[]',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            # Models and prices hang off the provider NAME (not its id) so merged stores
            # line up; removing a provider removes them too.
            """CREATE TABLE models (
                id TEXT PRIMARY KEY,
                provider_name TEXT NOT NULL
                    REFERENCES providers(name) ON UPDATE CASCADE ON DELETE CASCADE,
                model TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (provider_name, model)
            )""",
            """CREATE TABLE prices (
                id TEXT PRIMARY KEY,
                provider_name TEXT NOT NULL
                    REFERENCES providers(name) ON UPDATE CASCADE ON DELETE CASCADE,
                model TEXT NOT NULL,
                input_per_mtok REAL NOT NULL,
                cached_input_per_mtok REAL,
                output_per_mtok REAL NOT NULL,
                updated_at REAL NOT NULL,
                UNIQUE (provider_name, model)
            )""",
            """CREATE TABLE blobs (
                sha256 TEXT PRIMARY KEY,
                data BLOB NOT NULL,
                size INTEGER NOT NULL,
                mime TEXT,
                created_at REAL NOT NULL
            )""",
            """CREATE TABLE trials (
                id TEXT PRIMARY KEY,
                created_at REAL NOT NULL,
                prompt TEXT NOT NULL,
                system TEXT,
                parent_trial_id TEXT REFERENCES trials(id) ON DELETE SET NULL,
                note TEXT
            )""",
            "CREATE INDEX idx_trials_created_at ON trials (created_at)",
            "CREATE INDEX idx_trials_parent_trial_id ON trials (parent_trial_id)",
            """CREATE TABLE trial_attachments (
                trial_id TEXT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                mime TEXT NOT NULL,
                encoding TEXT,
                size INTEGER NOT NULL,
                width INTEGER,
                height INTEGER,
                PRIMARY KEY (trial_id, position)
            )""",
            "CREATE INDEX idx_trial_attachments_sha256 ON trial_attachments (sha256)",
            """CREATE TABLE responses (
                id TEXT PRIMARY KEY,
                trial_id TEXT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                provider_name TEXT NOT NULL,
                model_name TEXT NOT NULL,
                settings_json TEXT NOT NULL DEFAULT '{}',
                status TEXT NOT NULL,
                error_kind TEXT,
                error_message TEXT,
                http_status INTEGER,
                text TEXT NOT NULL DEFAULT '',
                reasoning_text TEXT NOT NULL DEFAULT '',
                finish_reason TEXT,
                started_at REAL,
                first_token_at REAL,
                ended_at REAL,
                ttft_ms REAL,
                total_ms REAL,
                connect_ms REAL,
                output_tokens_per_s REAL,
                input_tokens INTEGER,
                output_tokens INTEGER,
                cached_input_tokens INTEGER,
                reasoning_tokens INTEGER,
                cost_usd REAL,
                cost_note TEXT NOT NULL DEFAULT '',
                price_source TEXT,
                retries INTEGER NOT NULL DEFAULT 0,
                retry_wait_ms REAL NOT NULL DEFAULT 0,
                vendor_request_id TEXT,
                writer_pid INTEGER,
                writer_host TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            "CREATE INDEX idx_responses_trial_id ON responses (trial_id)",
            "CREATE INDEX idx_responses_model_created_at ON responses (model, created_at)",
            # Recovery on open looks for rows still streaming; keep that a cheap lookup.
            "CREATE INDEX idx_responses_status ON responses (status)",
            """CREATE TABLE attempts (
                id TEXT PRIMARY KEY,
                response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                started_at REAL NOT NULL,
                first_token_at REAL,
                ended_at REAL,
                http_status INTEGER,
                status TEXT NOT NULL,
                error_kind TEXT,
                error_message TEXT,
                connect_ms REAL,
                ttft_ms REAL,
                total_ms REAL,
                retry_after_s REAL,
                wait_before_ms REAL NOT NULL DEFAULT 0,
                vendor_request_id TEXT,
                ratelimit_json TEXT NOT NULL DEFAULT '{}',
                input_tokens INTEGER,
                output_tokens INTEGER,
                cached_input_tokens INTEGER,
                reasoning_tokens INTEGER,
                cost_usd REAL,
                UNIQUE (response_id, number)
            )""",
        ],
    )
    _create_trials_fts(db)


def _create_trials_fts(db: Database) -> None:
    """Full-text index over prompt + system, kept current by triggers.

    A standalone FTS5 table keyed by trial id, not sqlite-utils' `enable_fts`: that
    links rows through the implicit rowid, which VACUUM may renumber on a table whose
    key is not an INTEGER PRIMARY KEY, silently pointing search hits at wrong trials.
    Without FTS5 in this SQLite build, search falls back to LIKE.
    """
    try:
        db.execute(
            "CREATE VIRTUAL TABLE trials_fts USING fts5 ("
            "trial_id UNINDEXED, prompt, system, tokenize = 'unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError as exc:
        if "no such module" in str(exc):
            return
        raise
    run_all(
        db,
        [
            """CREATE TRIGGER trials_fts_ai AFTER INSERT ON trials BEGIN
                INSERT INTO trials_fts (trial_id, prompt, system)
                VALUES (new.id, new.prompt, coalesce(new.system, ''));
            END""",
            """CREATE TRIGGER trials_fts_ad AFTER DELETE ON trials BEGIN
                DELETE FROM trials_fts WHERE trial_id = old.id;
            END""",
            """CREATE TRIGGER trials_fts_au AFTER UPDATE OF prompt, system ON trials BEGIN
                DELETE FROM trials_fts WHERE trial_id = old.id;
                INSERT INTO trials_fts (trial_id, prompt, system)
                VALUES (new.id, new.prompt, coalesce(new.system, ''));
            END""",
        ],
    )
