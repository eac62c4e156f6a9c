"""`desk load --json` names its run; `desk export --run RUN_ID` writes one line per HTTP
request of that run, joinable with the vendor's log by request id."""

from __future__ import annotations

import json

import pytest

from desk.cli import _parser
from tests.cli_helpers import desk, one_line_error
from tests.vendor_server import LoadProfile, Script


def _export_has_run() -> bool:
    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return "--run" in sub.choices["export"]._option_string_actions


wired = pytest.mark.skipif(not _export_has_run(), reason="desk/cli.py does not pass export --run to "
                           "desk.cli_load.export_run yet")


@pytest.fixture
def load_run(srv, db):
    """`desk load` of 6 requests against a vendor whose budget of 4 runs out: run id and its --json lines."""
    srv.set_load("m", LoadProfile(limit_requests=4, window_s=60))
    srv.set_default("m", Script(text_pieces=["ok"]))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    proc = desk("load", "-m", "p/m", "--prompt", "hi", "--requests", "6", "--concurrency", "1",
                "--max-retries", "1", "--no-retry-after", "--no-warmup", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.json_lines()
    return line["run_id"], line


def test_load_json_names_the_run_and_where_throttling_began(load_run):
    run_id, line = load_run
    assert run_id and line["model"] == "p/m"
    t = line["throttling"]
    assert (t["model"], t["concurrency"], t["requests_before"]) == ("p/m", 1, 4)
    assert t["request_rate_rps"] > 0 and t["first_429_at_s"] > 0


@wired
def test_export_run_writes_one_line_per_http_request(load_run, srv, db, tmp_path):
    run_id, _ = load_run
    out = tmp_path / "run.jsonl"
    proc = desk("export", "--run", run_id, "--format", "jsonl", "--out", str(out), db=db)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"exported 8 HTTP requests of run {run_id} to {out}"
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    # 4 answered, then 2 requests refused with 429 and retried once each (refused again)
    assert len(lines) == 8 and [x["http_status"] for x in lines].count(429) == 4
    for key in ("model", "status", "attempt", "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms",
                "vendor_request_id", "ratelimit"):
        assert all(key in x for x in lines), key
    logged = {r.request_id: r for r in srv.requests if r.method == "POST"}
    assert sorted(x["vendor_request_id"] for x in lines) == sorted(logged)
    for x in lines:
        assert x["ratelimit"] == {k: v for k, v in logged[x["vendor_request_id"]].headers_sent.items()
                                  if "ratelimit" in k or k == "retry-after"}
    assert [x["attempt"] for x in lines if x["http_status"] == 429] == [1, 2, 1, 2]

    to_stdout = desk("export", "--run", run_id, "--format", "csv", "--out", "-", db=db)
    assert to_stdout.returncode == 0 and len(to_stdout.stdout.splitlines()) == 9
    assert "exported 8 HTTP requests" in to_stdout.stderr


@wired
def test_export_run_mistakes_are_one_line(load_run, db, tmp_path):
    run_id, _ = load_run
    for args, words in ((["--run", "nope", "--format", "jsonl"], "no run nope"),
                        (["--run", run_id, "--format", "pairs"], "--run writes csv, jsonl, parquet"),
                        (["--run", run_id, "--format", "jsonl", "--rater", "ann"], "--rater"),
                        (["--run", run_id, "--format", "parquet", "--out", "-"], "Parquet")):
        if "--out" not in args:
            args = [*args, "--out", str(tmp_path / "x")]
        proc = desk("export", *args, db=db)
        assert proc.returncode != 0 and words in one_line_error(proc.stderr), (args, proc.stderr)
