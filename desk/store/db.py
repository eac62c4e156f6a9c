"""Opening the database, and the `Store` facade the rest of desk talks to.

This package is the only one that touches SQLite. Every write commits at once: the app
can be killed mid-stream, and WAL with synchronous=NORMAL keeps frequent commits cheap.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import platformdirs

from desk.core.lazy import built_once
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.migrations import MIGRATIONS_TABLE, migrate
from desk.store.ratings import RatingTable
from desk.store.responses import ResponseTable
from desk.store.runs import RunTable
from desk.store.scorecard_cache import ScorecardTable
from desk.store.turns import TurnTable

if TYPE_CHECKING:
    from desk.store.export_reads import ExportReads
    from desk.store.judges import CalibrationDrawTable, JudgePromptTable, JudgeVerdictTable
    from desk.store.merge import MergeReport
    from desk.store.prices import PriceTable
    from desk.store.providers import ProviderTable
    from desk.store.rubrics import RubricTable
    from desk.store.settings import SettingTable
    from desk.store.suites import SuiteTable
    from desk.store.trials import TrialTable

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
        store.responses.recover_interrupted()
        store.runs.recover()
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
    from desk.store import merge  # only a merge loads its machinery: not every command's open

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
        # One table object per area; each implements the ports (desk.engine.ports) its services need.
        # Those opening the store or a scorecard reads are made here, the others (and their
        # modules imported) on first use, once even when two threads ask (issue 21: start-up).
        self._build_lock = threading.RLock()
        self.responses = ResponseTable(db)
        self.ratings = RatingTable(db)
        self.scorecards = ScorecardTable(db)
        self.runs = RunTable(db)
        self.turns = TurnTable(db)

    @built_once
    def providers(self) -> ProviderTable:
        from desk.store.providers import ProviderTable
        return ProviderTable(self.db)

    @built_once
    def prices(self) -> PriceTable:
        from desk.store.prices import PriceTable
        return PriceTable(self.db)

    @built_once
    def settings(self) -> SettingTable:
        from desk.store.settings import SettingTable
        return SettingTable(self.db)

    @built_once
    def trials(self) -> TrialTable:
        from desk.store.trials import TrialTable
        return TrialTable(self.db)

    @built_once
    def rubrics(self) -> RubricTable:
        from desk.store.rubrics import RubricTable
        return RubricTable(self.db)

    @built_once
    def suites(self) -> SuiteTable:
        from desk.store.suites import SuiteTable
        return SuiteTable(self.db)

    @built_once
    def judge_prompts(self) -> JudgePromptTable:
        from desk.store.judges import JudgePromptTable
        return JudgePromptTable(self.db)

    @built_once
    def verdicts(self) -> JudgeVerdictTable:
        from desk.store.judges import JudgeVerdictTable
        return JudgeVerdictTable(self.db, self.ratings)

    @built_once
    def calibration(self) -> CalibrationDrawTable:
        from desk.store.judges import CalibrationDrawTable
        return CalibrationDrawTable(self.db)

    @built_once
    def exports(self) -> ExportReads:
        """What an export of rated answers reads."""
        from desk.store.export_reads import ExportReads
        return ExportReads(self.db)

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
        from desk.store import merge

        try:
            return merge.merge_databases(self.db, source, str(path), step)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot merge {path} ({exc})") from None
        finally:
            source.close()
