"""`desk suite ...` end to end: real subprocesses, a loopback vendor, and a kill -9 mid-run."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, cli_env, desk, kill_when, one_line_error, signal_when
from tests.vendor_server import Script

CASE = re.compile(rb"case-(\d+)")
TRIAL_FIELDS = {"trial_id", "response_id", "model", "status", "error_kind", "error_message", "http_status",
                "ttft_ms", "total_ms", "connect_ms", "input_tokens", "output_tokens", "cost_usd", "retries",
                "attempts", "started_at", "first_token_at", "ended_at", "settings", "text"}


def suite_file(path: Path, n: int, **extra) -> Path:
    path.write_text("".join(json.dumps({"id": f"c{i:02d}", "prompt": f"case-{i:02d}: go", **extra}) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=2.0)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def setup(srv, tmp_path):
    """A store with provider p (openai wire protocol) on the loopback vendor; a tiny starter suite."""
    db = tmp_path / "suite.db"
    starter = suite_file(tmp_path / "starter.jsonl", 2, expect="clarify")
    env = cli_env(db, DESK_STARTER_SUITE=str(starter))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", env=env).returncode == 0
    return db, env


def test_import_with_a_bad_row_fails_cleanly_and_imports_nothing(setup, tmp_path):
    db, env = setup
    bad = tmp_path / "cases.csv"
    bad.write_text("id,prompt,expect,tags\nq1,Which quarter?,clarify,churn;sales\nq2,,answer,\nq3,Sure?,maybe,\n")
    proc = desk("suite", "import", str(bad), "--name", "mine", env=env)
    assert proc.returncode == 2
    line = one_line_error(proc.stderr)
    assert "cases.csv: 2 bad rows, nothing imported" in line
    assert "line 3: the prompt is empty" in line and "line 4: expect 'maybe'" in line
    assert count(db, "SELECT count(*) FROM suites") == 0 and count(db, "SELECT count(*) FROM suite_cases") == 0
    listed = desk("suite", "list", "--json", env=env).json_lines()
    assert [s["name"] for s in listed] == ["starter"]


def test_import_list_export_run_and_scorecard(setup, srv, tmp_path):
    _, env = setup
    path = suite_file(tmp_path / "mine.jsonl", 3, expect="answer", tags=["t"])
    proc = desk("suite", "import", str(path), "--name", "mine", env=env)
    assert proc.returncode == 0 and "imported 3 case(s) as suite mine version 1" in proc.stdout
    assert desk("suite", "import", str(path), "--name", "mine", env=env).returncode == 0  # version 2
    listed = {s["name"]: s for s in desk("suite", "list", "--json", env=env).json_lines()}
    assert {k: (v["version"], v["cases"]) for k, v in listed.items()} == {"mine": (2, 3), "starter": (1, 2)}
    assert listed["starter"]["builtin"] is True
    assert len(desk("suite", "list", "--all", "--json", env=env).json_lines()) == 3

    out = tmp_path / "out.jsonl"
    assert desk("suite", "export", "mine", "--out", str(out), env=env).returncode == 0
    exported = [json.loads(x) for x in out.read_text().splitlines()]
    assert exported[0] == {"id": "c00", "prompt": "case-00: go", "expect": "answer", "tags": ["t"]}

    proc = desk("suite", "run", "mine", "--model", "p/a", "--model", "p/b", "--concurrency", "2", "--json", env=env)
    assert proc.returncode == 0, proc
    lines = proc.json_lines()
    assert len(lines) == 6
    for line in lines:
        assert TRIAL_FIELDS <= set(line) and line["status"] == "ok"
        assert line["expect"] == "answer" and line["case_id"] in {"c00", "c01", "c02"} and line["sample"] == 0
    run_id = lines[0]["run_id"]
    assert {x["run_id"] for x in lines} == {run_id}
    assert "6 / 6 done" in proc.stderr  # the progress line
    (listed_run,) = desk("suite", "runs", "--json", env=env).json_lines()
    assert listed_run["run_id"] == run_id
    assert {k: listed_run[k] for k in ("suite", "status", "done", "total")} == {
        "suite": "mine", "status": "done", "done": 6, "total": 6}
    table = desk("suite", "runs", env=env)
    assert run_id in table.stdout and "6 / 6 done" in table.stdout

    # Rate two answers, then the run's scorecard carries by_expect and the paired test.
    first = {x["model"]: x["response_id"] for x in lines if x["case_id"] == "c00"}
    for model, outcome in (("p/a", "success"), ("p/b", "failure")):
        rated = desk("rate", first[model], "--outcome", outcome, "--uncertainty", "confident_correct",
                     "--constraints", "na", "--quality", "3", "--rater", "ana", env=env)
        assert rated.returncode == 0, rated
    scores = json.loads(desk("scorecard", "--run", run_id, "--json", env=env).stdout)
    by_model = {s["model"]: s for s in scores}
    assert by_model["p/a"]["by_expect"]["answer"]["n_rated"] == 1
    assert by_model["p/a"]["by_expect"]["answer"]["handled_rate"] == 1.0
    assert by_model["p/a"]["by_expect"]["answer"]["handled_ci"][1] == 1.0
    compared = json.loads(desk("scorecard", "--run", run_id, "--compare", "p/a", "p/b", "--json", env=env).stdout)
    assert {k: compared[k] for k in ("pairs", "wins", "losses", "ties", "p_value")} == {
        "pairs": 1, "wins": 1, "losses": 0, "ties": 0, "p_value": 1.0}
    text = desk("scorecard", "--run", run_id, env=env)
    assert "by expected behaviour" in text.stdout
    # A plain scorecard (no --run) has no by_expect.
    assert "by_expect" not in json.loads(desk("scorecard", "--json", env=env).stdout)[0]


def test_bad_input_is_one_line_and_writes_nothing(setup, tmp_path):
    db, env = setup
    suite_file(tmp_path / "mine.jsonl", 2)
    assert desk("suite", "import", str(tmp_path / "mine.jsonl"), "--name", "mine", env=env).returncode == 0
    before = count(db, "SELECT count(*) FROM runs") + count(db, "SELECT count(*) FROM trials")
    cases = [
        (["suite", "run", "nope", "-m", "p/a"], "no suite named 'nope'"),
        (["suite", "run", "mine", "-m", "q/a"], "unknown provider 'q'"),
        (["suite", "run", "mine", "-m", "not-a-model"], "PROVIDER/MODEL"),
        (["suite", "run", "mine"], "choose at least one model"),
        (["suite", "run", "--resume", "NOPE"], "no suite run 'NOPE'"),
        (["suite", "run", "mine", "--resume", "NOPE"], "not both"),
        (["suite", "run", "mine", "-m", "p/a", "--repeat", "0"], "--repeat"),
        (["suite", "export", "nope", "--out", str(tmp_path / "x.jsonl")], "no suite named 'nope'"),
        (["suite", "import", str(tmp_path / "mine.jsonl"), "--name", "starter"], "built-in"),
        (["suite", "import", str(tmp_path / "missing.csv"), "--name", "x"], "no such file"),
        (["scorecard", "--run", "NOPE", "--json"], "no suite run 'NOPE'"),
        (["scorecard", "--compare", "p/a", "p/b"], "--compare needs --run"),
    ]
    for args, words in cases:
        proc = desk(*args, env=env)
        assert proc.returncode != 0, args
        assert words in one_line_error(proc.stderr), (args, proc.stderr)
    assert count(db, "SELECT count(*) FROM runs") + count(db, "SELECT count(*) FROM trials") == before
    assert not (tmp_path / "x.jsonl").exists()


def test_suite_list_shows_the_bundled_starter(tmp_path):
    if not (ROOT / "resources" / "suites" / "starter.jsonl").is_file():
        pytest.skip("the bundled starter suite is not in this checkout yet")
    proc = desk("suite", "list", "--json", db=tmp_path / "fresh.db")
    assert proc.returncode == 0, proc
    (starter,) = [s for s in proc.json_lines() if s["name"] == "starter"]
    assert starter["version"] == 1 and starter["cases"] >= 150 and starter["builtin"] is True


def _ok_cells(db: Path) -> set[tuple[int, str]]:
    """(case number, model) of every answer stored ok, read through a read-only connection."""
    try:
        conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return set()
    try:
        found = conn.execute(
            "SELECT t.prompt, r.model FROM responses r JOIN trials t ON t.id = r.trial_id WHERE r.status = 'ok'"
        ).fetchall()
    except sqlite3.Error:
        return set()
    finally:
        conn.close()
    return {(int(CASE.search(p.encode()).group(1)), m.split("/", 1)[1]) for p, m in found}


def _posts(srv) -> int:
    return sum(r.method == "POST" for r in srv.requests)


def test_a_run_killed_mid_way_resumes_and_each_answered_case_is_sent_once(setup, srv, tmp_path):
    db, env = setup
    # The first six requests are answered, every later one stalls: the kill comes with exactly six
    # answers stored and two held mid-stream, however slowly this machine polls.
    for model in ("m1", "m2"):
        srv.set_default(model, Script(stall_after_headers=True))
    srv.enqueue("*", *[Script(text_pieces=["an ", "answer"])] * 6)
    suite_file(tmp_path / "twenty.jsonl", 20, expect="answer")
    assert desk("suite", "import", str(tmp_path / "twenty.jsonl"), "--name", "twenty", env=env).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "desk", "suite", "run", "twenty", "-m", "p/m1", "-m", "p/m2",
         "--concurrency", "2", "--json"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    kill_when(proc, lambda: len(_ok_cells(db)) >= 6 and _posts(srv) >= 8,
              lambda: f"{len(_ok_cells(db))} answers stored, {_posts(srv)} requests sent", 30)
    answered = _ok_cells(db)
    assert len(answered) == 6
    for model in ("m1", "m2"):
        srv.set_default(model, Script(text_pieces=["an ", "answer"]))

    (run,) = desk("suite", "runs", "--json", env=env).json_lines()
    assert (run["status"], run["done"], run["total"]) == ("interrupted", len(answered), 40)

    resumed = desk("suite", "run", "--resume", run["run_id"], "--json", env=env, timeout=60)
    assert resumed.returncode == 0, resumed
    lines = resumed.json_lines()
    assert len(lines) == 40 - len(answered) and {x["run_id"] for x in lines} == {run["run_id"]}
    assert all(x["status"] == "ok" and x["expect"] == "answer" for x in lines)
    sent_again = {(int(x["case_id"][1:]), x["model"].split("/", 1)[1]) for x in lines}
    assert not sent_again & answered

    seen: Counter = Counter()
    for rec in srv.requests:
        m = CASE.search(rec.body or b"")
        if m:
            seen[(int(m.group(1)), rec.model)] += 1
    assert set(seen) == {(i, m) for i in range(20) for m in ("m1", "m2")}
    for cell in answered:
        assert seen[cell] == 1, cell  # completed before the kill: never sent (or billed) again
    (done,) = desk("suite", "runs", "--json", env=env).json_lines()
    assert (done["status"], done["done"], done["total"]) == ("done", 40, 40)
    (listed,) = desk("runs", "--json", env=env).json_lines()
    assert (listed["run_id"], listed["ok"], listed["failed"]) == (run["run_id"], 40, 0)
    assert count(db, "SELECT count(*) FROM responses WHERE status = 'streaming'") == 0


def test_an_unreachable_provider_stops_the_run_before_anything_is_sent(setup, tmp_path):
    from tests.cli_helpers import closed_port

    db, env = setup
    port = closed_port()
    assert desk("provider", "add", "gone", "--kind", "openai", "--base-url", f"http://127.0.0.1:{port}/v1",
                env=env).returncode == 0
    started = time.monotonic()
    proc = desk("suite", "run", "starter", "-m", "p/gpt-4o-mini", "-m", "gone/some-model", "--json", env=env)
    assert proc.returncode != 0 and proc.stdout == ""
    line = one_line_error(proc.stderr)
    assert "cannot reach gone" in line and f"127.0.0.1:{port}" in line and "nothing was sent" in line
    assert time.monotonic() - started < 10  # not after every cell's retries
    assert count(db, "SELECT count(*) FROM runs") == 0 and count(db, "SELECT count(*) FROM trials") == 0


def test_export_to_stdout_and_a_reader_that_stops_early(tmp_path):
    env = cli_env(tmp_path / "pipe.db")  # the bundled starter suite: ~80 kB, more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "desk", "suite", "export", "starter", "--out", "-"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = json.loads(proc.stdout.readline())
    assert {"id", "prompt", "expect", "tags"} <= first.keys()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(30) in (0, 141) and "Traceback" not in err, err
    assert not (ROOT / "-").exists()


def test_ctrl_c_stops_the_run_keeps_its_answers_and_says_how_to_resume(setup, srv, tmp_path):
    db, env = setup
    srv.set_default("slow", Script(stall_after_headers=True))  # after the first two answers, stall
    srv.enqueue("slow", *[Script(text_pieces=["an ", "answer"])] * 2)
    suite_file(tmp_path / "ten.jsonl", 10, expect="answer")
    assert desk("suite", "import", str(tmp_path / "ten.jsonl"), "--name", "ten", env=env).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "desk", "suite", "run", "ten", "-m", "p/slow", "--concurrency", "2"],
                            env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Two answered and stored, two stalled mid-stream: the run cannot end before the Ctrl-C.
    signal_when(proc, lambda: len(_ok_cells(db)) >= 2 and _posts(srv) >= 4,
                lambda: f"{len(_ok_cells(db))} answers stored, {_posts(srv)} requests sent", 30, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    [run] = [json.loads(x) for x in desk("suite", "runs", "--json", env=env).stdout.splitlines()]
    assert f"desk suite run --resume {run['run_id']}" in err
    assert run["status"] == "interrupted" and run["done"] == 2


def test_a_run_where_every_answer_failed_says_so(setup, srv):
    """"done" means the run finished; the listings and the exit code say how it went."""
    _, env = setup
    srv.set_default("broken", Script(status=400, error_message="model is broken"))  # not retried
    proc = desk("suite", "run", "starter", "-m", "p/broken", "--json", env=env)
    assert proc.returncode == 1, proc
    assert [x["status"] for x in proc.json_lines()] == ["error", "error"]
    (run,) = desk("suite", "runs", "--json", env=env).json_lines()
    assert (run["status"], run["done"], run["failed"]) == ("done", 0, 2)  # done: answered well
    assert "2 failed" in desk("suite", "runs", env=env).stdout
    (listed,) = desk("runs", "--json", env=env).json_lines()
    assert (listed["ok"], listed["failed"]) == (0, 2)
    assert "0 ok, 2 failed" in desk("runs", env=env).stdout


def test_an_unknown_model_is_said_once_and_its_other_cells_are_not_sent(setup, srv):
    _, env = setup
    srv.set_default("nope", Script(status=404, error_message="The model `nope` does not exist"))
    proc = desk("suite", "run", "starter", "-m", "p/nope", "-m", "p/gpt-4o-mini", "--concurrency", "1", env=env)
    assert proc.returncode == 1, proc
    assert "p/nope failed with not_found: " in proc.stderr and "does not exist" in proc.stderr
    assert "its other cells were not sent" in proc.stderr
    assert "2 / 4 done · 1 failed" in proc.stderr  # the progress line counts the failure it just saw
    assert [r.model for r in srv.requests if r.method == "POST"].count("nope") == 1
