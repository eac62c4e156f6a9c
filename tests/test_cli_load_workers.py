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
