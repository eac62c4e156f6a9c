"""A CLI command builds one Engine (issue 13): its checks, reads and writes share it, so a
command sees one state of the store and pays for one set of services and one HTTP pool.

Run in this process on a copy of the golden store, counting Application.engine calls."""

from __future__ import annotations

import contextlib
import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from desk.cli import main
from desk.engine.application import Application

GOOD = ("--outcome", "success", "--uncertainty", "confident_correct", "--constraints", "na", "--quality", "4")
GOLDEN = Path(__file__).resolve().parent / "golden" / "store.db"


@pytest.fixture
def store(tmp_path) -> Path:
    db = tmp_path / "store.db"
    shutil.copyfile(GOLDEN, db)
    return db


@pytest.fixture
def engines(monkeypatch) -> list[int]:
    built: list[int] = []
    real = Application.engine

    def counted(self, **kwargs):
        built.append(1)
        return real(self, **kwargs)

    monkeypatch.setattr(Application, "engine", counted)
    return built


def _ids(db: Path) -> dict[str, str]:
    con = sqlite3.connect(db)
    try:
        trial, a, b = con.execute(
            "SELECT r.trial_id, min(r.id), max(r.id) FROM responses r GROUP BY r.trial_id "
            "HAVING count(*) >= 2 ORDER BY min(r.created_at) LIMIT 1").fetchone()
        run = con.execute("SELECT id FROM runs WHERE kind = 'suite' ORDER BY created_at, id").fetchone()[0]
    finally:
        con.close()
    return {"trial": trial, "a": a, "b": b, "run": run}


def _cli(db: Path, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--db", str(db)])
    return code, out.getvalue() + err.getvalue()


COMMANDS = {
    "rate": lambda i: ["rate", i["a"], *GOOD, "--rater", "zed", "--json"],
    "prefer": lambda i: ["prefer", i["a"], i["b"], "--winner", "a", "--rater", "zed", "--json"],
    "scorecard of a trial": lambda i: ["scorecard", "--trial", i["trial"], "--json"],
    "scorecard compare": lambda i: ["scorecard", "--run", i["run"], "--compare", "oa/three", "oa/wordy",
                                    "--trial", i["trial"], "--json"],
    "export of a trial": lambda i: ["export", "--format", "jsonl", "--trial", i["trial"], "--out", "-"],
    "suite disagreements of a run": lambda i: ["suite", "disagreements", i["run"]],
    # Refused at the unknown provider, after the plan was read with the run's engine.
    "load from a trial": lambda i: ["load", "-m", "nobody/x", "--trial", i["trial"], "-n", "1"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_builds_one_engine(store, engines, name):
    code, said = _cli(store, *COMMANDS[name](_ids(store)))
    assert code in (0, 1, 2), said
    assert len(engines) == 1, f"{name}: {len(engines)} engines built\n{said}"


def test_a_rating_saved_through_the_one_engine_is_the_one_printed(store, engines):
    ids = _ids(store)
    code, said = _cli(store, "rate", ids["b"], *GOOD, "--rater", "zed")
    assert code == 0 and len(engines) == 1, said
    code, again = _cli(store, "rate", ids["b"], *GOOD[:-1], "5", "--rater", "zed")
    assert code == 0 and again.strip().endswith(f"(replaces {said.split()[0]})"), again
