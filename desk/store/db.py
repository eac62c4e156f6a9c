"""Opening the database, and the `Store` facade the rest of desk talks to.

This package is the only one that touches SQLite. Every write commits at once: the app
can be killed mid-stream, and WAL with synchronous=NORMAL keeps frequent commits cheap.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

from desk.core.load import RequestOutcome
from desk.core.rating import Preference, Rating
from desk.core.response import Attempt, ResponseFigures, ResponseResult
from desk.core.rubric import Rubric
from desk.core.trial import TrialInput
from desk.store import (
    merge,
    ratings,
    responses,
    rubrics,
    runs,
    scorecard_cache,
    trials,
)
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.merge import MergeReport
from desk.store.migrations import MIGRATIONS_TABLE, migrate
from desk.store.prices import PriceTable
from desk.store.providers import ProviderTable
from desk.store.ratings import RatingFilter
from desk.store.runs import RunInfo
from desk.store.settings import SettingTable
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

    Raises StoreError with a one-line reason if the file cannot be used. A read-only file
    opens for reading (its crashed streams stay as they are; writes raise StoreError).
    """
    target = default_db_path() if path is None else path
    db = connect(target)
    try:
        migrate(db)
    except sqlite3.Error as exc:
        db.close()
        raise StoreError(f"{target}: cannot upgrade the database ({exc})") from None
    store = Store(db, target)
    try:
        store.recover_interrupted()
    except sqlite3.Error as exc:
        # A read-only file can still be read: its unfinished answers wait for a writable open.
        # Anything else refusing the update (a trigger, a full disk) makes the store unusable.
        if not (exc.sqlite_errorname or "").startswith("SQLITE_READONLY"):
            store.close()
            raise StoreError(f"{target}: cannot mark unfinished answers as interrupted ({exc})") from None
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
        if (exc.sqlite_errorname or "").startswith("SQLITE_READONLY"):
            raise StoreError(f"cannot read {path}: it is read-only and so is its folder, where SQLite "
                             "must keep the store's -shm file to read it; make the folder writable "
                             "or work on a copy") from None
        raise StoreError(f"cannot open {path} ({reason})") from None
    # A SQLite file from some other program: refuse rather than add our tables to it.
    if tables and MIGRATIONS_TABLE not in tables:
        conn.close()
        raise StoreError(f"{path} is not a desk database (it holds other tables)")
    try:
        db = Database(conn)
        db.execute("PRAGMA busy_timeout = 5000")
        if str(path) != MEMORY:
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot open {path} ({exc})") from None
    return db


def open_merge_source(path: str | Path) -> Database:
    """Open another desk store to read it for a merge, upgrading its schema if it is older.

    The upgrade (our pending migrations) is the only change made to that file; crashed
    streams in it are left as they are. StoreError if it is missing, not a desk
    database, made by a newer desk than this one, or holds anything desk's migrations
    don't make (a view, a trigger...: see merge.check_source_schema), found before the
    file is opened for writing.
    """
    if str(path) == MEMORY or not Path(path).is_file():
        raise StoreError(f"{path}: no such file")
    # Look before touching: connect() would switch the file to WAL, even a stranger's, and
    # migrating it would fire any trigger it holds. Only its schema is read here.
    try:
        peek = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            peek.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, merge.MAX_VALUE_BYTES)
            tables = {r[0] for r in peek.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if MIGRATIONS_TABLE not in tables:
                raise StoreError(f"{path} is not a desk database")
            merge.check_source_schema(peek, merge.applied_in(peek), str(path))
        finally:
            peek.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a desk database ({exc})") from None
    db = connect(path)
    db.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, merge.MAX_VALUE_BYTES)
    try:
        try:
            migrate(db)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot upgrade the database ({exc})") from None
    except BaseException:
        db.close()
        raise
    return db


class Store:
    """All of desk's persistent state; every method commits before it returns."""

    def __init__(self, db: Database, path: str | Path) -> None:
        self.db = db
        self.path = path
        self._cancelled: Callable[[], bool] | None = None
        self.providers = ProviderTable(db)
        self.prices = PriceTable(db)
        self.settings = SettingTable(db)

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

    def get_trials(self, trial_ids: Sequence[str]) -> dict[str, StoredTrial]:
        """`get_trial` of many at once, by id (missing ones left out)."""
        return trials.get_trials(self.db, trial_ids)

    def list_trials(self, search: str | None = None, limit: int = 100, offset: int = 0,
                    *, runs: bool = True) -> list[TrialSummary]:
        return trials.list_trials(self.db, search, limit, offset, runs=runs)

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
        return responses.recover_interrupted(self.db) + runs.recover_runs(self.db)

    # runs

    def create_run(self, kind: str, spec: dict[str, Any], name: str | None = None) -> str:
        return runs.create_run(self.db, kind, spec, name)

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        runs.finish_run(self.db, run_id, status, summary)

    def get_run(self, run_id: str) -> RunInfo | None:
        return runs.get_run(self.db, run_id)

    def list_runs(self, kind: str | None = None, limit: int = 200) -> list[RunInfo]:
        return runs.list_runs(self.db, kind, limit)

    def save_run_batch(self, run_id: str, outcomes: Sequence[RequestOutcome],
                       calls: Sequence[tuple[int, ResponseResult]]) -> None:
        runs.save_run_batch(self.db, run_id, outcomes, calls)

    def run_requests(self, run_id: str) -> list[RequestOutcome]:
        return runs.run_requests(self.db, run_id)

    def run_responses(self, run_id: str) -> list[ResponseResult]:
        return runs.run_responses(self.db, run_id)

    def run_calls(self, run_id: str) -> list[tuple[int | None, ResponseResult]]:
        """(run_seq, response) of every model call of a run of any kind (load or suite)."""
        return runs.run_calls(self.db, run_id)

    def all_responses(self, filters: RatingFilter | None = None, *, load_runs: bool = True) -> list[ResponseResult]:
        """Every response with its attempts, failures included, oldest first.

        Only `trial_ids`, `since` and `until` of `filters` apply, and the time range is on
        when the response was stored (`since <= created_at < until`); tags and rater are
        ignored (a response has neither).
        """
        f = filters or RatingFilter()
        return responses.all_responses(self.db, trial_ids=f.trial_ids, since=f.since, until=f.until,
                                       load_runs=load_runs)

    def response_figures(self, filters: RatingFilter | None = None, *, load_runs: bool = True,
                         ids: Sequence[str] | None = None) -> list[ResponseFigures]:
        """`all_responses` (or the responses among `ids`) with only id, trial, model, status,
        total time and cost: what the scorecard needs, without the text and attempts."""
        f = filters or RatingFilter()
        return responses.response_figures(self.db, trial_ids=f.trial_ids, since=f.since, until=f.until,
                                          load_runs=load_runs, ids=ids)

    # rubrics

    def default_rubric(self) -> Rubric:
        """The newest version of the "default" rubric (stored on first use), `id` set."""
        return rubrics.default_rubric(self.db)

    def save_rubric_version(self, rubric: Rubric) -> Rubric:
        return rubrics.save_rubric_version(self.db, rubric)

    def get_rubric(self, rubric_id: str) -> Rubric | None:
        return rubrics.get_rubric(self.db, rubric_id)

    def list_rubrics(self) -> list[Rubric]:
        return rubrics.list_rubrics(self.db)

    # ratings and preferences

    def save_rating(
        self,
        response_id: str,
        rater: str,
        values: dict[str, Any],
        *,
        rubric_id: str | None = None,
        blind: bool = False,
        shown_order: Sequence[str] = (),
    ) -> Rating:
        return ratings.save_rating(
            self.db, response_id, rater, values, rubric_id=rubric_id, blind=blind, shown_order=shown_order
        )

    def current_ratings(
        self, response_ids: Sequence[str] | None = None, rater: str | None = None
    ) -> list[Rating]:
        return ratings.current_ratings(self.db, response_ids, rater)

    def rating_history(self, response_id: str, rater: str) -> list[Rating]:
        return ratings.rating_history(self.db, response_id, rater)

    def ratings_for_trial(self, trial_id: str) -> list[Rating]:
        return ratings.ratings_for_trial(self.db, trial_id)

    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]:
        return ratings.rated_responses(self.db, filters)

    def rated_response_batches(self, filters: RatingFilter | None = None, size: int = 500, *,
                               attempts: bool = True) -> Iterator[list[tuple[ResponseResult, Rating]]]:
        """`rated_responses` a batch at a time, read as consumed (memory flat in n); with
        `attempts` False, without the responses' attempts."""
        return ratings.rated_response_batches(self.db, filters, size, attempts=attempts)

    def matching_rating_keys(self, filters: RatingFilter | None = None) -> tuple[int, list[str]]:
        """How many ratings `rated_responses` would pair, and their extra value keys."""
        return ratings.matching_rating_keys(self.db, filters)

    def matching_ratings(self, filters: RatingFilter | None = None) -> list[Rating]:
        """The ratings of `rated_responses`, without their responses."""
        return ratings.matching_ratings(self.db, filters)

    def save_preference(
        self,
        response_a: str,
        response_b: str,
        winner: str,
        rater: str,
        *,
        reason: str = "",
        blind: bool = False,
        shown_order: Sequence[str] = (),
    ) -> Preference:
        return ratings.save_preference(
            self.db,
            response_a,
            response_b,
            winner,
            rater,
            reason=reason,
            blind=blind,
            shown_order=shown_order,
        )

    def current_preferences(
        self, rater: str | None = None, *, trial_id: str | None = None
    ) -> list[Preference]:
        return ratings.current_preferences(self.db, rater, trial_id=trial_id)

    # the scorecard cache (desk.store.scorecard_cache)

    def store_version(self) -> int:
        """A counter every change to what a scorecard reads bumps."""
        return scorecard_cache.store_version(self.db)

    def cached_scorecard(self, key: str, version: int) -> str | None:
        return scorecard_cache.cached_scorecard(self.db, key, version)

    def remember_scorecard(self, key: str, version: int, scores_json: str) -> bool:
        return scorecard_cache.remember_scorecard(self.db, key, version, scores_json)

    # merging

    @contextlib.contextmanager
    def cancellable(self, cancelled: Callable[[], bool]) -> Iterator[None]:
        """While inside: SQLite stops a long statement of this connection soon after
        `cancelled()` turns true (it raises sqlite3.OperationalError "interrupted")."""
        self.db.conn.set_progress_handler(lambda: 1 if cancelled() else 0, 20_000)
        self._cancelled = cancelled
        try:
            yield
        except sqlite3.OperationalError as exc:
            if cancelled():
                raise StoreError("cancelled") from None
            raise StoreError(str(exc)) from None
        finally:
            self._cancelled = None
            self.db.conn.set_progress_handler(None, 0)

    def merge_from(self, path: str | Path, step: Callable[[int, int, str], None] | None = None) -> MergeReport:
        """Add every row of the desk store at `path` that this one lacks (see desk.store.merge).

        The file is checked first (its schema, its limits, its links): any problem refuses
        the merge before a row is added. Rows are then copied in short transactions, so
        other desk processes keep writing; a merge stopped part way (an exception from
        `step`, a cancel) keeps what it copied, and merging again completes it. The other
        store is only read, except that opening it runs any pending schema migrations on
        it (as opening it with desk would). Merging twice adds nothing the second time.
        """
        if str(self.path) != MEMORY and Path(path).is_file() and Path(self.path).is_file():
            if os.path.samefile(path, self.path):
                raise StoreError(f"{path} is this store; nothing to merge")
        source = open_merge_source(path)
        if self._cancelled is not None:  # the checks read the whole file: stop them too
            cancelled = self._cancelled
            source.conn.set_progress_handler(lambda: 1 if cancelled() else 0, 20_000)
        try:
            return merge.merge_databases(self.db, source, str(path), step)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot merge {path} ({exc})") from None
        finally:
            source.close()
