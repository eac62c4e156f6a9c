"""Data loss is never reported as success, end to end with `python -m desk`:

- an emoji whose UTF-16 halves arrive in separate deltas is printed and stored whole on
  all four wire protocols;
- when the store refuses a write (a trigger in the test's store RAISEs, as a full disk or
  a damaged file would), `desk trial`, `desk suite run` and `desk load` exit 1 saying what
  was lost, and `desk runs` / `desk suite runs` say so too.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desk.store.db import open_store
from tests.cli_helpers import cli_env, desk
from tests.vendor_server import Script

THUMBS = "\U0001f44d"
KINDS = {"oa": "openai", "an": "anthropic", "ge": "gemini", "ol": "ollama"}
REFUSE_INSERT = """CREATE TRIGGER refuse_answers BEFORE INSERT ON responses
    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"""
REFUSE_FINISH = """CREATE TRIGGER refuse_finish BEFORE UPDATE OF status ON responses
    WHEN new.status != 'streaming' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"""


@pytest.fixture
def env(srv, tmp_path):
    """A store with one provider per wire protocol on the loopback vendor."""
    db = tmp_path / "loss.db"
    env = cli_env(db)
    for name, kind in KINDS.items():
        base = srv.base_url + "/v1" if kind == "openai" else srv.base_url
        assert desk("provider", "add", name, "--kind", kind, "--base-url", base, env=env).returncode == 0
    return env


def store_path(env: dict[str, str]) -> Path:
    return Path(env["DESK_DB"])


def refuse(env: dict[str, str], trigger: str) -> None:
    conn = sqlite3.connect(store_path(env))
    try:
        conn.execute(trigger)
        conn.commit()
    finally:
        conn.close()


def test_split_surrogate_pairs_are_printed_and_stored_whole_on_all_four_protocols(srv, env):
    for name in KINDS:
        srv.set_default(f"m-{name}", Script(text_pieces=["thumbs ", "\ud83d", "\udc4d", " up"]))
    proc = desk("trial", *[a for name in KINDS for a in ("-m", f"{name}/m-{name}")], "--prompt", "React", "--json",
                env=env)
    assert proc.returncode == 0, proc
    records = proc.json_lines()
    assert [r["text"] for r in records] == [f"thumbs {THUMBS} up"] * 4
    assert all(r["status"] == "ok" and r["store_error"] is None and r["notes"] == [] for r in records)
    with open_store(store_path(env)) as store:
        for r in records:
            stored = store.responses.get(r["response_id"])
            assert (stored.status.value, stored.text) == ("ok", f"thumbs {THUMBS} up")


def test_a_lone_surrogate_is_stored_as_a_replacement_character_and_noted(srv, env):
    srv.set_default("m", Script(text_pieces=["half ", "\ud83d"]))
    proc = desk("trial", "-m", "ge/m", "--prompt", "React", "--json", env=env)
    assert proc.returncode == 0, proc
    (record,) = proc.json_lines()
    assert record["text"] == "half \ufffd"
    assert len(record["notes"]) == 1 and "U+FFFD" in record["notes"][0]
    with open_store(store_path(env)) as store:
        assert store.responses.get(record["response_id"]).notes == record["notes"]


def test_trial_whose_answer_the_store_refused_exits_1(srv, env):
    srv.set_default("m", Script(text_pieces=["shown ", "not saved"]))
    refuse(env, REFUSE_INSERT)
    proc = desk("trial", "-m", "oa/m", "-m", "ol/m", "--prompt", "hi", "--json", env=env)
    assert proc.returncode == 1, proc
    records = proc.json_lines()
    assert [r["text"] for r in records] == ["shown not saved"] * 2
    assert all("database or disk is full" in r["store_error"] for r in records)
    assert proc.stderr.count("could not be stored") == 2

    refuse(env, "DROP TRIGGER refuse_answers")
    refuse(env, REFUSE_FINISH)
    proc = desk("trial", "-m", "an/m", "--prompt", "hi", env=env)  # the table, not --json
    assert proc.returncode == 1, proc
    assert "ok (not stored)" in proc.stdout
    assert "an/m: the answer could not be stored (saving the finished answer failed" in proc.stderr


def test_suite_run_reports_the_cells_it_could_not_store_and_sends_no_more(srv, env, tmp_path):
    suite = tmp_path / "s.jsonl"
    suite.write_text("".join(json.dumps({"id": f"c{i}", "prompt": f"case {i}"}) + "\n" for i in range(4)))
    assert desk("suite", "import", str(suite), "--name", "s", env=env).returncode == 0
    srv.set_default("m", Script(text_pieces=["answer"]))
    refuse(env, REFUSE_FINISH)
    proc = desk("suite", "run", "s", "-m", "oa/m", "--concurrency", "1", env=env)
    assert proc.returncode == 1, proc
    assert "desk: error: case c0 sample 0, oa/m: the answer could not be stored" in proc.stderr
    assert "1 answer(s) could not be stored and are lost; 3 cell(s) were not sent" in proc.stderr
    assert len([r for r in srv.requests if r.method == "POST"]) == 1  # no more paid for and lost
    refuse(env, "DROP TRIGGER refuse_finish")  # the store is fixed
    (run,) = desk("suite", "runs", "--json", env=env).json_lines()
    assert (run["status"], run["done"], run["not_stored"]) == ("interrupted", 0, 1)
    assert "1 not stored" in desk("suite", "runs", env=env).stdout
    (listed,) = desk("runs", "--json", env=env).json_lines()
    assert listed["not_stored"] == 1

    proc = desk("suite", "run", "--resume", run["run_id"], env=env)  # every cell is sent again
    assert proc.returncode == 0, proc
    (run,) = desk("suite", "runs", "--json", env=env).json_lines()
    assert (run["status"], run["done"], run["not_stored"]) == ("done", 4, 0)


def test_load_whose_writer_dies_fails_the_run(srv, env):
    srv.set_default("m", Script(text_pieces=["ok"]))
    refuse(env, """CREATE TRIGGER refuse_requests BEFORE INSERT ON run_requests
        BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END""")
    proc = desk("load", "-m", "oa/m", "--prompt", "hi", "--requests", "6", "--concurrency", "3", "--no-warmup",
                env=env)
    assert proc.returncode == 1, proc
    assert "6 of 6 requests could not be stored and are lost" in proc.stderr
    assert "database or disk is full" in proc.stderr
    (run,) = desk("runs", "--json", env=env).json_lines()
    assert (run["status"], run["ok"], run["not_stored"]) == ("failed", 6, 6)
    listing = desk("runs", env=env).stdout
    assert "failed" in listing and "6 not stored" in listing


def test_suite_import_with_an_unterminated_quote_names_the_line_and_imports_nothing(env, tmp_path):
    bad = tmp_path / "cases.csv"
    bad.write_text('id,prompt,expect\nc1,hello,answer\nc2,"unterminated quote,answer\nc3,third,answer\n')
    proc = desk("suite", "import", str(bad), "--name", "mine", env=env)
    assert proc.returncode == 2, proc
    assert "cases.csv: 1 bad row, nothing imported: line 3: a quoted cell starts on this line" in proc.stderr
    assert "mine" not in desk("suite", "list", env=env).stdout
