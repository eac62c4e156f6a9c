"""`desk judge ...` end to end (issue 14): real subprocesses on a loopback vendor, a judge
run killed with SIGKILL mid-way and resumed without judging an answer twice, the judge
prompt shown and set, and the agreement report."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, cli_env, desk, kill_when
from tests.test_cli_suite import count, suite_file
from tests.vendor_server import Script

jsonschema = pytest.importorskip("jsonschema")
VERDICT = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
           "rationale": "Fine."}
CASE = re.compile(r"case-(\d+)")


def _env(db: Path) -> dict[str, str]:
    env = cli_env(db)
    # desk needs jsonschema to judge: the subprocess finds it where this test did.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(Path(jsonschema.__file__).parents[1])])
    return env


@pytest.fixture(scope="module")
def _answered(server, tmp_path_factory):
    """Made once per module (three `desk` processes): a store with provider p (OpenAI protocol)
    on the module's vendor and a finished suite run of 10 cases x 2 models; its run id."""
    folder = tmp_path_factory.mktemp("judge-template")
    db, env = folder / "judge.db", _env(folder / "judge.db")
    server.reset()
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", server.base_url + "/v1",
                env=env).returncode == 0
    server.set_default("m1", Script(text_pieces=["answer ", "one"]))
    server.set_default("m2", Script(text_pieces=["answer ", "two"]))
    suite_file(folder / "ten.jsonl", 10, expect="answer")
    assert desk("suite", "import", str(folder / "ten.jsonl"), "--name", "ten", env=env).returncode == 0
    run = desk("suite", "run", "ten", "-m", "p/m1", "-m", "p/m2", "--json", env=env, timeout=60)
    assert run.returncode == 0, run
    server.reset()
    return db, run.json_lines()[0]["run_id"]


@pytest.fixture
def setup(_answered, srv, tmp_path):
    """A copy of the answered store for this test: (its path, the env naming it, the run id)."""
    template, run_id = _answered
    db = tmp_path / "judge.db"
    source, copy = sqlite3.connect(template), sqlite3.connect(db)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return db, _env(db), run_id


def _judged(db: Path) -> int:
    try:
        return count(db, "SELECT count(*) FROM judge_verdicts")
    except Exception:
        return 0


def _judge_posts(srv) -> int:
    return sum(r.method == "POST" and r.model == "judge" for r in srv.requests)


def test_a_judge_run_killed_mid_way_resumes_and_judges_each_answer_once(setup, srv):
    db, env, run_id = setup
    # Four verdicts, then every judge request stalls: the kill finds exactly four stored and two
    # held mid-stream, however slowly this machine polls.
    srv.set_default("judge", Script(stall_after_headers=True))
    srv.enqueue("judge", *[Script(text_pieces=[json.dumps(VERDICT)])] * 4)
    proc = subprocess.Popen(
        [sys.executable, "-m", "desk", "judge", "--run", run_id, "--judge", "p/judge", "--concurrency", "2"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    kill_when(proc, lambda: _judged(db) >= 4 and _judge_posts(srv) >= 6,
              lambda: f"{_judged(db)} judged, {_judge_posts(srv)} sent to the judge", 30)
    before = {r[0] for r in _rows(db, "SELECT response_id FROM judge_verdicts")}
    assert len(before) == 4
    srv.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))

    resumed = desk("judge", "--run", run_id, "--judge", "p/judge", env=env, timeout=60)
    assert resumed.returncode == 0, resumed
    assert f"{20 - len(before)} verdicts, 0 judge errors, {len(before)} judged before" in resumed.stdout
    assert count(db, "SELECT count(DISTINCT response_id) FROM judge_verdicts") == 20
    assert count(db, "SELECT count(*) FROM ratings WHERE rater = 'judge:p/judge'") == 20

    # Each answer judged before the kill was never sent to the judge again.
    answer_of = {rid: (int(CASE.search(prompt).group(1)), text) for rid, prompt, text in _rows(
        db, "SELECT r.id, t.prompt, r.text FROM responses r JOIN trials t ON t.id = r.trial_id "
            "WHERE r.model != 'p/judge'")}
    sent: Counter = Counter()
    for rec in srv.requests:
        if rec.model == "judge":
            body = rec.body.decode()
            sent[(int(CASE.search(body).group(1)), "answer one" if "answer one" in body else "answer two")] += 1
    for rid in before:
        assert sent[answer_of[rid]] == 1, answer_of[rid]
    again = desk("judge", "--run", run_id, "--judge", "p/judge", env=env)
    assert "0 verdicts, 0 judge errors, 20 judged before" in again.stdout
    runs = desk("runs", "--kind", "judge", "--json", env=env).json_lines()
    assert [(r["status"], r["models"], r["ok"], r["failed"]) for r in runs] == [
        ("done", ["p/judge"], 0, 0), ("done", ["p/judge"], 20 - len(before), 0), ("interrupted", ["p/judge"], None, None)]


def test_prompt_show_set_and_agreement(setup, tmp_path):
    _, env, run_id = setup
    shown = desk("judge", "prompt", "show", env=env)
    assert shown.returncode == 0 and shown.stdout.startswith("judge prompt default version 1\n")
    assert "${answer}" in shown.stdout
    (tmp_path / "t.txt").write_text("Rate it.\n$prompt\n$answer\n$criteria\n", encoding="utf-8")
    assert desk("judge", "prompt", "set", str(tmp_path / "t.txt"), env=env).stdout == "judge prompt default version 2\n"
    bad = desk("judge", "prompt", "set", "-", stdin="no answer here $model", env=env)
    assert bad.returncode != 0 and "unknown placeholders: $model" in bad.stderr
    assert desk("judge", "prompt", "show", env=env).stdout.startswith("judge prompt default version 2\nRate it.")
    report = desk("judge", "agreement", "--run", run_id, "--json", env=env)
    assert report.returncode == 0, report
    assert json.loads(report.stdout) == {"threshold": 0.6, "min_shared": 30, "criteria": [], "images_withheld": {}}
    assert desk("judge", env=env).returncode != 0


def _rows(db: Path, sql: str) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=2.0)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()




@pytest.fixture
def judged(setup, srv):
    db, env, run_id = setup
    srv.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))  # the judge calls everything a success
    assert desk("judge", "--run", run_id, "--judge", "p/judge", env=env).returncode == 0
    return db, env, run_id


def test_rates_without_a_calibration_sample_say_so(judged):
    _, env, run_id = judged
    lines = desk("judge", "rates", "--run", run_id, "--judge", "p/judge", "--json", env=env).json_lines()
    assert [(x["model"], x["figure"]) for x in lines[:4]] == [("p/m1", f) for f in
                                                               ("success", "clarifying", "fabrication", "violation")]
    success = lines[0]
    assert (success["judge_n"], success["judge_rate"], success["judge_calibrated"]) == (10, 1.0, False)
    assert success["combined"] is None and "no answer of the calibration sample" in success["combined_note"]


def test_a_seeded_calibration_sample_feeds_the_combined_rate(judged):
    from desk.core.ppi import calibration_order, ppi_mean

    db, env, run_id = judged
    answers = dict(_rows(db, "SELECT id, text FROM responses WHERE model != 'p/judge' AND status = 'ok'"))
    drawn = [desk("judge", "sample", "--run", run_id, "--seed", "5", env=env).stdout.strip() for _ in range(6)]
    assert drawn == calibration_order(list(answers), 5)[:6]  # uniform, seeded, without replacement
    other = desk("judge", "sample", "--run", run_id, "--seed", "6", env=env)
    assert other.returncode != 0 and "seed 5" in other.stderr
    assert [r[0] for r in _rows(db, "SELECT response_id FROM calibration_draws ORDER BY position")] == drawn
    human = {}
    for rid in drawn:  # people fail every "answer two"
        outcome = "success" if answers[rid] == "answer one" else "failure"
        human[rid] = float(outcome == "success")
        assert desk("rate", rid, "--outcome", outcome, "--uncertainty", "confident_correct", "--constraints", "na",
                    "--quality", "3", "--rater", "alice", env=env).returncode == 0
    lines = desk("judge", "rates", "--run", run_id, "--judge", "p/judge", "--json", env=env).json_lines()
    for model, text in (("p/m1", "answer one"), ("p/m2", "answer two")):
        row = next(x for x in lines if x["model"] == model and x["figure"] == "success")
        mine = [rid for rid in drawn if answers[rid] == text]
        expected = ppi_mean([human[r] for r in mine], [1.0] * len(mine), [1.0] * 10)
        if expected is None:
            assert row["combined"] is None
            continue
        assert row["combined"]["estimate"] == pytest.approx(expected.estimate)
        assert (row["combined"]["low"], row["combined"]["high"]) == (pytest.approx(expected.low),
                                                                   pytest.approx(expected.high))
        assert row["people_n"] == len(mine)
    plan = desk("judge", "plan", "--run", run_id, "--judge", "p/judge", "--model", "p/m2", "--figure", "success",
                "--half-width", "0.05", env=env)
    assert plan.returncode == 0, plan
    assert plan.stdout.startswith("p/m2 · success within ±5 points: without the judge ")


def test_a_judges_scorecard_says_whether_it_is_calibrated(judged):
    _, env, run_id = judged
    card = desk("scorecard", "--run", run_id, "--rater", "judge:p/judge", env=env)
    assert card.returncode == 0, card
    assert "judge:p/judge is calibrated for: no criterion; NOT for: outcome (n=0, kappa lower bound –)" in card.stdout
    people = desk("scorecard", "--run", run_id, env=env)
    assert "calibrated" not in people.stdout


def test_cost_per_success_validated_by_the_judge(judged):
    _, env, run_id = judged
    lines = desk("judge", "cost", "--run", run_id, "--judge", "p/judge", "--json", env=env).json_lines()
    assert [(x["model"], x["answers"], x["judged"], x["successes"]) for x in lines] == [
        ("p/m1", 10, 10, 0), ("p/m2", 10, 10, 0)]  # nobody has rated: no success to divide by
    text = desk("judge", "cost", "--run", run_id, "--judge", "p/judge", env=env).stdout
    assert "p/m1: cost per success – alone, – validated by p/judge (0 successes rated by people of 10 answers" in text
