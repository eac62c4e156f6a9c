"""`desk load` end to end: real subprocess, loopback vendor, JSON summary per model."""

from __future__ import annotations

import json

from tests.cli_helpers import desk
from tests.vendor_server import LoadProfile, Script

KEYS = {"run_id", "model", "requests", "ok", "errors", "ttft_ms", "total_ms", "throughput_rps",
        "output_tokens_per_s", "retries", "fallbacks", "cost_usd", "cost_per_success_usd"}


def test_load_json_summary_per_model(srv, db):
    srv.set_default("fast", Script(text_pieces=["ok"], first_token_delay_ms=10))
    srv.set_load("flaky", LoadProfile(error_rate=1.0, error_status=503))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    proc = desk("load", "-m", "p/fast", "-m", "p/flaky", "--fallback", "p/fast", "--prompt", "hi",
                "--requests", "6", "--concurrency", "3", "--max-retries", "0", "--no-warmup", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    by_model = {r["model"]: r for r in lines}
    assert set(by_model) == {"p/fast", "p/flaky"}
    for r in lines:
        assert KEYS <= set(r)
        assert set(r["ttft_ms"]) >= {"p50", "p90", "p95", "p99"}
    assert by_model["p/fast"]["ok"] == 6 and by_model["p/fast"]["fallbacks"] == 0
    assert by_model["p/flaky"]["ok"] == 6 and by_model["p/flaky"]["fallbacks"] == 6  # all answered by p/fast
    assert "requests" in proc.stderr  # the progress line

    # `desk runs` lists it, with the id `desk export --run` takes.
    runs = desk("runs", "--json", db=db)
    (run,) = [json.loads(line) for line in runs.stdout.splitlines()]
    assert run["run_id"] == lines[0]["run_id"] and run["kind"] == "load" and run["status"] == "done"
    assert run["models"] == ["p/fast", "p/flaky"]
    assert (run["ok"], run["failed"]) == (12, 0)  # p/flaky's six were answered by its fallback
    assert desk("runs", "--kind", "suite", "--json", db=db).stdout == ""
    listed = desk("runs", db=db).stdout
    assert lines[0]["run_id"] in listed and "12 ok, 0 failed" in listed


def test_load_bad_arguments_are_one_line_errors(srv, db):
    desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db)
    for args, words in ((["--ramp", "1,x"], "--ramp"), (["--concurrency", "0"], "concurrency"),
                        (["-m", "nope/m"], "unknown provider")):
        base = ["load", "-m", "p/m", "--prompt", "hi", "--requests", "2"]
        proc = desk(*base, *args, db=db)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr and proc.stderr.count("\n") == 1
