"""A store that refuses writes is one clear line, never a traceback, end to end with `python -m desk`:

- the update that marks unfinished answers as interrupted on opening is refused (a trigger
  RAISEs): every command says so in one line and exits 1;
- the store file is read-only: reading commands still work, and the unfinished answer is
  left for a writable open;
- the trial's own row is refused: `desk trial` exits 1 in one line and sends nothing.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.store.db import open_store
from tests.cli_helpers import ROOT, cli_env, desk

REFUSE_RECOVERY = """CREATE TRIGGER refuse_recovery BEFORE UPDATE OF status ON responses
    BEGIN SELECT RAISE(ABORT, 'responses are frozen'); END"""
REFUSE_TRIALS = """CREATE TRIGGER refuse_trials BEFORE INSERT ON trials
    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"""


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _store_with_an_orphan(path: Path) -> str:
    """A store holding one answer whose writer died mid-stream; returns its id."""
    with open_store(path) as store:
        trial_id = store.trials.create(TrialInput("Tell me about otters\nand their dens"))
        result = ResponseResult(id=new_id(), trial_id=trial_id, model="oa/m", settings={}, started_at=time.time())
        store.responses.create(result)
        store.db.execute("UPDATE responses SET writer_pid = ? WHERE id = ?", (_dead_pid(), result.id))
    return result.id


def _add_trigger(path: Path, trigger: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(trigger)
        conn.commit()
    finally:
        conn.close()


def _one_error_line(proc) -> None:
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("desk: error: "), proc


def test_a_store_refusing_the_interrupted_mark_is_one_line_on_every_command(tmp_path: Path) -> None:
    db = tmp_path / "frozen.db"
    _store_with_an_orphan(db)
    _add_trigger(db, REFUSE_RECOVERY)
    env = cli_env(db)
    for args in (["history"], ["provider", "list"], ["trial", "-m", "oa/m", "--prompt", "hi"]):
        proc = desk(*args, env=env)
        _one_error_line(proc)
        assert "interrupted" in proc.stderr and "responses are frozen" in proc.stderr, proc


def test_open_store_says_why_when_the_interrupted_mark_is_refused(tmp_path: Path) -> None:
    from desk.store import StoreError

    db = tmp_path / "frozen.db"
    _store_with_an_orphan(db)
    _add_trigger(db, REFUSE_RECOVERY)
    with pytest.raises(StoreError, match="cannot mark unfinished answers as interrupted") as info:
        open_store(db)
    assert "\n" not in str(info.value)


# Root writes to any file whatever its mode: the child drops to `nobody` once desk's modules
# are loaded, so the file is really read-only to it.
_AS_READER = """
import os, sys, urllib.request
import desk.cli, desk.engine.session, desk.engine.keys, desk.store.db
import desk.cli.history, desk.engine.services.trials  # the CLI imports a command's modules when it runs it
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
sys.exit(desk.cli.main(sys.argv[1:]))
"""


def test_a_read_only_store_file_still_answers_reading_commands() -> None:
    with tempfile.TemporaryDirectory() as where:  # pytest's tmp_path is closed to other users
        Path(where).chmod(0o755)
        _read_only_store_answers_history(Path(where) / "shared")


def _read_only_store_answers_history(folder: Path) -> None:
    folder.mkdir()
    db = folder / "readonly.db"
    orphan = _store_with_an_orphan(db)
    db.chmod(0o444)
    folder.chmod(0o777)  # SQLite keeps its -shm beside the file; only the store itself is read-only
    env = cli_env(db)
    env["HOME"] = str(folder)
    proc = subprocess.run([sys.executable, "-c", _AS_READER, "history"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Tell me about otters" in proc.stdout
    with open_store(db) as store:  # writable again (the test's own user): marked now, not before
        assert store.responses.get(orphan).status is Status.INTERRUPTED


def test_a_read_only_store_in_a_read_only_folder_says_how_to_read_it() -> None:
    with tempfile.TemporaryDirectory() as where:
        Path(where).chmod(0o755)
        folder = Path(where) / "locked"
        folder.mkdir()
        db = folder / "readonly.db"
        _store_with_an_orphan(db)
        db.chmod(0o444)
        folder.chmod(0o555)  # no -shm can be made beside it
        try:
            proc = subprocess.run([sys.executable, "-c", _AS_READER, "history"], cwd=ROOT, env=cli_env(db),
                                  capture_output=True, text=True, timeout=60)
        finally:
            folder.chmod(0o755)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("desk: error: cannot read ") and "make the folder writable" in proc.stderr


def test_a_trial_the_store_refuses_is_one_line_and_nothing_is_sent(srv, tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    env = cli_env(db)
    assert desk("provider", "add", "oa", "--kind", "openai", "--base-url", srv.base_url + "/v1",
                env=env).returncode == 0
    _add_trigger(db, REFUSE_TRIALS)
    proc = desk("trial", "-m", "oa/m", "--prompt", "hi", env=env)
    _one_error_line(proc)
    assert "database or disk is full" in proc.stderr, proc
    assert srv.requests == []
