"""`desk load` end to end: real subprocess, loopback vendor, JSON summary per model."""

from __future__ import annotations

import json
import socket
import time

from desk.store.db import open_store
from tests.cli_helpers import desk
from tests.timing import SLACK_S
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


def test_fallbacks_count_requests_that_needed_the_next_model_even_when_it_failed_too(srv, db):
    srv.set_load("flaky", LoadProfile(error_rate=1.0, error_status=503))
    srv.set_load("down", LoadProfile(error_rate=1.0, error_status=503))
    desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db)
    proc = desk("load", "-m", "p/flaky", "--fallback", "p/down", "--prompt", "hi", "--requests", "4",
                "--concurrency", "2", "--max-retries", "0", "--no-warmup", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    (r,) = proc.json_lines()
    assert (r["ok"], r["errors"], r["fallbacks"], r["fallbacks_answered"]) == (0, {"server_error": 4}, 4, 0)
    # nothing answered, nothing billed: no cost, and none unknown either
    assert (r["cost_usd"], r["cost_unknown"], r["cost_partial"]) == (None, 0, False)


def test_unpriced_answers_are_no_price_not_zero_and_new_figures_in_table_and_json(srv, db):
    srv.set_default("fast", Script(text_pieces=["a", "b", "c", "d"], interval_ms=5))
    desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db)
    base = ["load", "-m", "p/fast", "--prompt", "hi", "--requests", "6", "--concurrency", "3", "--no-warmup"]
    proc = desk(*base, "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    (r,) = proc.json_lines()
    # "fast" is in no price list: its six answers cost an unknown amount, not $0
    assert (r["cost_usd"], r["cost_per_success_usd"], r["cost_unknown"]) == (None, None, 6)
    low, high = r["itl_ms"]["p95_ci"]
    assert low <= r["itl_ms"]["p95"] <= high

    table = desk(*base, db=db)
    assert table.returncode == 0, table.stderr
    header, _, row = table.stdout.splitlines()[1:4]
    for column in ("ITL p95 ms", "retries/ok", "cost/req", "cost/success", "spread IQR/sd ms"):
        assert column in header
    assert row.startswith("p/fast") and "no price" in row and "$0" not in row
    assert "p/fast: 6 requests had no known price" in table.stdout


def test_backoff_and_connect_timeout_are_used_and_stored(srv, db):
    srv.set_load("flaky", LoadProfile(error_rate=1.0, error_status=503))
    desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db)
    proc = desk("load", "-m", "p/flaky", "--prompt", "hi", "--requests", "3", "--concurrency", "3",
                "--max-retries", "2", "--no-retry-after", "--backoff-base", "0.05", "--backoff-max", "0.08",
                "--connect-timeout", "3", "--no-warmup", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    (r,) = proc.json_lines()
    # two retries each: 0.05 s then min(0.08, 0.1) s, with equal jitter (half to all of it);
    # the defaults (1 s, then 2 s) would wait 1.5 s at least
    assert r["retries"] == 6 and 3 * (25 + 40) <= r["retry_wait_ms"] <= 3 * (50 + 80)
    store = open_store(db)
    try:
        spec = store.runs.get(r["run_id"]).spec
    finally:
        store.close()
    assert (spec["retry"]["base_delay"], spec["retry"]["max_delay"], spec["timeouts"]["connect"]) == (0.05, 0.08, 3.0)
    bad = desk("load", "-m", "p/flaky", "--prompt", "hi", "--backoff-base", "2", "--backoff-max", "1", db=db)
    assert bad.returncode == 2 and "--backoff-max" in bad.stderr


def test_connect_timeout_reaches_the_http_client(db):
    # A listener whose backlog is full: the kernel drops further SYNs, so a connect hangs
    # until the client gives up, after --connect-timeout (the default would be 10 s).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        assert desk("provider", "add", "s", "--kind", "openai", "--base-url", url, db=db).returncode == 0
        t0 = time.perf_counter()
        proc = desk("load", "-m", "s/m", "--prompt", "hi", "--requests", "2", "--concurrency", "1",
                    "--max-retries", "0", "--no-warmup", "--connect-timeout", "0.3", "--json", db=db)
        took = time.perf_counter() - t0
    finally:
        filler.close()
        listener.close()
    assert proc.returncode == 0, proc.stderr
    (r,) = proc.json_lines()
    assert r["ok"] == 0 and sum(r["errors"].values()) == 2
    assert took < 5 + SLACK_S  # three connects of 0.3 s (one to warm, two requests) and a process start


def test_load_sends_a_stored_trial_with_its_system_prompt_and_files(srv, db, tmp_path):
    """A real task is more than a prompt: --trial sends one from the history as it was sent."""
    from tests.media import png

    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    (tmp_path / "shot.png").write_bytes(png(8, 6))
    (tmp_path / "rows.csv").write_text("id;name\n1;Zoë\n", encoding="utf-8")
    sent = desk("trial", "-m", "p/m", "-p", "Which rows are odd?", "--system", "Be brief.",
                "-a", str(tmp_path / "shot.png"), "-a", str(tmp_path / "rows.csv"), "--json", db=db)
    assert sent.returncode == 0, sent
    (record,) = sent.json_lines()
    before = len(srv.requests)
    proc = desk("load", "-m", "p/m", "--trial", record["trial_id"], "--requests", "3", "--concurrency", "3",
                "--no-warmup", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    (summary,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert summary["ok"] == 3
    bodies = [r.json for r in srv.requests[before:] if r.method == "POST"]
    assert len(bodies) == 3
    for body in bodies:
        system, user = body["messages"]
        assert system == {"role": "system", "content": "Be brief."}
        kinds = [part["type"] for part in user["content"]]
        assert kinds.count("image_url") == 1
        texts = " ".join(part["text"] for part in user["content"] if part["type"] == "text")
        assert '<file name="rows.csv">' in texts and "Zoë" in texts and "Which rows are odd?" in texts

    missing = desk("load", "-m", "p/m", "--trial", "nope", "--requests", "1", db=db)
    assert missing.returncode == 2 and "no trial 'nope'" in missing.stderr
