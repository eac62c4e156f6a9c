"""`desk suite run` with clarifications, end to end (issue 16): a real process killed with
SIGKILL between a case's two turns, then `--resume`, which sends only the missing turn."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import ROOT, cli_env, desk, kill_when
from tests.vendor_server import Script

CASES = [
    {"id": "plain", "prompt": "What is 6 x 7?", "expect": "answer", "clarification": "Just the number."},
    {"id": "asks", "prompt": "Which region sold most?", "expect": "clarify", "clarification": "By revenue."},
]


def _count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def test_killed_between_the_turns_resume_sends_only_the_missing_turn(srv, tmp_path):
    db = tmp_path / "turns.db"
    env = cli_env(db)
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", env=env).returncode == 0
    suite = tmp_path / "clar.jsonl"
    suite.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    assert desk("suite", "import", str(suite), "--name", "clar", env=env).returncode == 0
    srv.enqueue("m1", Script(text_pieces=["42."]), Script(text_pieces=["Do you mean by revenue or by units?"]),
                Script(stall_after_headers=True))
    proc = subprocess.Popen(
        [sys.executable, "-m", "desk", "suite", "run", "clar", "-m", "p/m1", "--concurrency", "1", "--json"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    # The second turn is stored (and linked) before a byte of it is sent: kill once the vendor
    # holds its request (stalled after the headers), not merely once it is stored.
    kill_when(proc, lambda: _count(db, "SELECT count(*) FROM turns") == 1
              and len([r for r in srv.requests if r.method == "POST"]) == 3,
              lambda: f"{_count(db, 'SELECT count(*) FROM responses')} answers stored", 30)
    sent_before = len([r for r in srv.requests if r.method == "POST"])
    assert sent_before == 3

    srv.enqueue("m1", Script(text_pieces=["North."]))
    (run,) = desk("suite", "runs", "--json", env=env).json_lines()
    resumed = desk("suite", "run", "--resume", run["run_id"], "--json", env=env, timeout=60)
    assert resumed.returncode == 0, resumed
    (line,) = resumed.json_lines()
    assert (line["case_id"], line["text"], line["status"], line["turn"]) == ("asks", "North.", "ok", 2)
    chats = [r for r in srv.requests if r.method == "POST"]
    assert len(chats) == 4  # only the missing turn
    assert [(m["role"], m["text"]) for m in chats[-1].messages] == [
        ("user", "Which region sold most?"), ("assistant", "Do you mean by revenue or by units?"),
        ("user", "By revenue.")]
    # Stored: two ok turns for the case that asked (the killed attempt kept as interrupted), one for the other.
    assert _count(db, "SELECT count(*) FROM turns t JOIN responses r ON r.id = t.response_id "
                      "WHERE r.status = 'ok' AND t.turn = 2") == 1
    assert _count(db, "SELECT count(*) FROM responses WHERE status = 'ok'") == 3
    assert _count(db, "SELECT count(*) FROM responses WHERE status = 'interrupted'") == 1
