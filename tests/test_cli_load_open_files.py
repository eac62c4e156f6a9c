"""`desk load` started with a soft open-file limit of 256 (1,024 is common) still runs a
step of 400 streams: it raises its own soft limit before opening the step's connections,
where it used to fail mid-spike with "too many open files"."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli_helpers import ROOT, cli_env, desk
from tests.vendor_server import Script

resource = pytest.importorskip("resource")
STREAMS = 400


def _low_soft_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


@pytest.mark.slow  # a CLI process with 400 streams
def test_a_step_wider_than_the_soft_open_file_limit_runs_without_errors(srv, db):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2 * STREAMS + 200:
        pytest.skip(f"hard open-file limit {hard} is too low for {STREAMS} streams and their server")
    srv.set_default("wide", Script(text_pieces=["ok"], first_token_delay_ms=300))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    proc = subprocess.run([sys.executable, "-m", "desk", "load", "-m", "p/wide", "--prompt", "hi",
                           "--concurrency", str(STREAMS), "--requests", str(STREAMS), "--workers", "1",
                           "--no-warmup", "--json"], env=cli_env(db), cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, preexec_fn=_low_soft_limit)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (figures,) = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert (figures["requests"], figures["ok"]) == (STREAMS, STREAMS), figures["errors"]
