"""Schema migrations, in the style of Simon Willison's `llm`.

Each migration is a function registered with `@migration`; its name is what the
`_desk_migrations` table records, so a migration is never renamed, reordered or edited
once released: change the schema by appending `m002_...`, `m003_...` below.
The schema is written as SQL rather than generated, so an upgrade of sqlite-utils can
never change what a migration creates.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from desk.store.connection import Database
from desk.store.migration_initial import m001_initial
from desk.store.sql import rows, run_all, transaction

MIGRATIONS_TABLE = "_desk_migrations"

Migration = Callable[[Database], None]
# m001 lives in its own module (it is long and frozen); every later one is registered below.
MIGRATIONS: list[Migration] = [m001_initial]


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def applied_migrations(db: Database) -> list[str]:
    """Names of the migrations already run on `db`, in the order they ran."""
    if MIGRATIONS_TABLE not in db.table_names():
        return []
    return [r["name"] for r in rows(db, f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid")]


def migrate(db: Database, migrations: Sequence[Migration] | None = None) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return their names.

    Foreign keys are switched off while migrating (as SQLite's ALTER TABLE guide asks):
    a future table rebuild (create copy, drop, rename) would otherwise cascade-delete
    child rows. Integrity is checked with `foreign_key_check` before each commit.
    """
    todo = list(MIGRATIONS if migrations is None else migrations)
    # Opening an up-to-date store takes no write lock: while another process holds it (a
    # merge, a long write) an open must not wait for it, let alone fail.
    done = set(applied_migrations(db))
    todo = [fn for fn in todo if fn.__name__ not in done]
    if not todo:
        return []
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    ran: list[str] = []
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        for fn in todo:
            name = fn.__name__
            with transaction(db):
                # Re-read under the write lock: another process may have just run it.
                if name in applied_migrations(db):
                    continue
                fn(db)
                broken = db.conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise sqlite3.IntegrityError(
                        f"migration {name} left {len(broken)} broken foreign key(s), "
                        f"first in table {broken[0][0]}"
                    )
                db.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                    (name, time.time()),
                )
            ran.append(name)
    finally:
        db.execute("PRAGMA foreign_keys = ON")
    return ran


@migration
def m002_response_variants(db: Database) -> None:
    # Prompt variants: a trial's panes are model x variant, each with its own system prompt.
    run_all(
        db,
        [
            "ALTER TABLE responses ADD COLUMN variant_label TEXT",
            "ALTER TABLE responses ADD COLUMN variant_system TEXT",
        ],
    )


@migration
def m003_ratings(db: Database) -> None:
    # Rubrics are versioned: a rating names the exact version it was made under, so a
    # later label change never alters what an old rating meant. criteria_json holds the
    # whole criteria list (key, label, kind, options [{key, label, hint}], low, high,
    # required). The default rubric is stored on first use (RubricTable.default), not
    # here, so this migration never depends on code that may change.
    #
    # Ratings and preferences are append-only: an edit is a new row whose `supersedes`
    # names the row it replaces (plain TEXT, not a foreign key, so merged rows may
    # arrive in any order; a chain never leaves its response, so deleting the response
    # removes the whole chain). The core criteria get columns of their own for the
    # scorecard; any other criterion's value goes to extra_json.
    run_all(
        db,
        [
            """CREATE TABLE rubrics (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                criteria_json TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (name, version)
            )""",
            """CREATE TABLE ratings (
                id TEXT PRIMARY KEY,
                response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
                rater TEXT NOT NULL,
                rubric_id TEXT NOT NULL REFERENCES rubrics(id),
                created_at REAL NOT NULL,
                outcome TEXT,
                uncertainty TEXT,
                constraints TEXT,
                quality INTEGER,
                note TEXT,
                tags_json TEXT NOT NULL DEFAULT '[]',
                extra_json TEXT NOT NULL DEFAULT '{}',
                blind INTEGER NOT NULL DEFAULT 0,
                shown_order_json TEXT NOT NULL DEFAULT '[]',
                supersedes TEXT
            )""",
            "CREATE INDEX idx_ratings_response_id_rater ON ratings (response_id, rater)",
            "CREATE INDEX idx_ratings_supersedes ON ratings (supersedes)",
            "CREATE INDEX idx_ratings_created_at ON ratings (created_at)",
            """CREATE TABLE preferences (
                id TEXT PRIMARY KEY,
                response_a TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
                response_b TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
                winner TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                rater TEXT NOT NULL,
                created_at REAL NOT NULL,
                blind INTEGER NOT NULL DEFAULT 0,
                shown_order_json TEXT NOT NULL DEFAULT '[]',
                supersedes TEXT
            )""",
            "CREATE INDEX idx_preferences_pair ON preferences (response_a, response_b)",
            "CREATE INDEX idx_preferences_response_b ON preferences (response_b)",
            "CREATE INDEX idx_preferences_supersedes ON preferences (supersedes)",
            # Small per-user app settings (the rater's name...). Never merged, never a secret.
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
        ],
    )


@migration
def m004_runs(db: Database) -> None:
    # Runs group many requests (load runs now; suite runs later). A logical request of a
    # load run is one run_requests row; every model call it made is an ordinary response
    # (with its attempts) tagged with run_id and run_seq, so per-request evidence and
    # exports work the same for runs as for trials.
    run_all(
        db,
        [
            """CREATE TABLE runs (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT,
                created_at REAL NOT NULL,
                finished_at REAL,
                status TEXT NOT NULL,
                spec_json TEXT NOT NULL,
                summary_json TEXT,
                writer_pid INTEGER,
                writer_host TEXT
            )""",
            "CREATE INDEX idx_runs_created_at ON runs (created_at)",
            """CREATE TABLE run_requests (
                run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                model TEXT NOT NULL,
                step INTEGER NOT NULL,
                concurrency INTEGER NOT NULL,
                start_offset_ms REAL NOT NULL,
                status TEXT NOT NULL,
                error_kind TEXT,
                answered_by TEXT,
                ttft_ms REAL,
                total_ms REAL,
                itl_json TEXT,
                attempts INTEGER NOT NULL,
                retries INTEGER NOT NULL,
                rate_limited INTEGER NOT NULL,
                retry_wait_ms REAL NOT NULL,
                input_tokens INTEGER,
                output_tokens INTEGER,
                cost_usd REAL,
                response_ids_json TEXT NOT NULL,
                PRIMARY KEY (run_id, model, seq)
            )""",
            "ALTER TABLE responses ADD COLUMN run_id TEXT",
            "ALTER TABLE responses ADD COLUMN run_seq INTEGER",
            "CREATE INDEX idx_responses_run ON responses (run_id, run_seq)",
        ],
    )


@migration
def m005_suites(db: Database) -> None:
    # Suites are named sets of cases; a re-import under the same name is the next version
    # (the old one stays, as runs refer to its cases). `sha256` is the hash of the file a
    # suite was read from (the bundled starter suite is imported once per file version).
    # Case attachments share the trials' content-addressed blobs; the trigger keeps a
    # blob a case still needs when the last trial using it is deleted (delete_trial only
    # looks at trial_attachments).
    #
    # A suite run is a row of `runs` (kind 'suite'; its spec names the suite id, models,
    # repeat and concurrency). Each (case, sample) of a run is one ordinary trial holding
    # every model's answer, so rating, blind mode, preferences and export work unchanged;
    # suite_run_trials links that trial to its run, case and sample. The responses carry
    # run_id too (m004). No foreign key from runs to suites: the spec is JSON.
    run_all(
        db,
        [
            """CREATE TABLE suites (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                created_at REAL NOT NULL,
                source TEXT NOT NULL DEFAULT '',
                sha256 TEXT,
                UNIQUE (name, version)
            )""",
            """CREATE TABLE suite_cases (
                id TEXT PRIMARY KEY,
                suite_id TEXT NOT NULL REFERENCES suites(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                case_ref TEXT NOT NULL,
                prompt TEXT NOT NULL,
                system TEXT,
                expect TEXT NOT NULL DEFAULT '',
                tags_json TEXT NOT NULL DEFAULT '[]',
                notes TEXT NOT NULL DEFAULT '',
                constraints_json TEXT NOT NULL DEFAULT '[]',
                source TEXT NOT NULL DEFAULT '',
                upstream_id TEXT NOT NULL DEFAULT '',
                UNIQUE (suite_id, position),
                UNIQUE (suite_id, case_ref)
            )""",
            """CREATE TABLE suite_case_attachments (
                case_id TEXT NOT NULL REFERENCES suite_cases(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                mime TEXT NOT NULL,
                encoding TEXT,
                size INTEGER NOT NULL,
                width INTEGER,
                height INTEGER,
                PRIMARY KEY (case_id, position)
            )""",
            "CREATE INDEX idx_suite_case_attachments_sha256 ON suite_case_attachments (sha256)",
            """CREATE TRIGGER blobs_keep_for_suite_cases BEFORE DELETE ON blobs
                WHEN EXISTS (SELECT 1 FROM suite_case_attachments WHERE sha256 = old.sha256)
            BEGIN
                SELECT RAISE(IGNORE);
            END""",
            """CREATE TABLE suite_run_trials (
                run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                case_id TEXT NOT NULL REFERENCES suite_cases(id),
                sample INTEGER NOT NULL,
                trial_id TEXT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
                PRIMARY KEY (run_id, case_id, sample)
            )""",
            "CREATE INDEX idx_suite_run_trials_trial_id ON suite_run_trials (trial_id)",
            "CREATE INDEX idx_runs_kind ON runs (kind, created_at)",
        ],
    )


@migration
def m006_response_refusal_and_unknown_fields(db: Database) -> None:
    # `refusal` (0/1): the answer's text is the vendor's refusal (OpenAI's `refusal` field).
    # `unknown_fields_json`: content fields of the stream desk does not read, by name, as
    # {"name": {"count": n, "raw": [JSON text, ...]}}, so a new kind of content is visible.
    run_all(
        db,
        [
            "ALTER TABLE responses ADD COLUMN refusal INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE responses ADD COLUMN unknown_fields_json TEXT NOT NULL DEFAULT '{}'",
        ],
    )


@migration
def m007_merged_origin(db: Database) -> None:
    # Merged ratings and preferences keep the store they came from, so a colleague's
    # store can never speak for a rater of this one. `origin` is NULL for a row made
    # here and the id of the store it was first made in otherwise (merge sets it; it is
    # never NULL on a merged row). A store's own id is made once, here, and never merged.
    run_all(
        db,
        [
            "CREATE TABLE store_identity (id TEXT PRIMARY KEY)",
            "INSERT INTO store_identity (id) VALUES (lower(hex(randomblob(16))))",
            "ALTER TABLE ratings ADD COLUMN origin TEXT",
            "ALTER TABLE preferences ADD COLUMN origin TEXT",
        ],
    )


@migration
def m008_response_notes(db: Database) -> None:
    # Notes on an answer's text as stored (a JSON list of sentences): e.g. that a half
    # character the vendor sent was replaced by U+FFFD. Shown in details and exports.
    run_all(db, ["ALTER TABLE responses ADD COLUMN notes_json TEXT NOT NULL DEFAULT '[]'"])


@migration
def m009_served_model(db: Database) -> None:
    # What the vendor says it served (issue 15): the model name it reports and its build
    # (OpenAI's system_fingerprint; Ollama's model digest). NULL: not said, or an answer
    # stored before this migration.
    run_all(
        db,
        [
            "ALTER TABLE responses ADD COLUMN served_model TEXT",
            "ALTER TABLE responses ADD COLUMN system_fingerprint TEXT",
        ],
    )


# The tables a scorecard reads: any change to them changes its figures.
SCORED_TABLES = ("trials", "responses", "ratings", "preferences", "runs", "rubrics")


@migration
def m010_store_version(db: Database) -> None:
    # A counter every write to a scored table bumps (issue 21), so a cached scorecard
    # can tell in one read whether it still describes the store; and that cache. The
    # cache belongs to this store: a merge never copies it (the rows it adds bump ours).
    statements = [
        "CREATE TABLE store_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
        "INSERT INTO store_version (id, n) VALUES (1, 0)",
        """CREATE TABLE scorecard_cache (
            digest TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            scores_json TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
    ]
    for table in SCORED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} BEGIN "
                "UPDATE store_version SET n = n + 1 WHERE id = 1; END"
            )
    run_all(db, statements)


@migration
def m011_run_request_ttft_named_apart(db: Database) -> None:
    # A load-run request's time to first token runs from the request's start, retries,
    # their waits and fallbacks included, while a response's `ttft_ms` is its final
    # attempt's own; one name meant both (issue 13). The run_requests column gets its own.
    run_all(db, ["ALTER TABLE run_requests RENAME COLUMN ttft_ms TO request_ttft_ms"])


@migration
def m012_tool_calls_and_trial_tools(db: Database) -> None:
    # Tool use (issue 17): the tools a trial offered (with its tool choice, as JSON in
    # OpenAI's function format; NULL: none) and the calls each answer made, with what
    # desk's check found wrong with each (a JSON list; '[]': no call).
    run_all(
        db,
        [
            "ALTER TABLE trials ADD COLUMN tools_json TEXT",
            # the earlier rounds of a tool loop it continues (*Give results*); NULL: none
            "ALTER TABLE trials ADD COLUMN tool_rounds_json TEXT",
            "ALTER TABLE responses ADD COLUMN tool_calls_json TEXT NOT NULL DEFAULT '[]'",
            # a suite case's tools, canned results and expected call (NULL: none)
            "ALTER TABLE suite_cases ADD COLUMN tools_json TEXT",
            "ALTER TABLE suite_cases ADD COLUMN tool_results_json TEXT",
            "ALTER TABLE suite_cases ADD COLUMN expected_call_json TEXT",
        ],
    )


@migration
def m013_judge_prompts_and_verdicts(db: Database) -> None:
    # A model as judge (issue 14). Judge prompt templates are versioned like rubrics: an
    # edit is the next version, and each verdict names the version that made it. A
    # verdict is a rating by the rater "judge:PROVIDER/MODEL" (desk.core.judge); its row
    # here ties that rating to the prompt version, the rationale and the judge's own
    # request (an ordinary response, with its tokens, latency and cost). A reply that is
    # not a verdict is kept here as a judge error with its raw text and no rating.
    # One row per (answer, judge): what makes a judge run resumable without judging twice.
    run_all(
        db,
        [
            """CREATE TABLE judge_prompts (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                template TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (name, version)
            )""",
            """CREATE TABLE judge_verdicts (
                id TEXT PRIMARY KEY,
                response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
                judge TEXT NOT NULL,
                prompt_id TEXT NOT NULL REFERENCES judge_prompts(id),
                rubric_id TEXT NOT NULL,
                judge_response_id TEXT,
                rating_id TEXT,
                rationale TEXT NOT NULL DEFAULT '',
                error TEXT,
                raw TEXT,
                run_id TEXT,
                created_at REAL NOT NULL,
                UNIQUE (response_id, judge)
            )""",
            "CREATE INDEX idx_judge_verdicts_judge ON judge_verdicts (judge)",
            # The calibration sample: answers of a run drawn uniformly at random (the run's
            # seed, recorded with each draw) for people to rate, so that a prediction-powered
            # figure may combine their ratings with the judge's (desk.core.ppi).
            """CREATE TABLE calibration_draws (
                run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
                seed INTEGER NOT NULL,
                position INTEGER NOT NULL,
                drawn_at REAL NOT NULL,
                PRIMARY KEY (run_id, response_id)
            )""",
        ],
    )


@migration
def m014_conversation_turns(db: Database) -> None:
    # A reply continues one answer's conversation (issue 16): its answer is a response of
    # the same trial, linked here to the one it continues, with the user's reply that made
    # it (turn 2 onwards; turn 1 is the trial's own answer, which has no row). The vendor's
    # seal over an answer's thinking is kept on the response, to send back next turn.
    run_all(
        db,
        [
            """CREATE TABLE turns (
                response_id TEXT PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
                parent_response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
                turn INTEGER NOT NULL CHECK (turn >= 2),
                reply TEXT NOT NULL,
                created_at REAL NOT NULL
            )""",
            "CREATE INDEX idx_turns_parent ON turns (parent_response_id)",
            "ALTER TABLE responses ADD COLUMN reasoning_signature TEXT",
            # What a person would answer a case's clarifying question with ('' = none).
            "ALTER TABLE suite_cases ADD COLUMN clarification TEXT NOT NULL DEFAULT ''",
        ],
    )


@migration
def m015_redacted_thinking(db: Database) -> None:
    # Thinking Anthropic sent encrypted (redacted_thinking blocks) must go back unchanged
    # with the next turn: each block's data, in order, as a JSON list (NULL: none).
    run_all(db, ["ALTER TABLE responses ADD COLUMN reasoning_redacted_json TEXT"])


@migration
def m016_judge_images(db: Database) -> None:
    # Whether a model takes images (issue 14), as the user says per model: NULL = as its
    # vendor family is known (desk.core.vision), 1 = it does, 0 = it does not. And per
    # verdict whether the judge saw the task's images: NULL = the task had none, 'sent',
    # or 'withheld' (the judge model is not known to take them, or the user said no).
    run_all(
        db,
        [
            "ALTER TABLE models ADD COLUMN takes_images INTEGER",
            "ALTER TABLE judge_verdicts ADD COLUMN images TEXT",
        ],
    )


@migration
def m017_structured_verdict_kept(db: Database) -> None:
    # The structured-output verdict made on an answer's text as the vendor sent it, kept when
    # a configured API key was scrubbed from that text (JSON; NULL: judge the stored text).
    run_all(db, ["ALTER TABLE responses ADD COLUMN structured_verdict_json TEXT"])


@migration
def m018_response_figures_index(db: Database) -> None:
    # What a scorecard reads of every answer (desk.store.responses ResponseTable.figures), in
    # the order it reads them, with the load-run scope's run_id: an index that covers them
    # spares reading the table's rows, whose texts are most of the store (issue 21).
    run_all(db, ["CREATE INDEX idx_responses_figures ON responses "
                 "(created_at, id, trial_id, model, status, total_ms, cost_usd, run_id)"])


@migration
def m019_response_cells_index(db: Database) -> None:
    # What a suite run's matrix, rating queue, listing and comparison read of each of its
    # answers (desk.store.suites SuiteTable.cell_figures), by trial, each cell's answers oldest
    # first: an index that covers them spares reading the rows, whose texts are most of the
    # store (issue 21: 8-10 s at 100,000 answers).
    run_all(db, ["CREATE INDEX idx_responses_cells ON responses (trial_id, model, created_at, status, id, "
                 "error_kind, ttft_ms, total_ms, cost_usd, served_model, system_fingerprint)"])


@migration
def m020_answers_version(db: Database) -> None:
    # A counter every write to an answer, or to a suite run's links to its trials, bumps
    # (ratings do not), and each run's listed counts kept at the counter's value they were
    # counted at: worked out again only when they may have changed (issue 21: 0.12 s per
    # 100,000-answer run at each listing, on the window's GUI thread, for every rating saved
    # and at every start). Both this store's own: a merge copies neither (its rows bump ours).
    statements = ["CREATE TABLE answers_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
                  "INSERT INTO answers_version (id, n) VALUES (1, 0)",
                  "CREATE TABLE run_counts (run_id TEXT PRIMARY KEY, version INTEGER NOT NULL, "
                  "done INTEGER NOT NULL, failed INTEGER NOT NULL)"]
    for table in ("responses", "suite_run_trials"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_answers_{event.lower()} AFTER {event} ON {table} BEGIN "
                "UPDATE answers_version SET n = n + 1 WHERE id = 1; END"
            )
    run_all(db, statements)
