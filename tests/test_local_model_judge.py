"""The built-in model (`desk[local]`, Gemma 3 270M) as a judge through the OpenAI protocol
with a JSON schema (issue 14): on a handful of answers each verdict parses and validates or
is stored as a judge error with its raw text. A 270M model may fail often: the test says
which happened, and asks only that nothing is in between, and that the server took every
request (a refused one says nothing of the model)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

import pytest

from desk.engine import local_model
from tests.cli_helpers import ROOT, cli_env, desk

pytestmark = pytest.mark.skipif(local_model.missing() is not None, reason="the desk[local] extra is not installed")


def test_the_built_in_model_judges_a_handful_of_answers(tmp_path, db):
    pytest.importorskip("jsonschema")
    port = local_model.free_port(0)
    env = cli_env(db, DESK_MODEL_CACHE=str(tmp_path / "cache"))
    serve = subprocess.Popen([sys.executable, "-m", "desk", "local", "serve", "--port", str(port)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    model = f"{local_model.LOCAL_PROVIDER}/{local_model.MODEL_ALIAS}"
    try:
        line = serve.stdout.readline()
        assert f"127.0.0.1:{port}/v1" in line, serve.stderr.read() if serve.poll() is not None else line
        trials = []
        for prompt in ("What is the capital of France? One word.", "Name a prime number.", "Say hi."):
            r = desk("trial", "-m", model, "--prompt", prompt, "--max-tokens", "20", "--json", db=db, env=env,
                     timeout=120)
            assert r.returncode == 0, r
            trials.append(r.json_lines()[0]["trial_id"])
        for trial_id in trials:
            judged = desk("judge", "--trial", trial_id, "--judge", model, db=db, env=env, timeout=300)
            assert "1 verdicts" in judged.stdout or "1 judge errors" in judged.stdout, judged
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=30)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT rating_id, error, raw FROM judge_verdicts").fetchall()
    ratings = {r[0] for r in conn.execute("SELECT id FROM ratings WHERE rater = ?", (f"judge:{model}",))}
    conn.close()
    assert len(rows) == 3
    for rating_id, error, raw in rows:
        if rating_id is not None:  # a verdict: valid against the schema, stored as the judge's rating
            assert error is None and rating_id in ratings
        else:  # a judge error: why, and the reply as it came
            # The server must take the request: a refused one (llama-cpp-python answered OpenAI's
            # json_schema response format with HTTP 500) is desk's failure, not the model's verdict.
            assert error and raw is not None and not error.startswith("the judge's request failed"), error
    print(f"built-in judge: {sum(r[0] is not None for r in rows)} verdicts, "
          f"{sum(r[0] is None for r in rows)} judge errors of {len(rows)}")
