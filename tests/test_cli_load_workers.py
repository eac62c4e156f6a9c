"""`desk load --workers N`: the same report and stored rows as a run in one process."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import desk
from tests.vendor_server import Script


@pytest.mark.slow  # four CLI processes and their workers: about 20 s on two busy cores
def test_workers_flag_splits_the_run_and_reports_it_like_any_other(srv, db):
    srv.set_default("fast", Script(text_pieces=["a", "b"], first_token_delay_ms=20, interval_ms=2))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    base = ["load", "-m", "p/fast", "--prompt", "hi", "--ramp", "2,4", "--requests", "8", "--no-warmup", "--json"]
    one = desk(*base, "--workers", "1", db=db)
    two = desk(*base, "--workers", "2", db=db)
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    (r1,), (r2,) = one.json_lines(), two.json_lines()
    assert set(r1) == set(r2)
    for key in ("requests", "ok", "errors", "retries", "fallbacks"):
        assert r1[key] == r2[key], key
    assert r2["requests"] == 16 and r2["ok"] == 16
    assert [s["concurrency"] for s in r2["steps"]] == [2, 4]
    runs = [json.loads(line) for line in desk("runs", "--json", db=db).stdout.splitlines()]
    assert sorted((r["ok"], r["failed"]) for r in runs) == [(16, 0), (16, 0)]
    assert len(srv.requests) == 32
    assert desk(*base, "--workers", "-1", db=db).returncode == 2


@pytest.mark.slow
def test_ctrl_c_reaches_every_worker_yet_the_run_stores_what_was_measured(srv, db):
    import os
    import signal
    import subprocess
    import sys

    from tests.cli_helpers import ROOT, cli_env

    srv.set_default("slow", Script(text_pieces=["a"], first_token_delay_ms=50))
    desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db)
    # A terminal sends Ctrl-C to the whole process group: the parent and its workers.
    proc = subprocess.Popen([sys.executable, "-m", "desk", "load", "-m", "p/slow", "--prompt", "hi", "--concurrency",
                             "4", "--duration", "30", "--workers", "2", "--no-warmup"], env=cli_env(db), cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        srv.wait_for(lambda requests: len(requests) >= 20, 60)  # 16 or more measured by then (4 in flight)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err  # as a run in one process: the table of what was measured
    assert "Traceback" not in err
    (run,) = desk("runs", "--json", db=db).json_lines()
    assert run["status"] == "cancelled" and run["ok"] >= 16, run
