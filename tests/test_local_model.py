"""The built-in small model (`desk[local]`): a clear message without the extra; with it, a
real Gemma 3 270M answers through `desk local serve` and `desk trial`, with null tokens."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time

import pytest

from desk import cli
from desk.engine import local_model
from tests.cli_helpers import ROOT, cli_env, desk


def test_without_the_extra_serve_says_how_to_install_and_writes_nothing(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("llama_cpp", local_model.MODEL_PACKAGE) else real(name, *a))
    monkeypatch.setenv("DESK_MODEL_CACHE", str(tmp_path / "cache"))
    assert cli.main(["local", "serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'desk[local]'" in err and "llama-cpp-python" in err
    assert not (tmp_path / "cache").exists()
    assert cli.main(["local", "status", "--json"]) == 0
    assert '"installed": false' in capsys.readouterr().out
    assert cli.main(["provider", "list"]) == 0
    assert local_model.LOCAL_PROVIDER not in capsys.readouterr().out


@pytest.mark.skipif(local_model.missing() is not None, reason="the desk[local] extra is not installed")
def test_serve_then_trial_answers_with_a_real_model_and_null_tokens(tmp_path, db):
    cache = tmp_path / "cache"
    port = local_model.free_port(0)
    env = cli_env(db, DESK_MODEL_CACHE=str(cache))
    serve = subprocess.Popen([sys.executable, "-m", "desk", "local", "serve", "--port", str(port)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = serve.stdout.readline()  # blocks until it serves (or dies: empty line)
        assert f"127.0.0.1:{port}/v1" in line, serve.stderr.read() if serve.poll() is not None else line
        assert (cache / "gemma-3-270m-q4_k_m.gguf").stat().st_size > 100_000_000

        status = desk("local", "status", "--json", db=db, env=env)
        assert '"answering": true' in status.stdout, status

        start = time.monotonic()
        r = desk("trial", "-m", f"{local_model.LOCAL_PROVIDER}/{local_model.MODEL_ALIAS}",
                 "--prompt", "What is the capital of France? Answer in one word.", "--max-tokens", "20",
                 "--json", db=db, env=env, timeout=120)
        assert r.returncode == 0, r
        [record] = r.json_lines()
        assert record["status"] == "ok" and record["text"].strip(), record
        assert 0 < record["ttft_ms"] <= record["total_ms"] < (time.monotonic() - start) * 1000
        # llama.cpp's server ignores include_usage when streaming: unknown, never 0.
        assert record["input_tokens"] is None and record["output_tokens"] is None
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(20)
        except subprocess.TimeoutExpired:
            serve.kill()
    assert serve.returncode == 0
    assert local_model.port_is_free(port)  # the server process went with it
