"""Hostile files and paths on the command line: a FIFO, /dev/zero, a huge prompt and a suite
that attaches /etc/passwd are refused at once, with one line that says why, and store nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desk.core.trial import MAX_PROMPT_CHARS
from tests.cli_helpers import ROOT, Run, cli_env, one_line_error

MEMORY_CAP = 2 * 1024 ** 3  # a regression that reads /dev/zero dies here, not the machine


def desk(*args: str, env: dict[str, str], stdin: bytes = b"", timeout: float = 30) -> Run:
    """`python -m desk ARGS` with its memory capped; a hang fails the test after `timeout`."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    proc = subprocess.run([sys.executable, "-m", "desk", *args], input=stdin, capture_output=True, env=env,
                          cwd=ROOT, timeout=timeout, preexec_fn=cap if os.name == "posix" else None)
    return Run(list(args), proc.returncode, proc.stdout, proc.stderr)


def rows(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def env(srv, tmp_path):
    env = cli_env(tmp_path / "files.db", DESK_STARTER_SUITE=str(tmp_path / "no-starter.jsonl"))
    added = desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", env=env)
    assert added.returncode == 0, added
    return env


def trial(*args: str, env: dict[str, str], stdin: bytes = b"") -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = desk("trial", "-m", "p/gpt-4o-mini", *args, env=env, stdin=stdin, timeout=20)
    took = time.perf_counter() - t0
    assert proc.returncode == 2, proc
    return one_line_error(proc.stderr), took


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_attachment_or_prompt_file_fails_at_once(env, srv, tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    line, took = trial("-p", "hi", "--attach", str(fifo), env=env)
    assert "named pipe (FIFO), not an ordinary file" in line and took < 15
    line, _ = trial("--prompt-file", str(fifo), env=env)
    assert "cannot read the prompt file" in line and "named pipe" in line
    line, _ = trial("-p", "hi", "--system-file", str(fifo), env=env)
    assert "system prompt file" in line and "named pipe" in line
    prices = desk("prices", "import", str(fifo), env=env, timeout=20)
    assert prices.returncode == 2 and "named pipe" in one_line_error(prices.stderr)
    assert srv.requests == [] and rows(Path(env["DESK_DB"]), "trials") == 0


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_and_a_sparse_terabyte_are_refused_without_reading(env, srv, tmp_path):
    line, _ = trial("-p", "hi", "--attach", "/dev/zero", env=env)
    assert "/dev/zero: is a device, not an ordinary file" in line
    line, _ = trial("--prompt-file", "/dev/zero", env=env)
    assert "is a device" in line
    huge = tmp_path / "huge.log"
    with open(huge, "wb") as f:
        f.truncate(1 << 40)  # 1 TiB of holes
    line, took = trial("-p", "hi", "--attach", str(huge), env=env)
    assert "huge.log: attachment is 1048576.0 MiB, larger than the 20.0 MiB limit" in line and took < 15
    line, _ = trial("--prompt-file", str(huge), env=env)
    assert "prompt file is 1048576.0 MiB, larger than the 19.1 MiB limit" in line
    assert srv.requests == []


def test_a_prompt_over_the_limit_is_refused_by_desk_trial_and_load(env, srv, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("word " * (MAX_PROMPT_CHARS // 5) + "!")  # one character over the limit
    line, _ = trial("--prompt-file", str(big), env=env)
    assert f"the prompt is {MAX_PROMPT_CHARS + 1:,} characters, more than the {MAX_PROMPT_CHARS:,} allowed" in line

    # 50 MB on stdin: refused after reading at most the prompt file limit, not stored.
    line, _ = trial("--prompt-file", "-", env=env, stdin=b"y" * 50_000_000)
    assert "the prompt on stdin is larger than 19.1 MiB" in line
    # a system prompt counts the same
    line, _ = trial("-p", "hi", "--system-file", str(big), env=env)
    assert "the system prompt is 5,000,001 characters" in line
    assert srv.requests == [] and rows(Path(env["DESK_DB"]), "trials") == 0

    dataset = tmp_path / "prompts.jsonl"
    dataset.write_text(json.dumps({"prompt": "fine"}) + "\n" + json.dumps({"prompt": big.read_text()}) + "\n")
    proc = desk("load", "-m", "p/gpt-4o-mini", "--dataset", str(dataset), "--requests", "2", env=env)
    assert proc.returncode == 2, proc
    assert "prompts.jsonl line 2: the prompt is 5,000,001 characters" in one_line_error(proc.stderr)
    assert srv.requests == []


def test_suite_attachments_outside_its_folder_fail_the_import(env, tmp_path):
    folder = tmp_path / "suites"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "ok.txt").write_text("inside\n")
    path = folder / "cases.csv"
    path.write_text("id,prompt,attachments\n"
                    "a,fine,files/ok.txt\n"
                    "b,leak,/etc/hostname\n"
                    "c,leak,../../../../../etc/passwd\n")
    proc = desk("suite", "import", str(path), "--name", "mine", env=env)
    assert proc.returncode == 2, proc
    line = one_line_error(proc.stderr)
    assert "cases.csv: 2 bad rows, nothing imported" in line
    assert "line 3: attachment '/etc/hostname'" in line
    assert "line 4: attachment '../../../../../etc/passwd' is /etc/passwd, outside the suite's folder" in line
    db = Path(env["DESK_DB"])
    assert rows(db, "suites") == 0 and rows(db, "suite_cases") == 0

    # A private folder of the user's, named explicitly, is accepted; /etc still is not.
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.csv").write_text("x,y\n1,2\n")
    path.write_text(f"id,prompt,attachments\na,fine,files/ok.txt\nb,shared,{shared / 'data.csv'}\n")
    refused = desk("suite", "import", str(path), "--name", "mine", env=env)
    assert refused.returncode == 2 and "line 3: attachment" in refused.stderr
    ok = desk("suite", "import", str(path), "--name", "mine", "--allow-outside", str(shared), env=env)
    assert ok.returncode == 0, ok
    assert "imported 2 case(s) as suite mine version 1" in ok.stdout
    assert rows(db, "suite_cases") == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_suite_attaching_a_fifo_fails_at_once(env, tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"prompt": "p", "attachments": ["pipe.csv"]}) + "\n")
    proc = desk("suite", "import", str(path), "--name", "mine", env=env, timeout=20)
    assert proc.returncode == 2
    assert "line 1: attachment 'pipe.csv'" in one_line_error(proc.stderr) and "named pipe" in proc.stderr
