from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from desk.store import Store, StoreError, default_db_path, open_store


def test_pragmas(store: Store) -> None:
    db = store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "desk.db"
    with open_store(path):
        pass
    assert path.exists()


def test_default_path_honours_desk_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_DB", str(tmp_path / "elsewhere.db"))
    assert default_db_path() == tmp_path / "elsewhere.db"
    with open_store() as store:
        assert Path(store.path) == tmp_path / "elsewhere.db"
    monkeypatch.delenv("DESK_DB")
    assert default_db_path().name == "desk.db"


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"hello, this is not sqlite at all\n" * 200)
    with pytest.raises(StoreError, match=re.escape(f"{path} is not a desk database")) as info:
        open_store(path)
    assert "\n" not in str(info.value)


def test_someone_elses_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a desk database"):
        open_store(path)


def test_a_folder_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        open_store(tmp_path)


def test_memory_database_works() -> None:
    with open_store(":memory:") as store:
        assert store.providers.all() == []


def test_writes_are_committed_at_once(store: Store, db_path: Path) -> None:
    from desk.core.trial import TrialInput

    trial_id = store.trials.create(TrialInput("visible to others?"))
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("SELECT prompt FROM trials WHERE id = ?", (trial_id,)).fetchone() == (
            "visible to others?",
        )
    finally:
        other.close()
    assert not store.db.conn.in_transaction


def test_two_stores_share_one_file(db_path: Path) -> None:
    from desk.core.trial import TrialInput

    with open_store(db_path) as first, open_store(db_path) as second:
        trial_id = first.trials.create(TrialInput("from the first window"))
        assert [t.id for t in second.trials.list()] == [trial_id]
        second.trials.create(TrialInput("from the second"))
        assert len(first.trials.list()) == 2


def test_usable_from_another_thread(store: Store) -> None:
    import threading

    from desk.core.trial import TrialInput

    found: list[int] = []
    store.trials.create(TrialInput("made here"))
    worker = threading.Thread(target=lambda: found.append(len(store.trials.list())))
    worker.start()
    worker.join()
    assert found == [1]
